"""A case as data: the JSON spec that generated cases (and found scenarios) are built from. numpy only.

A spec names its inputs (with one padding pattern per batch row), a DAG of layer entries (op, args,
inbound references, call options), the model outputs, a dtype policy and a call mode. The same spec
builds the same model on every backend (`harness.run.spec_build`); inputs come from numpy here, and
weights are set by the harness from the case's `weight_seed` (its name when absent), as for hand-written
scenarios, which are seeded by name.

    {"version": 1, "name": "fuzz/0-17", "batch": 3, "time": 6, "seed": 17, "weight_seed": "fuzz/0-17",
     "dtype_policy": null, "training": false,
     "inputs": [{"name": "x0", "kind": "float", "features": 4, "rows": ["right", "none", "full"],
                 "fill": 0.0}],
     "layers": [{"name": "l0", "op": "Masking", "args": {"mask_value": 0.0}, "in": ["x0"]},
                {"name": "l1", "op": "GRU", "args": {"units": 3}, "in": ["l0"], "call": {}}],
     "outputs": ["l1"]}

A reference is a layer or input name, or `name:i` for a layer's i-th output (return_state). A call
option whose value is {"ref": ...} or {"refs": [...]} is a tensor (an explicit mask, initial states).
`validate` checks the structure; the grammar (harness.generate.grammar) checks shapes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from typing import Any

import numpy as np

from harness.define.weights import seed_for

SPEC_VERSION = 1
KINDS = ("float", "tokens", "mask")
# Padding patterns, one per batch row: which timesteps are masked (padding) in that row.
PATTERNS = ("right", "left", "middle", "full", "none")
DTYPE_POLICIES = (None, "float32", "mixed_float16", "mixed_bfloat16")
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
CASE_NAME_RE = re.compile(r"[\w.+-]+(/[\w.+-]+)*")
LIMITS = {"batch": 16, "time": 64, "features": 64, "vocab": 1000, "layers": 40, "inputs": 6}
MAX_SPEC_CHARS = 200_000
# A layer's args are data for a keras constructor: plain values within bounds, and a nested layer
# (TimeDistributed, Bidirectional) only of these ops. No config dicts (keras would deserialize them),
# no sizes that would allocate gigabytes (a spec from a finding may have been edited by hand).
WRAPPED_OPS = ("Dense", "LSTM", "GRU", "SimpleRNN")
ARG_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
ARG_STR_RE = re.compile(r"[\w.+-]{0,64}")
ARG_MAX_INT, ARG_MAX_FLOAT, ARG_MAX_LIST = 4096, 1e6, 8


class SpecError(Exception):
    """A spec that cannot describe a case; the message says which part and why (one line)."""


def row_mask(pattern: str, time: int) -> np.ndarray:
    """True = kept. right/left pad a third of the steps (at least one), middle drops interior steps."""
    keep = np.ones(time, dtype=bool)
    pad = max(1, time // 3)
    if pattern == "right":
        keep[time - pad:] = False
    elif pattern == "left":
        keep[:pad] = False
    elif pattern == "middle":
        if time >= 3:
            keep[1:time - 1:2] = False
        elif time:  # too short for an interior hole: pad the end
            keep[-1] = False
    elif pattern == "full":
        keep[:] = False
    elif pattern != "none":
        raise SpecError(f"unknown padding pattern {pattern!r}: choose one of {', '.join(PATTERNS)}")
    return keep


def input_mask(entry: dict[str, Any], time: int) -> np.ndarray:
    return np.stack([row_mask(p, time) for p in entry["rows"]])


def input_arrays(spec: dict[str, Any]) -> list[np.ndarray]:
    """The case's input arrays, from numpy seeded by the case (never from a backend's RNG).

    Float inputs hold `fill` at padded steps (Masking's mask_value), or, with `fill` null, values
    unlike any kept value, so a layer that reads a padded step shows it; tokens are 0 at padded steps.
    """
    time, arrays = spec["time"], []
    for entry in spec["inputs"]:
        keep = input_mask(entry, time)
        rng = np.random.default_rng(seed_for("spec-inputs", str(spec["seed"]), entry["name"]))
        if entry["kind"] == "mask":
            arrays.append(keep)
        elif entry["kind"] == "tokens":
            tokens = rng.integers(1, entry["vocab"], size=keep.shape)
            arrays.append(np.where(keep, tokens, 0).astype(np.int32))
        else:
            shape = (*keep.shape, entry["features"])
            values = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
            values = np.where(np.abs(values) < 0.05, 0.5, values)  # never equal to a 0.0 fill
            fill = entry.get("fill")
            padded = np.full(shape, fill, np.float32) if fill is not None else \
                rng.uniform(2.0, 3.0, size=shape).astype(np.float32)
            arrays.append(np.where(keep[..., None], values, padded).astype(np.float32))
    return arrays


def loads(text: str) -> dict[str, Any]:
    """A spec from JSON text, validated; SpecError on anything else."""
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"spec is {len(text)} characters, more than {MAX_SPEC_CHARS}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SpecError(f"spec is not valid JSON ({exc})") from None
    return validate(data)


def dumps(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def refs_of(layer: dict[str, Any]) -> list[str]:
    """Every reference a layer entry reads: its inbound tensors and tensor-valued call options."""
    found = list(layer.get("in", []))
    for value in (layer.get("call") or {}).values():
        if isinstance(value, dict):
            found += [value["ref"]] if "ref" in value else list(value.get("refs", []))
    return found


def ref_name(ref: str) -> str:
    return ref.split(":", 1)[0]


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise SpecError(message)


def _int_in(data: dict, key: str, low: int, high: int, where: str) -> int:
    value = data.get(key)
    _need(isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
          f"{where}: {key!r} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _named(entry: Any, what: str, seen: dict[str, str]) -> str:
    """Check an input's or layer's name (valid, not taken); return how messages refer to it."""
    _need(isinstance(entry, dict), f"spec: each {what} is an object")
    where = f"{what} {entry.get('name')!r}"
    _need(isinstance(entry.get("name"), str) and bool(NAME_RE.fullmatch(entry["name"])), f"{where}: invalid name")
    _need(entry["name"] not in seen, f"{where}: duplicate name")
    return where


def _plain_arg(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= ARG_MAX_INT
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= ARG_MAX_FLOAT
    if isinstance(value, str):
        return bool(ARG_STR_RE.fullmatch(value))
    return (isinstance(value, list) and len(value) <= ARG_MAX_LIST
            and all(not isinstance(v, list) and _plain_arg(v) for v in value))


def _check_args(args: dict[str, Any], where: str, nested: bool) -> None:
    for key, value in args.items():
        _need(isinstance(key, str) and bool(ARG_KEY_RE.fullmatch(key)), f"{where}: invalid arg name {key!r}")
        if key == "layer" and isinstance(value, dict) and not nested:
            _need(value.get("op") in WRAPPED_OPS and set(value) <= {"op", "args"}
                  and isinstance(value.get("args", {}), dict),
                  f"{where}: a wrapped layer is {{'op': one of {WRAPPED_OPS}, 'args': {{...}}}}")
            _check_args(value.get("args", {}), where, nested=True)
            continue
        _need(_plain_arg(value), f"{where}: arg {key!r} must be a plain value (a number up to "
                                 f"{ARG_MAX_INT}, a short word, a bool, null, or a short list of those)")


def validate(spec: Any, ops: Collection[str] | None = None) -> dict[str, Any]:
    """Check the structure of a spec (and, given `ops`, that every op is one of them); return it."""
    _need(isinstance(spec, dict), f"a spec is a JSON object, got {type(spec).__name__}")
    _need(spec.get("version") == SPEC_VERSION, f"spec version must be {SPEC_VERSION}, got {spec.get('version')!r}")
    name = spec.get("name")
    _need(isinstance(name, str) and bool(CASE_NAME_RE.fullmatch(name)) and len(name) <= 120,
          f"spec name {name!r} is not a valid case name")
    _int_in(spec, "batch", 1, LIMITS["batch"], "spec")
    _int_in(spec, "time", 0, LIMITS["time"], "spec")  # zero-length sequences: a boundary case
    _need(isinstance(spec.get("seed"), int), "spec: 'seed' must be an integer")
    weight_seed = spec.get("weight_seed")
    _need(weight_seed is None or (isinstance(weight_seed, str) and bool(CASE_NAME_RE.fullmatch(weight_seed))
                                  and len(weight_seed) <= 120),
          f"spec: 'weight_seed' must be a case name or null, got {weight_seed!r}")
    _need(spec.get("dtype_policy") in DTYPE_POLICIES,
          f"spec: dtype_policy must be one of {DTYPE_POLICIES}, got {spec.get('dtype_policy')!r}")
    _need(isinstance(spec.get("training", False), bool), "spec: 'training' must be true or false")
    inputs, layers, outputs = spec.get("inputs"), spec.get("layers"), spec.get("outputs")
    _need(isinstance(inputs, list) and 1 <= len(inputs) <= LIMITS["inputs"],
          f"spec: 'inputs' must be a list of 1 to {LIMITS['inputs']} inputs")
    _need(isinstance(layers, list) and len(layers) <= LIMITS["layers"],
          f"spec: 'layers' must be a list of at most {LIMITS['layers']} layers")
    _need(isinstance(outputs, list) and len(outputs) >= 1, "spec: 'outputs' must name at least one tensor")
    seen: dict[str, str] = {}
    for entry in inputs:
        where = _named(entry, "input", seen)
        _need(entry.get("kind") in KINDS, f"{where}: kind must be one of {KINDS}")
        rows = entry.get("rows")
        _need(isinstance(rows, list) and len(rows) == spec["batch"] and all(r in PATTERNS for r in rows),
              f"{where}: 'rows' must give one of {PATTERNS} per batch row ({spec['batch']})")
        if entry["kind"] == "float":
            _int_in(entry, "features", 1, LIMITS["features"], where)
            fill = entry.get("fill")
            _need(fill is None or (isinstance(fill, (int, float)) and not isinstance(fill, bool)),
                  f"{where}: 'fill' must be a number or null")
        if entry["kind"] == "tokens":
            _int_in(entry, "vocab", 2, LIMITS["vocab"], where)
        seen[entry["name"]] = "input"
    for layer in layers:
        where = _named(layer, "layer", seen)
        op = layer.get("op")
        _need(isinstance(op, str), f"{where}: 'op' must be a string")
        if ops is not None:
            _need(op in ops, f"{where}: unknown grammar entry {op!r}")
        _need(isinstance(layer.get("args", {}), dict), f"{where}: 'args' must be an object")
        _check_args(layer.get("args", {}), where, nested=False)
        _need(isinstance(layer.get("call", {}) or {}, dict), f"{where}: 'call' must be an object")
        inbound = layer.get("in")
        _need(isinstance(inbound, list) and inbound and all(isinstance(r, str) for r in inbound),
              f"{where}: 'in' must list at least one reference")
        if op == "shared":
            _need(seen.get(layer.get("args", {}).get("layer")) == "layer",
                  f"{where}: a shared call names an earlier layer in args.layer")
        for value in (layer.get("call") or {}).values():
            if isinstance(value, dict):
                _need(isinstance(value.get("ref"), str) or (
                    isinstance(value.get("refs"), list) and all(isinstance(r, str) for r in value["refs"])),
                    f"{where}: a tensor call option is {{'ref': NAME}} or {{'refs': [NAMES]}}")
        for ref in refs_of(layer):
            _need(ref_name(ref) in seen, f"{where}: reference {ref!r} names no earlier input or layer")
        seen[layer["name"]] = "layer"
    for ref in outputs:
        _need(isinstance(ref, str) and ref_name(ref) in seen, f"spec: output {ref!r} names nothing")
    if spec.get("fit") is not None:
        _check_fit(spec)
    return spec


# ---- fit mode: compile, fit, evaluate, train_on_batch (harness/run/fit.py) on the case's one output ----
FIT_LOSSES = {"sparse_categorical_crossentropy": ("accuracy", "sparse_categorical_crossentropy"),
              "mse": ("mae", "mse")}  # loss -> the metrics a case may compile with it
FIT_KEYS = {"loss", "units", "metrics", "weighted_metrics", "optimizer", "learning_rate", "steps",
            "sample_weight_rank", "class_weight", "on_batch"}


def _check_fit(spec: dict[str, Any]) -> None:
    fit = spec["fit"]
    _need(isinstance(fit, dict) and set(fit) <= FIT_KEYS, f"spec: 'fit' is an object with keys from {sorted(FIT_KEYS)}")
    _need(fit.get("loss") in FIT_LOSSES, f"spec: fit.loss must be one of {sorted(FIT_LOSSES)}")
    _int_in(fit, "units", 2 if fit["loss"] != "mse" else 1, LIMITS["features"], "spec fit")
    for key in ("metrics", "weighted_metrics"):
        _need(isinstance(fit.get(key, []), list) and set(fit.get(key, [])) <= set(FIT_LOSSES[fit["loss"]]),
              f"spec: fit.{key} must list metrics from {FIT_LOSSES[fit['loss']]}")
    _need(fit.get("optimizer", "SGD") in ("SGD", "Adam"), "spec: fit.optimizer must be SGD or Adam")
    rate = fit.get("learning_rate", 0.1)
    _need(isinstance(rate, float) and 0 < rate <= 1, "spec: fit.learning_rate must be a number in (0, 1]")
    _int_in({"steps": fit.get("steps", 1)}, "steps", 1, 10, "spec fit")
    _need(fit.get("sample_weight_rank") in (None, 1, 2, 3), "spec: fit.sample_weight_rank must be null, 1, 2 or 3")
    _need(isinstance(fit.get("class_weight", False), bool) and isinstance(fit.get("on_batch", False), bool),
          "spec: fit.class_weight and fit.on_batch must be true or false")
    _need(not fit.get("class_weight") or fit["loss"] != "mse", "spec: fit.class_weight needs a classification loss")
    _need(len(spec["outputs"]) == 1, "spec: a fit case has one output (the one the loss sees)")


def fit_arrays(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None, dict[int, float] | None]:
    """Targets, sample weight and class weight of a fit case, from numpy seeded by the case.

    Sample weights of rank 1 weigh each row, rank 2 each step, rank 3 each step as (batch, time, 1);
    padded steps get a large weight, which the mask must cancel.
    """
    fit, shape = spec["fit"], (spec["batch"], spec["time"])
    rng = np.random.default_rng(seed_for("spec-fit", str(spec["seed"])))
    if fit["loss"] == "mse":
        targets = rng.uniform(-1.0, 1.0, size=(*shape, fit["units"])).astype(np.float32)
    else:
        targets = rng.integers(0, fit["units"], size=shape).astype(np.int32)
    rank, weight = fit.get("sample_weight_rank"), None
    if rank == 1:
        weight = rng.uniform(0.25, 2.0, size=shape[:1]).astype(np.float32)
    elif rank in (2, 3):
        keep = np.all([input_mask(e, spec["time"]) for e in spec["inputs"]], axis=0)
        weight = np.where(keep, rng.uniform(0.2, 2.0, size=shape), 3.0).astype(np.float32)
        weight = weight[..., None] if rank == 3 else weight
    classes = {k: float(v) for k, v in enumerate(rng.uniform(0.5, 2.0, size=fit["units"]).round(2))} \
        if fit.get("class_weight") else None
    return targets, weight, classes


def fit_of(spec: dict[str, Any]):
    """The registry Fit that runs a fit case (None for a forward-only case)."""
    from harness.define.registry import Fit

    fit = spec.get("fit")
    if fit is None:
        return None
    targets, weight, classes = fit_arrays(spec)
    return Fit(targets, loss=fit["loss"], metrics=tuple(fit.get("metrics", ())),
               weighted_metrics=tuple(fit.get("weighted_metrics", ())), optimizer=fit.get("optimizer", "SGD"),
               learning_rate=fit.get("learning_rate", 0.1), steps=fit.get("steps", 1), sample_weight=weight,
               class_weight=classes, on_batch=bool(fit.get("on_batch")))


def layer_classes(spec: dict[str, Any]) -> list[str]:
    """The op of each layer entry, in order (a shared call counts as the layer it reuses)."""
    return [layer["op"] for layer in spec["layers"] if layer["op"] != "shared"]


def size(spec: dict[str, Any]) -> dict[str, int]:
    """What the shrinker makes smaller: layers besides inputs, batch, time, widest feature axis."""
    features = [e.get("features", 0) for e in spec["inputs"]]
    return {"layers": len(spec["layers"]), "inputs": len(spec["inputs"]), "batch": spec["batch"],
            "time": spec["time"], "features": max(features, default=0)}


def weight_seed(spec: dict[str, Any]) -> str:
    """What seeds the case's weights: its `weight_seed` (set at generation and kept through renames and
    shrinking, so a finding renamed to its slug keeps the weights it diverged with), else its name."""
    return spec.get("weight_seed") or spec["name"]
