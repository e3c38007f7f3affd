"""The scheduled next-Keras workflow (.github/workflows/nightly.yml): linted, and its shape checked.

actionlint runs where it is installed (the tests extra installs it); the structure checks need a YAML
parser. What is checked is what the workflow promises: daily, the three backends, the report uploaded,
the bisect only when the report found an unbisected change, and never on a push or a pull request.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_workflow import SHA_PIN, _lint, _load_yaml, _tool

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"


@pytest.fixture(scope="module")
def workflow():
    return _load_yaml(WORKFLOW)


def test_actionlint_has_no_findings():
    result = _lint(_tool("actionlint"), "-no-color", str(WORKFLOW.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_scheduled_daily_and_by_hand_only_so_it_never_blocks_other_ci(workflow):
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (cron,) = [entry["cron"] for entry in triggers["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit()
    assert workflow["permissions"] == {"contents": "read"}


def test_the_suite_runs_the_resolved_build_on_each_backend(workflow):
    suite = workflow["jobs"]["suite"]
    assert suite["strategy"]["matrix"]["backend"] == ["tensorflow", "jax", "torch"]
    assert suite["needs"] == "resolve" and "needs.resolve.outputs.build" in suite["env"]["BUILD"]
    runs = " ".join(step.get("run", "") for step in suite["steps"])
    assert 'versions run --keras "$BUILD" --backend "$BACKEND"' in runs


def test_the_report_is_uploaded_and_the_bisect_runs_only_on_a_change(workflow):
    report = workflow["jobs"]["report"]
    uploads = [s for s in report["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and "nightly-out/report.md" in uploads[0]["with"]["path"]
    assert "--json nightly-out/summary.json" in " ".join(s.get("run", "") for s in report["steps"])
    bisect = workflow["jobs"]["bisect"]
    assert bisect["if"] == "${{ needs.report.outputs.changed == 'true' }}"
    assert "python -m harness bisect" in " ".join(s.get("run", "") for s in bisect["steps"])


def test_hygiene(workflow):
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), name
        for step in job["steps"]:
            if "uses" in step:
                assert SHA_PIN.match(step["uses"].split(" ")[0]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            # inputs and outputs reach the shell through env, never spliced into the script
            assert not re.search(r"\$\{\{\s*(inputs|needs|steps)\.", step.get("run", "")), step.get("name")
