"""The run stage's commands: `list`, `run`, and the internal `_worker` and `_load` (the processes that
import keras and the user's scenario files); `check` has its own door, check_cli.py.

Importing this module imports no keras: the workers do."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from harness import artifacts
from harness.cli import EXIT_OK, UsageError, add_scenario_options, positive_seconds
from harness.define import registry
from harness.define.info import ScenarioInfo
from harness.run import backends, lanes, loader


def add_parser(commands: Any) -> None:
    listing = commands.add_parser("list", help="list scenarios with descriptions and tags")
    add_scenario_options(listing)
    listing.add_argument("--timeout", type=positive_seconds, default=600.0, metavar="S",
                         help="seconds the import of the scenario files may take (default 600)")
    listing.set_defaults(handler=cmd_list)

    run = commands.add_parser("run", help="run scenarios under one backend, write its artifact")
    run.add_argument("--backend", required=True,
                     help="tensorflow (tf), jax, torch, or all (every installed one, in parallel)")
    add_scenario_options(run)
    run.add_argument("--results", type=Path, default=Path("reports/results"), metavar="DIR",
                     help="folder the artifact is written to (default reports/results)")
    run.add_argument("--label", help="run label, the artifact's file name (default: BACKEND-DEVICE)")
    run.add_argument("--timeout", type=positive_seconds, default=600.0, metavar="S",
                     help="seconds one scenario may run before it is stopped (default 600)")
    run.add_argument("--no-compiled", dest="compiled", action="store_false",
                     help="skip the compiled (jit) pass")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    run.add_argument("--resume", action="store_true",
                     help="reuse the scenarios an interrupted run (same backend, label, passes) finished")
    run.add_argument("--no-reuse", dest="reuse", action="store_false",
                     help="run every scenario, even those unchanged since the previous artifact "
                          "(the same as HARNESS_NO_REUSE=1)")
    run.add_argument("--no-cache", action="store_true",
                     help="no compilation caches (the same as HARNESS_NO_CACHE=1)")
    run.add_argument("--workers", type=lanes.parse_workers, metavar="N",
                     help="worker processes at once, each on its share of the scenarios (default: "
                          "HARNESS_WORKERS, else 2 on a machine with 2+ cores and no accelerator, else 1; "
                          "1 per backend with --backend all)")
    run.set_defaults(handler=cmd_run)


def add_internal_parsers(commands: Any) -> None:
    worker = commands.add_parser("_worker")  # internal: the process that imports keras
    worker.add_argument("--backend", required=True)
    worker.add_argument("--scenarios", action="append")
    worker.add_argument("--journal", type=Path, required=True)
    worker.add_argument("--names-file", type=Path, required=True)
    worker.add_argument("--compiled", action=argparse.BooleanOptionalAction, default=True)
    worker.set_defaults(handler=cmd_worker)
    load = commands.add_parser("_load")  # internal: imports the user's files for list and run
    load.add_argument("--out", type=Path, required=True)
    load.add_argument("--backend")
    add_scenario_options(load)
    load.set_defaults(handler=cmd_load)


def _load(args: argparse.Namespace, backend: str | None = None) -> list[ScenarioInfo]:
    """The selected scenarios, imported in a child bounded by --timeout (never in this process)."""
    return loader.load(args.scenarios or list(registry.DEFAULT_SOURCES), args.select,
                       timeout_s=args.timeout, backend=backend)


def cmd_list(args: argparse.Namespace) -> int:
    chosen = _load(args)
    width = max(len(s.name) for s in chosen)
    for s in chosen:
        tags = f"  [{', '.join(s.tags)}]" if s.tags else ""
        print(f"{s.name:<{width}}  {s.description}{tags}")
    print(f"{len(chosen)} scenarios")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run import runner

    if args.no_cache:  # the workers (and --backend all's runs) inherit it
        os.environ["HARNESS_NO_CACHE"] = "1"
    if args.backend == "all":
        if args.label:
            raise UsageError("--label names one run; it cannot be used with --backend all")
        return runner.run_all(_run_flags(args))
    backend = backends.canonical(args.backend)
    backends.check_runnable(backend)
    backends.prepare_process(backend)
    workers = _workers(args)
    chosen = _load(args, backend)
    label = args.label and artifacts.check_label(args.label)
    options = runner.RunOptions(backend=backend, sources=args.scenarios or list(registry.DEFAULT_SOURCES),
                                names=[s.name for s in chosen], results_dir=args.results,
                                label=label, timeout_s=args.timeout, quiet=args.quiet,
                                compiled=args.compiled, resume=args.resume, reuse=args.reuse,
                                workers=workers)
    runner.run(chosen, options)
    return EXIT_OK


def _run_flags(args: argparse.Namespace) -> list[str]:
    """The `run` flags other than --backend, to hand to one process per backend."""
    flags = ["--results", str(args.results), "--timeout", str(args.timeout)]
    for source in args.scenarios or []:
        flags += ["--scenarios", source]
    for pattern in args.select or []:
        flags += ["--select", pattern]
    return (flags + ([] if args.compiled else ["--no-compiled"]) + (["-q"] if args.quiet else [])
            + (["--resume"] if args.resume else []) + ([] if args.reuse else ["--no-reuse"])
            + ["--workers", str(_workers(args, backend_count=len(backends.BACKENDS)))])


def _workers(args: argparse.Namespace, backend_count: int = 1) -> int:
    if args.workers:
        return args.workers
    try:
        return lanes.default_workers(backend_count)
    except ValueError as exc:
        raise UsageError(f"{lanes.ENV_WORKERS}: {exc}") from None


def cmd_worker(args: argparse.Namespace) -> int:
    from harness.run import runner

    names = args.names_file.read_text().splitlines()
    return runner.worker_main(args.backend, args.scenarios or list(registry.DEFAULT_SOURCES),
                              names, args.journal, args.compiled)


def cmd_load(args: argparse.Namespace) -> int:
    return loader.child_main(args.scenarios or list(registry.DEFAULT_SOURCES), args.select,
                             args.backend, args.out)
