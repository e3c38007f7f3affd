"""Build a keras model from a case spec (harness/define/spec.py). Run stage: imports keras.

An op is a keras.layers class name built with the spec's args, "custom.*" (the small mask layers
below), or "shared" (an earlier layer object called again). Weights are not set here: the harness
sets them from numpy by case name (capture.set_weights), as for every scenario.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import keras
import numpy as np

from harness.define import spec as specs


class SetMask(keras.layers.Layer):
    """Sets a mask of its own: a step is kept where any feature is nonzero."""

    def call(self, x):
        return x

    def compute_mask(self, x, mask=None):
        return keras.ops.any(keras.ops.not_equal(x, 0), axis=-1)


class PassMask(keras.layers.Layer):
    """Elementwise, declares supports_masking: the incoming mask passes through unchanged."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.supports_masking = True

    def call(self, x):
        return x * 2.0


class ConsumeMask(keras.layers.Layer):
    """Reads the mask (zeroes masked steps) and returns no mask."""

    def call(self, x, mask=None):
        if mask is None:
            return x
        return x * keras.ops.expand_dims(keras.ops.cast(mask, x.dtype), -1)

    def compute_mask(self, x, mask=None):
        return None


class IgnoreMask(keras.layers.Layer):
    """Knows nothing of masks (supports_masking stays False)."""

    def call(self, x):
        return x + 1.0


class PairMask(keras.layers.Layer):
    """(batch, time) bool mask -> (batch, time, time): step i may attend to step j when both are kept."""

    def call(self, mask):
        mask = keras.ops.cast(mask, "bool")
        return keras.ops.logical_and(keras.ops.expand_dims(mask, 2), keras.ops.expand_dims(mask, 1))


CUSTOM = {"custom.SetMask": SetMask, "custom.PassMask": PassMask, "custom.ConsumeMask": ConsumeMask,
          "custom.IgnoreMask": IgnoreMask, "custom.PairMask": PairMask}
LAMBDAS = {"double": lambda x: x * 2.0, "square": lambda x: x * x, "identity": lambda x: x}
# Layers whose inbound tensors are passed as one list; every other op takes them positionally.
LIST_CALL = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
             "Attention", "AdditiveAttention"}


@keras.saving.register_keras_serializable(package="harness")
class Placeholder(keras.initializers.Initializer):
    """Zeros from numpy, for weights the harness overwrites anyway (capture.set_weights).

    Keras's own initializers (glorot_uniform, orthogonal's QR, ...) run a program per weight shape;
    on JAX each one is compiled, a third of a generated case's compilations, for values thrown away.
    Only trainable weights get it: moving statistics keep their initializers (they are not overwritten).
    """

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=keras.backend.standardize_dtype(dtype or "float32"))


def _placeholders(cls: type, args: dict[str, Any]) -> dict[str, Any]:
    if os.environ.get("HARNESS_KERAS_INITIALIZERS"):  # Keras's own (benchmarks/fuzz_bench.py "before")
        return args
    try:
        names = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return args
    chosen = {n: Placeholder() for n in names if n.endswith("_initializer") and "moving" not in n and n not in args}
    return {**chosen, **args}


def make_layer(op: str, args: dict[str, Any], name: str | None = None) -> Any:
    """One layer object from an op and its args (nested layers for wrappers)."""
    args = dict(args)
    if op in CUSTOM:
        return CUSTOM[op](name=name, **args)
    if "layer" in args and isinstance(args["layer"], dict):  # TimeDistributed, Bidirectional
        inner = args.pop("layer")
        args["layer"] = make_layer(inner["op"], inner.get("args", {}))
    if op == "Lambda":
        args["function"] = LAMBDAS[args["function"]]
    for key in ("cropping", "dims", "axes", "target_shape"):
        if isinstance(args.get(key), list):
            args[key] = tuple(args[key])
    cls = getattr(keras.layers, op, None)
    if cls is None or not isinstance(cls, type):
        raise specs.SpecError(f"unknown op {op!r}: not a keras.layers class or a custom layer")
    return cls(name=name, **_placeholders(cls, args))


def build(spec: dict[str, Any]) -> tuple[Any, list[np.ndarray]]:
    """(model, inputs) for a spec: the pair a scenario's build() returns."""
    specs.validate(spec)
    tensors: dict[str, Any] = {}
    model_inputs = []
    for entry in spec["inputs"]:
        shape = (spec["time"], entry["features"]) if entry["kind"] == "float" else (spec["time"],)
        dtype = {"float": "float32", "tokens": "int32", "mask": "bool"}[entry["kind"]]
        tensors[entry["name"]] = keras.Input(shape, dtype=dtype, name=entry["name"])
        model_inputs.append(tensors[entry["name"]])
    objects: dict[str, Any] = {}

    def resolve(ref: str) -> Any:
        name, _, index = ref.partition(":")
        value = tensors[name]
        return value[int(index)] if index else value

    for layer in spec["layers"]:
        op, args = layer["op"], layer.get("args", {})
        if op == "shared":
            layer_object, op = objects[args["layer"]], next(
                la["op"] for la in spec["layers"] if la["name"] == args["layer"])
        else:
            layer_object = objects[layer["name"]] = make_layer(op, args, layer["name"])
        ins = [resolve(r) for r in layer["in"]]
        call = {}
        for key, value in (layer.get("call") or {}).items():
            if isinstance(value, dict):
                value = resolve(value["ref"]) if "ref" in value else [resolve(r) for r in value["refs"]]
            call[key] = value
        result = layer_object(ins, **call) if op in LIST_CALL else layer_object(*ins, **call)
        tensors[layer["name"]] = list(result) if isinstance(result, (list, tuple)) else result
    outputs = [resolve(r) for r in spec["outputs"]]
    model = keras.Model(model_inputs, outputs if len(outputs) > 1 else outputs[0])
    return model, specs.input_arrays(spec)
