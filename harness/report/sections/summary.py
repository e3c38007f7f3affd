"""Summary: how many scenario × pair comparisons got each verdict."""

from __future__ import annotations

from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    tally = model.counts
    rows = [[verdict, str(n)] for verdict, n in sorted(tally.items(), key=lambda kv: common.rank(kv[0]))]
    return "\n".join(["## Summary", "",
                      f"Verdicts over {len(model.comparison.results)} scenario × pair comparisons:",
                      "", md.table(["verdict", "count"], rows)])
