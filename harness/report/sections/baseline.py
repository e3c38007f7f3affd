"""Changed since baseline: divergences new and fixed, and claim verdicts that moved."""

from __future__ import annotations

from harness.compare.verdicts import EXPECTED
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    if model.baseline is None:
        return ""
    lines = ["## Changed since baseline", "", f"Baseline: {md.code(model.baseline)}.", ""]
    new = [c for c in model.baseline_changes if c.after not in EXPECTED]
    fixed = [c for c in model.baseline_changes if c.after in EXPECTED]
    for title, changes in (("New divergences", new), ("Fixed divergences", fixed)):
        lines.append(f"**{title}:** {len(changes)}")
        if changes:
            lines += ["", md.table(["scenario", "pair", "before", "now"],
                                   [[f"[{md.text(c.scenario)}](#{md.slug(c.scenario)})",
                                     common.pair_name(c.a, c.b), c.before, c.after] for c in changes])]
        lines.append("")
    lines.append(f"**Changed claim verdicts:** {len(model.claim_changes)}")
    if model.claim_changes:
        lines += ["", md.table(["claim", "run", "before", "now"],
                               [[c, md.text(r), b, a] for c, r, b, a in model.claim_changes])]
    return "\n".join(lines).rstrip()
