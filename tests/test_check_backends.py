"""`harness check` on real backends (issue 24's must-shows): a model that cannot load on the one backend
asked for is no comparison (exit 1, the innermost cause, never "match"); the docs' tagging model
through `--fit 3` shows the JAX logged-metrics divergence as the known one while the loss agrees; a
1D sample weight is reported per backend. Slow: a few backend processes each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_check import harness, installed

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOT_ON_JAX = FIXTURES / "check_not_on_jax.py"
SAVE_NOT_ON_JAX = """
import sys
sys.path.insert(0, {fixtures!r})
import keras
from check_not_on_jax import NotOnJax
x = keras.Input((4,), name="x")
keras.Model(x, NotOnJax(name="twice")(keras.layers.Dense(2, name="d")(x))).save({path!r})
"""
pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def tagger(tmp_path_factory) -> Path:
    """docs/check.md's worked example, saved under JAX (its compile then says jit_compile=True)."""
    if not all(installed(b) for b in ("tensorflow", "jax", "torch")):
        pytest.skip("needs all three backends (`nox -s tests` installs them)")
    folder = tmp_path_factory.mktemp("tagger")
    subprocess.run([sys.executable, str(ROOT / "docs" / "examples" / "check_tagger.py"), str(folder)],
                   env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"},
                   check=True, timeout=300, capture_output=True)
    return folder


def test_one_backend_that_cannot_load_the_model_exits_non_zero_and_never_says_match(tmp_path):
    if not installed("jax") or not installed("torch"):
        pytest.skip("needs jax and torch")
    path = tmp_path / "nojax.keras"
    subprocess.run([sys.executable, "-c", SAVE_NOT_ON_JAX.format(fixtures=str(FIXTURES), path=str(path))],
                   env={**os.environ, "KERAS_BACKEND": "torch"}, check=True, timeout=300, capture_output=True)
    done = harness("check", str(path), "--inputs", "random:0", "--backend", "jax", "--custom-objects",
                   str(NOT_ON_JAX), "--out", str(tmp_path / "out"), "-q")
    assert done.returncode == 1, done.stderr
    assert "match" not in done.stdout and "agrees" not in done.stdout
    assert "jax-cpu error: OSError: libcustom_kernel.so" in done.stderr  # the innermost cause
    assert "RuntimeError: NotOnJax needs its custom kernel" in done.stderr  # the chain
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert not summary["compared"] and summary["states"]["forward"]["jax-cpu"]["status"] == "error"


def test_fit_shows_the_jax_logged_metrics_divergence_as_known_and_the_loss_agreeing(tagger, tmp_path):
    out = tmp_path / "out"
    done = harness("check", str(tagger / "tagger.keras"), "--inputs", str(tagger / "x.npz"), "--targets",
                   str(tagger / "y.npz"), "--fit", "3", "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    paths = {(p["pair"], p["part"]): p for p in summary["paths"]}
    jax = paths[("tensorflow-cpu-vs-jax-cpu", "training")]
    assert jax["verdict"] == "differs" and jax["known"] and "padded timesteps on JAX" in jax["known"]
    assert jax["differing"] and all("accuracy" in p for p in jax["differing"])
    assert paths[("tensorflow-cpu-vs-jax-cpu", "forward")]["verdict"] == "same"
    report = (out / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| tensorflow-cpu vs jax-cpu"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[2] == "agree" and cells[3].startswith("**differ**")  # loss agrees, logged metrics do not
    assert "- Still the same on both: loss, evaluate's metrics" in report
    assert summary["training_claims"]["jax-cpu"]["T5"] == "does-not-hold"
    for label in ("tensorflow-cpu", "jax-cpu", "torch-cpu"):  # first-step gradients, weights after each step
        record = next(s for s in json.loads((out / "results" / f"{label}.json").read_text())["scenarios"]
                      if s["name"] == "tagger.keras/fit")
        keys = {p["key"] for p in record["probes"]}
        assert {"fit/gradients/loss", "fit/gradients/grad/gru#0", "fit/step/1/gru#0", "fit/step/3/tags#1"} <= keys
    assert summary["training_claims"]["tensorflow-cpu"]["T5"] == "holds"


def test_a_1d_sample_weight_is_reported_per_backend(tagger, tmp_path):
    out = tmp_path / "out"
    done = harness("check", str(tagger / "tagger.keras"), "--inputs", str(tagger / "x.npz"), "--targets",
                   str(tagger / "y.npz"), "--sample-weight", str(tagger / "w.npz"), "--fit", "3",
                   "--out", str(out), "-q")
    assert done.returncode == 1, done.stderr  # no backend trained: nothing to compare
    states = json.loads((out / "summary.json").read_text())["states"]["training"]
    assert {label: s["status"] for label, s in states.items()} == dict.fromkeys(states, "error")
    assert states["torch-cpu"]["cause"].startswith("RuntimeError")
    assert states["tensorflow-cpu"]["cause"].startswith("ValueError")
    assert "broadcast" in states["jax-cpu"]["cause"]  # the innermost of JAX's chain
    assert "training: 0 of 3 backend(s) produced outputs" in done.stderr
    paths = {(p["pair"], p["part"]): p for p in json.loads((out / "summary.json").read_text())["paths"]}
    assert "1D sample_weight" in paths[("jax-cpu-vs-torch-cpu", "training")]["known"]  # known, by its errors


def test_a_compile_configuration_one_backend_cannot_build_is_recorded_for_that_backend(tagger, tmp_path):
    """steps_per_execution=2 in the archive: PyTorch refuses it when fit builds its train function."""
    import zipfile

    archive = tmp_path / "spe.keras"
    with zipfile.ZipFile(tagger / "tagger.keras") as source, zipfile.ZipFile(archive, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["compile_config"]["steps_per_execution"] = 2
                data = json.dumps(config).encode()
            target.writestr(item, data)
    out = tmp_path / "out"
    done = harness("check", str(archive), "--inputs", str(tagger / "x.npz"), "--targets", str(tagger / "y.npz"),
                   "--fit", "2", "--backend", "jax,torch", "--out", str(out), "-q")
    summary = json.loads((out / "summary.json").read_text())
    training = summary["states"]["training"]
    assert training["jax-cpu"]["status"] == "ok"
    assert training["torch-cpu"]["status"] == "error" and "steps_per_execution" in training["torch-cpu"]["cause"]
    assert summary["states"]["forward"]["torch-cpu"]["status"] == "ok"  # the forward pass is unaffected
    assert done.returncode == 1 and "training: 1 of 2 backend(s) produced outputs" in done.stderr
    [path] = [p for p in summary["paths"] if p["part"] == "training"]
    assert path["verdict"] == "differs" and "steps_per_execution" in path["known"]  # the registry's entry
