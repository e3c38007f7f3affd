"""The markdown report: its sections in order, each a module of report/sections with one interface,
`render(model: ReportModel) -> str` ('' when it has nothing to show). Deterministic for equal input."""

from __future__ import annotations

from harness.report.model import ReportModel
from harness.report.sections import (
    baseline,
    claims,
    compiled,
    environment,
    evidence,
    findings,
    found,
    guidance,
    header,
    known,
    legend,
    matrix,
    next_keras,
    scenarios,
    summary,
    training,
    versions,
)

# The answer first (what changes for a user, and what to do), then how to read the rest, then the
# evidence and the machinery. Adding a section is one module and one line here.
SECTIONS = (
    header,
    guidance,  # What this means for you
    next_keras,  # What changes in the next Keras (newest nightly vs newest release)
    findings,
    legend,  # How to read this report
    claims,  # Seed conclusions under Keras 3
    versions,  # Seed conclusions across Keras versions (Keras 2, 3.x releases)
    training,  # Masks in training (claims T1..T5, scenarios run with Fit)
    summary,
    baseline,  # Changed since baseline
    matrix,  # Scenarios by backend pair
    compiled,  # Compiled mode and determinism
    known,  # Known divergences
    found,  # Found by generation (harness fuzz, scenarios/found/)
    evidence,  # Seed conclusions: checks and evidence
    environment,  # How this report was made
    scenarios,
)


def render(model: ReportModel) -> str:
    return "\n\n".join(s for s in (section.render(model) for section in SECTIONS) if s) + "\n"
