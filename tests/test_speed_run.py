"""Issue 23, the forced run: one backend's scenarios in several worker processes at once (run/lanes.py).

The shares, the worker count, and the supervisor with two lanes against the fake worker
(tests/fixtures/fake_worker.py): every scenario runs exactly once, the artifact keeps the suite's
order, a crash or hang in one lane costs one scenario and never the other lane, an interrupt stops
every worker. That the arrays are the same bit for bit as a one-worker run is measured on the real
suite by benchmarks/bench_forced.py (`compare`).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import artifacts
from harness.__main__ import main
from harness.run import lanes

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_cli import assert_usage_error  # noqa: E402
from test_reliability import within  # noqa: E402
from test_reliability_run import (  # noqa: E402
    DRIVER,
    _restore_environment,  # noqa: F401  (a fixture: HARNESS_WORKERS set here does not leak)
    _running,
    _wait_for,
    scenario_file,
    statuses,
    supervise,
)


# ---- the shares ----------------------------------------------------------------------------------------------

def test_without_durations_the_lanes_alternate_and_keep_the_suite_order():
    names = [f"s/{i}" for i in range(7)]
    assert lanes.shares(names, 2, {}) == [["s/0", "s/2", "s/4", "s/6"], ["s/1", "s/3", "s/5"]]
    assert lanes.shares(names, 1, {}) == [names]
    assert lanes.shares(["a/1"], 4, {}) == [["a/1"]], "never a lane without a scenario"
    assert lanes.shares([], 2, {}) == [[]]


def test_with_durations_the_longest_go_first_to_the_least_loaded_lane():
    names = ["a", "b", "c", "d", "e", "f"]
    durations = {"a": 1.0, "b": 9.0, "c": 1.0, "d": 4.0, "e": 4.0, "f": 1.0}
    first, second = lanes.shares(names, 2, durations)
    # b 9 -> lane 0; d 4, e 4, a 1 -> lane 1 (9); c 1 -> lane 0 (9, 9: the first); f 1 -> lane 1: 10 s each
    assert first == ["b", "c"] and second == ["a", "d", "e", "f"], "balanced, each in suite order"
    # b 9 -> lane 0; d 4 -> 1; e 4 -> 2; a 1 -> 1 (4, 4: the first); c 1 -> 2; f 1 -> 1 (5, 5: the first)
    assert lanes.shares(names, 3, durations) == [["b"], ["a", "d", "f"], ["c", "e"]]


def test_a_scenario_new_since_the_previous_run_counts_as_a_typical_one():
    durations = {"old/1": 1.0, "old/2": 2.0, "old/3": 3.0}
    shares = lanes.shares(["old/1", "old/2", "old/3", "new/1"], 2, durations)
    assert sorted(sum(durations.get(n, 2.0) for n in share) for share in shares) == [4.0, 4.0]


def _manifest(path: Path, backend: str, entries: list[tuple[str, str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": {"backend": backend},
                                "scenarios": [{"name": n, "status": s, "duration_s": d} for n, s, d in entries]}))


def test_durations_come_from_the_previous_artifact_of_the_same_backend(tmp_path):
    _manifest(tmp_path / "jax-cpu.json", "jax", [("a", "ok", 1.5), ("b", "crashed", 9.0), ("c", "error", 0.5)])
    _manifest(tmp_path / "torch-cpu.json", "torch", [("a", "ok", 7.0)])
    assert lanes.previous_durations(tmp_path, "jax", None) == {"a": 1.5, "c": 0.5}, "a crash is no duration"
    assert lanes.previous_durations(tmp_path, "jax", "torch-cpu") == {}, "another backend's label"
    assert lanes.previous_durations(tmp_path, "tensorflow", None) == {}
    (tmp_path / "jax-gpu.json").write_text("{not json")
    assert lanes.previous_durations(tmp_path, "jax", "jax-gpu") == {}, "unreadable: no guide, no error"
    (tmp_path / "jax-cpu.json").unlink()
    assert lanes.previous_durations(tmp_path, "jax", None) == {}


# ---- how many workers --------------------------------------------------------------------------------------

def test_the_default_is_two_workers_on_a_multi_core_cpu_machine(monkeypatch):
    monkeypatch.delenv(lanes.ENV_WORKERS, raising=False)
    monkeypatch.setattr(lanes, "_cores", lambda: 8)
    monkeypatch.setattr(lanes.os.path, "exists", lambda path: False)
    assert lanes.default_workers() == 2
    assert lanes.default_workers(backend_count=3) == 1, "--backend all: the backends share the cores"
    monkeypatch.setattr(lanes, "_cores", lambda: 1)
    assert lanes.default_workers() == 1
    monkeypatch.setattr(lanes, "_cores", lambda: 8)
    monkeypatch.setattr(lanes.os.path, "exists", lambda path: path == "/dev/nvidia0")
    assert lanes.default_workers() == 1, "two processes would each claim the accelerator's memory"
    monkeypatch.setenv(lanes.ENV_WORKERS, "3")
    assert lanes.default_workers() == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "65", "1.5"])
def test_a_bad_worker_count_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch, value):
    path = scenario_file(tmp_path, {"w/a": ()})
    argv = ["run", "--backend", "jax", "--scenarios", str(path), "--results", str(tmp_path / "results")]
    assert_usage_error(main([*argv, "--workers", value]), capsys.readouterr().err, "--workers")
    monkeypatch.setenv(lanes.ENV_WORKERS, value)
    assert_usage_error(main(argv), capsys.readouterr().err, "HARNESS_WORKERS", value[:40])
    assert not (tmp_path / "results").exists()


# ---- two lanes under the supervisor -------------------------------------------------------------------------

def test_two_workers_run_every_scenario_once_and_the_artifact_keeps_the_suite_order(tmp_path, monkeypatch):
    log = tmp_path / "ran.log"
    names = [f"p/{i}" for i in range(6)]
    art = supervise(tmp_path, monkeypatch, {n: () for n in names}, env={"FAKE_LOG": str(log)}, workers=2)
    assert list(art.records) == names
    assert statuses(art) == {n: ("ok", "") for n in names}
    ran = [line.split() for line in log.read_text().splitlines()]
    assert sorted(name for name, _ in ran) == names, "each scenario ran exactly once"
    by_pid: dict[str, list[str]] = {}
    for name, pid in ran:
        by_pid.setdefault(pid, []).append(name)
    assert sorted(by_pid.values()) == [["p/0", "p/2", "p/4"], ["p/1", "p/3", "p/5"]], "two workers, alternate"


def test_a_crash_and_a_hang_in_one_lane_cost_one_scenario_each_and_never_the_other_lane(tmp_path, monkeypatch):
    log = tmp_path / "ran.log"
    art = supervise(tmp_path, monkeypatch, {"c/0": (), "c/1": (), "c/2": ("fake:sigkill",), "c/3": (),
                                            "c/4": ("fake:hang",), "c/5": (), "c/6": (), "c/7": ()},
                    env={"FAKE_LOG": str(log)}, workers=2, bound=40)
    assert statuses(art) == {"c/0": ("ok", ""), "c/1": ("ok", ""), "c/2": ("crashed", "worker killed by SIGKILL"),
                             "c/3": ("ok", ""), "c/4": ("timeout", "stopped after 2 s"), "c/5": ("ok", ""),
                             "c/6": ("ok", ""), "c/7": ("ok", "")}
    ran = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(ran) == sorted(art.records), "nothing reran, nothing was skipped"


def test_a_worker_that_dies_at_import_fails_its_lane_with_the_reason(tmp_path, monkeypatch):
    art = supervise(tmp_path, monkeypatch, {f"i/{i}": () for i in range(4)}, env={"FAKE_IMPORT": "exit0"},
                    workers=2)
    assert {status for status, _ in statuses(art).values()} == {"crashed"}
    assert all("while importing" in message for _, message in statuses(art).values())


def test_an_interrupted_two_worker_run_stops_both_workers_and_resumes(tmp_path):
    path = scenario_file(tmp_path, {"r/1": ("fake:hang",), "r/2": ("fake:hang",), "r/3": ()})
    log = tmp_path / "first.log"
    env = {k: v for k, v in __import__("os").environ.items() if k != "KERAS_BACKEND"}
    command = [sys.executable, "-c", DRIVER, "run", "--backend", "jax", "--scenarios", str(path), "--results",
               str(tmp_path / "results"), "--label", "fake", "--timeout", "60", "-q", "--workers", "2"]
    supervisor = subprocess.Popen(command, env={**env, "FAKE_LOG": str(log)}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: log.exists() and {"r/1", "r/2"} <= {line.split()[0] for line in log.read_text().splitlines()})
    workers = {int(line.split()[1]) for line in log.read_text().splitlines()}
    assert len(workers) == 2
    supervisor.send_signal(signal.SIGTERM)
    with within(20):
        _, err = supervisor.communicate()
    assert supervisor.returncode == 130, err
    assert err.splitlines()[-1].startswith("harness: interrupted; 0 finished scenario(s) kept in ")
    _wait_for(lambda: not any(_running(pid) for pid in workers), 10)
    second = tmp_path / "second.log"
    resumed = subprocess.Popen([*command, "--resume"], env={**env, "FAKE_LOG": str(second), "FAKE_NO_HANG": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with within(30):
        _, err = resumed.communicate()
    assert resumed.returncode == 0, err
    # lane 0 held r/1 then r/3, lane 1 r/2: both hung, so nothing had finished and everything reruns
    assert sorted(line.split()[0] for line in second.read_text().splitlines()) == ["r/1", "r/2", "r/3"]
    art = artifacts.read(tmp_path / "results" / "fake.json")
    assert list(art.records) == ["r/1", "r/2", "r/3"] and {s for s, _ in statuses(art).values()} == {"ok"}


def test_drive_closes_every_lane_when_one_raises():
    closed = []

    def lane(name: str, steps: int, fail: bool = False):
        try:
            for _ in range(steps):
                yield
            if fail:
                raise KeyboardInterrupt
            return name
        finally:
            closed.append(name)

    assert lanes.drive([lane("a", 3), lane("b", 1)], 0) == ["a", "b"]
    closed.clear()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        lanes.drive([lane("slow", 10**6), lane("bad", 2, fail=True)], 0)
    assert sorted(closed) == ["bad", "slow"] and time.monotonic() - started < 5
