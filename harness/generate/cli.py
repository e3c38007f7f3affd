"""`python -m harness fuzz`: generate masking models, run them on every backend, shrink what diverges.

    python -m harness fuzz [--budget 10m|90s|500] [--seed N] [--shard I/N] [--out DIR] [--mutate]
                           [--backends tf,jax,torch] [--timeout S] [--spec FILE] [--unguided]

Importing this module does not import keras; the backends run in case workers (harness/run/case_worker.py).
Bad input (budget, shard, spec, output folder) is one `harness: error:` line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tempfile
from pathlib import Path

from harness import safety
from harness.artifacts import ArtifactError
from harness.compare.known import DEFAULT_KNOWN
from harness.define.spec import SpecError

DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)$")


class FuzzInputError(ArtifactError):
    """Bad fuzz input: printed by harness.__main__ as one `harness: error:` line, exit 2."""


def parse_budget(text: str):
    """'90s', '10m', '1h' (a duration) or '500' (a number of cases); positive."""
    from harness.generate.campaign import Budget

    text = text.strip().lower()
    match = DURATION_RE.match(text)
    if match:
        seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]
        if seconds <= 0:
            raise FuzzInputError(f"--budget {text}: must be more than zero")
        return Budget(seconds=seconds)
    if re.fullmatch(r"-?\d+", text):
        if int(text) <= 0:
            raise FuzzInputError(f"--budget {text}: must be more than zero cases")
        return Budget(cases=int(text))
    raise FuzzInputError(f"--budget {text!r}: use a duration (90s, 10m, 1h) or a number of cases (500)")


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or int(match.group(2)) < 1 or int(match.group(1)) >= int(match.group(2)):
        raise FuzzInputError(f"--shard {text!r}: use I/N with 0 <= I < N (for example 0/4)")
    return int(match.group(1)), int(match.group(2))


def add_parser(commands) -> None:
    fuzz = commands.add_parser("fuzz", help="generate models, run them on every backend, shrink divergences")
    fuzz.add_argument("--budget", default="10m", help="a duration (90s, 10m, 1h) or a number of cases (500)")
    fuzz.add_argument("--seed", type=int, default=0, help="campaign seed (cases are a function of seed and index)")
    fuzz.add_argument("--shard", default="0/1", metavar="I/N", help="run the cases i with i %% N == I")
    fuzz.add_argument("--out", type=Path, default=Path("fuzz-out"), metavar="DIR")
    fuzz.add_argument("--mutate", action="store_true", help="mutate the seed model and suite-style cases")
    fuzz.add_argument("--backends", default="tensorflow,jax,torch", help="comma-separated (at least two)")
    fuzz.add_argument("--backend", help="one backend (with --versions: compare the versions on it)")
    fuzz.add_argument("--versions", metavar="A,B",
                      help="Keras releases or nightly builds ('nightly': the newest): each case runs on every "
                           "version (x every backend), in the cached version environments")
    fuzz.add_argument("--timeout", type=float, default=120.0, metavar="S", help="seconds per case per backend")
    fuzz.add_argument("--spec", type=Path, metavar="FILE", help="run this one spec (JSON) instead of generating")
    fuzz.add_argument("--known", type=Path, default=DEFAULT_KNOWN, metavar="FILE")
    fuzz.add_argument("--kept", type=Path, default=Path("scenarios/found"), metavar="DIR",
                      help="findings already in the suite: their signatures are not kept again")
    fuzz.add_argument("--variants", action="store_true",
                      help="also shrink a known cause reached through a new layer class (its reach)")
    fuzz.add_argument("--unguided", action="store_true",
                      help="draw every case at random (by default half aim at combinations not yet exercised)")
    fuzz.add_argument("--max-layers", type=int, default=6)
    fuzz.add_argument("--shrink-tries", type=int, default=80)
    fuzz.add_argument("-q", "--quiet", action="store_true")
    fuzz.set_defaults(handler=cmd_fuzz)
    merge = commands.add_parser("fuzz-merge", help="merge the output folders of a campaign's shards, findings by cause")
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="where the merged findings.json and campaign.json go")
    merge.add_argument("--summary", type=Path, metavar="FILE", help="append the markdown summary here as well")
    merge.set_defaults(handler=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.generate import findings, shards

    try:
        merged = shards.merge(args.shards)
    except shards.ShardError as exc:
        raise FuzzInputError(str(exc)) from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # a field of the wrong shape, deeper down
        raise FuzzInputError(f"a shard's campaign.json or findings.json is not what `harness fuzz` writes "
                             f"({type(exc).__name__}: {safety.printable(str(exc))[:120]})") from None
    _prepare_out(args.out)
    findings.write_json(args.out / "findings.json", merged["findings"])
    findings.write_json(args.out / "campaign.json", merged["campaign"])
    text = "\n".join(shards.summary_lines(merged)) + "\n"
    print(text, end="")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as out:
            out.write(text)
    return 0


def _prepare_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise FuzzInputError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def _read_spec(path: Path) -> dict:
    from harness.define import spec as specs
    from harness.generate import grammar

    try:  # bounded: a FIFO or /dev/zero given as --spec is refused, not read for ever
        text = safety.read_bounded(path, limit=specs.MAX_SPEC_CHARS).decode("utf-8")
    except safety.RefusedFile as exc:
        raise FuzzInputError(f"--spec {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FuzzInputError(f"--spec {path}: cannot be read ({exc})") from None
    try:
        return grammar.check(specs.loads(text))
    except SpecError as exc:
        raise FuzzInputError(f"--spec {path}: {exc}") from None


def _pool_arguments(versions: list[str], chosen: tuple[str, ...], workdir: Path, options) -> tuple[dict, tuple]:
    """The workers: one per backend, or (--versions) one per version x backend in its environment."""
    if not versions:
        return {"workdir": workdir}, chosen
    from harness.generate import versions as by_version
    from harness.versions.bisect import CannotRun
    from harness.versions.resolve import VersionsError

    try:
        runtimes = by_version.runtimes(versions, list(chosen))
        pool_args = by_version.pool_arguments(runtimes, workdir)
    except (VersionsError, CannotRun, ValueError) as exc:
        raise FuzzInputError(f"--versions: {exc}") from None
    labels = tuple(runtimes)
    options.judge = by_version.judge_by_axes(by_version.axes(list(labels), runtimes))
    return pool_args, labels


def cmd_fuzz(args: argparse.Namespace) -> int:
    from harness.compare.known import KnownDivergenceError, load_known
    from harness.generate import campaign, findings, workers
    from harness.run import backends

    budget = parse_budget(args.budget)
    shard = parse_shard(args.shard)
    names = args.backend if args.backend else args.backends
    try:
        chosen = tuple(dict.fromkeys(backends.canonical(b) for b in names.split(",") if b.strip()))
    except backends.BackendError as exc:
        raise FuzzInputError(f"--backend(s) {names!r}: {exc}") from None
    versions = [v.strip() for v in (args.versions or "").split(",") if v.strip()]
    if args.versions is not None and len(set(versions)) < 2:
        raise FuzzInputError("--versions: name at least two Keras versions to compare (A,B)")
    if not versions and len(chosen) < 2:
        raise FuzzInputError("--backends: name at least two backends to compare (or --versions A,B --backend X)")
    if not 0 < args.timeout < float("inf") or args.max_layers < 1 or args.shrink_tries < 0:  # nan fails too
        raise FuzzInputError("--timeout and --max-layers must be positive, --shrink-tries not negative")
    single = _read_spec(args.spec) if args.spec else None
    _prepare_out(args.out)
    if not versions:
        for backend in chosen:
            if importlib.util.find_spec(backends.BACKENDS[backend][0]) is None:
                raise FuzzInputError(f"backend {backend!r} is not installed here; `nox -s fuzz` installs all three")
    try:
        known = load_known(args.known)
    except KnownDivergenceError as exc:
        raise FuzzInputError(str(exc)) from None
    options = campaign.Options(out=args.out, budget=budget, seed=args.seed, shard=shard, mutate=args.mutate,
                               known=known, kept=findings.kept_findings(args.kept),
                               shrink_tries=args.shrink_tries, max_layers=args.max_layers, variants=args.variants,
                               guided=not args.unguided,
                               log=(lambda _: None) if args.quiet else (lambda m: print(m, flush=True)))
    with tempfile.TemporaryDirectory(prefix="harness-fuzz-") as workdir:
        pool_args, labels = _pool_arguments(versions, chosen, Path(workdir), options)
        with workers.Pool(labels, timeout_s=args.timeout, **pool_args) as pool:
            try:
                pool.start()
            except workers.WorkerError as exc:
                raise FuzzInputError(str(exc)) from None
            options.keras = sorted({str(e.get("keras")) for e in pool.environments().values() if e.get("keras")})
            summary = campaign.run(options, pool.run, cases=None if single is None else [single])
            summary["backend_seconds"] = {b: round(s, 1) for b, s in pool.seconds.items()}
            summary["environments"] = pool.environments()
            if versions:
                summary["versions"] = versions
    findings.write_json(args.out / "campaign.json", summary)
    n = len(json.loads((args.out / "findings.json").read_text())) if (args.out / "findings.json").exists() else 0
    print(f"fuzz: {summary['cases']} cases ({summary.get('cases_per_minute')} per minute), {n} new finding(s) "
          f"-> {args.out}", file=sys.stdout if not args.quiet else sys.stderr)
    return 0
