"""`harness check --targets`: bad training input is one line and exit 2 before any backend starts, and
the training claims for a saved model are the suite's numpy reference applied to its own compile
configuration (they fail when a loss or metric reads padded steps)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_check import archive, functional, layer, usage_error

from harness.compare import check_training
from harness.compare.check_training import CheckTraining, reference_loss, reference_metric
from harness.define.captured import Captured
from tests.helpers.factories import make_probe

COMPILED = {**functional(layer("Dense", "d", units=2)),
            "compile_config": {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                               "optimizer": "sgd", "jit_compile": True, "steps_per_execution": 1}}


@pytest.fixture
def model(tmp_path):
    return archive(tmp_path / "m.keras", COMPILED)


def check(capsys, tmp_path, model, *argv) -> str:
    return usage_error(capsys, "check", str(model), "--inputs", "random:0", "--backend", "jax",
                       "--out", str(tmp_path / "o"), *argv)


def test_targets_and_weights_of_the_wrong_shape_are_one_line(capsys, tmp_path, model):
    np.savez(tmp_path / "y4.npz", y=np.zeros((4, 8), "int32"))  # random inputs have 5 rows
    line = check(capsys, tmp_path, model, "--targets", str(tmp_path / "y4.npz"))
    assert "--targets has 4 rows; the inputs have 5" in line
    np.savez(tmp_path / "y.npz", y=np.zeros((5, 8), "int32"))
    np.savez(tmp_path / "w.npz", w=np.ones((5, 3)))
    assert "--sample-weight has shape (5, 3)" in check(capsys, tmp_path, model, "--targets", str(tmp_path / "y.npz"),
                                                        "--sample-weight", str(tmp_path / "w.npz"))
    np.savez(tmp_path / "two.npz", a=np.zeros((5, 8)), b=np.zeros((5, 8)))
    assert "holds 2 arrays" in check(capsys, tmp_path, model, "--targets", str(tmp_path / "two.npz"))
    assert "--batch-size 2: must divide the 5 rows" in check(capsys, tmp_path, model, "--targets",
                                                             str(tmp_path / "y.npz"), "--batch-size", "2")
    assert "--fit 0" in check(capsys, tmp_path, model, "--targets", str(tmp_path / "y.npz"), "--fit", "0")
    assert "--class-weight" in check(capsys, tmp_path, model, "--targets", str(tmp_path / "y.npz"),
                                     "--class-weight", "{not json")
    assert "needs --targets" in check(capsys, tmp_path, model, "--sample-weight", str(tmp_path / "w.npz"))


def test_a_model_saved_without_compile_needs_loss(capsys, tmp_path):
    bare = archive(tmp_path / "bare.keras", functional(layer("Dense", "d", units=2)))
    np.savez(tmp_path / "y.npz", y=np.zeros((5, 8), "int32"))
    assert "pass --loss" in check(capsys, tmp_path, bare, "--targets", str(tmp_path / "y.npz"))


def test_a_custom_loss_without_custom_objects_is_one_line(capsys, tmp_path):
    custom = {**COMPILED, "compile_config": {**COMPILED["compile_config"], "loss": {
        "module": "builtins", "class_name": "function", "config": "my_loss", "registered_name": "function"}}}
    path = archive(tmp_path / "c.keras", custom)
    np.savez(tmp_path / "y.npz", y=np.zeros((5, 8), "int32"))
    assert "--custom-objects" in check(capsys, tmp_path, path, "--targets", str(tmp_path / "y.npz"))


def test_relative_paths_resolve_from_the_current_folder_and_errors_name_it(capsys, tmp_path, monkeypatch, model):
    monkeypatch.chdir(tmp_path)
    line = usage_error(capsys, "check", "nothere/m.keras", "--inputs", "random:0", "--backend", "jax")
    assert f"looked in {tmp_path / 'nothere'}" in line
    line = usage_error(capsys, "check", "m.keras", "--inputs", "missing.npz", "--backend", "jax", "--out", "o")
    assert f"--inputs missing.npz: file not found (looked in {tmp_path})" in line


def test_the_compile_configuration_is_the_archives_or_the_flags(capsys, tmp_path, model):
    from harness.run import check as checking

    np.savez(tmp_path / "y.npz", y=np.zeros((5, 8), "int32"))
    args = type("A", (), {"loss": None, "metrics": None, "optimizer": None, "model": model})()
    assert checking._compile_config(args, COMPILED) == COMPILED["compile_config"]
    args.loss, args.metrics = "mse", "mae, mse"
    chosen = checking._compile_config(args, COMPILED)
    assert chosen["loss"] == "mse" and chosen["metrics"] == ["mae", "mse"] and chosen["optimizer"] == "sgd"
    assert json.dumps(chosen)  # written to DIR/training.json


def test_loss_and_metric_names_map_to_the_numpy_reference():
    assert reference_loss("sparse_categorical_crossentropy")[0] == "sparse_categorical_crossentropy"
    assert reference_loss({"class_name": "MeanSquaredError", "config": {}})[0] == "mse"
    assert reference_loss({"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}})[0] is None
    assert reference_metric("accuracy", sparse_targets=True)[0].function == "sparse_categorical_accuracy"
    assert reference_metric("accuracy", sparse_targets=False)[0].function == "categorical_accuracy"
    assert reference_metric({"class_name": "AUC", "config": {"name": "auc"}}, True)[0] is None


def captured(loss: float, accuracy: float, preds: np.ndarray, mask: np.ndarray) -> Captured:
    c = Captured("m.keras/fit", "jax")
    c.probes["fit/predict/before"] = make_probe(preds, mask)
    c.probes["fit/predict/after"] = make_probe(preds, mask)
    for when in ("before", "after"):
        c.probes[f"fit/evaluate/{when}/loss"] = make_probe(np.float32(loss))
        c.probes[f"fit/evaluate/{when}/accuracy"] = make_probe(np.float32(accuracy))
    return c


def test_claims_recompute_the_masked_loss_and_metric_from_the_captured_mask():
    targets = np.array([[0, 1, 1], [1, 0, 0]])
    preds = np.array([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], [[0.3, 0.7], [0.5, 0.5], [0.5, 0.5]]], np.float32)
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    kept = mask.sum()
    ce = -np.log(np.take_along_axis(preds, targets[..., None], -1)[..., 0])
    masked_loss = float((ce * mask).sum() / kept)
    masked_acc = float(((preds.argmax(-1) == targets) * mask).sum() / kept)
    training = CheckTraining(targets, "sparse_categorical_crossentropy", ("accuracy",), on_batch=False,
                             batch_size=None)
    checks = {e.claim + e.name: e.check for e in check_training.expectations(training)}
    loss_check = next(v for k, v in checks.items() if k.startswith("T2fit: evaluate's loss"))
    metric_check = next(v for k, v in checks.items() if k.startswith("T3"))
    assert loss_check(captured(masked_loss, masked_acc, preds, mask))[0]
    assert metric_check(captured(masked_loss, masked_acc, preds, mask))[0]
    unmasked_loss = float(ce.mean())
    unmasked_acc = float((preds.argmax(-1) == targets).mean())
    assert not loss_check(captured(unmasked_loss, masked_acc, preds, mask))[0]
    assert not metric_check(captured(masked_loss, unmasked_acc, preds, mask))[0]
    t1 = next(v for k, v in checks.items() if k.startswith("T1"))
    assert t1(captured(masked_loss, masked_acc, preds, mask))[0]
    assert not t1(captured(masked_loss, masked_acc, preds, None))[0]
