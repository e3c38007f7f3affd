"""`harness bisect` and `harness versions`: the suite on Keras releases, each in a cached environment.

    python -m harness versions list [--backend B]
    python -m harness versions run --keras 3.3.3|tf-keras --backend B [--select GLOB ...] [--results DIR]
    python -m harness bisect --select GLOB --backend B [--good VERSION] [--bad VERSION]

Importing this module imports no keras: every Keras runs in its own environment's process.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

from harness import artifacts
from harness.define import bounded, registry
from harness.run import backends
from harness.versions import bisect, envs, runs, runtimes

KERAS2_NAMES = ("2", "tf-keras", "keras2", runtimes.KERAS2_VERSION)


class VersionsError(Exception):
    """Bad input to a versions command; printed as one `harness: error:` line, exit 2."""


def _one_line_errors(handler):
    """Errors a user can cause become one line and exit 2; what was written before stays."""

    @functools.wraps(handler)
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (VersionsError, envs.EnvError, bisect.BisectError, bisect.CannotRun, ValueError,
                registry.ScenarioError, backends.BackendError, artifacts.ArtifactError) as exc:
            print(f"harness: error: {exc}", file=sys.stderr)
            return 2

    return wrapped


def add_parser(commands) -> None:
    bisector = commands.add_parser("bisect", help="first Keras release where a selection's results change")
    bisector.add_argument("--select", action="append", required=True, metavar="GLOB")
    bisector.add_argument("--scenarios", action="append", metavar="MOD_OR_FILE")
    bisector.add_argument("--backend", required=True, help="tensorflow (tf), jax or torch")
    bisector.add_argument("--good", metavar="VERSION", help="an older release (default: the first 3.x)")
    bisector.add_argument("--bad", metavar="VERSION", help="a newer release (default: the newest)")
    bisector.add_argument("--timeout", type=float, default=600.0, metavar="S")
    bisector.add_argument("--keep", type=Path, metavar="DIR",
                          help="keep each release's artifact here (default: a temporary folder)")
    bisector.set_defaults(handler=_one_line_errors(cmd_bisect))

    versions = commands.add_parser("versions", help="run the suite on a Keras release (cached venvs)")
    action = versions.add_subparsers(dest="action", required=True, parser_class=type(versions))
    listing = action.add_parser("list", help="Keras 3 releases on the index, and which are cached")
    listing.add_argument("--backend", default="torch")
    listing.set_defaults(handler=_one_line_errors(cmd_list))
    run = action.add_parser("run", help="run scenarios on one release; write its artifact")
    run.add_argument("--keras", required=True, metavar="VERSION", help="a 3.x release, or tf-keras")
    run.add_argument("--backend", required=True)
    run.add_argument("--select", action="append", metavar="GLOB")
    run.add_argument("--scenarios", action="append", metavar="MOD_OR_FILE")
    run.add_argument("--results", type=Path, metavar="DIR",
                     help="default: reports/results for tf-keras, reports/versions for Keras 3 releases")
    run.add_argument("--timeout", type=float, default=600.0, metavar="S")
    run.add_argument("--no-compiled", dest="compiled", action="store_false")
    run.add_argument("-q", "--quiet", action="store_true")
    run.set_defaults(handler=_one_line_errors(cmd_run))


def runtime_for(keras: str, backend: str) -> runtimes.Runtime:
    backend = backends.canonical(backend)
    if keras.lower() in KERAS2_NAMES:
        if backend != "tensorflow":
            raise VersionsError(f"Keras 2 (tf-keras) runs on TensorFlow only, not on {backend}")
        return runtimes.keras2()
    return runtimes.keras3(keras, backend)


def _release(version: str, available: list[str], flag: str) -> str:
    runtimes.parse(version)
    if version not in available:
        raise VersionsError(f"{flag} {version}: not a Keras 3 release on the package index "
                            f"(available: {available[0]} .. {available[-1]})")
    return version


def cmd_list(args: argparse.Namespace) -> int:
    backend = backends.canonical(args.backend)
    for version in envs.releases():
        runtime = runtimes.keras3(version, backend)
        problem = envs.import_problem(runtime) if envs.is_cached(runtime) else None
        state = ("cached" if envs.is_cached(runtime) else "not built") + (f"; cannot run: {problem}" if problem else "")
        print(f"keras {version:<8} {backend:<10} {state}")
    return 0


def _load(args: argparse.Namespace) -> list:
    """The selected scenarios, imported in a child bounded by --timeout, never in this process (a file
    that hangs or exits at import is one line, not a hang or a silent exit)."""
    if not 0 < args.timeout < float("inf"):
        raise VersionsError(f"--timeout {args.timeout}: give a positive number of seconds")
    return bounded.load(args.scenarios or list(registry.DEFAULT_SOURCES), args.select, timeout_s=args.timeout)


def cmd_run(args: argparse.Namespace) -> int:
    runtime = runtime_for(args.keras, args.backend)
    if runtime.flavour == runtimes.KERAS3:
        _release(runtime.version, envs.releases(), "--keras")
    chosen = _load(args)
    results = args.results or Path("reports/results" if runtime.flavour == runtimes.KERAS2 else "reports/versions")
    try:
        runs.run(runtime, args.select or [], results, timeout_s=args.timeout, quiet=args.quiet,
                 compiled=args.compiled, sources=args.scenarios)
    except bisect.CannotRun as exc:  # recorded, so the report can say this release cannot run here
        path = runs.record_cannot_run(runtime, chosen, str(exc), results)
        print(f"harness: error: {envs.describe(runtime)} cannot run here: {exc} (recorded in {path})",
              file=sys.stderr)
        return 2
    return 0


def cmd_bisect(args: argparse.Namespace) -> int:
    backend = backends.canonical(args.backend)
    _load(args)  # fail early
    available = envs.releases()
    good = _release(args.good or available[0], available, "--good")
    bad = _release(args.bad or available[-1], available, "--bad")
    if runtimes.parse(good) >= runtimes.parse(bad):
        raise VersionsError(f"--good {good} must be an older release than --bad {bad}")
    span = [v for v in available if runtimes.parse(good) <= runtimes.parse(v) <= runtimes.parse(bad)]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="harness-bisect-"))
    seen: dict[str, artifacts.Artifact] = {}

    def observe(version: str) -> artifacts.Artifact:
        runtime = runtimes.keras3(version, backend)
        print(f"keras {version}: running {' '.join(args.select)} on {backend}", flush=True)
        path = runs.run(runtime, args.select, folder, timeout_s=args.timeout, quiet=True,
                        sources=args.scenarios, log=lambda line: print(f"  {line}", flush=True))
        seen[version] = artifacts.read(path)
        return seen[version]

    def same(reference: artifacts.Artifact, run: artifacts.Artifact) -> bool:
        changes = bisect.differences(reference, run)
        for line in changes[:5]:
            print(f"  {line}", flush=True)
        return not changes

    result = bisect.first_change(span, observe, same, log=lambda line: print(line, flush=True))
    print(f"ran {len(result.observed)} of {len(span)} releases ({', '.join(result.observed)}); "
          f"artifacts in {folder}")
    print(result.verdict_line())
    return 0
