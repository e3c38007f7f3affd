"""heatmap.png: tolerances apart per scenario and backend pair, drawn with matplotlib when installed."""

from __future__ import annotations

import math
from pathlib import Path

from harness.compare.verdicts import PairComparison
from harness.report import cells as cell_words
from harness.report.model import ReportModel

MAX_HEATMAP_ROWS = 200


HEAT_RANGE = 3.0  # log10 of tolerances apart drawn: 1/1000 of a tolerance .. 1000 tolerances


def heat_cell(pair: PairComparison) -> tuple[float, str]:
    """One comparison as (log10 tolerances apart, clipped; NaN when no values were compared) and
    its mark: errors and known divergences are drawn as themselves, never as a number."""
    mark = cell_words.heat_mark(pair.verdict, pair.raw_verdict)
    if pair.verdict == "known" and pair.raw_verdict not in cell_words.VALUE_KINDS:
        # a known mask, error or warnings difference: drawn as what it is, never as "identical values"
        return math.nan, mark
    if not pair.compared:
        return math.nan, mark or pair.verdict
    apart = pair.tolerances_apart
    if not math.isfinite(apart):
        return HEAT_RANGE, mark or "NaN/Inf"
    value = math.log10(apart) if apart > 0 else -HEAT_RANGE
    return max(-HEAT_RANGE, min(HEAT_RANGE, value)), mark


def draw(model: ReportModel, path: Path) -> bool:
    """Tolerances apart per scenario and pair (log scale, 1 tolerance in the middle); False when
    matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        return False
    cmp = model.comparison
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
