"""The training claims (T1..T5) for a checked model: the suite's numpy reference applied to a saved
model's own compile configuration. numpy only.

A scenario knows its padding when it is written; a saved model's is the mask its output carries,
which each backend captured (`fit/predict/before`). So every check here first reads that mask from
the captured values and then hands a `FitSpec` to harness.compare.training_claims, whose functions
do the recomputing: nothing of the reference is repeated here. Losses and metrics the reference
does not know (a custom loss, `from_logits=True`) are named as not recomputed, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.compare import training_claims as tc
from harness.define.registry import Expectation

# Keras's names (function aliases and class names, as snake case) for the reference's functions.
ALIASES = {
    "mean_squared_error": "mse", "mse": "mse", "mean_absolute_error": "mae", "mae": "mae",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
    "categorical_accuracy": "categorical_accuracy",
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _name_and_config(entry: Any) -> tuple[str, dict[str, Any]]:
    """A compile config entry (a string, or a serialized object) as (snake name, its config)."""
    if isinstance(entry, str):
        return snake(entry), {}
    if isinstance(entry, Mapping):
        config = entry.get("config") if isinstance(entry.get("config"), Mapping) else {}
        return snake(str(entry.get("class_name", ""))), dict(config)
    return "", {}


def reference_loss(entry: Any) -> tuple[str | None, str]:
    """(the reference function for the compiled loss, or None, and why not)."""
    name, config = _name_and_config(entry)
    if config.get("from_logits"):
        return None, f"loss {name} with from_logits=True is not in the numpy reference"
    if config.get("reduction", "sum_over_batch_size") != "sum_over_batch_size":
        return None, f"loss {name} with reduction {config['reduction']!r} is not in the numpy reference"
    function = ALIASES.get(name)
    return (function, "") if function else (None, f"loss {name or entry!r} is not in the numpy reference")


def reference_metric(entry: Any, sparse_targets: bool) -> tuple[tc.Metric | None, str]:
    """A compiled metric as the reference's Metric (its log name and function), or why not."""
    name, config = _name_and_config(entry)
    log = str(config.get("name") or (entry if isinstance(entry, str) else name))
    if name in ("accuracy", "acc"):  # Keras picks the accuracy from the targets' form
        name = "sparse_categorical_accuracy" if sparse_targets else "categorical_accuracy"
    function = ALIASES.get(name)
    if function is None or config.get("from_logits"):
        return None, f"metric {log} is not in the numpy reference"
    return tc.Metric(log=log, function=function), ""


@dataclass(frozen=True)
class CheckTraining:
    """What the check trains with, as data: the targets (one output), the compile's loss and
    metrics entries, sample and class weights, the batch size (None: one batch)."""

    targets: np.ndarray
    loss: Any
    metrics: tuple[Any, ...] = ()
    weighted_metrics: tuple[Any, ...] = ()
    sample_weight: np.ndarray | None = None
    class_weight: Mapping[int, float] | None = None
    batch_size: int | None = None
    on_batch: bool = True

    def spec(self, keep: np.ndarray | None) -> tuple[tc.FitSpec | None, list[str]]:
        """The reference's FitSpec with `keep` as the padding, and what it leaves out."""
        function, why = reference_loss(self.loss)
        if function is None:
            return None, [why]
        sparse = self.targets.dtype.kind in "iu"
        metrics, skipped = [], []
        for entries, weighted in ((self.metrics, False), (self.weighted_metrics, True)):
            for entry in entries:
                metric, why = reference_metric(entry, sparse)
                if metric is None:
                    skipped.append(why)
                else:
                    metrics.append(tc.Metric(metric.log, metric.function, weighted=weighted))
        one_batch = self.batch_size is None or self.batch_size >= len(self.targets)
        spec = tc.FitSpec(targets=(tc.Target(self.targets, keep, function),), metrics=tuple(metrics),
                          sample_weight=self.sample_weight, class_weight=self.class_weight,
                          one_batch=one_batch, batch_size=self.batch_size, on_batch=self.on_batch)
        return spec, skipped


OUTPUT_PREDICTIONS = "fit/predict/before"


def _output_keep(c: Any) -> np.ndarray | None:
    mask = c.mask(OUTPUT_PREDICTIONS)
    return None if mask is None else np.asarray(mask, dtype=bool)


def _with_spec(training: CheckTraining, make: Callable[[tc.FitSpec], Callable[[Any], tuple[bool, str]]]
               ) -> Callable[[Any], tuple[bool, str]]:
    def check(c: Any) -> tuple[bool, str]:
        if c.error is not None:
            return False, f"raised {c.error.type}: {c.error.message[:160]}"
        spec, skipped = training.spec(_output_keep(c))
        if spec is None:
            return False, "not recomputed: " + "; ".join(skipped)
        return make(spec)(c)

    return check


def output_carries_mask(c: Any) -> tuple[bool, str]:
    """T1 for a saved model: its padding is what the output's mask says, so the claim is that the
    output the loss sees carries one (a scenario also knows which steps it padded)."""
    if c.error is not None:
        return False, f"raised {c.error.type}: {c.error.message[:160]}"
    keep = _output_keep(c)
    if keep is None:
        return False, "the output the loss sees carries no mask: padded steps count in the loss"
    return True, f"the output carries a mask: {int(keep.sum())} of {keep.size} steps kept"


def expectations(training: CheckTraining) -> list[Expectation]:
    """T1..T5 for the checked model, each recomputed by harness.compare.training_claims."""
    checks = [Expectation("fit: the output the loss sees carries the padding mask", output_carries_mask, "T1"),
              Expectation("fit: evaluate's loss ignores masked timesteps",
                          _with_spec(training, tc.loss_ignores_masked), "T2")]
    for entries, weighted in ((training.metrics, False), (training.weighted_metrics, True)):
        for entry in entries:
            metric, why = reference_metric(entry, training.targets.dtype.kind in "iu")
            if metric is None:
                continue  # named by the loss check's evidence when the loss is not recomputed either
            metric = tc.Metric(metric.log, metric.function, weighted=weighted)
            checks.append(Expectation(f"fit: metric {metric.log} ignores masked timesteps",
                                      _with_spec(training, lambda s, m=metric: tc.metric_ignores_masked(s, m)),
                                      "T3"))
    weighted = training.sample_weight is not None or training.class_weight is not None
    checks.append(Expectation("fit: the training step's loss is weights x mask over kept steps" if weighted
                              else "fit: the training step's loss ignores masked timesteps",
                              _with_spec(training, tc.training_loss_weighted), "T4" if weighted else "T2"))
    checks.append(Expectation("fit: evaluate and the training step agree",
                              _with_spec(training, tc.evaluate_agrees_with_training), "T5"))
    return checks
