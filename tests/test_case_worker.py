"""The case worker protocol and its supervisor: answers, crashes, hangs and restarts.

A fake worker (plain Python, no keras) speaks the protocol: it announces itself, then answers each
case with a record in the artifact's encoding, except that a case named ".../crash" kills it and one
named ".../hang" never answers. The supervisor must record those as crashed / timeout, restart the
worker, and carry on with the next case. One backend test drives the real worker.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from harness.generate import generator, workers

ROOT = Path(__file__).resolve().parent.parent
FAKE = textwrap.dedent('''
    import json, os, sys, time
    sys.path.insert(0, os.environ["HARNESS_ROOT"])
    import numpy as np
    from harness import artifacts
    from harness.artifacts import ScenarioRecord
    from harness.define.captured import Captured, Probe
    backend, workdir = sys.argv[1], sys.argv[2]
    print(json.dumps({"event": "ready", "environment": {"backend": backend, "pid": os.getpid()}}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        name = request["spec"]["name"]
        if name.endswith("/crash"):
            os._exit(3)
        if name.endswith("/hang"):
            time.sleep(60)
        values = np.full((2, 3), float(request["id"]), np.float32)
        record = ScenarioRecord(name, "ok", 0.01, Captured(name, backend, {"l0": Probe(values, None, "float32")}),
                                {"pid": os.getpid()})
        entry, arrays = artifacts.encode_record(record)
        file = f"{backend}-{request['id']}.npz"
        np.savez(os.path.join(workdir, file), **arrays)
        print(json.dumps({"id": request["id"], "entry": entry, "arrays": file}), flush=True)
''')


@pytest.fixture(autouse=True)
def _root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_ROOT", str(ROOT))  # the fake worker imports harness from the checkout


def _pool(tmp_path: Path, timeout_s: float = 3.0) -> workers.Pool:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE)
    return workers.Pool(("tensorflow", "jax"), timeout_s=timeout_s, workdir=tmp_path,
                        command_for=lambda b: [sys.executable, str(script), b, str(tmp_path)])


def _case(name: str) -> dict:
    return {**generator.generate(0, 0), "name": name}


def test_answers_come_back_as_records_from_one_long_lived_process(tmp_path: Path) -> None:
    with _pool(tmp_path) as pool:
        pool.start()
        first = pool.run(_case("fuzz/a"))
        second = pool.run(_case("fuzz/b"))
    assert set(first) == {"tensorflow", "jax"}
    assert first["jax"].status == "ok" and float(second["jax"].captured.probes["l0"].values[0, 0]) == 2.0
    assert first["jax"].meta["pid"] == second["jax"].meta["pid"]  # the same worker: imports paid once
    assert not list(tmp_path.glob("*.npz"))  # arrays files are consumed


def test_a_crash_costs_one_case_and_the_worker_is_restarted(tmp_path: Path) -> None:
    with _pool(tmp_path) as pool:
        pool.start()
        before = pool.run(_case("fuzz/a"))
        crashed = pool.run(_case("fuzz/crash"))
        after = pool.run(_case("fuzz/c"))
        restarts = pool.workers["jax"].restarts
    assert crashed["jax"].status == "crashed" and "status 3" in crashed["jax"].captured.error.message
    assert after["jax"].status == "ok" and after["jax"].meta["pid"] != before["jax"].meta["pid"]
    assert restarts == 1


def test_a_hang_is_stopped_at_the_timeout_and_the_next_case_runs(tmp_path: Path) -> None:
    with _pool(tmp_path, timeout_s=1.0) as pool:
        pool.start()
        hung = pool.run(_case("fuzz/hang"))
        after = pool.run(_case("fuzz/d"))
    assert hung["tensorflow"].status == "timeout" and hung["tensorflow"].duration_s >= 1.0
    assert after["tensorflow"].status == "ok"


def test_a_worker_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    pool = workers.Pool(("jax",), workdir=tmp_path,
                        command_for=lambda b: [sys.executable, "-c", "import sys; sys.exit('no backend here')"])
    with pytest.raises(workers.WorkerError, match="did not start"):
        pool.start()
    pool.close()


@pytest.mark.backend
def test_the_real_worker_answers_a_case_and_refuses_a_bad_request(tmp_path: Path) -> None:
    worker = workers.Worker("torch", tmp_path, timeout_s=120)
    worker.start()
    try:
        spec = generator.generate(0, 2)
        worker.send(1, spec)
        record = worker.receive(1, spec["name"])
        assert record.status == "ok" and record.captured.probes
        assert worker.environment["backend"] == "torch"
        worker.send(2, {"version": 1, "name": "broken"})  # a spec that does not validate
        refused = worker.receive(2, "broken")
        assert refused.status == "crashed" and "bad request" in refused.captured.error.message
    finally:
        worker.stop()
