"""How this report was made: the command, and the environment of every run it compares."""

from __future__ import annotations

from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel

ENV_ROWS = ("backend", "backend_version", "keras", "numpy", "python", "platform", "device",
            "device_name", "floatx", "harness", "git_revision", "time", "run_wall_s", "compilation_cache")


def render(model: ReportModel) -> str:
    runs = common.runs_in_order(model)
    rows = [[key] + [md.text(r.environment.get(key, "—")) for r in runs] for key in ENV_ROWS]
    return "\n".join(["## How this report was made", "", "Reproduce:", "", md.fenced(model.reproduce, "sh"), "",
                      "The runs it compares (`run_wall_s`: the seconds each run took):", "",
                      md.table(["", *(md.code(r.label, cell=True) for r in runs)], rows)])
