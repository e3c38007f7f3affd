"""The GitHub Actions workflow (.github/workflows/harness.yml): linted, and its shape checked.

The linters run only where they are installed (actionlint, zizmor, check-jsonschema); the structure
checks need a YAML parser (PyYAML, or ruamel.yaml) and nothing else. The structure is checked against
the repository's own sources of truth: the backend sessions of noxfile.py (read with ast, so nox need
not be installed) and the pins of pyproject.toml (the HARNESS_PIN_<NAME> overrides).
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "harness.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


# --- linters (each runs only where it is installed) ---------------------------------------------

def _tool(name: str) -> str:
    """A console script on PATH or beside this interpreter (a venv run without activation)."""
    beside = Path(sys.executable).parent / name
    found = shutil.which(name) or (str(beside) if beside.exists() else None)
    if not found:
        pytest.skip(f"{name} is not installed")
    return found


def _lint(*command: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
               NO_COLOR="1")
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_actionlint_has_no_findings() -> None:
    # shellcheck (run: scripts) and pyflakes (the `shell: python` step) are used when on PATH
    result = _lint(_tool("actionlint"), "-no-color", str(WORKFLOW.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_findings() -> None:
    result = _lint(_tool("zizmor"), "--offline", "--no-progress", str(WORKFLOW.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_matches_github_schema() -> None:
    result = _lint(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                   str(WORKFLOW.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


# --- structure ----------------------------------------------------------------------------------

def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        try:
            from ruamel.yaml import YAML
        except ImportError:
            pytest.skip("no YAML parser installed (PyYAML or ruamel.yaml)")
        return YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = _load_yaml(WORKFLOW)
    if True in data:  # YAML 1.1 (PyYAML) reads the key `on` as the boolean true
        data["on"] = data.pop(True)
    return data


def _noxfile_constant(name: str) -> Any:
    """A literal assigned at the top of noxfile.py, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py has no {name}")


def _backend_sessions() -> dict[str, tuple[str, str]]:
    """noxfile.BACKEND_SESSIONS, read without importing nox."""
    return _noxfile_constant("BACKEND_SESSIONS")


def _pin_env_names(groups: list[str]) -> set[str]:
    """The HARNESS_PIN_<NAME> variables that noxfile.pins() reads for these dependency groups."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {re.split(r"[\[=<>!~ ]", req, maxsplit=1)[0] for group in groups for req in deps[group]}
    return {"HARNESS_PIN_" + name.upper().replace("-", "_") for name in names}


def _matrix_job(workflow: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    jobs = [(name, job) for name, job in workflow["jobs"].items() if "matrix" in job.get("strategy", {})]
    assert len(jobs) == 1, "exactly one matrix job runs the backends"
    return jobs[0]


def _report_job(workflow: dict[str, Any]) -> dict[str, Any]:
    jobs = [job for job in workflow["jobs"].values()
            if any(re.search(r"\bnox\b.*\s-s\s+report\b", step.get("run", "")) for step in job["steps"])]
    assert len(jobs) == 1, "exactly one job runs `nox -s report`"
    return jobs[0]


def _steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]


def _runs_nox_session(step: dict[str, Any]) -> bool:
    return bool(re.search(r"\bnox\b.*\s-s\s", step.get("run", "")))


def _first(job: dict[str, Any], predicate: Any) -> int:
    return next(i for i, step in enumerate(job["steps"]) if predicate(step))


def test_matrix_runs_every_backend_session_of_the_noxfile(workflow: dict[str, Any]) -> None:
    _, job = _matrix_job(workflow)
    sessions = job["strategy"]["matrix"]["session"]
    assert set(sessions) == {"tf", "jax", "torch"} == set(_backend_sessions())
    assert len(sessions) == len(set(sessions))
    assert job["strategy"].get("fail-fast") is False, "one failing backend must not cancel the others"
    assert job["runs-on"] == "ubuntu-latest"
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert any(re.search(r"\bnox\b.*\s-s\s+\"?\$SESSION\b", run) for run in runs)
    session_env = [step.get("env", {}).get("SESSION") for step in job["steps"]]
    assert "${{ matrix.session }}" in session_env
    python = [step["with"]["python-version"] for step in _steps_using(job, "actions/setup-python")]
    assert python == ["${{ matrix.python }}"]  # nox runs the session on the Python it runs on
    pythons = job["strategy"]["matrix"]["python"]
    assert len(pythons) >= 2 and set(pythons) <= set(_noxfile_constant("SUPPORTED_PYTHONS"))


def test_each_backend_job_uploads_its_artifact_under_a_unique_name(workflow: dict[str, Any]) -> None:
    _, job = _matrix_job(workflow)
    (upload,) = _steps_using(job, "actions/upload-artifact")
    paths = upload["with"]["path"].split()
    assert set(paths) == {"reports/results/*.json", "reports/results/*.npz"}
    name = upload["with"]["name"]
    assert "${{ matrix.session }}" in name
    assert upload.get("if") == "${{ !cancelled() }}", "a job that failed after writing still uploads"


def test_report_job_merges_every_backend_artifact(workflow: dict[str, Any]) -> None:
    matrix_name, matrix_job = _matrix_job(workflow)
    job = _report_job(workflow)
    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
    assert matrix_name in needs
    assert "cancelled()" in job["if"] or "always()" in job["if"], "a failed backend must not skip the report"
    (download,) = _steps_using(job, "actions/download-artifact")
    assert download["with"]["path"] == "reports/results"
    assert download["with"]["merge-multiple"] is True
    (upload,) = _steps_using(matrix_job, "actions/upload-artifact")
    pythons = matrix_job["strategy"]["matrix"]["python"]
    for session in _backend_sessions():  # exactly one Python's leg of each backend is merged
        uploaded = [upload["with"]["name"].replace("${{ matrix.session }}", session)
                    .replace("${{ matrix.python }}", python) for python in pythons]
        assert sum(fnmatch.fnmatchcase(name, download["with"]["pattern"]) for name in uploaded) == 1, uploaded
    assert job["steps"].index(download) < _first(job, _runs_nox_session)
    # the published report and its inputs leave the job as one artifact
    assert any(step["with"]["path"].rstrip("/") == "reports" for step in _steps_using(job, "actions/upload-artifact"))
    # the report itself never fails on a divergence; --strict only behind the dispatch input
    for step in job["steps"]:
        if "--strict" in step.get("run", ""):
            assert "inputs.strict" in step.get("if", "")


def test_committed_artifacts_never_stand_in_for_this_run(workflow: dict[str, Any]) -> None:
    for job in (_matrix_job(workflow)[1], _report_job(workflow)):
        clear = _first(job, lambda step: "rm -rf reports/results" in step.get("run", ""))
        assert clear < _first(job, lambda step: _runs_nox_session(step) or "download-artifact" in step.get("uses", ""))


def test_report_is_written_to_the_job_summary(workflow: dict[str, Any]) -> None:
    job = _report_job(workflow)
    assert any("GITHUB_STEP_SUMMARY" in step.get("run", "") for step in job["steps"])


def test_torch_job_alone_uses_the_cpu_wheel_index(workflow: dict[str, Any]) -> None:
    _, job = _matrix_job(workflow)
    (key,) = EXPR.findall(job["env"]["PIP_EXTRA_INDEX_URL"])
    assert key.startswith("matrix.")
    includes = job["strategy"]["matrix"]["include"]
    values = {entry["session"]: entry.get(key.removeprefix("matrix.")) for entry in includes}
    assert values == {"torch": "https://download.pytorch.org/whl/cpu"}


def test_every_backend_pin_can_be_overridden_from_a_dispatch_input(workflow: dict[str, Any]) -> None:
    _, job = _matrix_job(workflow)
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    pins = {name: value for name, value in job["env"].items() if name.startswith("HARNESS_PIN_")}
    assert set(pins) == _pin_env_names([group for group, _ in _backend_sessions().values()])
    for name, value in pins.items():
        (expression,) = EXPR.findall(value)
        source = expression.removeprefix("inputs.")
        assert expression.startswith("inputs.") and source in inputs, name
        assert inputs[source]["type"] == "string" and inputs[source].get("default") == "", name


def test_hygiene(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    assert "group" in workflow["concurrency"]
    for job in workflow["jobs"].values():
        assert "permissions" not in job or job["permissions"] == {"contents": "read"}
        assert "timeout-minutes" in job
        for step in job["steps"]:
            if "uses" in step:
                assert SHA_PIN.match(step["uses"]), f"not pinned to a commit: {step['uses']}"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            for expression in EXPR.findall(step.get("run", "")):  # values reach scripts through env
                pytest.fail(f"expression expanded inside a script: {expression}")


# --- the job summary step, run for real ---------------------------------------------------------

def _summary_step(workflow: dict[str, Any]) -> str:
    job = _report_job(workflow)
    (step,) = [step for step in job["steps"] if step.get("shell") == "python"]
    return step["run"]


def _run_summary(workflow: dict[str, Any], tmp_path: Path, report: str, findings: int) -> tuple[str, str]:
    results = tmp_path / "reports" / "results"
    results.mkdir(parents=True)
    for label in ("jax-cpu", "torch-cuda"):
        (results / f"{label}.json").write_text("{}")
    (tmp_path / "reports" / "report.md").write_text(report, encoding="utf-8")
    (tmp_path / "reports" / "summary.json").write_text(json.dumps({"findings": [{}] * findings}))
    summary = tmp_path / "summary.md"
    env = dict(os.environ, GITHUB_SERVER_URL="https://github.com", GITHUB_REPOSITORY="o/r",
               GITHUB_RUN_ID="7", GITHUB_STEP_SUMMARY=str(summary))
    result = subprocess.run([sys.executable, "-c", _summary_step(workflow)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    return summary.read_text(encoding="utf-8"), result.stdout


def test_summary_carries_a_small_report_whole(workflow: dict[str, Any], tmp_path: Path) -> None:
    report = "# Report\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n"
    text, out = _run_summary(workflow, tmp_path, report, findings=0)
    assert text.endswith(report)
    assert "jax-cpu, torch-cuda" in text and "https://github.com/o/r/actions/runs/7" in text
    assert "truncated" not in text and "::warning" not in out


def test_summary_truncates_a_report_over_one_mib(workflow: dict[str, Any], tmp_path: Path) -> None:
    report = "# Report\n\n" + "| `é✓` | 1 |\n" * 60_000 + "```text\n" + "élan ✓ line\n" * 60_000 + "```\n"
    assert len(report.encode()) > 1024 * 1024
    text, out = _run_summary(workflow, tmp_path, report, findings=3)
    assert len(text.encode("utf-8")) <= 1024 * 1024
    body, note = text.rsplit("\n---\n", 1)
    assert "truncated" in note and "1 MiB" in note and "actions/runs/7" in note
    assert body.rstrip("\n").endswith("```"), "an open code fence is closed before the note"
    assert sum(line.startswith("```") for line in body.splitlines()) % 2 == 0
    lines = body.rstrip("\n").splitlines()
    assert lines[-1] == "```" and lines[-2] == "élan ✓ line", "cut at a line boundary"
    assert set(lines[2:-1]) == {"", "# Report", "| `é✓` | 1 |", "```text", "élan ✓ line"}
    assert "::warning" in out and "3 unexpected" in out
