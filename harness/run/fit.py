"""A scenario's model through Keras's own training API, captured as probes.

What users run, in order: `compile`, `predict` and `evaluate` before, `fit` for `Fit.steps` epochs
(shuffle=False, fixed batches), `evaluate` and `predict` after, the weights after the last step; then,
from the same starting weights and a fresh optimizer, `Fit.steps` rounds of predict_on_batch,
test_on_batch and train_on_batch on the whole data. Every value is a probe (no mask unless noted):

  fit/predict/before[/i], fit/predict/after[/i]   model.predict, per output i; mask from an eager call
  fit/evaluate/before/<log>, fit/evaluate/after/<log>   evaluate(return_dict=True), scalars
  fit/history/<log>          history.history[<log>], one value per epoch
  fit/batch/<log>            the logs of every on_train_batch_end (per execution with steps_per_execution)
  fit/weights/<layer>#<i>    every weight after the last fit step
  fit/on_batch/predict[/i]   predictions before each train_on_batch step, stacked (steps, ...)
  fit/on_batch/test/<log>, fit/on_batch/train/<log>   test_on_batch then train_on_batch, per step

<log> is the name Keras gives the value in its logs ("loss", "accuracy", "mae", "head_loss", ...).
Nothing random: the harness set the weights, the scenario must not use dropout, no shuffling.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np

from harness.define.captured import Probe
from harness.define.registry import Fit
from harness.run import autodiff
from harness.run.portability import get_mask
from harness.run.tensors import as_model_input, mask_to_numpy

PREFIX = "fit/"


def run_fit(model: Any, inputs: list[np.ndarray], fit: Fit, reset_weights: Callable[[], None],
            captured: Mapping[str, Probe] | None = None) -> dict[str, Probe]:
    """Train `model` (its weights already set by the harness) and return the fit/ probes.

    `captured`: the probes the harness already took; an output layer probed there lends its mask,
    which saves an eager call (seconds of scan compilation for an RNN on JAX).
    """
    x = as_model_input(model, inputs)
    y = _structure(fit.targets)
    rows = len(inputs[0])
    batch_size = fit.batch_size or rows
    if rows % batch_size:
        raise ValueError(f"Fit(batch_size={fit.batch_size}) must divide the {rows} rows: a last, "
                         f"smaller batch would weigh differently in the epoch averages")
    probes: dict[str, Probe] = {}
    masks = _output_masks(model, x, captured or {})

    _compile(model, fit)
    gradient_error = None
    if fit.each_step:
        try:
            probes.update(_first_gradients(model, inputs, y, fit))
        except Exception as exc:  # fit's own error, if it raises too, is the one a user meets: first
            gradient_error = exc
    _store_outputs(probes, "predict/before", model.predict(x, batch_size=batch_size, verbose=0), masks)
    _store_logs(probes, "evaluate/before", _evaluate(model, x, y, fit, batch_size))
    batches = _BatchLogs(model if fit.each_step else None)
    history = model.fit(x, y, batch_size=batch_size, epochs=fit.steps, shuffle=False, verbose=0,
                        sample_weight=fit.sample_weight, class_weight=fit.class_weight, callbacks=[batches])
    for name, values in history.history.items():
        probes[f"{PREFIX}history/{name}"] = _scalars(values)
    for name, values in batches.logs.items():
        probes[f"{PREFIX}batch/{name}"] = _scalars(values)
    for step, weights in enumerate(batches.weights, start=1):
        for key, values in weights.items():
            probes[f"{PREFIX}step/{step}/{key}"] = _probe(values)
    _store_logs(probes, "evaluate/after", _evaluate(model, x, y, fit, batch_size))
    _store_outputs(probes, "predict/after", model.predict(x, batch_size=batch_size, verbose=0), masks)
    for layer in model.layers:
        for index, variable in enumerate(layer.weights):
            probes[f"{PREFIX}weights/{layer.name}#{index}"] = _probe(_numpy(variable.value))
    if fit.on_batch:
        probes.update(_on_batch(model, x, y, fit, reset_weights, masks))
    if gradient_error is not None:
        raise gradient_error
    return probes


def _output_masks(model: Any, x: Any, captured: Mapping[str, Probe]) -> list[np.ndarray | None]:
    names = [t._keras_history.operation.name for t in model.outputs]
    if all(name in captured for name in names):
        return [captured[name].mask for name in names]
    return [mask_to_numpy(get_mask(o)) for o in _outputs(model(x, training=False))]


def _on_batch(model: Any, x: Any, y: Any, fit: Fit, reset_weights: Callable[[], None],
              masks: list[np.ndarray | None]) -> dict[str, Probe]:
    """The same start (weights, a fresh optimizer state), stepped by train_on_batch on all the data.

    The optimizer's state is zeroed in place rather than compiled anew: a new compile would trace and
    compile every function again (seconds per function on JAX), and zeros are its initial values.
    """
    if fit.steps_per_execution != 1:
        raise ValueError("Fit(on_batch=True) needs steps_per_execution=1: train_on_batch reuses fit's "
                         "train function")
    reset_weights()
    for variable in model.optimizer.variables:
        if variable.name != "learning_rate":  # iteration, momentums, velocities start at 0
            variable.assign(np.zeros(tuple(variable.shape), dtype=keras.backend.standardize_dtype(variable.dtype)))
    predictions, tests, trains = [], [], []
    for _ in range(fit.steps):
        predictions.append(_outputs(model.predict_on_batch(x)))
        tests.append(model.test_on_batch(x, y, sample_weight=fit.sample_weight, return_dict=True))
        trains.append(model.train_on_batch(x, y, sample_weight=fit.sample_weight,
                                           class_weight=fit.class_weight, return_dict=True))
    probes: dict[str, Probe] = {}
    stacked = [np.stack([_numpy(step[i]) for step in predictions]) for i in range(len(masks))]
    _store_outputs(probes, "on_batch/predict", stacked, [None] * len(masks))
    for kind, logs in (("test", tests), ("train", trains)):
        for name in logs[0]:
            probes[f"{PREFIX}on_batch/{kind}/{name}"] = _scalars([step[name] for step in logs])
    return probes


def _compile(model: Any, fit: Fit) -> None:
    if fit.loss is None:  # a saved model (harness check) trains with the compile it was saved with
        if getattr(model, "optimizer", None) is None:
            raise ValueError("Fit(loss=None) needs a compiled model: the saved model has no compile "
                             "configuration")
        return
    if fit.optimizer not in ("SGD", "Adam"):
        raise ValueError(f"Fit(optimizer={fit.optimizer!r}): use 'SGD' or 'Adam'")
    optimizer = keras.optimizers.get({"class_name": fit.optimizer,
                                      "config": {"learning_rate": fit.learning_rate}})
    model.compile(optimizer=optimizer, loss=_structure(fit.loss), metrics=_structure(fit.metrics) or None,
                  weighted_metrics=_structure(fit.weighted_metrics) or None, loss_weights=fit.loss_weights,
                  jit_compile=jit_compile(fit), steps_per_execution=fit.steps_per_execution)


def snapshot(model: Any) -> Callable[[], None]:
    """A function that puts back every weight as it is now: train_on_batch's start for a model
    whose own weights (a saved model's) are the start, not the harness's seeded ones."""
    saved = [(variable, _numpy(variable.value)) for variable in model.weights]

    def restore() -> None:
        for variable, values in saved:
            variable.assign(values)

    return restore


def jit_compile(fit: Fit) -> bool | str:
    """`Fit.jit_compile`, except that on PyTorch True means torch.compile, which takes minutes on CPU
    (and a C++ compiler): it runs only with HARNESS_TORCH_COMPILE=1, as the harness's compiled pass."""
    if fit.jit_compile is True and keras.backend.backend() == "torch" \
            and os.environ.get("HARNESS_TORCH_COMPILE", "0") != "1":
        return False
    return fit.jit_compile


def _evaluate(model: Any, x: Any, y: Any, fit: Fit, batch_size: int) -> dict[str, Any]:
    # evaluate takes no class_weight: Keras documents class weights as "during training only"
    return model.evaluate(x, y, batch_size=batch_size, sample_weight=fit.sample_weight, verbose=0,
                          return_dict=True)


class _BatchLogs(keras.callbacks.Callback):
    """Every on_train_batch_end's logs; with a model, also every weight after each step."""

    def __init__(self, model: Any = None) -> None:
        super().__init__()
        self.logs: dict[str, list[float]] = {}
        self.weights: list[dict[str, np.ndarray]] = []
        self._watched = model

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        for name, value in (logs or {}).items():
            self.logs.setdefault(name, []).append(float(_numpy(value)))
        if self._watched is not None:
            # JAX's fit keeps the weights in its own state during an epoch: write them back first
            sync = getattr(self._watched, "jax_state_sync", None)
            if sync is not None:
                sync()
            self.weights.append({f"{layer.name}#{index}": _numpy(variable.value)
                                 for layer in self._watched.layers for index, variable in enumerate(layer.weights)})


def _first_gradients(model: Any, inputs: list[np.ndarray], y: Any, fit: Fit) -> dict[str, Probe]:
    """The compiled loss and its gradients at the starting weights, on all the data: fit/gradients/*.

    Keras's own compute_loss (the compiled loss with its mask and sample weights), differentiated by
    the backend's autodiff: the gradient the first step takes when the data is one batch."""
    weight = None if fit.sample_weight is None else np.asarray(fit.sample_weight)

    def loss_of(outputs: Any) -> Any:
        return model.compute_loss(x=None, y=y, y_pred=outputs, sample_weight=weight, training=True)

    return {f"{PREFIX}gradients/{key}": _probe(values)
            for key, (values, _) in autodiff.weight_gradients(model, inputs, loss_of).items()}


def _structure(value: Any) -> Any:
    """Tuples (frozen dataclass fields) as the lists Keras expects; dicts and scalars unchanged."""
    return list(value) if isinstance(value, tuple) else value


def _outputs(result: Any) -> list[Any]:
    if isinstance(result, dict):
        return list(result.values())
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _store_outputs(probes: dict[str, Probe], name: str, result: Any, masks: list[np.ndarray | None]) -> None:
    outputs = _outputs(result)
    for index, (values, mask) in enumerate(zip(outputs, masks)):
        key = f"{PREFIX}{name}" if len(outputs) == 1 else f"{PREFIX}{name}/{index}"
        array = _numpy(values)
        probes[key] = Probe(values=array, mask=mask, dtype=str(array.dtype))


def _store_logs(probes: dict[str, Probe], name: str, logs: dict[str, Any]) -> None:
    for log, value in logs.items():
        probes[f"{PREFIX}{name}/{log}"] = _probe(_numpy(value).astype(np.float32))


def _scalars(values: list[Any]) -> Probe:
    # float32: the dtype Keras computed them in (evaluate hands back Python floats), so the float32
    # tolerance applies across backends
    return _probe(np.asarray([float(_numpy(v)) for v in values], dtype=np.float32))


def _numpy(value: Any) -> np.ndarray:
    """As numpy; a conversion's own warnings (numpy 2's __array__ copy keyword on TensorFlow and
    PyTorch) belong to the harness, not to the scenario's recorded warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(keras.ops.convert_to_numpy(value))


def _probe(values: np.ndarray) -> Probe:
    return Probe(values=values, mask=None, dtype=str(values.dtype))
