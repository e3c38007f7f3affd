"""A scalar loss, its gradients and one optimizer step, through each backend's own autodiff.

Keys of the returned probes: "loss", "grad/input/<input name>" (float inputs only),
"grad/<layer>#<i>" and "step/<layer>#<i>" (the variable after one optimizer step), where
<layer>#<i> is the i-th weight of the layer, the same key `capture.set_weights` seeds it by.
The forward pass runs with training=False so that dropout and friends do not bring in backend RNGs.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from harness.define.registry import Train
from harness.run.tensors import as_model_input, to_numpy


def train_step(model: Any, inputs: list[np.ndarray], train: Train) -> dict[str, tuple[np.ndarray, str]]:
    loss_fn = keras.losses.get({"class_name": train.loss,
                                "config": {"reduction": train.reduction, **train.loss_config}})
    if not isinstance(loss_fn, keras.losses.Loss):  # a function name ("mse") would drop the reduction
        raise ValueError(f"Train(loss={train.loss!r}) must name a keras.losses class, such as "
                         f"'MeanSquaredError', for its reduction to apply")
    targets = train.targets if isinstance(train.targets, (list, tuple)) else [train.targets]

    def loss_of(outputs: Any) -> Any:
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        total = 0.0
        for y_true, y_pred in zip(targets, outputs):
            total = total + keras.ops.sum(loss_fn(y_true, y_pred))  # reduction "none": summed here
        return total

    float_inputs = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"] if train.input_gradients else []
    loss, weight_grads, input_grads = _GRADIENTS[keras.backend.backend()](model, inputs, float_inputs, loss_of)
    keys = _variable_keys(model)
    result: dict[str, tuple[np.ndarray, str]] = {"loss": to_numpy(loss)}
    for variable, grad in zip(model.trainable_variables, weight_grads):
        result[f"grad/{keys[id(variable)]}"] = to_numpy(grad)
    for index, grad in zip(float_inputs, input_grads):
        result[f"grad/input/{model.inputs[index].name}"] = to_numpy(grad)
    optimizer = keras.optimizers.get({"class_name": train.optimizer,
                                      "config": {"learning_rate": train.learning_rate}})
    optimizer.apply_gradients(zip(weight_grads, model.trainable_variables))
    for variable in model.trainable_variables:
        result[f"step/{keys[id(variable)]}"] = to_numpy(variable.value)
    return result


def weight_gradients(model: Any, inputs: list[np.ndarray], loss_of: Any) -> dict[str, tuple[np.ndarray, str]]:
    """The loss `loss_of(outputs)` and its gradient for every trainable weight ("grad/<layer>#<i>"),
    through the backend's own autodiff, without stepping any optimizer."""
    loss, weight_grads, _ = _GRADIENTS[keras.backend.backend()](model, inputs, [], loss_of)
    keys = _variable_keys(model)
    result = {"loss": to_numpy(loss)}
    for variable, grad in zip(model.trainable_variables, weight_grads):
        result[f"grad/{keys[id(variable)]}"] = to_numpy(grad)
    return result


def _variable_keys(model: Any) -> dict[int, str]:
    return {id(v): f"{layer.name}#{i}" for layer in model.layers for i, v in enumerate(layer.weights)}


def _tensorflow(model, inputs, float_inputs, loss_of):
    import tensorflow as tf

    xs = [tf.convert_to_tensor(x) for x in inputs]
    with tf.GradientTape() as tape:
        for i in float_inputs:
            tape.watch(xs[i])
        loss = loss_of(model(as_model_input(model, xs), training=False))
    sources = [v.value for v in model.trainable_variables] + [xs[i] for i in float_inputs]
    grads = tape.gradient(loss, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    n = len(model.trainable_variables)
    return loss, grads[:n], grads[n:]


def _jax(model, inputs, float_inputs, loss_of):
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    xs = [jnp.asarray(x) for x in inputs]

    def loss_fn(weights, float_xs):
        full = list(xs)
        for i, x in zip(float_inputs, float_xs):
            full[i] = x
        outputs, _ = model.stateless_call(weights, non_trainable, as_model_input(model, full), training=False)
        return loss_of(outputs)

    loss, (weight_grads, input_grads) = jax.value_and_grad(loss_fn, argnums=(0, 1))(
        trainable, [xs[i] for i in float_inputs])
    return loss, weight_grads, input_grads


def _torch(model, inputs, float_inputs, loss_of):
    import torch

    xs = [torch.tensor(x, requires_grad=i in float_inputs) for i, x in enumerate(inputs)]
    for v in model.trainable_variables:
        v.value.grad = None
    loss = loss_of(model(as_model_input(model, xs), training=False))
    loss.backward()
    weight_grads = [v.value.grad if v.value.grad is not None else torch.zeros_like(v.value)
                    for v in model.trainable_variables]
    input_grads = [xs[i].grad if xs[i].grad is not None else torch.zeros_like(xs[i])
                   for i in float_inputs]
    return loss.detach(), [g.detach() for g in weight_grads], [g.detach() for g in input_grads]


_GRADIENTS = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}
