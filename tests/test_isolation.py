"""Isolation: scenarios that raise, hang, abort, SIGKILL themselves, exit, or are malformed.

One real run (JAX, the quickest backend to start) over tests/fixtures/faults.py, where every fault
is followed by a healthy scenario. The run must finish, keep every result, record each fault with
the right status, and still run the scenarios after each crash (in a fresh worker).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.report import cli as report_cli
from harness.report import render

# Looked up, not imported: importing keras here would import its default backend, TensorFlow, into the
# pytest process (15-70 s at collection, in every xdist worker) for a run that happens in a subprocess.
pytestmark = [pytest.mark.backend,
              pytest.mark.skipif(any(importlib.util.find_spec(p) is None for p in ("keras", "jax")),
                                 reason="needs keras and jax")]

ROOT = Path(__file__).resolve().parents[1]
FAULTS = Path(__file__).resolve().parent / "fixtures" / "faults.py"
TIMEOUT_S = 5

# scenario -> (status, error type, a fragment of the error message); None: no error recorded
EXPECTED = {
    "fault/01-ok-first": ("ok", None, None),
    "fault/02-raises": ("error", "ValueError", "scenario exploded on purpose"),
    "fault/03-ok-after-raise": ("ok", None, None),
    "fault/04-hangs": ("timeout", "timeout", f"stopped after {TIMEOUT_S} s"),
    "fault/05-ok-after-hang": ("ok", None, None),
    "fault/06-aborts": ("crashed", "crashed", "SIGABRT"),
    "fault/07-ok-after-abort": ("ok", None, None),
    "fault/08-sigkill": ("crashed", "crashed", "SIGKILL"),
    "fault/09-ok-after-sigkill": ("ok", None, None),
    "fault/10-exits": ("crashed", "crashed", "status 3"),
    "fault/11-wrong-return": ("error", "ScenarioDefinitionError", "build() must return (model, inputs), got int"),
    "fault/12-not-a-model": ("error", "ScenarioDefinitionError", "returned str, not a keras.Model"),
    "fault/13-missing-probe": ("error", "ScenarioDefinitionError", "['no_such_layer'] name no layer"),
    "fault/14-input-shape": ("error", "ScenarioDefinitionError", "has shape (1, 4, 5), model expects (batch, 4, 2)"),
    "fault/15-input-count": ("error", "ScenarioDefinitionError", "2 input arrays for 1 model inputs"),
    "fault/16-input-names": ("error", "ScenarioDefinitionError", "['not_x'] do not match the model's inputs ['x']"),
    "fault/17-expectation-raises": ("ok", None, None),
    "fault/18-ok-last": ("ok", None, None),
}
FAULTS_INJECTED = {  # kind -> scenarios; every one must be survived (the run goes on and keeps results)
    "raises": ["fault/02-raises"],
    "hangs (timeout)": ["fault/04-hangs"],
    "abort (SIGABRT)": ["fault/06-aborts"],
    "SIGKILL to itself": ["fault/08-sigkill"],
    "sys.exit in build": ["fault/10-exits"],
    "build returns the wrong thing": ["fault/11-wrong-return", "fault/12-not-a-model"],
    "probe that does not exist": ["fault/13-missing-probe"],
    "inputs that do not match the model": ["fault/14-input-shape", "fault/15-input-count",
                                           "fault/16-input-names"],
    "expectation check raises": ["fault/17-expectation-raises"],
}


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    """Run the fault suite once; return (completed process, results folder, artifact)."""
    workdir = tmp_path_factory.mktemp("isolation")
    results = workdir / "results"
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(ROOT)
    env["FAULTS_BUILD_LOG"] = str(workdir / "builds.log")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--backend", "jax", "--scenarios", str(FAULTS),
         "--results", str(results), "--timeout", str(TIMEOUT_S), "--no-compiled", "-q",
         "--workers", "1"],  # one lane: each fault is followed by a healthy scenario in the same lane
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    paths = sorted(results.glob("*.json"))
    assert len(paths) == 1, (paths, done.stdout, done.stderr[-3000:])
    return done, results, artifacts.read(paths[0])


def test_the_run_finishes_and_writes_one_artifact(fault_run):
    done, results, artifact = fault_run
    assert artifact.backend == "jax"
    assert sorted(p.name for p in results.iterdir()) == [f"{artifact.label}.json", f"{artifact.label}.npz"]
    assert not list(results.glob(".partial-*")), "the journal folder is cleaned up"
    summary = done.stdout.strip().splitlines()[-1]
    assert "18 scenarios (3 crashed, 7 error, 7 ok, 1 timeout)" in summary


def test_every_scenario_has_a_record_in_order(fault_run):
    _, _, artifact = fault_run
    assert list(artifact.records) == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_status_and_error_of_each_scenario(fault_run, name):
    status, error_type, fragment = EXPECTED[name]
    record = fault_run[2].records[name]
    assert record.status == status
    error = record.captured.error
    if error_type is None:
        assert error is None
    else:
        assert error.type == error_type
        assert fragment in error.message
        assert "\n" not in error.message


def test_raise_records_the_traceback_tail(fault_run):
    error = fault_run[2].records["fault/02-raises"].captured.error
    assert error.traceback, "the last frames are recorded"
    assert error.traceback[-1].startswith("faults.py:") and error.traceback[-1].endswith("in _explode")
    assert any(frame.endswith("in raises") for frame in error.traceback)
    assert all("/" not in frame for frame in error.traceback), "file names only, no machine paths"


def test_timeout_stops_the_scenario_at_the_limit(fault_run):
    record = fault_run[2].records["fault/04-hangs"]
    assert record.duration_s == pytest.approx(TIMEOUT_S, abs=0.5)
    assert record.captured.probes == {}


@pytest.mark.parametrize("name", [n for n, (status, _, _) in EXPECTED.items() if status == "ok"])
def test_healthy_scenarios_keep_their_results(fault_run, name):
    """Before and after every fault, including those that killed the worker, results are complete."""
    record = fault_run[2].records[name]
    assert set(record.captured.probes) == {"masking", "dense"}
    masking = record.captured.probes["masking"]
    np.testing.assert_array_equal(masking.mask, [[False, True, False, True]])
    assert record.captured.probes["dense"].values.shape == (1, 4, 3)
    assert record.meta["deterministic"] is True


def test_each_scenario_is_built_exactly_once(fault_run):
    """No rerun of what finished before a crash, and no retry of the scenario that crashed."""
    log = fault_run[1].parent / "builds.log"
    assert log.read_text().splitlines() == list(EXPECTED)


def test_results_from_before_a_crash_survive_it(fault_run):
    """The worker that ran 05 died on 06; 05's arrays came from the journal, not from a rerun."""
    records = fault_run[2].records
    first = records["fault/01-ok-first"].captured.output("dense")
    for name in ("fault/05-ok-after-hang", "fault/07-ok-after-abort", "fault/09-ok-after-sigkill"):
        assert records[name].status == "ok"
        # same model, same input, weights seeded by scenario name: values differ, shapes agree
        assert records[name].captured.output("dense").shape == first.shape


def test_definition_errors_are_flagged(fault_run):
    records = fault_run[2].records
    flagged = sorted(n for n, r in records.items() if r.meta.get("definition_error"))
    assert flagged == [f"fault/{n}" for n in ("11-wrong-return", "12-not-a-model", "13-missing-probe",
                                               "14-input-shape", "15-input-count", "16-input-names")]


def test_an_expectation_that_raises_counts_as_not_holding(fault_run):
    record = fault_run[2].records["fault/17-expectation-raises"]
    assert record.status == "ok"
    [result] = record.meta["expectations"]
    assert result["passed"] is False
    assert "RuntimeError: expectation check exploded" in result["evidence"]


def test_every_injected_fault_was_survived(fault_run):
    records = fault_run[2].records
    injected = [name for names in FAULTS_INJECTED.values() for name in names]
    assert len(injected) == 12
    assert all(records[name].status != "ok" or name == "fault/17-expectation-raises" for name in injected)
    healthy = [name for name in records if name not in injected]
    assert healthy and all(records[name].status == "ok" for name in healthy)
    # each fault is followed by a scenario that still ran to completion
    order = list(records)
    for name in injected:
        follower = order[order.index(name) + 1]
        assert records[follower].status in ("ok", "error"), follower
        assert records[follower].duration_s > 0 or records[follower].meta.get("definition_error")


def test_the_report_shows_each_failure(fault_run, tmp_path):
    _, _, artifact = fault_run
    data, _ = report_cli.build([artifact], tmp_path / "no-known.toml")
    text = render.render(data)
    for fragment in ("crashed `crashed: worker killed by SIGABRT`", "timeout `timeout: stopped after 5 s`",
                     "error `ValueError: scenario exploded on purpose`"):
        assert fragment in text
