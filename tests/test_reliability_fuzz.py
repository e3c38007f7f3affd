"""Reliability of `harness fuzz` (issue 13 on issue 10's command): a spec given or edited by hand is
read with bounds and validated against the grammar before anything is built; an interrupted
campaign keeps its findings. No backend is started (the campaign uses test_shrink's fake runner).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest

from harness.__main__ import main
from harness.define import spec as specs
from harness.generate import campaign, findings, generator, grammar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_cli import assert_usage_error  # noqa: E402
from test_reliability import within  # noqa: E402
from test_shrink import fake_runner  # noqa: E402


def fuzz(capsys, tmp_path: Path, *extra: str) -> str:
    with within():
        code = main(["fuzz", "--backends", "jax,torch", "--budget", "1", "--out", str(tmp_path / "out"), *extra])
    out, err = capsys.readouterr()
    line = assert_usage_error(code, err)
    assert not (tmp_path / "out").exists(), "nothing is prepared, let alone run, for refused input"
    return line


# ---- --spec: a file read with bounds ---------------------------------------------------------------------------

def test_spec_that_is_a_fifo_is_refused_without_blocking(capsys, tmp_path):
    os.mkfifo(tmp_path / "spec.json")
    assert "FIFO" in fuzz(capsys, tmp_path, "--spec", str(tmp_path / "spec.json"))


def test_spec_that_links_to_dev_zero_is_refused(capsys, tmp_path):
    (tmp_path / "spec.json").symlink_to("/dev/zero")
    assert "character device" in fuzz(capsys, tmp_path, "--spec", str(tmp_path / "spec.json"))


def test_spec_that_is_huge_is_refused_by_its_size(capsys, tmp_path):
    with open(tmp_path / "spec.json", "wb") as handle:
        handle.truncate(10 << 30)  # sparse
    assert "over the" in fuzz(capsys, tmp_path, "--spec", str(tmp_path / "spec.json"))


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_case_timeout_must_be_a_finite_positive_number(capsys, tmp_path, value):
    """Found by this test: nan passed the `<= 0` check, and a nan timeout is no bound."""
    fuzz(capsys, tmp_path, "--timeout", value)


# ---- a spec edited by hand: validated against the grammar before anything is built -------------------------------

def _valid() -> dict:
    for index in range(200):
        spec = generator.generate(13, index)
        if any(layer["op"] == "Dense" for layer in spec["layers"]):
            return spec
    raise AssertionError("no generated case with a Dense layer")


def _edit(edit) -> dict:
    spec = copy.deepcopy(_valid())
    dense = next(layer for layer in spec["layers"] if layer["op"] == "Dense")
    edit(spec, dense)
    return spec


HAND_EDITS = {  # what someone might write into a finding's spec -> fragment of the refusal
    "config-dict-for-keras-to-deserialize": (
        lambda s, d: d["args"].update(kernel_initializer={"class_name": "Lambda", "config": {"function": "x"}}),
        "plain value"),
    "wrapped-layer-that-loads-a-saved-model": (
        lambda s, d: d["args"].update(layer={"op": "TFSMLayer", "args": {"filepath": "/tmp/evil"}}),
        "wrapped layer"),
    "wrapped-layer-with-extra-keys": (
        lambda s, d: d["args"].update(layer={"op": "Dense", "args": {"units": 2}, "config": {}}), "wrapped layer"),
    "units-that-allocate-gigabytes": (lambda s, d: d["args"].update(units=10**9), "plain value"),
    "nan-rate": (lambda s, d: d["args"].update(rate=float("nan")), "plain value"),
    "string-that-breaks-out-of-a-literal": (
        lambda s, d: d["args"].update(activation="relu'''+__import__('os').system('id')+'''"), "plain value"),
    "long-list": (lambda s, d: d["args"].update(axes=list(range(100))), "plain value"),
    "nested-list": (lambda s, d: d["args"].update(axes=[[1, 2]]), "plain value"),
    "dunder-arg-name": (lambda s, d: d["args"].update(__class__="x"), "invalid arg name"),
    "op-outside-the-grammar": (lambda s, d: d.update(op="TFSMLayer"), "unknown grammar entry"),
    "reference-to-nothing": (lambda s, d: d.update({"in": ["nowhere"]}), "names no earlier"),
}


@pytest.mark.parametrize("edit", HAND_EDITS, ids=list(HAND_EDITS))
def test_a_hand_edited_spec_is_refused_by_the_grammar(edit):
    change, fragment = HAND_EDITS[edit]
    spec = _edit(change)
    with pytest.raises(specs.SpecError, match=fragment):
        grammar.check(json.loads(json.dumps(spec)))


@pytest.mark.parametrize("edit", ["wrapped-layer-that-loads-a-saved-model", "units-that-allocate-gigabytes"])
def test_a_hand_edited_spec_file_is_one_line_and_exit_2(capsys, tmp_path, edit):
    path = tmp_path / "finding.json"
    path.write_text(json.dumps(_edit(HAND_EDITS[edit][0])))
    line = fuzz(capsys, tmp_path, "--spec", str(path))
    assert "--spec" in line and HAND_EDITS[edit][1] in line


def test_every_generated_and_mutated_case_still_passes_the_stricter_check():
    from harness.generate import mutate

    for index in range(300):
        grammar.check(generator.generate(7, index, max_layers=10))
    for index in range(100):
        grammar.check(mutate.mutant(7, index))


# ---- an interrupted campaign keeps its findings ----------------------------------------------------------------

def test_an_interrupted_campaign_keeps_every_finding_written_before(tmp_path):
    out = tmp_path / "out"
    calls = {"n": 0}

    def interrupted(spec):
        calls["n"] += 1
        if (out / "findings.json").exists() and json.loads((out / "findings.json").read_text()):
            raise KeyboardInterrupt  # Ctrl-C right after the first finding was written
        return fake_runner(spec)

    options = campaign.Options(out=out, budget=campaign.Budget(cases=80), seed=0, shrink_tries=300,
                               log=lambda _: None)
    with pytest.raises(KeyboardInterrupt):
        campaign.run(options, interrupted)
    [entry] = json.loads((out / "findings.json").read_text())
    for key in ("spec", "repro", "scenario"):
        assert Path(entry["paths"][key]).is_file()
    # the next campaign knows it from the scenario file and does not keep it again
    again = campaign.Options(out=tmp_path / "again", budget=campaign.Budget(cases=80), seed=0,
                             kept=findings.kept_findings(out / "found"), log=lambda _: None)
    summary = campaign.run(again, fake_runner)
    assert entry["signature"] in summary["signatures"]
    assert entry["signature"] not in {e["signature"] for e in json.loads((tmp_path / "again" / "findings.json")
                                                                          .read_text())}


# ---- a case worker that writes something other than an answer ----------------------------------------------------

def test_a_case_worker_writing_garbage_costs_one_case_and_never_hangs(tmp_path, monkeypatch):
    """Found by this test: a line that was not JSON, from a worker still alive, made the campaign wait
    for the worker to exit, for ever."""
    import test_case_worker

    from harness.generate import workers

    monkeypatch.setenv("HARNESS_ROOT", str(Path(__file__).resolve().parents[1]))
    script = tmp_path / "garbage_worker.py"
    script.write_text(test_case_worker.FAKE.replace(
        'if name.endswith("/hang"):',
        'if name.endswith("/garbage"):\n        print("not an answer", flush=True)\n        time.sleep(60)\n    '
        'if name.endswith("/hang"):'))
    pool = workers.Pool(("tensorflow", "jax"), timeout_s=30, workdir=tmp_path,
                        command_for=lambda b: [sys.executable, str(script), b, str(tmp_path)])
    with pool, within(25):
        pool.start()
        garbage = pool.run(test_case_worker._case("fuzz/garbage"))
        after = pool.run(test_case_worker._case("fuzz/ok"))
    assert {r.status for r in garbage.values()} == {"crashed"}
    assert all("not JSON" in r.captured.error.message for r in garbage.values())
    assert {r.status for r in after.values()} == {"ok"}


def test_a_fifo_among_the_kept_findings_is_skipped_not_read_for_ever(tmp_path, capsys):
    """Found by this test: `fuzz` read every file of --kept (scenarios/found) whole and unbounded."""
    (tmp_path / "good.py").write_text("SIGNATURE = 'a|differs|GRU'\n")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "zero.py").symlink_to("/dev/zero")
    with within():
        found = findings.known_signatures(tmp_path)
    assert found == {"a|differs|GRU": str(tmp_path / "good.py")}
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 2 and all(w.startswith("harness: warning: skipping ") for w in warnings)


def test_case_workers_die_with_a_killed_campaign(tmp_path):
    """A SIGKILLed campaign takes its case workers with it, even one stuck in a case."""
    import signal
    import subprocess
    import time

    import test_case_worker

    script = tmp_path / "fake_case_worker.py"
    script.write_text(test_case_worker.FAKE)
    root = Path(__file__).resolve().parents[1]
    driver = f"""
import sys, threading
sys.path[:0] = [{str(root)!r}, {str(root / 'tests')!r}]
from pathlib import Path
from harness.generate import workers
import test_case_worker
pool = workers.Pool(("tensorflow", "jax"), timeout_s=600, workdir=Path({str(tmp_path)!r}),
                    command_for=lambda b: [sys.executable, {str(script)!r}, b, {str(tmp_path)!r}])
pool.start()
print(" ".join(str(w.process.pid) for w in pool.workers.values()), flush=True)
pool.run(test_case_worker._case("fuzz/hang"))
"""
    env = {**os.environ, "HARNESS_ROOT": str(root)}
    campaign = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True, env=env)
    with within(30):
        pids = [int(p) for p in campaign.stdout.readline().split()]
        time.sleep(1.0)  # the hanging case has been sent
        campaign.send_signal(signal.SIGKILL)
        campaign.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "a case worker outlived its campaign"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
