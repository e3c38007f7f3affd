"""Masks in training: the T1..T5 checks (harness/compare/training_claims.py) against values worked out by
hand, with planted wrong losses and metrics that ignore the mask, and a small run through Keras's fit.

The numpy tests build what `harness/run/fit.py` captures. Their reference values are computed here by
hand from a 2 x 3 batch, not by the code under test:

  targets     row 0: 1, 2, 10      row 1: 3, 10, 10      (10 at padded steps)
  predictions row 0: 1, 1, 0       row 1: 1, 0, 0
  padding     row 0: 1, 1, 0       row 1: 1, 0, 0
  squared errors (kept) 0, 1 | 4  -> mse over kept steps 5/3; over all steps 305/6
  abs errors (kept)     0, 1 | 2  -> mae over kept steps 1;   over all steps 33/6
  sample_weight (1, 2): loss (0 + 1 + 2*4) / 3 kept steps = 3; weighted mae (0 + 1 + 2*2) / (1 + 1 + 2) = 1.25
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.compare import training_claims as tc
from harness.compare.claims import judge
from harness.define.captured import Captured, ErrorInfo
from harness.report import cli as report_cli
from harness.report.sections import training as training_report
from tests.helpers.factories import make_artifact, make_probe, make_record

Y = np.array([[[1.0], [2.0], [10.0]], [[3.0], [10.0], [10.0]]])
PRED = np.array([[[1.0], [1.0], [0.0]], [[1.0], [0.0], [0.0]]], dtype=np.float32)
KEEP = np.array([[True, True, False], [True, False, False]])
ROW_WEIGHT = np.array([1.0, 2.0])

MSE_KEPT, MSE_ALL = 5 / 3, 305 / 6
MAE_KEPT, MAE_ALL = 1.0, 33 / 6
LOSS_WEIGHTED, MAE_WEIGHTED = 3.0, 1.25

TARGET = tc.Target(Y, KEEP, "mse")
SPEC = tc.FitSpec((TARGET,), (tc.Metric("mae", "mae"),), on_batch=False)
WEIGHTED = tc.FitSpec((TARGET,), (tc.Metric("mae", "mae"), tc.Metric("weighted_mae", "mae", weighted=True)),
                      sample_weight=ROW_WEIGHT, on_batch=False)


def captured(values: dict[str, float], *, mask=KEEP, pred=PRED) -> Captured:
    """Predictions before and after (the same: the numbers stay hand-checkable) and reported scalars."""
    probes = {"fit/predict/before": make_probe(pred, mask), "fit/predict/after": make_probe(pred, mask)}
    for key, value in values.items():
        probes[key] = make_probe(np.array([value] if key.startswith("fit/history/") else value, dtype=np.float32))
    return Captured(scenario="fit/synthetic", backend="numpy", probes=probes)


def reported(loss: float, mae: float, *, history_mae: float | None = None, **extra: float) -> dict[str, float]:
    values = {f"fit/evaluate/{when}/{name}": v for when in ("before", "after")
              for name, v in (("loss", loss), ("mae", mae))}
    values.update({"fit/history/loss": loss, "fit/history/mae": mae if history_mae is None else history_mae})
    values.update(extra)
    return values


def verdicts(spec: tc.FitSpec, c: Captured) -> dict[str, bool]:
    results = {}
    for expectation in tc.fit_expectations(spec):
        passed, _ = expectation.check(c)
        results[expectation.name] = passed
    return results


# --- the numpy functions against hand values --------------------------------------------------------
def test_loss_and_metric_values_by_hand():
    assert tc.loss_value(TARGET, PRED) == pytest.approx(MSE_KEPT)
    assert tc.loss_value(TARGET, PRED, masked=False) == pytest.approx(MSE_ALL)
    assert tc.metric_value(SPEC, SPEC.metrics[0], [PRED]) == pytest.approx(MAE_KEPT)
    assert tc.metric_value(SPEC, SPEC.metrics[0], [PRED], masked=False) == pytest.approx(MAE_ALL)
    assert tc.loss_value(TARGET, PRED, ROW_WEIGHT) == pytest.approx(LOSS_WEIGHTED)
    assert tc.metric_value(WEIGHTED, WEIGHTED.metrics[1], [PRED]) == pytest.approx(MAE_WEIGHTED)
    assert tc.metric_value(WEIGHTED, WEIGHTED.metrics[0], [PRED]) == pytest.approx(MAE_KEPT)  # unweighted


def test_batched_evaluate_loss_averages_each_batch_own_masked_loss():
    """batch_size 1: row 0 (0 + 1) / 2 kept = 0.5, row 1 4 / 1 kept = 4; evaluate reports their mean,
    2.25, not the masked mean over all rows (5/3)."""
    batched = tc.FitSpec((TARGET,), one_batch=False, batch_size=1)
    assert tc.evaluate_loss(batched, [PRED]) == pytest.approx(2.25)
    assert tc.evaluate_loss(SPEC, [PRED]) == pytest.approx(MSE_KEPT)


def test_crossentropy_and_accuracy_by_hand():
    probs = np.array([[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]])
    labels = np.array([[0, 1]])
    keep = np.array([[True, False]])
    spec = tc.FitSpec((tc.Target(labels, keep, "sparse_categorical_crossentropy"),),
                      (tc.Metric("accuracy", "sparse_categorical_accuracy"),))
    assert tc.loss_value(spec.targets[0], probs) == pytest.approx(-np.log(0.7))
    assert tc.loss_value(spec.targets[0], probs, masked=False) == pytest.approx(-(np.log(0.7) + np.log(0.3)) / 2)
    assert tc.metric_value(spec, spec.metrics[0], [probs]) == 1.0  # step 1 (wrong) is padding
    assert tc.metric_value(spec, spec.metrics[0], [probs], masked=False) == 0.5


# --- planted wrong values must fail, right ones pass -----------------------------------------------
def test_right_values_pass_every_check():
    assert all(verdicts(SPEC, captured(reported(MSE_KEPT, MAE_KEPT))).values())


def test_metric_that_ignores_the_mask_fails_T3_only():
    results = verdicts(SPEC, captured(reported(MSE_KEPT, MAE_ALL)))
    assert not results["fit: metric mae ignores masked timesteps"]
    assert results["fit: evaluate's loss ignores masked timesteps"]


def test_loss_that_ignores_the_mask_fails_T2():
    results = verdicts(SPEC, captured(reported(MSE_ALL, MAE_KEPT)))
    assert not results["fit: evaluate's loss ignores masked timesteps"]
    assert not results["fit: the training step's loss ignores masked timesteps"]
    assert results["fit: metric mae ignores masked timesteps"]


def test_training_metric_that_ignores_the_mask_fails_T5():
    """What JAX does: evaluate masks the metric, the training step does not."""
    results = verdicts(SPEC, captured(reported(MSE_KEPT, MAE_KEPT, history_mae=MAE_ALL)))
    assert not results["fit: evaluate and the training step agree"]
    assert results["fit: metric mae ignores masked timesteps"]


def test_output_without_mask_fails_T1():
    results = verdicts(SPEC, captured(reported(MSE_KEPT, MAE_KEPT), mask=None))
    assert not results["fit: the padding mask reaches the loss"]


def test_sample_weight_multiplies_the_mask():
    right = reported(LOSS_WEIGHTED, MAE_KEPT, **{f"fit/evaluate/{w}/weighted_mae": MAE_WEIGHTED
                                                 for w in ("before", "after")})
    assert all(verdicts(WEIGHTED, captured(right)).values())
    # weights applied but the mask forgotten: (0 + 1 + 10 + 2 * (2 + 10 + 10)) / (3 + 2 * 3)
    wrong = dict(right, **{f"fit/evaluate/{w}/weighted_mae": 55 / 9 for w in ("before", "after")})
    assert not verdicts(WEIGHTED, captured(wrong))["fit: metric weighted_mae ignores masked timesteps"]
    # the weighted metric reported without the weights
    unweighted = dict(right, **{f"fit/evaluate/{w}/weighted_mae": MAE_KEPT for w in ("before", "after")})
    assert not verdicts(WEIGHTED, captured(unweighted))["fit: metric weighted_mae ignores masked timesteps"]
    # a loss that weighs but normalizes by the sum of weights, not by the kept steps: 9 / 4
    bad_loss = dict(right, **{"fit/history/loss": 9 / 4})
    assert not verdicts(WEIGHTED, captured(bad_loss))["fit: the training step's loss is weights x mask over kept steps"]


def test_class_weight_is_per_timestep():
    labels = np.array([[0, 1, 2], [1, 1, 0]])
    probs = np.full((2, 3, 3), 1 / 3, dtype=np.float32)
    keep = np.array([[True, True, False], [True, True, True]])
    weights = {0: 1.0, 1: 3.0, 2: 5.0}
    spec = tc.FitSpec((tc.Target(labels, keep, "sparse_categorical_crossentropy"),), class_weight=weights,
                      on_batch=False)
    per_step = np.log(3.0)  # every step's crossentropy
    right = per_step * (1 + 3 + 3 + 3 + 1) / 5  # the kept steps' class weights, over 5 kept steps
    # Keras 3.15 takes argmax over time of (batch, time) labels as each row's class: row 0 -> position 2,
    # read as class 2 (weight 5); row 1 -> position 0, class 0 (weight 1); then weighs whole rows
    per_sample = per_step * (2 * weights[2] + 3 * weights[0]) / 5
    check = tc.training_loss_weighted(spec)
    assert check(captured({"fit/history/loss": right}, mask=keep, pred=probs))[0]
    passed, evidence = check(captured({"fit/history/loss": per_sample}, mask=keep, pred=probs))
    assert not passed and "class weight" in evidence


def test_checks_report_a_scenario_error():
    c = Captured(scenario="fit/x", backend="numpy", error=ErrorInfo("ValueError", "shapes"))
    assert all(not e.check(c)[0] for e in tc.fit_expectations(SPEC))


# --- the report's table -----------------------------------------------------------------------------
def _run(label: str, spec: tc.FitSpec, values: dict[str, float]):
    c = captured(values)
    results = [{"name": e.name, "claim": e.claim, "passed": bool(e.check(c)[0]), "evidence": e.check(c)[1]}
               for e in tc.fit_expectations(spec)]
    return make_artifact(label, [make_record("fit/synthetic", c.probes, expectations=results)])


def test_judge_and_section_show_the_failing_backend():
    good = _run("tensorflow-cpu", SPEC, reported(MSE_KEPT, MAE_KEPT))
    bad = _run("jax-cpu", SPEC, reported(MSE_KEPT, MAE_KEPT, history_mae=MAE_ALL))
    assert judge(good, tc.TRAINING_CLAIMS)["T5"].verdict == "holds"
    assert judge(bad, tc.TRAINING_CLAIMS)["T5"].verdict == "does-not-hold"
    assert judge(bad, tc.TRAINING_CLAIMS)["T4"].verdict == "untested"
    no_known = Path("/nonexistent/known.toml")
    model, _ = report_cli.build([good, bad], no_known)
    text = training_report.render(model)
    assert text.startswith("## Masks in training")
    assert "| T5 |" in text and "does not hold" in text
    evidence = text.split("fails on at least one backend")[1]
    assert "jax-cpu: 1 of 2 disagree" in evidence and "tensorflow-cpu" not in evidence
    assert "4 of 5 checks hold on every backend" in text
    facts = training_report.facts(model)["training_claims"]
    assert {c["id"]: c["verdicts"]["jax-cpu"] for c in facts}["T5"] == "does-not-hold"

    model, _ = report_cli.build([make_artifact("tensorflow-cpu", [make_record("other", {})])], no_known)
    assert training_report.render(model) == "" and training_report.facts(model) == {}


# --- through Keras's fit, on a real backend ----------------------------------------------------------
PLANTED = '''
import numpy as np

from harness import scenario
from harness.compare.training_claims import fit_expectations
from harness.define.fit import FitSpec, Metric, Target
from harness.define.registry import Fit

KEEP = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
X = np.array([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]]], dtype=np.float32)
Y = np.where(KEEP[..., None], X * 0.5, 10.0).astype(np.float32)


def unmasked_mae(y_true, y_pred):
    """A planted wrong metric: every step reports its row's mean error over all steps, padding included,
    so whatever Keras does with the mask afterwards, the padded steps' errors are in the result."""
    from keras import ops

    per_step = ops.abs(ops.subtract(y_true, y_pred))
    return ops.mean(per_step * 0 + ops.mean(per_step, axis=(1, 2), keepdims=True), axis=-1)


SPEC = FitSpec((Target(Y, KEEP, "mse"),), (Metric("mae", "mae"), Metric("unmasked_mae", "mae")), on_batch=True)


@scenario("fitplant/masked-dense", description="planted", probes=("head",), expect=fit_expectations(SPEC),
          fit=Fit(Y, loss="mse", metrics=("mae", unmasked_mae), learning_rate=0.1, steps=2, on_batch=True,
                  jit_compile=False))
def build():
    import keras
    from keras import layers

    x = keras.Input((3, 1), name="x")
    out = layers.Dense(1, name="head")(layers.Masking(name="masking")(x))
    return keras.Model(x, out), [X]
'''


@pytest.mark.backend
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_planted_unmasked_metric_fails_through_fit(tmp_path: Path):
    scenario_file = tmp_path / "planted.py"
    scenario_file.write_text(textwrap.dedent(PLANTED))
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--backend", "torch", "--scenarios",
                          str(scenario_file), "--results", str(tmp_path / "res"), "--no-compiled", "-q"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    (artifact,) = artifacts.read_all(tmp_path / "res")
    record = artifact.records["fitplant/masked-dense"]
    assert record.status == "ok", record.captured.error
    results = {e["name"]: e for e in record.meta["expectations"]}
    assert results["fit: metric mae ignores masked timesteps"]["passed"]
    assert not results["fit: metric unmasked_mae ignores masked timesteps"]["passed"]
    assert results["fit: evaluate's loss ignores masked timesteps"]["passed"]
    assert results["fit: evaluate and the training step agree"]["passed"]
    probes = record.captured.probes
    assert probes["fit/history/loss"].values.shape == (2,)
    assert probes["fit/on_batch/predict"].values.shape == (2, 2, 3, 1)
    np.testing.assert_array_equal(probes["fit/predict/before"].mask, [[1, 1, 0], [1, 0, 0]])


def test_definition_hash_follows_the_fit_options():
    """run --resume reuses a result only for the same scenario: another Fit is another scenario."""
    from harness.define.registry import Fit, Scenario

    def build():
        return None

    def scenario_with(fit):
        return Scenario(name="fit/x", description="", build=build, fit=fit)

    sgd, adam = Fit(Y, loss="mse"), Fit(Y, loss="mse", optimizer="Adam")
    assert scenario_with(sgd).definition_hash != scenario_with(adam).definition_hash
    assert scenario_with(sgd).definition_hash == scenario_with(Fit(Y, loss="mse")).definition_hash
    assert scenario_with(None).definition_hash != scenario_with(sgd).definition_hash

    def make_metric():
        def metric(y_true, y_pred):
            return y_pred

        return metric

    # two equal metric functions at different addresses (as in two processes) give one hash
    first, second = make_metric(), make_metric()
    assert repr(first) != repr(second)
    assert (scenario_with(Fit(Y, metrics=(first,))).definition_hash
            == scenario_with(Fit(Y, metrics=(second,))).definition_hash)
