"""Seed conclusions under Keras 3: one verdict per claim, per backend where they differ."""

from __future__ import annotations

from harness.compare.claims import CLAIMS
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    """One verdict per claim when every backend agrees, per backend where they differ; the checks
    and their evidence in full are one link away, in the evidence section."""
    labels = model.comparison.labels
    rows = []
    for claim, text in CLAIMS.items():
        verdicts: dict[str, list[str]] = {}
        for label in labels:
            result = model.claims.get(label, {}).get(claim)
            verdict = common.claim_verdict(result) if result else "not judged"
            verdicts.setdefault(verdict, []).append(common.short(label))
        if len(verdicts) == 1:
            verdict = next(iter(verdicts))
        else:
            verdict = "; ".join(f"{', '.join(where)}: {v}" for v, where in verdicts.items())
        rows.append([claim, md.text(text), verdict, f"[checks and evidence](#{common.claim_anchor(claim)})"])
    return "\n".join(["## Seed conclusions under Keras 3", "",
                      "The seed's conclusions about Keras 2 masking, re-tested on every backend. One "
                      "verdict when every backend agrees, one per backend where they differ.", "",
                      md.table(["claim", "what the seed concluded (Keras 2)", "Keras 3", "details"], rows)])
