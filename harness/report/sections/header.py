"""The report's title and what it compares."""

from __future__ import annotations

from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    labels = ", ".join(md.code(r.label) for r in common.runs_in_order(model))
    return "\n".join([
        "# Keras mask harness report",
        "",
        f"{len(model.comparison.scenarios)} scenarios compared across {len(model.runs)} runs ({labels}), "
        f"every pair of runs. Produced by `python -m harness report` from the artifacts in "
        f"{md.code(model.results_dir)}; nothing in this file is edited by hand "
        "([how to reproduce it](#how-this-report-was-made)).",
    ])
