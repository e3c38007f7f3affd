"""The grammar of generated cases: one declaration per building block, as data. numpy only.

A production says what a layer needs (the kinds of its inbound tensors, and how they must fit
together), which options it takes (each a tuple of choices, the first the simplest, which the shrinker
tries), and what it gives (output tensor types computed from the inputs and the chosen options). The
generator only combines productions whose needs are met, so every generated spec is valid by
construction; `infer` recomputes the types of a spec, so the shrinker can check a candidate without a
backend. Adding a layer is one `Production(...)` entry in PRODUCTIONS.

Tensor kinds: "seq" (batch, time, features) floats; "vec" (batch, features); "tokens" (batch, time)
ints; "mask" (batch, time) bools. The op is a keras.layers class name, or "custom.*" (layers defined
in harness/run/spec_build.py), or "shared" (a second call of an earlier layer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.define import spec as specs
from harness.define.spec import SpecError


@dataclass(frozen=True)
class Tensor:
    kind: str  # seq | vec | tokens | mask | pairmask (batch, time, time) bools
    time: int = 0
    features: int = 0
    source: str = "none"  # the mask source upstream: embedding | masking | explicit | custom | none
    padding: str = "none"  # the padding pattern of the first padded row of the input it came from


Out = Callable[[list[Tensor], dict[str, Any]], "list[Tensor] | None"]


@dataclass(frozen=True)
class Production:
    op: str
    group: str
    needs: tuple[str, ...]
    out: Out
    options: Mapping[str, tuple] = field(default_factory=dict)  # arg -> choices, simplest first
    calls: Mapping[str, tuple] = field(default_factory=dict)  # call option -> choices
    fit: Callable[[list[Tensor]], bool] = lambda ins: True  # how the inbound tensors must fit
    derive: Callable[[list[Tensor], dict[str, Any]], dict[str, Any]] = lambda ins, args: {}
    explicit_mask: bool = False  # may be called with mask=<bool input>
    # Boundary values: the identity and extreme forms of an option (cropping (0, 0), padding 0, size 1,
    # the identity permutation, units 1), drawn on purpose in a fixed share of the cases (generator.py),
    # and preferred by the shrinker when they keep the divergence.
    boundary: Mapping[str, tuple] = field(default_factory=dict)


# ---- output rules -------------------------------------------------------------------------------

def same(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor]:
    return [ins[0]]


def seq(t: Tensor, time: int, features: int) -> list[Tensor] | None:
    """A sequence of `time` steps: at least one, unless the input was already zero-length."""
    fits = (time >= 1 or time == t.time == 0) and features >= 1
    return [replace(t, kind="seq", time=time, features=features)] if fits else None


def units(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    t = ins[0]
    return [replace(t, features=args["units"])]


def pooled(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    return [Tensor("vec", 0, ins[0].features, ins[0].source, ins[0].padding)]


def rnn_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    t, n = ins[0], args["units"]
    main = seq(t, t.time, n)[0] if args.get("return_sequences") else Tensor("vec", 0, n, t.source, t.padding)
    if not args.get("return_state"):
        return [main]
    states = 2 if args.get("_cell") == "LSTM" else 1
    return [main] + [Tensor("vec", 0, n, t.source, t.padding)] * states


def bidirectional_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    inner = args["layer"]["args"]
    n = inner["units"] * (2 if args.get("merge_mode", "concat") == "concat" else 1)
    t = ins[0]
    return seq(t, t.time, n) if inner.get("return_sequences") else [Tensor("vec", 0, n, t.source, t.padding)]


def conv_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    t, k = ins[0], args["kernel_size"]
    time = t.time - k + 1 if args.get("padding", "valid") == "valid" else t.time
    return seq(t, time, args["filters"])


def local_pool_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    t, p = ins[0], args["pool_size"]
    time = t.time // p if args.get("padding", "valid") == "valid" else -(-t.time // p)
    return seq(t, time, t.features)


def permute_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    t = ins[0]
    return seq(t, t.time, t.features) if list(args["dims"]) == [1, 2] else seq(t, t.features, t.time)


def merge_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    return [ins[0]] if all((i.time, i.features) == (ins[0].time, ins[0].features) for i in ins) else None


def concat_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    a, b = ins
    if args.get("axis", -1) == 1:
        return seq(a, a.time + b.time, a.features) if a.features == b.features else None
    return seq(a, a.time, a.features + b.features) if a.time == b.time else None


def attention_out(ins: list[Tensor], args: dict[str, Any]) -> list[Tensor] | None:
    q, v = ins
    return [q] if q.features == v.features else None


def same_seq(ins: list[Tensor]) -> bool:
    return all((i.time, i.features) == (ins[0].time, ins[0].features) for i in ins)


def same_time(ins: list[Tensor]) -> bool:
    return ins[0].time == ins[1].time


def same_features(ins: list[Tensor]) -> bool:
    return ins[0].features == ins[1].features


UNITS = (3, 2, 4)
ONE = {"units": (1,)}  # units of 1: the narrowest layer
RNN_OPTIONS = {"units": UNITS, "return_sequences": (True, False), "go_backwards": (False, True),
               "unroll": (False, True), "return_state": (False, True)}


def _rnn(op: str, **extra: tuple) -> Production:
    return Production(op, "recurrent", ("seq",), rnn_out, options={**RNN_OPTIONS, **extra},
                      derive=lambda ins, args, op=op: {"_cell": op}, explicit_mask=True, boundary=ONE)


def _bidirectional(ins: list[Tensor], args: dict[str, Any]) -> dict[str, Any]:
    return {"layer": {"op": args.pop("_inner"), "args": {"units": args.pop("_units"),
                                                          "return_sequences": args.pop("_sequences")}}}


MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")

PRODUCTIONS: tuple[Production, ...] = (
    # mask sources
    Production("Embedding", "mask-source", ("tokens",),
               lambda ins, a: [Tensor("seq", ins[0].time, a["output_dim"],
                                      "embedding" if a.get("mask_zero") else "none", ins[0].padding)],
               options={"output_dim": (3, 2, 4), "mask_zero": (True, False)},
               derive=lambda ins, a: {"input_dim": ins[0].features}, boundary={"output_dim": (1,)}),
    Production("Masking", "mask-source", ("seq",),
               lambda ins, a: [replace(ins[0], source="masking")],
               options={"mask_value": (0.0,)}),
    Production("custom.SetMask", "custom", ("seq",), lambda ins, a: [replace(ins[0], source="custom")]),
    # (batch, time, time) attention mask from a bool mask input: drawn only for MultiHeadAttention
    Production("custom.PairMask", "helper", ("mask",),
               lambda ins, a: [Tensor("pairmask", ins[0].time, ins[0].time, "explicit", ins[0].padding)]),
    # shape-preserving
    Production("Dense", "shape-preserving", ("seq",), units,
               options={"units": UNITS, "activation": (None, "tanh", "relu")}, boundary=ONE),
    Production("Activation", "shape-preserving", ("seq",), same,
               options={"activation": ("tanh", "relu", "sigmoid", "softmax")}, boundary={"activation": ("linear",)}),
    Production("Identity", "shape-preserving", ("seq",), same),
    Production("Lambda", "shape-preserving", ("seq",), same, options={"function": ("double", "square")},
               boundary={"function": ("identity",)}),
    Production("Reshape", "shape-preserving", ("seq",),
               lambda ins, a: [ins[0]] if list(a["target_shape"]) == [ins[0].time, ins[0].features] else None,
               derive=lambda ins, a: {"target_shape": [ins[0].time, ins[0].features]}),
    Production("LayerNormalization", "shape-preserving", ("seq",), same),
    Production("BatchNormalization", "shape-preserving", ("seq",), same),
    Production("Dropout", "shape-preserving", ("seq",), same, options={"rate": (0.5,)}, boundary={"rate": (0.0,)}),
    Production("GaussianNoise", "shape-preserving", ("seq",), same, options={"stddev": (0.1,)},
               boundary={"stddev": (0.0,)}),
    Production("TimeDistributed", "shape-preserving", ("seq",),
               lambda ins, a: units(ins, a["layer"]["args"]),
               options={"_units": UNITS}, boundary={"_units": (1,)},
               derive=lambda ins, a: {"layer": {"op": "Dense", "args": {"units": a.pop("_units")}}}),
    Production("Conv1D", "shape-changing", ("seq",), conv_out,
               options={"filters": UNITS, "kernel_size": (1, 2, 3), "padding": ("same", "valid", "causal")},
               boundary={"filters": (1,)}),
    Production("custom.PassMask", "custom", ("seq",), same),
    Production("custom.ConsumeMask", "custom", ("seq",), lambda ins, a: [replace(ins[0], source="none")],
               explicit_mask=True),
    Production("custom.IgnoreMask", "custom", ("seq",), same),
    # shape-changing
    Production("Cropping1D", "shape-changing", ("seq",),
               lambda ins, a: seq(ins[0], ins[0].time - sum(a["cropping"]), ins[0].features),
               options={"cropping": ((1, 0), (0, 1), (1, 1))}, boundary={"cropping": ((0, 0),)}),
    Production("ZeroPadding1D", "shape-changing", ("seq",),
               lambda ins, a: seq(ins[0], ins[0].time + 2 * a["padding"], ins[0].features),
               options={"padding": (1,)}, boundary={"padding": (0,)}),
    Production("UpSampling1D", "shape-changing", ("seq",),
               lambda ins, a: seq(ins[0], ins[0].time * a["size"], ins[0].features), options={"size": (2,)},
               boundary={"size": (1,)}),
    Production("Permute", "shape-changing", ("seq",), permute_out, options={"dims": ((2, 1),)},
               boundary={"dims": ((1, 2),)}),
    Production("Flatten", "shape-changing", ("seq",),
               lambda ins, a: [Tensor("vec", 0, ins[0].time * ins[0].features, ins[0].source, ins[0].padding)]),
    Production("RepeatVector", "shape-changing", ("vec",),
               lambda ins, a: [Tensor("seq", a["n"], ins[0].features, ins[0].source, ins[0].padding)],
               options={"n": (3, 2, 4)}, boundary={"n": (1,)}),
    Production("Dense", "vector", ("vec",), units, options={"units": UNITS}, boundary=ONE),
    # recurrent
    _rnn("SimpleRNN"),
    _rnn("GRU", reset_after=(True, False)),
    _rnn("LSTM"),
    Production("Bidirectional", "recurrent", ("seq",), bidirectional_out,
               options={"merge_mode": ("concat", "sum", "mul", "ave"), "_inner": ("GRU", "LSTM", "SimpleRNN"),
                        "_units": UNITS, "_sequences": (True, False)},
               derive=_bidirectional, boundary={"_units": (1,)}),
    # attention
    Production("Attention", "attention", ("seq", "seq"), attention_out, fit=same_features,
               options={"use_scale": (False, True)}, calls={"use_causal_mask": (False, True)}),
    Production("AdditiveAttention", "attention", ("seq", "seq"), attention_out, fit=same_features,
               calls={"use_causal_mask": (False, True)}),
    Production("MultiHeadAttention", "attention", ("seq", "seq"), lambda ins, a: [ins[0]],
               options={"num_heads": (1, 2), "key_dim": (2, 3)}, fit=same_time, boundary={"key_dim": (1,)},
               calls={"use_causal_mask": (False, True)}),
    # pooling
    Production("GlobalAveragePooling1D", "pooling", ("seq",), pooled),
    Production("GlobalMaxPooling1D", "pooling", ("seq",), pooled),
    Production("AveragePooling1D", "pooling", ("seq",), local_pool_out,
               options={"pool_size": (2,), "padding": ("valid", "same")}, boundary={"pool_size": (1,)}),
    Production("MaxPooling1D", "pooling", ("seq",), local_pool_out,
               options={"pool_size": (2,), "padding": ("valid", "same")}, boundary={"pool_size": (1,)}),
    # merges
    *(Production(op, "merge", ("seq", "seq"), merge_out, fit=same_seq) for op in MERGES),
    Production("Concatenate", "merge", ("seq", "seq"), concat_out, options={"axis": (-1, 1)}),
    Production("Dot", "merge", ("seq", "seq"),
               lambda ins, a: seq(ins[0], ins[0].time, ins[1].time) if same_features(ins) else None,
               options={"axes": ((2, 2),)}, fit=same_features),
)

# The identity forms: the output is the input (on JAX several are the same array object, which keeps the
# mask Keras attached to it: the JAX no-op mask class). Causes (causes.py) name them as a situation.
IDENTITY: dict[str, Callable[[dict[str, Any]], bool]] = {
    "Identity": lambda a: True,
    "Reshape": lambda a: True,  # the grammar's Reshape always targets the shape it has
    "Cropping1D": lambda a: list(a["cropping"]) == [0, 0],
    "ZeroPadding1D": lambda a: a["padding"] == 0,
    "UpSampling1D": lambda a: a["size"] == 1,
    "Permute": lambda a: list(a["dims"]) == [1, 2],
    "Activation": lambda a: a["activation"] == "linear",
    "Lambda": lambda a: a["function"] == "identity",
    "Dropout": lambda a: a["rate"] == 0,
    "GaussianNoise": lambda a: a["stddev"] == 0,
    "AveragePooling1D": lambda a: a["pool_size"] == 1,
    "MaxPooling1D": lambda a: a["pool_size"] == 1,
}


def is_identity(op: str, args: dict[str, Any]) -> bool:
    try:
        return IDENTITY.get(op, lambda a: False)(args)
    except (KeyError, TypeError):
        return False


def boundary_values(op: str, args: dict[str, Any]) -> dict[str, Any]:
    """The args of a layer that take a boundary value of their production (an identity or extreme form),
    a wrapped layer's as `_units`."""
    flat = {**args, **{f"_{k}": v for k, v in (args.get("layer") or {}).get("args", {}).items()}} \
        if isinstance(args.get("layer"), dict) else args
    return {k: _plain(flat.get(k)) for p in BY_OP.get(op, []) for k, choices in p.boundary.items()
            if _plain(flat.get(k)) in [_plain(c) for c in choices]}


def at_boundary(op: str, args: dict[str, Any]) -> bool:
    return bool(boundary_values(op, args))


# The productions by (op, needs): Dense has a sequence and a vector form.
BY_OP: dict[str, list[Production]] = {}
for _p in PRODUCTIONS:
    BY_OP.setdefault(_p.op, []).append(_p)
OPS = frozenset(BY_OP) | {"shared"}
MASK_SOURCES = ("embedding", "masking", "explicit", "none")


def production_for(op: str, ins: list[Tensor]) -> Production:
    for candidate in BY_OP.get(op, []):
        if tuple(t.kind for t in ins) == candidate.needs:
            return candidate
    raise SpecError(f"no grammar entry {op!r} takes {[t.kind for t in ins]}")


def input_tensor(entry: dict[str, Any], time: int) -> Tensor:
    padding = next((r for r in entry["rows"] if r != "none"), "none")
    if entry["kind"] == "tokens":
        return Tensor("tokens", time, entry["vocab"], "none", padding)
    if entry["kind"] == "mask":
        return Tensor("mask", time, 0, "explicit", padding)
    return Tensor("seq", time, entry["features"], "none", padding)


# Args that follow from the inbound shapes, not chosen: the shrinker refits them after a change.
DERIVED = {"Reshape": ("target_shape",), "Embedding": ("input_dim",)}


def infer(spec: dict[str, Any], refit: bool = False) -> dict[str, Tensor]:
    """Every reference's tensor type; SpecError when the spec does not type-check.

    With `refit`, derived args (DERIVED) are first recomputed from the inbound shapes, in place.
    """
    specs.validate(spec, OPS)
    types: dict[str, Tensor] = {e["name"]: input_tensor(e, spec["time"]) for e in spec["inputs"]}
    by_name = {layer["name"]: layer for layer in spec["layers"]}
    for layer in spec["layers"]:
        try:
            ins = [types[r] for r in layer["in"]]
        except KeyError as exc:
            raise SpecError(f"layer {layer['name']!r}: {exc.args[0]!r} is a multi-output layer; "
                            f"name one output as NAME:i") from None
        op, args = layer["op"], layer.get("args", {})
        if op == "shared":
            original = by_name[args["layer"]]
            op, args = original["op"], original.get("args", {})
            if [_shape(types[r]) for r in original["in"]] != [_shape(t) for t in ins]:
                raise SpecError(f"layer {layer['name']!r}: a shared layer needs the same input shape")
        production = production_for(op, ins)
        if refit and op in DERIVED and layer["op"] != "shared":
            derived = production.derive(ins, dict(args))
            args = layer["args"] = {**args, **{k: _plain(derived[k]) for k in DERIVED[op]}}
        if not production.fit(ins):
            raise SpecError(f"layer {layer['name']!r}: {op} inputs do not fit together")
        outs = production.out(ins, {**args, "_cell": op})
        if outs is None:
            raise SpecError(f"layer {layer['name']!r}: {op} cannot take inputs of these shapes")
        _check_call(layer, types, ins)
        if "mask" in (layer.get("call") or {}):
            outs = [replace(t, source="explicit") for t in outs]
        if len(outs) == 1:
            types[layer["name"]] = outs[0]
        for index, t in enumerate(outs):
            types[f"{layer['name']}:{index}"] = t
    for ref in spec["outputs"]:
        if ref not in types or types[ref].kind in ("mask", "pairmask"):
            raise SpecError(f"spec: output {ref!r} is not a layer output")
    fit = spec.get("fit")
    if fit is not None:  # the loss sees a sequence of the input's steps, with the head's units
        t = types[spec["outputs"][0]]
        if (t.kind, t.time, t.features) != ("seq", spec["time"], fit["units"]):
            raise SpecError(f"spec: a fit case's output must be a sequence of {spec['time']} steps and "
                            f"{fit['units']} features, got {t.kind} {t.time}x{t.features}")
    return types


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _shape(t: Tensor) -> tuple[str, int, int]:
    return t.kind, t.time, t.features


def _check_call(layer: dict[str, Any], types: dict[str, Tensor], ins: list[Tensor]) -> None:
    call = layer.get("call") or {}
    mask = call.get("mask")
    if mask is not None:
        t = types.get(mask.get("ref", ""))
        if t is None or t.kind != "mask" or t.time != ins[0].time:
            raise SpecError(f"layer {layer['name']!r}: mask= must be a bool input with {ins[0].time} steps")
    pair = call.get("attention_mask")
    if pair is not None:
        t = types.get(pair.get("ref", ""))
        if t is None or t.kind != "pairmask" or (t.time, t.features) != (ins[0].time, ins[1].time):
            raise SpecError(f"layer {layer['name']!r}: attention_mask= must be a PairMask of the query and value steps")
    states = call.get("initial_state")
    if states is not None:
        n = layer["args"].get("units")
        want = 2 if layer["op"] == "LSTM" else 1
        got = [types.get(r) for r in states.get("refs", [])]
        if len(got) != want or any(t is None or t.kind != "vec" or t.features != n for t in got):
            raise SpecError(f"layer {layer['name']!r}: initial_state needs {want} vector(s) of {n} units")


def check(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a spec against the grammar (structure and shapes); return it."""
    infer(spec)
    return spec
