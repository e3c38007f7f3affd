"""The "Masks in training" section: claims T1..T5 (harness/compare/training_claims.py) per backend.

A table with one column per backend, then every check that failed somewhere with each backend's
evidence, and how many held. Empty when no run holds a scenario run with `Fit`.
"""

from __future__ import annotations

from typing import Any

from harness.compare.claims import Check
from harness.compare.training_claims import TRAINING_CLAIMS
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel

ANCHOR = "masks-in-training"


def render(model: ReportModel) -> str:
    judged = model.training
    if not judged:
        return ""
    labels = list(judged)
    rows = [[claim, md.text(text), *(common.claim_verdict(judged[label][claim]) for label in labels)]
            for claim, text in TRAINING_CLAIMS.items()]
    lines = ["## Masks in training", "",
             "Scenarios run through Keras's own training API (`compile`, `evaluate`, `fit`, "
             "`train_on_batch`/`test_on_batch`; see docs/training.md). Each check recomputes in numpy, from "
             "the captured predictions and the padding, what Keras documents, and compares it with the "
             "value Keras reported.", "",
             md.table(["claim", "what Keras documents", *(md.text(label) for label in labels)], rows)]
    failing: dict[str, dict[str, list[Check]]] = {}  # scenario -> run -> its failed checks
    for label in labels:
        for result in judged[label].values():
            for check in result.failed:
                failing.setdefault(check.scenario, {}).setdefault(label, []).append(check)
    total = {(c.scenario, c.name) for label in labels for r in judged[label].values() for c in r.checks}
    broken = {(c.scenario, c.name) for runs in failing.values() for checks in runs.values() for c in checks}
    lines += ["", f"{len(total) - len(broken)} of {len(total)} checks hold on every backend."]
    if failing:
        lines += ["", "Scenarios with a check that fails on at least one backend, with the evidence (a scenario "
                  "that raised fails all its checks: the error is shown once):", ""]
        for scenario, runs in sorted(failing.items()):
            raised = {label: checks[0].evidence for label, checks in runs.items()
                      if all(c.evidence.startswith("raised ") for c in checks)}
            head = "; ".join(f"{label} {md.text(evidence)}" for label, evidence in raised.items())
            lines.append(f"- [{md.text(scenario)}](#{md.slug(scenario)})" + (f": {head}" if head else ""))
            names = sorted({c.name for label, checks in runs.items() if label not in raised for c in checks})
            for name in names:
                shown = "; ".join(f"{label}: {md.text(c.evidence)}" for label, checks in runs.items()
                                  if label not in raised for c in checks if c.name == name)
                lines.append(f"  - {md.text(name)} — {shown}")
    return "\n".join(lines)


def facts(model: ReportModel) -> dict[str, Any]:
    """The section's facts for summary.json: verdicts per claim and backend, and the failing checks."""
    judged = model.training
    return {"training_claims": [
        {"id": claim, "text": text,
         "verdicts": {label: judged[label][claim].verdict for label in judged},
         "failed": {label: [{"scenario": c.scenario, "check": c.name, "evidence": c.evidence}
                            for c in judged[label][claim].failed] for label in judged}}
        for claim, text in TRAINING_CLAIMS.items()]} if judged else {}
