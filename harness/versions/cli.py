"""`harness bisect` and `harness versions`: the suite on Keras releases, each in a cached environment.

    python -m harness versions list [--backend B] [--limit N]
    python -m harness versions run --keras 3.3.3|tf-keras|nightly|3.16.0.devYYYYMMDDHH --backend B [--select GLOB ...]
    python -m harness bisect --select GLOB --backend B [--good VERSION] [--bad VERSION|nightly]

A VERSION is a Keras 3 release (keras==V) or a nightly build (keras-nightly==3.16.0.devYYYYMMDDHH);
`nightly` is the newest build on the index, resolved once and pinned (the artifact names it).

Importing this module imports no keras: every Keras runs in its own environment's process.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import tempfile
from pathlib import Path

from harness import artifacts
from harness.compare.differences import differences
from harness.define import registry
from harness.run import backends, loader
from harness.versions import bisect, envs, runs, runtimes, wheeldiff
from harness.versions.resolve import NIGHTLY_WORD, VersionsError, resolve, runtime_for


def _one_line_errors(handler):
    """Errors a user can cause become one line and exit 2; what was written before stays."""

    @functools.wraps(handler)
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (VersionsError, envs.EnvError, bisect.BisectError, bisect.CannotRun, ValueError,
                registry.ScenarioError, backends.BackendError, artifacts.ArtifactError,
                wheeldiff.WheelError) as exc:
            print(f"harness: error: {exc}", file=sys.stderr)
            return 2

    return wrapped


def add_parser(commands) -> None:
    bisector = commands.add_parser("bisect", help="first Keras release where a selection's results change")
    bisector.add_argument("--select", action="append", required=True, metavar="GLOB")
    bisector.add_argument("--scenarios", action="append", metavar="MOD_OR_FILE")
    bisector.add_argument("--backend", required=True, help="tensorflow (tf), jax or torch")
    bisector.add_argument("--good", metavar="VERSION",
                          help="an older release or nightly build (default: the first 3.x)")
    bisector.add_argument("--bad", metavar="VERSION",
                          help="a newer release, nightly build, or 'nightly' (default: the newest release)")
    bisector.add_argument("--timeout", type=float, default=600.0, metavar="S")
    bisector.add_argument("--keep", type=Path, metavar="DIR",
                          help="keep each release's artifact here (default: a temporary folder)")
    bisector.add_argument("--record", type=Path, metavar="JSON",
                          help="also write the result (first build, source change) as JSON here, for the report")
    bisector.add_argument("--warnings", action="store_true",
                          help="count a new or different warning as a change (by default only results, masks, "
                               "errors and expectations are)")
    bisector.add_argument("--no-source", dest="source", action="store_false",
                          help="do not download and diff the two adjacent wheels")
    bisector.set_defaults(handler=_one_line_errors(cmd_bisect))

    versions = commands.add_parser("versions", help="run the suite on a Keras release (cached venvs)")
    action = versions.add_subparsers(dest="action", required=True, parser_class=type(versions))
    listing = action.add_parser("list", help="Keras 3 releases and nightly builds on the index, and which are cached")
    listing.add_argument("--backend", default="torch")
    listing.add_argument("--limit", type=int, default=10, metavar="N", help="nightly builds to show (newest first)")
    listing.set_defaults(handler=_one_line_errors(cmd_list))
    run = action.add_parser("run", help="run scenarios on one release; write its artifact")
    run.add_argument("--keras", required=True, metavar="VERSION",
                     help="a 3.x release, tf-keras, a nightly build (3.16.0.devYYYYMMDDHH) or 'nightly' (the newest)")
    run.add_argument("--backend", required=True)
    run.add_argument("--select", action="append", metavar="GLOB")
    run.add_argument("--scenarios", action="append", metavar="MOD_OR_FILE")
    run.add_argument("--results", type=Path, metavar="DIR",
                     help="default: reports/results for tf-keras, reports/versions for Keras 3 releases and nightlies")
    run.add_argument("--timeout", type=float, default=600.0, metavar="S")
    run.add_argument("--no-compiled", dest="compiled", action="store_false")
    run.add_argument("-q", "--quiet", action="store_true")
    run.set_defaults(handler=_one_line_errors(cmd_run))


def _state(runtime: runtimes.Runtime) -> str:
    problem = envs.import_problem(runtime) if envs.is_cached(runtime) else None
    return ("cached" if envs.is_cached(runtime) else "not built") + (f"; cannot run: {problem}" if problem else "")


def cmd_list(args: argparse.Namespace) -> int:
    backend = backends.canonical(args.backend)
    if args.limit < 0:
        raise VersionsError(f"--limit {args.limit}: give 0 or more")
    for version in envs.releases():
        print(f"keras {version:<8} {backend:<10} {_state(runtimes.keras3(version, backend))}")
    if args.limit:
        builds = envs.nightlies()
        shown = builds[::-1][:args.limit]
        print(f"keras-nightly: {len(builds)} builds on the index, the newest {len(shown)}:")
        for version in shown:
            print(f"keras-nightly {version:<22} {backend:<10} {_state(runtimes.nightly(version, backend))}")
    return 0


def _load(args: argparse.Namespace) -> list:
    """The selected scenarios, imported in a child bounded by --timeout, never in this process (a file
    that hangs or exits at import is one line, not a hang or a silent exit)."""
    if not 0 < args.timeout < float("inf"):
        raise VersionsError(f"--timeout {args.timeout}: give a positive number of seconds")
    return loader.load(args.scenarios or list(registry.DEFAULT_SOURCES), args.select, timeout_s=args.timeout)


def cmd_run(args: argparse.Namespace) -> int:
    runtime = runtime_for(args.keras, args.backend)
    if args.keras.lower() == NIGHTLY_WORD:
        print(f"nightly: keras-nightly {runtime.version} (the newest build on the index)", flush=True)
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


def span_of(good: str, bad: str, releases: list[str], nightlies: list[str]) -> list[str]:
    """Every release and nightly build from good to bad, in PEP 440 order (nightlies only when an end
    is one, or bad is past the newest release: a range of releases stays a range of releases)."""
    low, high = runtimes.order_key(good), runtimes.order_key(bad)
    if low >= high:
        kind = "release" if not (runtimes.is_nightly(good) or runtimes.is_nightly(bad)) else "release or build"
        raise VersionsError(f"--good {good} must be an older {kind} than --bad {bad}")
    with_nightlies = runtimes.is_nightly(good) or runtimes.is_nightly(bad)
    pool = [*releases, *(nightlies if with_nightlies else [])]
    return sorted({v for v in pool if low <= runtimes.order_key(v) <= high}, key=runtimes.order_key)


def build_name(version: str) -> str:
    return f"keras-nightly {version}" if runtimes.is_nightly(version) else f"keras {version}"


def cmd_bisect(args: argparse.Namespace) -> int:
    backend = backends.canonical(args.backend)
    _load(args)  # fail early
    available = envs.releases()
    nightly_end = any(v and (v.lower() == NIGHTLY_WORD or runtimes.is_nightly(v)) for v in (args.good, args.bad))
    builds = envs.nightlies() if nightly_end else []
    good = resolve(args.good, "--good") if args.good else available[0]
    bad = resolve(args.bad, "--bad") if args.bad else available[-1]
    span = span_of(good, bad, available, builds)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="harness-bisect-"))
    seen: dict[str, artifacts.Artifact] = {}

    def observe(version: str) -> artifacts.Artifact:
        runtime = runtimes.for_version(version, backend)
        print(f"{build_name(version)}: running {' '.join(args.select)} on {backend}", flush=True)
        path = runs.run(runtime, args.select, folder, timeout_s=args.timeout, quiet=True,
                        sources=args.scenarios, log=lambda line: print(f"  {line}", flush=True))
        run = artifacts.read(path)
        unreadable = bisect.unreadable_masks(run)
        if unreadable:  # a failure of the harness on this build, not a change in Keras: skipped
            raise bisect.CannotRun(f"the harness cannot read its masks ({unreadable})")
        seen[version] = run
        return run

    def same(reference: artifacts.Artifact, run: artifacts.Artifact) -> bool:
        changes = differences(reference, run, args.warnings)
        for line in changes[:5]:
            print(f"  {line}", flush=True)
        return not changes

    result = bisect.first_change(span, observe, same, log=lambda line: print(line, flush=True),
                                 name=build_name)
    print(f"ran {len(result.observed)} of {len(span)} builds ({', '.join(result.observed)}); "
          f"artifacts in {folder}")
    sources = {}
    if args.source and result.first is not None and result.last_same is not None and not result.ambiguous:
        sources = _source_change(result, seen, args.warnings, backend)
    if args.record:
        bisect.write_record(args.record, result, backend, args.select, seen, sources, _command(args), args.warnings)
    print(result.verdict_line(build_name))
    return 0


def _command(args: argparse.Namespace) -> str:
    """The bisect as a user would type it again (for the report)."""
    parts = ["python", "-m", "harness", "bisect", *[x for s in args.select for x in ("--select", s)],
             "--backend", args.backend]
    parts += (["--good", args.good] if args.good else []) + (["--bad", args.bad] if args.bad else [])
    parts += ["--warnings"] if args.warnings else []
    return " ".join(shlex.quote(p) for p in parts)


def _error_words(seen: dict[str, artifacts.Artifact], result: bisect.Result, scenario: str) -> list[str]:
    """Identifiers in the scenario's error on either side (an error that appears or goes away)."""
    text = ""
    for version in (result.last_same, result.first):
        record = seen[version].records.get(scenario)
        if record is not None and record.captured.error is not None:
            text += " " + record.captured.error.message
    return wheeldiff.hint_words(text)


def _source_change(result: bisect.Result, seen: dict[str, artifacts.Artifact], warnings: bool = False,
                   backend: str = "") -> dict:
    """Download the last good and first bad wheels, diff keras/src ranked for each changed scenario's
    first divergent layer; print the ranking for the first. Layer class -> wheeldiff.SourceDiff."""
    found = bisect.divergences(seen[result.last_same], seen[result.first], warnings)
    wheels = envs.cache_root().parent / "wheels"
    try:
        old = wheeldiff.fetch(_package(result.last_same), result.last_same, wheels)
        new = wheeldiff.fetch(_package(result.first), result.first, wheels)
        sources = {d.layer_class: wheeldiff.diff(old, new, d.layer_class, d.mask_change,
                                                 _error_words(seen, result, d.scenario), backend)
                   for d in reversed(found)}  # the first scenario's ranking wins a shared class
    except wheeldiff.WheelError as exc:  # the verdict stands; say why there is no source change
        print(f"source change: not available ({exc})", flush=True)
        return {}
    if not found:
        return sources
    print(f"first divergent layer: {found[0].describe()}", flush=True)
    for line in sources[found[0].layer_class].lines():
        print(line, flush=True)
    for other in found[1:]:
        top = sources[other.layer_class].files[:1]
        print(f"also changed here: {other.describe()}; most relevant file "
              f"{top[0].path if top else '(none)'}", flush=True)
    return sources


def _package(version: str) -> str:
    return runtimes.NIGHTLY if runtimes.is_nightly(version) else runtimes.KERAS3
