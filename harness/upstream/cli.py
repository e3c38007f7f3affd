"""`python -m harness upstream`: write an issue draft per cause, from its kept repro run in every environment.

    python -m harness upstream [--finding ID | --all] [--out reports/upstream] [--env NAME=PYTHON ...]
                               [--timeout S] [--no-run] [--data scenarios/upstream.toml]

Each cause's script (reports/upstream/<id>/repro.py) runs once per environment (default: the main
job's .nox/tf, .nox/jax and .nox/torch; --env adds or replaces, e.g. a keras-nightly interpreter),
with a time bound per run; its output goes into <out>/<id>/runs.json and the draft <out>/<id>/README.md;
<out>/README.md indexes every cause with its status. --no-run re-renders from the runs.json files.
Bad input (an unknown cause, an output folder that cannot be written, an environment that is not a
Python with keras) is one `harness: error:` line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

from harness import safety
from harness.upstream import capture, drafts, evidence, render

RUNS = "runs.json"
MAX_RUNS_BYTES = 64 << 20  # runs.json is small; summary.json grows with the suite


def _timeout(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return value


_timeout.__name__ = "a positive number of seconds"


def add_parser(commands) -> None:
    sub = commands.add_parser("upstream", help="write an upstream issue draft per cause, from a captured repro run")
    which = sub.add_mutually_exclusive_group()
    which.add_argument("--finding", metavar="ID", help="one cause: its id, or a scenario it covers")
    which.add_argument("--all", action="store_true", help="every cause (the default)")
    sub.add_argument("--out", type=Path, default=Path("reports/upstream"), metavar="DIR",
                     help="where drafts, runs and the index go (default reports/upstream)")
    sub.add_argument("--repros", type=Path, default=Path("reports/upstream"), metavar="DIR",
                     help="where the kept repro scripts are, DIR/<id>/repro.py (default reports/upstream)")
    sub.add_argument("--env", action="append", default=[], metavar="NAME=PYTHON",
                     help="an interpreter to run the repros in; NAME names its backend (repeatable; "
                          "default: .nox/tf, .nox/jax, .nox/torch of this checkout)")
    sub.add_argument("--timeout", type=_timeout, default=300.0, metavar="S",
                     help="seconds one repro run may take (default 300)")
    sub.add_argument("--no-run", action="store_true", help="render from the runs.json already captured")
    sub.add_argument("--summary", type=Path, default=Path("reports/summary.json"), metavar="FILE",
                     help="the report's facts: its next-Keras change groups are listed in the index with their drafts")
    sub.add_argument("--data", type=Path, default=drafts.DEFAULT_DATA, metavar="FILE",
                     help="the causes (default scenarios/upstream.toml)")
    sub.set_defaults(handler=cmd_upstream)


def _prepare_out(out: Path) -> None:
    """Refuse an output folder that cannot be made or written before any repro runs (minutes of work)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise drafts.UpstreamError(f"--out {safety.printable(out)}: cannot write there ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise drafts.UpstreamError(f"--out {safety.printable(out)}: cannot write there (permission denied)")


def _read_runs(path: Path) -> dict | None:
    """A JSON file written by this stage (runs.json) or the report (summary.json); None when absent."""
    try:
        return json.loads(safety.read_bounded(path, limit=MAX_RUNS_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, safety.RefusedFile) as exc:
        raise drafts.UpstreamError(f"{safety.printable(path)}: not readable JSON ({exc})") from None


def _script_text(path: Path) -> str:
    try:
        return safety.read_bounded(path, limit=1 << 20).decode("utf-8")
    except (OSError, UnicodeDecodeError, safety.RefusedFile) as exc:
        raise drafts.UpstreamError(f"{safety.printable(path)}: cannot be read ({exc})") from None


def cmd_upstream(args: argparse.Namespace) -> int:
    causes = drafts.load(args.data)
    chosen = [c for c in drafts.select(causes, args.finding) if c.repro]
    envs = [capture.parse_env(e) for e in args.env] or capture.default_envs()
    if not args.no_run and not envs:
        raise drafts.UpstreamError("no environment to run the repros in: create them with `nox -s tf jax torch` "
                                   "or name them with --env NAME=PYTHON")
    _prepare_out(args.out)
    captured: dict[str, dict | None] = {}
    for cause in chosen:
        script = args.repros / cause.id / "repro.py"
        text = _script_text(script)
        folder = args.out / cause.id
        if args.no_run:
            runs = _read_runs(folder / RUNS) or _read_runs(args.repros / cause.id / RUNS)
            if runs is None:
                raise drafts.UpstreamError(f"--no-run: {cause.id} has no {RUNS} yet; run it once without --no-run")
        else:
            runs = capture.capture(cause, script, envs, args.timeout)
        runs["suite_runs"] = evidence.version_rows(cause)  # refreshed on every render, --no-run too
        runs["bisects"] = evidence.bisect_rows(cause)
        folder.mkdir(parents=True, exist_ok=True)
        if script.resolve() != (folder / "repro.py").resolve():
            safety.atomic_write(folder / "repro.py", text.encode("utf-8"))
        safety.atomic_write(folder / RUNS, (json.dumps(runs, indent=1, sort_keys=True) + "\n").encode("utf-8"))
        body = render.draft(cause, text, runs)
        safety.atomic_write(folder / "README.md", body.encode("utf-8"))
        captured[cause.id] = runs
        results = "; ".join(f"{r['env']['label']}: {r['result']}" for r in runs["runs"])
        print(f"upstream: {cause.id}: {render.verdict_text(cause, runs)} ({results})")
    for cause in causes:  # the index covers every cause, drafted now or before
        if cause.id not in captured and cause.repro:
            captured[cause.id] = _read_runs(args.out / cause.id / RUNS)
    next_keras = (_read_runs(args.summary) or {}).get("next_keras") if args.summary else None
    safety.atomic_write(args.out / "README.md", render.index(causes, captured, next_keras).encode("utf-8"))
    print(f"upstream: {len(chosen)} draft(s), index of {len(causes)} cause(s) -> {safety.printable(args.out)}")
    return 0
