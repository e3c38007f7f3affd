"""`python -m harness check MODEL.keras --inputs INPUTS.npz|random:SEED`: a user's saved model, layer
by layer and through training, on every backend (docs/check.md).

The door of `check`: harness/run/check.py runs the model; compare/check_model.py judges the runs into
CheckFacts; harness/report/check.py renders DIR/report.md and DIR/summary.json from them.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from harness import artifacts, safety
from harness.run.saved_model import SavedModelError


def add_parser(commands: Any) -> None:
    check = commands.add_parser("check", help="check a saved .keras model on every backend, layer by layer "
                                              "and through training")
    check.add_argument("model", type=Path, metavar="MODEL.keras")
    check.add_argument("--inputs", required=True, metavar="INPUTS.npz|random:SEED",
                       help="arrays named by the model's inputs (or in order), or random:SEED to draw "
                            "them from the model's input specs (one row per padding pattern)")
    check.add_argument("--backend", action="append", metavar="B",
                       help="tensorflow (tf), jax, torch or all (default: every installed one); "
                            "repeatable or comma-separated")
    check.add_argument("--out", type=Path, metavar="DIR", help="default: check/<model file name>")
    check.add_argument("--unsafe", action="store_true",
                       help="load Lambda layers (runs the Python code saved in the file)")
    check.add_argument("--custom-objects", type=Path, metavar="FILE",
                       help="a .py file defining the model's custom layers and functions")
    check.add_argument("--known", type=Path, metavar="FILE",
                       help="registry of understood divergences (default: the suite's)")
    check.add_argument("--timeout", type=float, default=600.0, metavar="S",
                       help="seconds one backend may take (default 600)")
    check.add_argument("--no-compiled", dest="compiled", action="store_false",
                       help="skip the compiled (jit) pass")
    check.add_argument("--strict", action="store_true", help="exit 1 when the backends diverge")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    train = check.add_argument_group("through training (docs/check.md)")
    train.add_argument("--targets", type=Path, metavar="Y.npz", help="targets of the model's output: "
                       "train it with its own compile configuration and compare every logged value")
    train.add_argument("--fit", type=int, default=3, metavar="STEPS", help="fit steps (default 3)")
    train.add_argument("--sample-weight", type=Path, metavar="W.npz", help="one array: per row or per timestep")
    train.add_argument("--class-weight", metavar="JSON", help='e.g. \'{"0": 1.0, "1": 2.0}\' or a .json file')
    train.add_argument("--batch-size", type=int, metavar="N", help="rows per step (default: all, one step "
                       "per epoch); must divide the rows")
    train.add_argument("--loss", help="when the archive has no compile configuration (or to replace its loss)")
    train.add_argument("--metrics", help="comma-separated metric names (with --loss, or replacing the archive's)")
    train.add_argument("--optimizer", help="optimizer name (default with --loss: sgd)")
    check.add_argument("--keras", nargs="+", metavar="VERSION",
                       help="also check on these Keras releases, through the version environments "
                            "(harness versions): a column per version")
    check.add_argument("--python", action="append", default=[], metavar="BACKEND=PYTHON",
                       help="run that backend in this interpreter (nox -s check: the main job's venvs)")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from harness.run import check
    from harness.versions.runs import code_path

    try:
        checked = check.run_model(args, code_path)
        versions = _run_versions(args, checked) if args.keras else []
        return write_report(checked, args, versions)
    except SavedModelError as exc:
        raise artifacts.ArtifactError(str(exc)) from None


# ---- other Keras releases -------------------------------------------------------------------------

def _run_versions(args: argparse.Namespace, checked: Any) -> list[tuple[str, list[artifacts.Artifact], str]]:
    """The same scenarios on each --keras release (its cached environment per backend); per release,
    its runs, or why it could not run."""
    from harness.versions import resolve as versions_resolve
    from harness.versions import runs as version_runs
    from harness.versions.bisect import CannotRun

    done = []
    for version in args.keras:
        folder = checked.out / "versions" / re.sub(r"[^\w.+-]", "_", version)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*"):
            if old.suffix in (".json", ".npz"):
                old.unlink()
        problems, resolved = [], version
        for backend in checked.backends:
            try:
                runtime = versions_resolve.runtime_for(version, backend)
                if runtime.version != version:  # "nightly": name the build it resolved to
                    resolved = f"{version} ({runtime.version})"
                version_runs.run(runtime, checked.names, folder, timeout_s=args.timeout, quiet=True,
                                 compiled=args.compiled, sources=[str(checked.scenario_file)],
                                 log=(lambda _: None) if args.quiet else print)
            except (CannotRun, ValueError, versions_resolve.VersionsError) as exc:
                problems.append(f"{backend}: {exc}")
        done.append((resolved, artifacts.read_all(folder), "; ".join(problems)))
    return done


# ---- the report -----------------------------------------------------------------------------------

def write_report(checked: Any, args: argparse.Namespace, versions: list) -> int:
    from harness.compare import check_model
    from harness.compare.known import DEFAULT_KNOWN, KnownDivergenceError, load_known
    from harness.report import check as check_report

    runs, out, name = checked.runs, checked.out, checked.name

    try:
        known = load_known(args.known or DEFAULT_KNOWN)
    except KnownDivergenceError as exc:
        raise artifacts.ArtifactError(str(exc)) from None
    facts = check_model.judge(runs, name, known)
    command = " ".join(shlex.quote(a) for a in ["python", "-m", "harness", "check", *sys.argv[2:]]) \
        if sys.argv[1:2] == ["check"] else f"python -m harness check {args.model} --inputs {args.inputs}"
    data = check_report.CheckReportInput(facts=facts, runs=runs, command=command, inputs=checked.inputs,
                                         training=checked.training,
                                         versions=check_model.judge_versions(runs, name, versions))
    safety.atomic_write(out / "report.md", check_report.render_check(data).encode())
    summary = check_report.summary(data)
    safety.atomic_write(out / "summary.json", (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode())
    return _print_outcome(facts, out, args)


def _print_outcome(facts: Any, out: Path, args: argparse.Namespace) -> int:
    """The console's answer, truthful: a match only when every backend reported on ran."""
    for part, states in facts.states.items():
        for state in states.values():
            if not state.ran:
                print(f"check {facts.model}: {part}: {state.label} {state.status}: {state.cause}", file=sys.stderr)
                if len(state.chain) > 1:
                    print("    the chain, outermost first:", file=sys.stderr)
                    for line in state.chain:
                        print(f"    {line}", file=sys.stderr)
    for verdict in facts.paths:
        extra = f", first divergent layer {verdict.first_divergent}" if verdict.first_divergent else ""
        known = ""
        if verdict.difference is not None and verdict.verdict == "differs":
            known = " (known divergence)" if verdict.difference.known else " (new: please report)"
        why = f": {verdict.why}" if verdict.why else ""
        print(f"  {verdict.title} {verdict.part}: {verdict.verdict}{why}{extra}{known}")
    problems = facts.problems
    if problems:
        for problem in problems:
            print(f"check {facts.model}: {problem}", file=sys.stderr)
        print(f"check {facts.model}: not compared -> {out / 'report.md'}")
        return 1
    differs = [v for v in facts.paths if v.verdict in ("differs", "cannot tell")]
    unknown = [v for v in differs if v.difference is None or v.difference.known is None]
    word = "every backend agrees" if not differs else f"{len(differs)} difference(s), {len(unknown)} not known"
    print(f"check {facts.model}: {word} across {len(facts.labels)} runs -> {out / 'report.md'}")
    return 1 if args.strict and unknown else 0
