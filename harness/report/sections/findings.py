"""Findings: the scenarios that diverge between backends for no recorded reason, most severe first."""

from __future__ import annotations

from harness.compare.verdicts import EXPECTED, SEVERITY
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    cmp = model.comparison
    lines = ["## Findings", ""]
    unexpected = [s for s in cmp.scenarios if model.verdicts[s] not in EXPECTED]
    if not unexpected:
        known = sum(p.verdict == "known" for p in cmp.results.values())
        return "\n".join(lines + ["No unexpected divergence between backends: every pair matches, "
                                  "fails the same way, or differs for a known reason"
                                  + (f" ({known} comparisons: see [Known divergences](#known-divergences))."
                                     if known else ".")])
    lines.append(f"{len(unexpected)} scenarios diverge between backends for no recorded reason "
                 "(each section shows the scenario's source as a reproduction):")
    lines.append("")
    for name in sorted(unexpected, key=lambda s: (SEVERITY.index(model.verdicts[s]), s)):
        pairs = [cmp.get(name, a, b) for a, b in cmp.pairs]
        bad = "; ".join(f"{common.pair_name(p.a, p.b)}: {p.verdict}" + (f" ({md.text(p.detail)})" if p.detail else "")
                        for p in pairs if p.verdict not in EXPECTED)
        lines.append(f"- [{md.text(name)}](#{md.slug(name)}): {bad}")
    return "\n".join(lines)
