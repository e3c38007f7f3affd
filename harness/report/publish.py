"""The `report` command: artifacts in, report.md + summary.json (+ heatmap) out. numpy only."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness import artifacts, safety
from harness.artifacts import Artifact
from harness.compare import claims, fingerprint, known_runtime, verdicts
from harness.compare.known import KnownDivergenceError, load_known, load_surprises
from harness.report import cells as cell_words
from harness.report import found, guidance, next_keras, render, site, training, versions

MAX_HEATMAP_ROWS = 200
# Beside the harness package, in the checkout and in an install alike (the suite ships as package data),
# so `keras-mask-harness report` run from any folder still knows the understood divergences.
DEFAULT_KNOWN = Path(__file__).resolve().parents[2] / "scenarios" / "known_divergences.toml"
SURPRISES_FILE = "surprises.toml"  # read from the known-divergence registry's folder
REPRODUCE = """pip install nox
nox -s tf jax torch          # one venv per backend; each session refreshes this report
nox -s report                # rebuild the report from reports/results/ without running anything"""


def build(runs: list[Artifact], known_path: Path, figure: str | None = None,
          baseline_runs: list[Artifact] | None = None, baseline_name: str | None = None,
          results_dir: str = "reports/results") -> tuple[render.ReportInput, dict[str, Any]]:
    """Everything the report shows, computed once: the markdown input and the summary."""
    try:
        known = load_known(known_path)
        surprises = load_surprises(known_path.with_name(SURPRISES_FILE))
    except KnownDivergenceError as exc:
        raise artifacts.ArtifactError(str(exc)) from None
    comparison = _compare(runs, known)
    judged = {run.label: claims.judge(run) for run in runs}
    compiled = {run.label: verdicts.eager_vs_compiled(run) for run in runs}
    changes, claim_changes = [], []
    if baseline_runs is not None:
        before = _compare(baseline_runs, known)
        baseline_name = baseline_name or "baseline"
        changes = baseline_changes(before, comparison)
        old_claims = {run.label: claims.judge(run) for run in baseline_runs}
        claim_changes = [(c, label, old_claims[label][c].verdict, judged[label][c].verdict)
                         for label in judged if label in old_claims for c in claims.CLAIMS
                         if old_claims[label][c].verdict != judged[label][c].verdict]
    data = render.ReportInput(runs=runs, comparison=comparison, claims=judged, compiled=compiled,
                              reproduce=REPRODUCE, results_dir=results_dir, figure=figure,
                              baseline=baseline_name,
                              baseline_changes=changes, claim_changes=claim_changes,
                              surprises=surprises, known=known)
    return data, summary(data)


def _compare(runs: list[Artifact], known: list) -> verdicts.Comparison:
    try:
        return verdicts.compare(runs, known)
    except ValueError as exc:  # two artifacts with one label
        raise artifacts.ArtifactError(str(exc)) from None


def baseline_changes(before: verdicts.Comparison, after: verdicts.Comparison) -> list[render.BaselineChange]:
    """Pairs whose verdict moved across the expected/unexpected line, or appeared."""
    out = []
    for key, pair in after.results.items():
        old = before.results.get(key)
        old_verdict = old.verdict if old else "absent"
        was_bad = old is not None and old.verdict not in verdicts.EXPECTED
        is_bad = pair.verdict not in verdicts.EXPECTED
        if was_bad != is_bad or (is_bad and old_verdict != pair.verdict):
            out.append(render.BaselineChange(pair.scenario, pair.a, pair.b, old_verdict, pair.verdict))
    order = {pair: i for i, pair in enumerate(after.pairs)}
    return sorted(out, key=lambda c: (c.scenario, order[(c.a, c.b)]))


def summary(data: render.ReportInput) -> dict[str, Any]:
    cmp = data.comparison
    scenarios = []
    for name in cmp.scenarios:
        pairs = {}
        for a, b in cmp.pairs:
            p = cmp.get(name, a, b)
            compared = any(x.kept.n_total or x.masked.n_total for x in p.probes)
            pairs[p.key] = {"verdict": p.verdict, "raw_verdict": p.raw_verdict,
                            "max_abs_diff": _finite(p.max_abs) if compared else None,
                            # the largest |a - b| over the probes that differ: what a known cell shows
                            "differing_max_abs": _finite(p.differing_max_abs) if compared else None,
                            "tolerances_apart": _finite(render.tolerances_apart(p)) if compared else None,
                            "nonfinite": not math.isfinite(p.max_abs),
                            "cell": render.matrix_cell(p),
                            "detail": p.detail,
                            **({"known": [e.id for e in p.explained_by]} if p.explained_by else {}),
                            **({"known_note": p.known_note} if p.known_note else {})}
        scenarios.append({"name": name, "verdict": verdicts.scenario_verdict(cmp, name), "pairs": pairs})
    return {
        "backends": cmp.labels,
        "environments": {r.label: r.environment for r in data.runs},
        "counts": verdicts.counts(cmp),
        "claims": [
            {"id": claim, "text": text,
             "verdicts": {label: data.claims[label][claim].verdict for label in cmp.labels},
             "evidence": {label: data.claims[label][claim].evidence for label in cmp.labels}}
            for claim, text in claims.CLAIMS.items()
        ],
        "findings": [s["name"] for s in scenarios if s["verdict"] not in verdicts.EXPECTED],
        "known_on_nightly": [{"id": x.entry.id, "status": x.status, "detail": x.detail}
                             for x in known_runtime.on_runtime(list(data.known), next_keras.nightly_runs(data))],
        "stale_known": [{"id": k.id, "scenarios": k.scenario,
                         "why": fingerprint.stale_reason(k, cmp, data.runs)} for k in cmp.stale_known],
        **({"found_by_generation": facts} if (facts := found.facts(data)) else {}),  # harness fuzz
        "compiled": {label: {s: p.verdict for s, p in v.items()} for label, v in data.compiled.items()},
        "scenarios": scenarios,
        "what_it_means": guidance.facts(data),
        **training.summary(data),  # training_claims: T1..T5 per backend, with the failing checks
        **versions.summary(data),  # keras_versions: claims per runtime, changes, changed scenarios
        **next_keras.summary(data),  # next_keras: the newest nightly against the newest release, by cause
        **({"baseline_changes": [{"scenario": c.scenario, "pair": c.pair, "before": c.before,
                                  "after": c.after} for c in data.baseline_changes],
            "claim_changes": [{"claim": c, "run": r, "before": b, "after": a}
                              for c, r, b, a in data.claim_changes]} if data.baseline else {}),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


HEAT_RANGE = 3.0  # log10 of tolerances apart drawn: 1/1000 of a tolerance .. 1000 tolerances


def heat_cell(pair: verdicts.PairComparison) -> tuple[float, str]:
    """One comparison as (log10 tolerances apart, clipped; NaN when no values were compared) and
    its mark: errors and known divergences are drawn as themselves, never as a number."""
    compared = any(p.kept.n_total or p.masked.n_total for p in pair.probes)
    mark = cell_words.heat_mark(pair.verdict, pair.raw_verdict)
    if pair.verdict == "known" and pair.raw_verdict not in cell_words.VALUE_KINDS:
        # a known mask, error or warnings difference: drawn as what it is, never as "identical values"
        return math.nan, mark
    if not compared:
        return math.nan, mark or pair.verdict
    apart = render.tolerances_apart(pair)
    if not math.isfinite(apart):
        return HEAT_RANGE, mark or "NaN/Inf"
    value = math.log10(apart) if apart > 0 else -HEAT_RANGE
    return max(-HEAT_RANGE, min(HEAT_RANGE, value)), mark


def heatmap(data: render.ReportInput, path: Path) -> bool:
    """Tolerances apart per scenario and pair (log scale, 1 tolerance in the middle); False when
    matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        return False
    cmp = data.comparison
    if not cmp.pairs or not cmp.scenarios:  # one run: nothing to compare, no figure
        return False
    cells = {name: [heat_cell(cmp.get(name, a, b)) for a, b in cmp.pairs] for name in cmp.scenarios}

    def worst(name: str) -> float:  # marked cells (errors, divergences) first, then the largest
        return max(HEAT_RANGE + 1 if mark else (-HEAT_RANGE if math.isnan(v) else v) for v, mark in cells[name])

    # A figure stays readable (and quick to draw) up to a few hundred rows: beyond that, the
    # scenarios with the largest differences, in name order.
    shown = sorted(sorted(cells, key=lambda n: -worst(n))[:MAX_HEATMAP_ROWS])
    grid = np.ma.masked_invalid(np.array([[v for v, _ in cells[name]] for name in shown]))
    fig, ax = plt.subplots(figsize=(2.5 + 1.6 * len(cmp.pairs), 1.5 + 0.18 * len(shown)))
    cmap = matplotlib.colormaps["coolwarm"].copy()
    cmap.set_bad("#bbbbbb")  # no values compared: both raised, or one is missing
    image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=-HEAT_RANGE, vmax=HEAT_RANGE)
    for row, name in enumerate(shown):
        for column, (_, mark) in enumerate(cells[name]):
            if mark:
                ax.text(column, row, mark, ha="center", va="center", fontsize=5)
    ax.set_xticks(range(len(cmp.pairs)), [f"{a}\nvs {b}" for a, b in cmp.pairs], fontsize=8)
    ax.set_yticks(range(len(shown)), shown, fontsize=6)
    bar = fig.colorbar(image, ax=ax, ticks=[-3, -2, -1, 0, 1, 2, 3])
    bar.ax.set_yticklabels(["≤0.001 (or identical)", "0.01", "0.1", "1 (the limit)", "10", "100", "≥1000"],
                           fontsize=6)
    bar.set_label("tolerances apart (largest over probes)")
    title = "Backends apart, in tolerances (grey: no values compared, or a mask, error or warnings difference)"
    if len(shown) < len(cmp.scenarios):
        title += f"\n({len(shown)} of {len(cmp.scenarios)} scenarios: the largest differences)"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90, metadata={"Software": None})  # no timestamp: same input, same bytes
    plt.close(fig)
    tmp.replace(path)
    return True


def build_report(args: Any) -> int:
    runs = artifacts.read_all(args.results)
    baseline_runs = artifacts.read_all(args.baseline) if args.baseline else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    known_path = args.known or DEFAULT_KNOWN
    if args.known is not None and not args.known.is_file():
        raise artifacts.ArtifactError(f"--known {args.known}: file not found")
    # printable: a folder name that is not UTF-8 must not stop the report from being encoded
    data, facts = build(runs, known_path, None, baseline_runs,
                        safety.printable(args.baseline) if args.baseline else None,
                        results_dir=safety.printable(args.results))
    site.write(args.out.parent, site.build(data, args.out.name), args.out.name)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    artifacts.atomic_write(args.json, (json.dumps(facts, indent=1, sort_keys=True) + "\n").encode())
    unexpected = len(facts["findings"])
    print(f"report: {len(runs)} runs, {len(data.comparison.scenarios)} scenarios, "
          f"{unexpected} with unexpected divergences -> {args.out}, {args.json}")
    return 1 if args.strict and unexpected else 0
