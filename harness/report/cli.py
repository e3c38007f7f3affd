"""The report stage's commands: `report` (artifacts in; the report's pages and summary.json out)
and `readme` (README's generated block from summary.json).

This module is the stage's door: it reads the artifacts and the registries, has compare/ judge them
into one ReportModel (`build`), and hands that to the renderers (site.py, render.py, facts.py),
which read nothing and compute nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness import artifacts, safety
from harness.artifacts import Artifact
from harness.cli import UsageError
from harness.compare import (
    baseline,
    claims,
    demonstrated,
    families,
    fingerprint,
    known_runtime,
    next_keras,
    paths,
    timeline,
    verdicts,
)
from harness.compare.known import DEFAULT_KNOWN, SURPRISES_FILE, KnownDivergenceError, load_known, load_surprises
from harness.compare.training_claims import TRAINING_CLAIMS
from harness.report import facts as report_facts
from harness.report import readme, site
from harness.report.model import ReportModel
from harness.upstream import drafts as upstream_drafts

MAX_SUMMARY_BYTES = 64 * 1024 * 1024
UPSTREAM_FILE = "upstream.toml"  # the causes' upstream drafts and their status, beside the registry
REPRODUCE = """pip install nox
nox -s tf jax torch          # one venv per backend; each session refreshes this report
nox -s report                # rebuild the report from reports/results/ without running anything"""


def add_parser(commands: Any) -> None:
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
    report.set_defaults(handler=cmd_report)


def add_readme_parser(commands: Any) -> None:
    sub = commands.add_parser("readme", help="rewrite README's generated block from the report's summary.json",
                              description="`harness readme`: rewrite README's generated block from summary.json, "
                                          "so README and report agree.")
    sub.add_argument("--summary", type=Path, default=Path("reports/summary.json"), metavar="FILE",
                     help="the summary written by `report --json` (default reports/summary.json)")
    sub.add_argument("--readme", type=Path, default=Path("README.md"), metavar="FILE",
                     help="the file whose marked block is rewritten (default README.md)")
    sub.add_argument("--check", action="store_true",
                     help="change nothing; exit 1 when the block differs from the summary")
    sub.set_defaults(handler=cmd_readme)


def build(runs: list[Artifact], known_path: Path, figure: str | None = None,
          baseline_runs: list[Artifact] | None = None, baseline_name: str | None = None,
          results_dir: str = "reports/results", release_runs: list[Artifact] | None = None,
          release_problem: str = "", nightly_runs: list[Artifact] | None = None,
          bisects: list[dict[str, Any]] | None = None) -> tuple[ReportModel, dict[str, Any]]:
    """Everything the report shows, judged once by compare/: the model and its summary.json facts.

    `release_runs` are the Keras 3 release runs, `nightly_runs` the keras-nightly runs and `bisects`
    the stored bisect results beside the results folder (harness/versions/runs.py reads them); they
    feed only the versions and next-Keras sections."""
    try:
        known = load_known(known_path)
        surprises = load_surprises(known_path.with_name(SURPRISES_FILE))
    except KnownDivergenceError as exc:
        raise artifacts.ArtifactError(str(exc)) from None
    comparison = _compare(runs, known)
    judged = {run.label: claims.judge(run) for run in runs}
    changes, claim_changes = [], []
    if baseline_runs is not None:
        baseline_name = baseline_name or "baseline"
        changes = baseline.baseline_changes(_compare(baseline_runs, known), comparison)
        claim_changes = baseline.claim_changes({run.label: claims.judge(run) for run in baseline_runs}, judged)
    training = {run.label: claims.judge(run, TRAINING_CLAIMS) for run in runs}
    if not any(result.checks for table in training.values() for result in table.values()):
        training = {}  # nothing ran with Fit: no section
    seen, gone = paths.surprises_seen(surprises, runs)
    main_runs = paths.main_runs(runs)
    nightly = next_keras.build(list(runs), nightly_runs, bisects or []) if nightly_runs else None
    newest = [r for b in ("tensorflow", "jax", "torch")
              if (r := next_keras.newest(nightly_runs or [], b, nightly=True)) is not None]
    groups = families.families(comparison)
    parts = families.split(comparison, groups)
    folder = str(Path(results_dir).parent / "versions")  # versions/runs.py RELEASES_DIR
    model = ReportModel(
        runs=runs, comparison=comparison,
        verdicts={name: verdicts.scenario_verdict(comparison, name) for name in comparison.scenarios},
        counts=verdicts.counts(comparison), claims=judged,
        compiled={run.label: verdicts.eager_vs_compiled(run) for run in runs},
        reproduce=REPRODUCE, results_dir=results_dir, figure=figure,
        training={label: training[label] for label in comparison.labels if label in training},
        baseline=baseline_name, baseline_changes=changes, claim_changes=claim_changes,
        main_runs=main_runs, migration_paths=paths.paths(comparison, runs),
        known_by_path=paths.known_by_path(comparison), unexpected_by_path=paths.unexpected_by_path(comparison),
        differences=paths.differences(comparison, runs),
        surprises_seen=seen, surprises_gone=gone,
        timeline=timeline.build(runs, release_runs or [], folder, release_problem),
        families=groups, family_comparisons=parts, family_counts=families.family_counts(parts),
        demonstrations={id(e): demonstrated.demonstrations(e, comparison, main_runs) for e in [*known, *surprises]},
        stale_reasons={id(k): fingerprint.stale_reason(k, comparison, runs) for k in comparison.stale_known},
        next_keras=nightly, next_keras_data=next_keras.as_data(nightly) if nightly else {},
        known=known, newest_nightly=newest, known_on_nightly=known_runtime.on_runtime(list(known), comparison, runs, newest),
        upstream=_upstream_links([*known, *surprises], known_path.with_name(UPSTREAM_FILE)))
    return model, report_facts.facts(model)


def _upstream_links(entries: list, path: Path) -> dict[int, tuple[str, str]]:
    """Each entry's upstream draft and status (upstream.toml beside the registry; none without it).
    Bad data there is an UpstreamError, an ArtifactError: one line, exit 2."""
    if not path.is_file():
        return {}
    causes = upstream_drafts.load(path)
    found = {id(e): upstream_drafts.link_for(causes, e.scenario, e.id) or upstream_drafts.link_for(causes, e.minimal)
             for e in entries}
    return {key: (link.path, link.status) for key, link in found.items() if link is not None}


def _compare(runs: list[Artifact], known: list) -> verdicts.Comparison:
    try:
        return verdicts.compare(runs, known)
    except ValueError as exc:  # two artifacts with one label
        raise artifacts.ArtifactError(str(exc)) from None


def beside(results_dir: Path) -> dict[str, Any]:
    """`build`'s keyword arguments for the runs stored beside a results folder (reports/versions: the
    Keras 3 release runs, the keras-nightly runs and the stored bisects), read by versions/runs.py."""
    from harness.versions.runs import is_nightly_run, stored_bisects, version_runs

    runs, problem = version_runs(results_dir)
    return {"release_runs": [r for r in runs if not is_nightly_run(r)], "release_problem": problem,
            "nightly_runs": [r for r in runs if next_keras.is_nightly(r)], "bisects": stored_bisects(results_dir)}


def cmd_report(args: argparse.Namespace) -> int:
    runs = artifacts.read_all(args.results)
    baseline_runs = artifacts.read_all(args.baseline) if args.baseline else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    known_path = args.known or DEFAULT_KNOWN
    if args.known is not None and not args.known.is_file():
        raise artifacts.ArtifactError(f"--known {args.known}: file not found")
    # printable: a folder name that is not UTF-8 must not stop the report from being encoded
    model, facts = build(runs, known_path, None, baseline_runs,
                         safety.printable(args.baseline) if args.baseline else None,
                         results_dir=safety.printable(args.results), **beside(args.results))
    site.write(args.out.parent, site.build(model, args.out.name), args.out.name)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    safety.atomic_write(args.json, (json.dumps(facts, indent=1, sort_keys=True) + "\n").encode())
    unexpected = len(facts["findings"])
    print(f"report: {len(runs)} runs, {len(model.comparison.scenarios)} scenarios, "
          f"{unexpected} with unexpected divergences -> {args.out}, {args.json}")
    return 1 if args.strict and unexpected else 0


def cmd_readme(args: argparse.Namespace) -> int:
    for path in (args.summary, args.readme):
        if not path.is_file():
            raise UsageError(f"{path}: file not found")
        if path.stat().st_size > MAX_SUMMARY_BYTES:
            raise UsageError(f"{path}: larger than {MAX_SUMMARY_BYTES // 2**20} MiB")
    try:
        summary = json.loads(args.summary.read_text(encoding="utf-8"))
        text = args.readme.read_text(encoding="utf-8")
        new = readme.rewrite(text, summary)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{args.readme} from {args.summary}: {exc}") from None
    if args.check:
        if new != text:
            print(f"readme: {args.readme}'s generated block differs from {args.summary}; "
                  "run `python -m harness readme`")
            return 1
        return 0
    if new != text:
        safety.atomic_write(args.readme, new.encode("utf-8"))
    print(f"readme: {args.readme} block {'rewritten' if new != text else 'already up to date'} from {args.summary}")
    return 0
