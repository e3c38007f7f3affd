"""Seed conclusions, checks and evidence: every check behind each claim, failing checks first."""

from __future__ import annotations

from harness.compare.claims import CLAIMS
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    """Every check of every claim, with its evidence in full (said once when all backends agree)."""
    labels = model.comparison.labels
    lines = ["## Seed conclusions: checks and evidence", "",
             "Every check behind each claim, failing checks first, with the evidence each backend recorded."]
    for claim, text in CLAIMS.items():
        checks: dict[tuple[str, str], dict[str, object]] = {}
        for label in labels:
            result = model.claims.get(label, {}).get(claim)
            for check in (result.checks if result else ()):
                checks.setdefault((check.scenario, check.name), {})[label] = check
        lines += ["", f"### Claim {claim}", "", md.text(text, 1000)]
        if not checks:
            lines += ["", "No scenario checks this claim."]
            continue
        rows = []
        failing_first = sorted(checks.items(), key=lambda kv: all(c.passed for c in kv[1].values()))
        for (scenario, name), per_run in failing_first:
            marks = [("yes" if per_run[x].passed else "**no**") if x in per_run else "—" for x in labels]
            rows.append([md.text(name, 1000), f"[{md.text(scenario)}](#{md.slug(scenario)})", *marks,
                         common.once({x: c.evidence for x, c in per_run.items()})])
        lines += ["", md.table(["check", "scenario", *(common.short(x) for x in labels), "evidence"], rows)]
    return "\n".join(lines)
