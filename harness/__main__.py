"""The command line: `python -m harness COMMAND` (`COMMAND --help` for its options). Exit 0 ok, 1 strict
divergence, 2 bad input."""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from pathlib import Path

from harness import __version__, artifacts
from harness.define import bounded, registry
from harness.run import backends

EXIT_OK, EXIT_DIVERGENCE, EXIT_USAGE = 0, 1, 2

# Commands that live with their stage: each module has `add_parser(commands)`, which adds one
# subcommand whose parser sets `handler` (args -> exit code) with set_defaults. Importing the module
# must not import keras; the handler may, lazily.
STAGE_COMMANDS: tuple[str, ...] = (
    "harness.checking", "harness.generate.cli", "harness.versions.cli", "harness.report.readme",
    "harness.upstream.cli")


class UsageError(Exception):
    """Bad usage or bad input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise UsageError(message)


def _positive_seconds(value: str) -> float:
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(value)
    return seconds


_positive_seconds.__name__ = "a positive number of seconds"  # argparse shows this name in its error


def _parser() -> argparse.ArgumentParser:
    # The installed console script and `python -m harness` are one parser; usage lines name the one used.
    prog = "python -m harness" if Path(sys.argv[0]).name == "__main__.py" else "keras-mask-harness"
    parser = _Parser(prog=prog, description=__doc__)
    parser.add_argument("--version", action="version", version=f"keras-mask-harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add_scenario_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--scenarios", action="append", metavar="MOD_OR_FILE",
                         help="scenario module or .py file (repeatable; default: scenarios)")
        sub.add_argument("--select", action="append", metavar="GLOB",
                         help="keep scenarios whose name or a tag matches (repeatable)")

    listing = commands.add_parser("list", help="list scenarios with descriptions and tags")
    add_scenario_options(listing)
    listing.add_argument("--timeout", type=_positive_seconds, default=600.0, metavar="S",
                         help="seconds the import of the scenario files may take (default 600)")

    run = commands.add_parser("run", help="run scenarios under one backend, write its artifact")
    run.add_argument("--backend", required=True,
                     help="tensorflow (tf), jax, torch, or all (every installed one, in parallel)")
    add_scenario_options(run)
    run.add_argument("--results", type=Path, default=Path("reports/results"), metavar="DIR",
                     help="folder the artifact is written to (default reports/results)")
    run.add_argument("--label", help="run label, the artifact's file name (default: BACKEND-DEVICE)")
    run.add_argument("--timeout", type=_positive_seconds, default=600.0, metavar="S",
                     help="seconds one scenario may run before it is stopped (default 600)")
    run.add_argument("--no-compiled", dest="compiled", action="store_false",
                     help="skip the compiled (jit) pass")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    run.add_argument("--resume", action="store_true",
                     help="reuse the scenarios an interrupted run (same backend, label, passes) finished")
    run.add_argument("--no-cache", action="store_true",
                     help="no compilation caches (the same as HARNESS_NO_CACHE=1)")

    report = commands.add_parser("report", help="compare artifacts and render the report")
    report.add_argument("--results", type=Path, default=Path("reports/results"), metavar="DIR",
                        help="folder of artifacts to compare, every pair of runs (default reports/results)")
    report.add_argument("--out", type=Path, default=Path("reports/report.md"), metavar="FILE",
                        help="the markdown report; heatmap.png is written beside it (default reports/report.md)")
    report.add_argument("--json", type=Path, default=Path("reports/summary.json"), metavar="FILE",
                        help="the report's facts as JSON, read by `readme` (default reports/summary.json)")
    report.add_argument("--known", type=Path, metavar="FILE",
                        help="registry of understood divergences (default scenarios/known_divergences.toml); "
                             "surprises.toml beside it is read too")
    report.add_argument("--baseline", type=Path, metavar="DIR",
                        help="earlier artifacts to compare against")
    report.add_argument("--strict", action="store_true",
                        help="exit 1 when an unexpected divergence is found")

    worker = commands.add_parser("_worker")  # internal: the process that imports keras
    worker.add_argument("--backend", required=True)
    worker.add_argument("--scenarios", action="append")
    worker.add_argument("--journal", type=Path, required=True)
    worker.add_argument("--names-file", type=Path, required=True)
    worker.add_argument("--compiled", action=argparse.BooleanOptionalAction, default=True)
    loader = commands.add_parser("_load")  # internal: imports the user's files for list and run
    loader.add_argument("--out", type=Path, required=True)
    loader.add_argument("--backend")
    add_scenario_options(loader)
    for module in STAGE_COMMANDS:
        importlib.import_module(module).add_parser(commands)
    # Internal commands (added without help=) work but are not listed in --help: the commands are
    # listed one per line below "command", never as argparse's {a,b,_c} set.
    commands.metavar = "command"
    return parser


def _load(args: argparse.Namespace, backend: str | None = None) -> list[bounded.ScenarioInfo]:
    """The selected scenarios, imported in a child bounded by --timeout (never in this process)."""
    return bounded.load(args.scenarios or list(registry.DEFAULT_SOURCES), args.select,
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
    chosen = _load(args, backend)
    label = args.label and artifacts.check_label(args.label)
    options = runner.RunOptions(backend=backend, sources=args.scenarios or list(registry.DEFAULT_SOURCES),
                                names=[s.name for s in chosen], results_dir=args.results,
                                label=label, timeout_s=args.timeout, quiet=args.quiet,
                                compiled=args.compiled, resume=args.resume)
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
            + (["--resume"] if args.resume else []))


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report import publish

    return publish.build_report(args)


def cmd_worker(args: argparse.Namespace) -> int:
    from harness.run import runner

    names = args.names_file.read_text().splitlines()
    return runner.worker_main(args.backend, args.scenarios or list(registry.DEFAULT_SOURCES),
                              names, args.journal, args.compiled)


def cmd_load(args: argparse.Namespace) -> int:
    return bounded.child_main(args.scenarios or list(registry.DEFAULT_SOURCES), args.select,
                              args.backend, args.out)


COMMANDS = {"list": cmd_list, "run": cmd_run, "report": cmd_report, "_worker": cmd_worker,
            "_load": cmd_load}


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        handler = getattr(args, "handler", None) or COMMANDS[args.command]
        return handler(args)
    except (UsageError, registry.ScenarioError, backends.BackendError,
            artifacts.ArtifactError) as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # an unwritable output path, a full disk: the user's to fix
        print(f"harness: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a run; the detail says what was kept
        print(f"harness: interrupted{f'; {exc}' if str(exc) else ''}", file=sys.stderr)
        return 130


def console() -> int:
    """The installed `keras-mask-harness` command. The processes it starts (`python -m harness _worker`)
    must import this same installed harness and suite, never a `harness` or `scenarios` folder that
    happens to be in the current directory (a checkout of another version, say)."""
    import os

    os.environ.setdefault("PYTHONSAFEPATH", "1")  # inherited: no current directory on their sys.path
    return main()


if __name__ == "__main__":
    sys.exit(main())
