"""Scenarios by backend pair: each cell a verdict and how many tolerances apart the backends are, or what differs."""

from __future__ import annotations

import numpy as np

from harness.compare.verdicts import PairComparison
from harness.report import cells, common
from harness.report import markdown as md
from harness.report.model import ReportModel
from harness.report.sections.guidance import SURPRISES_HEADING


def render(model: ReportModel) -> str:
    cmp = model.comparison
    surprising = {name for x in model.surprises_seen for name in x.scenarios}
    anchor = md.slug(SURPRISES_HEADING)
    header = ["scenario", *(common.pair_name(a, b) for a, b in cmp.pairs)]
    rows = []
    for name in cmp.scenarios:
        cells = [f"[{md.text(name)}](#{md.slug(name)})"
                 + (f" ([same everywhere, not as documented](#{anchor}))" if name in surprising else "")]
        for a, b in cmp.pairs:
            cells.append(cell(cmp.get(name, a, b)))
        rows.append(cells)
    figure = (f"\n\n![Each comparison in tolerances: 1 is the limit; errors and known divergences "
              f"marked]({model.figure})" if model.figure else "")
    return "\n".join(["## Scenarios by backend pair", "",
                      "Each cell: the verdict. For a match (or both raising), how far apart the two "
                      "backends are in units of the tolerance that applied (the largest over the "
                      "scenario's probes: below 1 is within tolerance, 0 is identical; none when no "
                      "values were compared). For a known or unexpected difference, what differs (values, "
                      "masked values, mask, error, warnings) and, where values differ, the largest "
                      "absolute difference of the probes that differ. Details are in each scenario's "
                      "section.", "",
                      md.table(header, rows)]) + figure


def cell(pair: PairComparison) -> str:
    """One matrix cell: the verdict and how far apart, or what differs (report/cells.py's words)."""
    largest = pair.differing_max_abs
    return cells.text(pair.verdict, pair.raw_verdict, pair.tolerances_apart if pair.compared else None,
                      largest if np.isfinite(largest) else None)
