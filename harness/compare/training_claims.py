"""Masks in training: Keras's documented semantics recomputed in numpy from what `fit` captured.

A scenario run with `Fit` (harness/run/fit.py) leaves its predictions before and after training, the
values `evaluate`, `fit`, `test_on_batch` and `train_on_batch` reported, and the output masks. From
those and the scenario's own data (targets, padding, sample weights) these checks recompute what
Keras documents:

  T1  the padding mask reaches the output the loss sees
  T2  the loss ignores masked timesteps: sum(loss * w * mask) / sum(mask) ("sum_over_batch_size")
  T3  each compiled metric ignores masked timesteps: sum(v * w * mask) / sum(w * mask), where w is
      the sample weight for `weighted_metrics` and 1 for `metrics`
  T4  a sample weight multiplies the mask in the training step (class_weight: the weight of each
      timestep's class)
  T5  evaluate and the training step agree on the same data and weights

`fit_expectations(spec)` returns the checks a scenario attaches; `claims.judge(run, TRAINING_CLAIMS)`
folds them into the "Masks in training" table per backend. numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from harness.define.fit import FitSpec, Metric, Target
from harness.define.registry import Expectation

TRAINING_CLAIMS = {
    "T1": "The padding mask reaches the output the loss sees.",
    "T2": "The loss ignores masked timesteps.",
    "T3": "Each compiled metric ignores masked timesteps.",
    "T4": "A sample weight (or class weight) multiplies the mask in the training step.",
    "T5": "evaluate and the training step agree on the same data and weights.",
}
EPSILON = 1e-7  # keras.config.epsilon(): probability clipping in the crossentropies
RTOL, ATOL = 1e-4, 1e-5  # Keras's float32 against numpy's float64


# --- per-timestep values, as the keras functions of the same names compute them ------------------
def _probs(p: np.ndarray) -> np.ndarray:
    p = p / p.sum(-1, keepdims=True)
    return np.clip(p, EPSILON, 1 - EPSILON)


def _sparse(y: np.ndarray) -> np.ndarray:
    return y.astype(np.int64)


FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mse": lambda y, p: np.mean((y - p) ** 2, axis=-1),
    "mae": lambda y, p: np.mean(np.abs(y - p), axis=-1),
    "sparse_categorical_crossentropy":
        lambda y, p: -np.log(np.take_along_axis(_probs(p), _sparse(y)[..., None], -1)[..., 0]),
    "sparse_categorical_accuracy": lambda y, p: (np.argmax(p, -1) == _sparse(y)).astype(np.float64),
    "categorical_crossentropy": lambda y, p: -np.sum(y * np.log(_probs(p)), axis=-1),
    "categorical_accuracy": lambda y, p: (np.argmax(p, -1) == np.argmax(y, -1)).astype(np.float64),
}


# --- the documented reductions -----------------------------------------------------------------
def _weights(sample_weight: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Documented sample_weight: (batch,) weighs each sequence, (batch, time) each timestep."""
    w = np.ones(shape)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        w = w * sw.reshape(sw.shape + (1,) * (len(shape) - sw.ndim))
    return w


def _per_class(target: Target, class_weight: Mapping[int, float]) -> np.ndarray:
    """Documented class_weight: each timestep weighted by the weight of its class."""
    classes = _sparse(target.y) if target.y.dtype.kind in "iu" else np.argmax(target.y, -1)
    return np.vectorize(lambda k: float(class_weight.get(int(k), 1.0)), otypes=[np.float64])(classes)


def loss_value(target: Target, pred: np.ndarray, sample_weight: np.ndarray | None = None,
               *, masked: bool = True) -> float:
    """sum_over_batch_size with a mask: sum(v * w * mask) / sum(mask) (keras/src/losses/loss.py)."""
    v = FUNCTIONS[target.loss](target.y.astype(np.float64), pred.astype(np.float64))
    w = _weights(sample_weight, v.shape)
    if masked and target.keep is not None:
        m = target.keep.astype(np.float64)
        return float(np.sum(v * w * m) / max(np.sum(m), EPSILON))
    return float(np.sum(v * w) / v.size)


def total_loss(spec: FitSpec, preds: list[np.ndarray], sample_weight: np.ndarray | None,
               *, masked: bool = True) -> float:
    return sum(t.loss_weight * loss_value(t, preds[i], sample_weight, masked=masked)
               for i, t in enumerate(spec.targets))


def evaluate_loss(spec: FitSpec, preds: list[np.ndarray], *, masked: bool = True) -> float:
    """What evaluate reports: each batch's loss (normalized by that batch's kept steps), averaged over
    equal batches (the loss tracker is a Mean weighted by batch size, keras/src/trainers/trainer.py)."""
    rows = len(preds[0])
    size = spec.batch_size if not spec.one_batch and spec.batch_size else rows
    losses = []
    for start in range(0, rows, size):
        part = slice(start, start + size)
        sliced = FitSpec(tuple(Target(t.y[part], None if t.keep is None else t.keep[part], t.loss, t.loss_weight,
                                      t.output) for t in spec.targets))
        weight = None if spec.sample_weight is None else np.asarray(spec.sample_weight)[part]
        losses.append(total_loss(sliced, [p[part] for p in preds], weight, masked=masked))
    return float(np.mean(losses))


def metric_value(spec: FitSpec, metric: Metric, preds: list[np.ndarray], *, masked: bool = True) -> float:
    """A mean metric: sum(v * w * mask) / sum(w * mask) (keras/src/metrics/reduction_metrics.py)."""
    target = spec.targets[metric.target]
    v = FUNCTIONS[metric.function](target.y.astype(np.float64), preds[metric.target].astype(np.float64))
    w = _weights(spec.sample_weight if metric.weighted else None, v.shape)
    if masked and target.keep is not None:
        w = w * target.keep
    return float(np.sum(v * w) / max(np.sum(w), EPSILON))


def _close(got: float, want: float) -> bool:
    return bool(np.isfinite(got)) and abs(got - want) <= ATOL + RTOL * abs(want)


# --- captured values ----------------------------------------------------------------------------
PREDICTIONS = {"before": "fit/predict/before", "after": "fit/predict/after", "on_batch": "fit/on_batch/predict"}


def predictions(c: Any, spec: FitSpec, name: str) -> list[np.ndarray]:
    """The captured predictions for each target, in target order ("before", "after", "on_batch")."""
    key = PREDICTIONS[name]
    return [c.output(key if t.output is None else f"{key}/{t.output}") for t in spec.targets]


def _scalar(c: Any, key: str) -> float:
    return float(np.asarray(c.output(key)).reshape(-1)[0])


def _guarded(check: Callable[[Any], tuple[bool, str]]) -> Callable[[Any], tuple[bool, str]]:
    def run(c: Any) -> tuple[bool, str]:
        if c.error is not None:
            return False, f"raised {c.error.type}: {c.error.message[:120]}"
        return check(c)

    return run


# --- the checks ----------------------------------------------------------------------------------
def mask_reaches_loss(spec: FitSpec) -> Callable[[Any], tuple[bool, str]]:
    def check(c):
        bad = []
        for t in spec.targets:
            if t.keep is None:
                continue
            key = PREDICTIONS["before"] if t.output is None else f"{PREDICTIONS['before']}/{t.output}"
            got = c.mask(key)
            if got is None or got.shape != t.keep.shape or not np.array_equal(got, t.keep):
                bad.append(f"{key}: {'no mask' if got is None else 'mask differs from the padding'}")
        return not bad, "; ".join(bad) or "every output carries the padding mask"

    return check


def _vs(label: str, got: float, want: float, unmasked: float) -> str:
    return f"{label} {got:.6g}, over kept steps {want:.6g}, over all steps {unmasked:.6g}"


def loss_ignores_masked(spec: FitSpec) -> Callable[[Any], tuple[bool, str]]:
    """evaluate's loss, before and after fit, against the loss over kept steps only."""

    def check(c):
        ok, shown = True, []
        for when in ("before", "after"):
            preds = predictions(c, spec, when)
            want = evaluate_loss(spec, preds)
            got = _scalar(c, f"fit/evaluate/{when}/loss")
            ok &= _close(got, want)
            shown.append(_vs(f"evaluate {when}: loss", got, want, evaluate_loss(spec, preds, masked=False)))
        return ok, "; ".join(shown)

    return check


def metric_ignores_masked(spec: FitSpec, metric: Metric) -> Callable[[Any], tuple[bool, str]]:
    def check(c):
        ok, shown = True, []
        for when in ("before", "after"):
            preds = predictions(c, spec, when)
            want = metric_value(spec, metric, preds)
            got = _scalar(c, f"fit/evaluate/{when}/{metric.log}")
            ok &= _close(got, want)
            shown.append(_vs(f"evaluate {when}: {metric.log}", got, want,
                             metric_value(spec, metric, preds, masked=False)))
        return ok, "; ".join(shown)

    return check


def _training_weights(spec: FitSpec) -> tuple[np.ndarray | None, str]:
    """The weights the training step should apply per timestep, and how they are described."""
    if spec.class_weight is None:
        return spec.sample_weight, "mask only" if spec.sample_weight is None else "sample_weight x mask"
    target = spec.targets[0]
    return _per_class(target, spec.class_weight), "class weight of each timestep's class x mask"


def training_loss_weighted(spec: FitSpec) -> Callable[[Any], tuple[bool, str]]:
    """The training step's loss (fit's first epoch, every train_on_batch step) with weights x mask."""

    def check(c):
        weights, how = _training_weights(spec)
        steps = []  # (label, reported loss, the predictions it was computed on)
        if spec.one_batch:
            steps.append(("fit step 1", _scalar(c, "fit/history/loss"), predictions(c, spec, "before")))
        if spec.on_batch:
            stacked = predictions(c, spec, "on_batch")
            losses = c.output("fit/on_batch/train/loss")
            steps += [(f"train_on_batch step {i + 1}", float(losses[i]), [p[i] for p in stacked])
                      for i in range(len(losses))]
        if not steps:
            return False, "no training step to check (needs one batch per epoch or on_batch)"
        # the alternative a wrong implementation would give: weights ignored (class_weight) or mask ignored
        other_label, other_weights, other_masked = (("unweighted", None, True) if spec.class_weight is not None
                                                    else ("without the mask", weights, False))
        rows = [(label, got, total_loss(spec, preds, weights),
                 total_loss(spec, preds, other_weights, masked=other_masked)) for label, got, preds in steps]
        bad = [r for r in rows if not _close(r[1], r[2])]
        label, got, want, other = (bad or rows)[0]
        return not bad, (f"{len(rows)} steps, {how}; {'first mismatch' if bad else 'e.g.'} {label}: loss "
                         f"{got:.6g}, expected {want:.6g} ({other_label} {other:.6g})")

    return check


def evaluate_agrees_with_training(spec: FitSpec) -> Callable[[Any], tuple[bool, str]]:
    """Same weights, same data: test_on_batch and the train_on_batch step after it report the same
    loss and metrics; fit's first epoch reports what evaluate reported before it."""

    def check(c):
        # class_weight applies to training only: only quantities it does not weigh can agree
        unweighted = {m.log for m in spec.metrics if not m.weighted}
        keep = (lambda log: log in unweighted) if spec.class_weight is not None else (lambda log: True)
        pairs = []
        if spec.on_batch:
            for key in sorted(k for k in c.probes if k.startswith("fit/on_batch/test/")):
                log = key.rsplit("/", 1)[1]
                train_key = f"fit/on_batch/train/{log}"
                if keep(log) and train_key in c.probes:
                    pairs += [(f"step {i + 1} {log}", float(a), float(b))
                              for i, (a, b) in enumerate(zip(c.output(key), c.output(train_key)))]
        if spec.one_batch:
            for key in sorted(k for k in c.probes if k.startswith("fit/evaluate/before/")):
                log = key.rsplit("/", 1)[1]
                if keep(log) and f"fit/history/{log}" in c.probes:
                    pairs.append((f"evaluate vs fit epoch 1 {log}", _scalar(c, key),
                                  float(c.output(f"fit/history/{log}")[0])))
        if not pairs:
            return False, "nothing to compare"
        bad = [(n, a, b) for n, a, b in pairs if not _close(b, a)]
        if bad:
            n, a, b = bad[0]
            return False, f"{len(bad)} of {len(pairs)} disagree; first: {n}: evaluate {a:.6g}, training {b:.6g}"
        return True, f"{len(pairs)} values agree (test_on_batch/train_on_batch per step, evaluate/fit)"

    return check


def fit_expectations(spec: FitSpec) -> list[Expectation]:
    """The checks a scenario run with `Fit` attaches (claims T1..T5)."""
    checks = [Expectation("fit: the padding mask reaches the loss", _guarded(mask_reaches_loss(spec)), "T1"),
              Expectation("fit: evaluate's loss ignores masked timesteps", _guarded(loss_ignores_masked(spec)),
                          "T2")]
    checks += [Expectation(f"fit: metric {m.log} ignores masked timesteps",
                           _guarded(metric_ignores_masked(spec, m)), "T3") for m in spec.metrics]
    if spec.one_batch or spec.on_batch:
        claim = "T4" if spec.sample_weight is not None or spec.class_weight is not None else "T2"
        checks.append(Expectation("fit: the training step's loss is weights x mask over kept steps"
                                  if claim == "T4" else "fit: the training step's loss ignores masked timesteps",
                                  _guarded(training_loss_weighted(spec)), claim))
        checks.append(Expectation("fit: evaluate and the training step agree",
                                  _guarded(evaluate_agrees_with_training(spec)), "T5"))
    return checks
