"""A finding's cause: what one divergence is, however the generator reached it. numpy only.

A signature (findings.py) names the first divergent layer's class, so the GRU initial-state divergence
found again through SimpleRNN, or the JAX no-op mask through Permute instead of Reshape, would look like
new findings. A cause is coarser and says what a maintainer would call one bug:

    ODD|VERDICT|FAMILY|SITUATION      e.g.  jax|differs|rnn|initial_state,last-output,all-masked-row

- ODD: the backend that is the odd one out (the one in every diverging pair), or the pairs when none is.
- VERDICT: the raw verdict kind; for an error, the error types per backend instead.
- FAMILY: the first divergent layer's family (rnn, attention, reshaping, ...), not its class.
- SITUATION: the few facts the known causes hinge on: for an RNN, initial_state, whether it returns its
  last output, go_backwards with unroll; for attention, the dtype policy; whether the layer is at its
  identity form (a boundary value: cropping (0, 0), the identity permutation, ...; grammar.IDENTITY); and
  whether a row is all padding.

A cause is computed from the spec and its signature alone, so the findings already kept in
scenarios/found (their SPEC and SIGNATURE) have causes too, and a campaign counts a new case against
the kept finding (and the known entry) of its cause instead of keeping it again.
"""

from __future__ import annotations

from typing import Any

from harness.define import spec as specs
from harness.generate import grammar

FAMILIES = {
    **dict.fromkeys(("SimpleRNN", "GRU", "LSTM", "Bidirectional"), "rnn"),
    **dict.fromkeys(("Attention", "AdditiveAttention", "MultiHeadAttention"), "attention"),
    **dict.fromkeys(("Reshape", "Permute", "Cropping1D", "ZeroPadding1D", "UpSampling1D", "Flatten",
                     "RepeatVector"), "reshaping"),
    **dict.fromkeys(("GlobalAveragePooling1D", "GlobalMaxPooling1D", "AveragePooling1D", "MaxPooling1D"),
                    "pooling"),
    **dict.fromkeys(("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"),
                    "merge"),
    **dict.fromkeys(("Dense", "Activation", "Identity", "Lambda", "TimeDistributed", "Conv1D"), "elementwise"),
    **dict.fromkeys(("LayerNormalization", "BatchNormalization"), "normalization"),
    **dict.fromkeys(("Masking", "Embedding", "custom.SetMask"), "mask-source"),
}


def family(layer_class: str) -> str:
    """'Bidirectional(GRU)' -> rnn, 'LSTM' -> rnn, 'custom.PassMask' -> custom."""
    op = layer_class.split("(", 1)[0]
    if op.startswith("custom.") and op not in FAMILIES:
        return "custom"
    return FAMILIES.get(op, op.lower() or "none")


def odd_one_out(pairs: list[str]) -> str:
    """The backend in every diverging pair ('tensorflow-vs-jax', 'jax-vs-torch' -> jax), else the pairs."""
    sides = [set(p.split("-vs-")) for p in pairs]
    common = set.intersection(*sides) if sides else set()
    return next(iter(common)) if len(common) == 1 else "+".join(sorted(pairs))


def _layer(spec: dict[str, Any], name: str) -> dict[str, Any] | None:
    layer = next((la for la in spec["layers"] if la["name"] == name), None)
    if layer is not None and layer["op"] == "shared":  # its config is the original call's
        original = next(la for la in spec["layers"] if la["name"] == layer["args"]["layer"])
        return {**original, "in": layer["in"], "call": layer.get("call") or {}}
    return layer


def _all_masked_row(spec: dict[str, Any]) -> bool:
    return any(not keep.any() for entry in spec["inputs"] for keep in specs.input_mask(entry, spec["time"]))


def situation(spec: dict[str, Any], layer_name: str, fam: str) -> str:
    facts: list[str] = []
    layer = _layer(spec, layer_name)
    if layer is not None:
        args, call = layer.get("args", {}), layer.get("call") or {}
        if fam == "rnn":
            inner = args.get("layer", {}).get("args", {}) if isinstance(args.get("layer"), dict) else args
            facts += ["initial_state"] if call.get("initial_state") else []
            facts += [] if inner.get("return_sequences") else ["last-output"]
            facts += ["backwards-unrolled"] if inner.get("go_backwards") and inner.get("unroll") else []
        if grammar.is_identity(layer["op"], args):  # a boundary value: the output is the input
            facts.append("identity")
    fit = spec.get("fit")
    if fam.startswith("fit") and fit:  # training: the optimizer and the weights are what the loss sees
        facts.append(fit.get("optimizer", "SGD"))
        facts += [f"sample-weight-rank-{fit['sample_weight_rank']}"] if fit.get("sample_weight_rank") else []
        facts += ["class-weight"] if fit.get("class_weight") else []
    if fam == "attention" and spec.get("dtype_policy"):
        facts.append(spec["dtype_policy"])
    if _all_masked_row(spec):
        facts.append("all-masked-row")
    return ",".join(facts) or "-"


def cause(spec: dict[str, Any], signature: str, layer_name: str = "") -> str:
    """The cause of a divergence with this signature in this spec (layer_name: the first divergent one)."""
    pairs, verdict, first_class = signature.split("|")
    odd = odd_one_out(pairs.split("+"))
    if first_class.startswith(("error(", "warning(")):  # the error types or the warning say what it is
        return f"{odd}|{verdict}|{first_class}|-"
    fam = family(first_class)
    if fam.startswith("fit"):
        return f"{odd}|{verdict}|{fam}|{situation(spec, '', fam)}"
    if not layer_name:  # a kept scenario records no layer: its first layer of that class
        layer_name = next((la["name"] for la in spec["layers"] if layer_class(spec, la) == first_class), "")
    return f"{odd}|{verdict}|{fam}|{situation(spec, layer_name, fam)}"


def layer_class(spec: dict[str, Any], layer: dict[str, Any]) -> str:
    """The class a layer entry builds: a shared call's original op, 'Bidirectional(GRU)' for wrappers."""
    resolved = _layer(spec, layer["name"]) or layer
    if resolved["op"] in ("TimeDistributed", "Bidirectional"):
        return f"{resolved['op']}({resolved['args']['layer']['op']})"
    return resolved["op"]


def features(spec: dict[str, Any], layer_class: str, keras: list[str] = ()) -> dict[str, Any]:
    """A finding's feature tags, what a reader sorts findings by: the first divergent layer's family,
    the mask sources in the model, the layers at a boundary value (and which), fit or forward, the
    dtype policy and call mode, and the Keras version(s) that ran it (two in a --versions campaign)."""
    types = grammar.infer(spec)
    fit = spec.get("fit")
    mode = "forward" if not fit else "fit:" + "+".join(
        [fit.get("optimizer", "SGD")] + ([f"sample-weight-rank-{fit['sample_weight_rank']}"]
                                         if fit.get("sample_weight_rank") else [])
        + (["class-weight"] if fit.get("class_weight") else []) + (["on-batch"] if fit.get("on_batch") else []))
    return {"family": family(layer_class),
            "mask_sources": sorted({t.source for t in types.values() if t.source != "none"}) or ["none"],
            "boundary": _boundary_forms(spec), "mode": mode, "training": bool(spec.get("training")),
            "dtype_policy": spec.get("dtype_policy") or "float32", "keras": sorted(keras)}


def tags(features: dict[str, Any]) -> list[str]:
    """The feature tags as scenario tags (`--select 'source:embedding'` picks them)."""
    return [f"family:{features['family']}", *(f"source:{s}" for s in features["mask_sources"]),
            *(f"boundary:{b.split('(')[0]}" for b in features["boundary"]), f"mode:{features['mode'].split(':')[0]}",
            *(f"keras:{k}" for k in features["keras"])]


def _boundary_forms(spec: dict[str, Any]) -> list[str]:
    """'Cropping1D(cropping=[0, 0])' for each layer at a boundary value."""
    forms = []
    for layer in spec["layers"]:
        values = {} if layer["op"] == "shared" else grammar.boundary_values(layer["op"], layer.get("args", {}))
        if values:  # a wrapped layer's units are recorded as _units
            named = ", ".join(f"{key.lstrip('_')}={value}" for key, value in values.items())
            forms.append(f"{layer['op']}({named})")
    return forms
