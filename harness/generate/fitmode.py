"""Fit mode: generated cases trained through Keras's own API, judged by the suite's training claims.

A fit case (about one case in ten, generator.py) is a generated masking model whose one output is a
masked sequence with a Dense head, plus a `fit` entry in its spec (harness/define/spec.py): loss,
metrics and weighted metrics, optimizer, a few deterministic steps, a sample weight of rank 1, 2 or 3
or a class weight, and train_on_batch. The case worker runs it with harness/run/fit.py, as the suite
runs fit/ scenarios, so its fit/ probes (history, evaluate, weights, predictions, on_batch) are
compared across backends like any probe. On top, the training claims T1..T5
(harness/compare/training_claims.py) are checked on each backend's capture: a claim that holds on one
backend and not on another is a divergence too (`claim-differs`). numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.compare.training_claims import FitSpec, Metric, Target, fit_expectations
from harness.define import spec as specs
from harness.define.registry import Expectation

LOSSES = tuple(specs.FIT_LOSSES)
METRIC_FUNCTIONS = {"accuracy": "sparse_categorical_accuracy"}  # the rest are named as their function


def draw(rng: np.random.Generator, units: int) -> dict[str, Any]:
    """A fit entry: everything the training API takes that touches masks."""
    loss = LOSSES[int(rng.integers(len(LOSSES)))]
    allowed = specs.FIT_LOSSES[loss]
    pick = lambda: [m for m in allowed if rng.random() < 0.5]  # noqa: E731
    fit = {"loss": loss, "units": units, "metrics": pick(), "weighted_metrics": pick(),
           "optimizer": "Adam" if rng.random() < 0.4 else "SGD", "steps": int(rng.integers(1, 4)),
           "on_batch": bool(rng.random() < 0.5)}
    fit["learning_rate"] = 0.05 if fit["optimizer"] == "Adam" else 0.5
    if loss != "mse" and rng.random() < 0.25:
        fit["class_weight"] = True
    else:
        fit["sample_weight_rank"] = [None, 1, 2, 3][int(rng.integers(4))]
    return fit


def claims(spec: dict[str, Any]) -> FitSpec:
    """What the training claims expect of a fit case: its targets, padding and weights."""
    fit = spec["fit"]
    targets, weight, classes = specs.fit_arrays(spec)
    if weight is not None and weight.ndim == 3:  # (batch, time, 1) weighs each step as (batch, time) does
        weight = weight[..., 0]
    keep = np.all([specs.input_mask(e, spec["time"]) for e in spec["inputs"]], axis=0)
    metrics = [Metric(m, METRIC_FUNCTIONS.get(m, m)) for m in fit.get("metrics", [])]
    metrics += [Metric(f"weighted_{m}" if m in fit.get("metrics", []) else m, METRIC_FUNCTIONS.get(m, m),
                       weighted=True) for m in fit.get("weighted_metrics", [])]
    return FitSpec((Target(targets, keep, fit["loss"]),), tuple(metrics), sample_weight=weight,
                   class_weight=classes, on_batch=bool(fit.get("on_batch")))


def expectations(spec: dict[str, Any]) -> list[Expectation]:
    return fit_expectations(claims(spec)) if spec.get("fit") else []


def expectation_results(spec: dict[str, Any], captured: Any) -> list[dict[str, Any]]:
    """The fit expectations' results on one backend's capture, in the record format the suite's
    capture writes (capture.evaluate_expectations): a known entry's fingerprint can read them."""
    results = []
    for expectation in expectations(spec):
        try:
            outcome = expectation.check(captured)
            passed, evidence = outcome if isinstance(outcome, tuple) else (outcome, "")
        except Exception as exc:  # noqa: BLE001 (a check that cannot read the capture fails, as in the suite)
            passed, evidence = False, f"check raised {type(exc).__name__}: {exc}"
        results.append({"name": expectation.name, "claim": expectation.claim, "passed": bool(passed),
                        "evidence": str(evidence)})
    return results


def claim_results(spec: dict[str, Any], captured: Any) -> dict[str, bool]:
    """'<claim> <expectation name>' -> passed, for one backend's capture of a fit case."""
    return {f"{r['claim']} {r['name']}": r["passed"] for r in expectation_results(spec, captured)}
