"""What a training scenario's checks need to know of it: the targets and padding the loss sees, the
compiled metrics, the weights. Scenario data (scenarios/fit.py builds them beside each `Fit`); the
checks that read them are harness/compare/training_claims.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Target:
    """One model output as the loss sees it: targets, the padding (True = kept), the loss function,
    its loss weight, and the output's index when the model has several."""

    y: np.ndarray
    keep: np.ndarray | None
    loss: str
    loss_weight: float = 1.0
    output: int | None = None


@dataclass(frozen=True)
class Metric:
    """A compiled metric: the name Keras logs it under, the function, its output, weighted or not."""

    log: str
    function: str
    target: int = 0  # index into FitSpec.targets
    weighted: bool = False


@dataclass(frozen=True)
class FitSpec:
    targets: tuple[Target, ...]
    metrics: tuple[Metric, ...] = ()
    sample_weight: np.ndarray | None = None
    class_weight: Mapping[int, float] | None = None
    one_batch: bool = True  # each fit epoch is one step on all the data
    batch_size: int | None = None  # evaluate's batches when not one_batch (rows in order)
    on_batch: bool = True
    loss_logs: tuple[str, ...] = field(default=())  # per-output loss logs ("head_loss"), if any
