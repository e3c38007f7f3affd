"""Shrink a diverging case to a minimal one that still shows the same divergence. numpy only.

Delta debugging over the spec's DAG, greedy to a fixpoint: each round proposes smaller variants,
biggest cut first (drop a layer and reconnect its readers to its input, drop an output branch, halve
and then decrement the batch, time and feature sizes, reset options to the grammar's simplest choice,
drop call options such as mask= and initial_state, simplify padding patterns, fills, the dtype policy
and the call mode), keeps the first variant that type-checks (grammar.infer, no backend needed) and
still diverges in the same way (`keeps`, which runs the workers and compares the signature), and
starts the next round from it. It stops when no variant is kept, or at the try or time budget.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

from harness.define import spec as specs
from harness.define.spec import SpecError
from harness.generate import generator, grammar

Spec = dict[str, Any]


def shrink(spec: Spec, keeps: Callable[[Spec], bool], *, max_tries: int = 200,
           deadline: float | None = None) -> tuple[Spec, int]:
    """The smallest variant found that `keeps` the divergence, and how many variants were run."""
    current, tries, seen = spec, 0, {specs.dumps(spec)}
    improved = True
    while improved:
        improved = False
        for candidate in variants(current):
            key = specs.dumps(candidate)
            if key in seen:
                continue
            seen.add(key)
            if tries >= max_tries or (deadline is not None and time.monotonic() > deadline):
                return current, tries
            tries += 1
            if keeps(candidate):
                current, improved = candidate, True
                break
    return current, tries


def weight(spec: Spec) -> tuple[int, ...]:
    """What "smaller" means, most important first: layers, inputs, batch, time, features, options."""
    size = specs.size(spec)
    width = sum(value for layer in spec["layers"] for _, value in _unit_args(layer))
    width += sum(e.get("vocab", 0) for e in spec["inputs"])
    options = sum(len(la.get("call") or {}) + _nondefault(la) for la in spec["layers"]) + _fit_weight(spec)
    return (size["layers"], size["inputs"], size["batch"], size["time"], size["features"], width, options)


FIT_SIMPLEST = {"metrics": [], "weighted_metrics": [], "optimizer": "SGD", "steps": 1, "on_batch": False,
                "sample_weight_rank": None, "class_weight": False}


def _fit_weight(spec: Spec) -> int:
    """A fit case counts one more than a forward case, and one per fit option off its simplest value."""
    fit = spec.get("fit")
    return 0 if fit is None else 1 + sum(fit.get(k, v) != v for k, v in FIT_SIMPLEST.items())


def _simplify_fit(spec: Spec) -> Iterator[Spec]:
    """Drop the training (a forward divergence needs none), then each fit option to its simplest value."""
    fit = spec.get("fit")
    if fit is None:
        return
    cut = _copy(spec)
    del cut["fit"]
    yield cut
    for key, simplest in FIT_SIMPLEST.items():
        if fit.get(key, simplest) != simplest:
            cut = _copy(spec)
            cut["fit"][key] = simplest
            if key == "optimizer":
                cut["fit"]["learning_rate"] = 0.5
            yield cut


def _nondefault(layer: dict[str, Any]) -> int:
    """Options set to something other than the grammar's simplest choice or a boundary value."""
    choices = {k: v for p in grammar.BY_OP.get(layer["op"], []) for k, v in p.options.items()}
    edges = {k: [_plain(c) for c in v] for p in grammar.BY_OP.get(layer["op"], []) for k, v in p.boundary.items()}
    return sum(1 for k, v in layer.get("args", {}).items()
               if k in choices and v != _plain(choices[k][0]) and v not in edges.get(k, []))


def variants(spec: Spec) -> Iterator[Spec]:
    """Smaller specs that type-check, biggest cuts first."""
    for make in (_drop_layers, _shrink_sizes, _simplify_options, _simplify_inputs, _simplify_fit):
        for candidate in make(spec):
            try:
                fixed = generator.prune(candidate)
                grammar.infer(fixed, refit=True)
            except SpecError:
                continue
            if weight(fixed) < weight(spec) or (weight(fixed) == weight(spec) and _simpler(fixed, spec)):
                yield fixed


def _simpler(a: Spec, b: Spec) -> bool:
    """Same size, simpler values: fewer padded rows, default mode and policy, fewer nondefault options."""
    def score(s: Spec) -> tuple[int, ...]:
        padded = sum(r != "none" for e in s["inputs"] for r in e["rows"])
        fills = sum(e.get("fill") not in (None, 0.0) for e in s["inputs"])
        off_edge = sum(not grammar.at_boundary(la["op"], la.get("args", {})) for la in s["layers"]
                       if any(p.boundary for p in grammar.BY_OP.get(la["op"], [])))
        return (int(s.get("training", False)), int(s.get("dtype_policy") is not None), padded, fills,
                sum(r != "right" for e in s["inputs"] for r in e["rows"]), off_edge)
    return score(a) < score(b)


def _copy(spec: Spec) -> Spec:
    return copy.deepcopy(spec)


def _rewire(spec: Spec, old: str, new: str) -> None:
    for layer in spec["layers"]:
        layer["in"] = [new if r == old else r for r in layer["in"]]
        for value in (layer.get("call") or {}).values():
            if isinstance(value, dict) and value.get("ref") == old:
                value["ref"] = new
            elif isinstance(value, dict) and "refs" in value:
                value["refs"] = [new if r == old else r for r in value["refs"]]
    spec["outputs"] = list(dict.fromkeys(new if r == old else r for r in spec["outputs"]))


def _drop_layers(spec: Spec) -> Iterator[Spec]:
    for layer in reversed(spec["layers"]):
        name = layer["name"]
        if name in spec["outputs"] and len(spec["outputs"]) > 1:  # drop a whole output branch
            cut = _copy(spec)
            cut["outputs"] = [r for r in cut["outputs"] if r != name]
            yield cut
        shared_by = [la for la in spec["layers"] if la["op"] == "shared" and la["args"]["layer"] == name]
        for source in dict.fromkeys(layer["in"]):  # bypass: readers read one of its inputs instead
            cut = _copy(spec)
            cut["layers"] = [la for la in cut["layers"] if la["name"] != name
                             and not (la["op"] == "shared" and la["args"]["layer"] == name)]
            for ref in [name, *(f"{name}:{i}" for i in range(3)), *(s["name"] for s in shared_by)]:
                _rewire(cut, ref, source)
            kept = {la["name"] for la in cut["layers"]}
            cut["outputs"] = [r for r in cut["outputs"] if specs.ref_name(r) in kept] or _last_output(cut)
            if cut["outputs"]:
                yield cut


def _last_output(spec: Spec) -> list[str]:
    return [spec["layers"][-1]["name"]] if spec["layers"] else []


def _shrink_sizes(spec: Spec) -> Iterator[Spec]:
    for target in _smaller(spec["batch"], 1):
        cut = _copy(spec)
        cut["batch"] = target
        for entry in cut["inputs"]:  # keep the rows that differ most: the first `target` distinct ones
            entry["rows"] = _keep_rows(entry["rows"], target)
        yield cut
    for target in _smaller(spec["time"], 1):
        cut = _copy(spec)
        cut["time"] = target
        yield cut
    for index, entry in enumerate(spec["inputs"]):
        if entry["kind"] == "float":
            for target in _smaller(entry["features"], 1):
                cut = _copy(spec)
                cut["inputs"][index]["features"] = target
                yield cut
        if entry["kind"] == "tokens":
            for target in _smaller(entry["vocab"], 2):
                cut = _copy(spec)
                cut["inputs"][index]["vocab"] = target
                yield cut
    for index, layer in enumerate(spec["layers"]):
        for path, value in _unit_args(layer):
            for target in _smaller(value, 1):
                cut = _copy(spec)
                _set(cut["layers"][index], path, target)
                yield cut


def _keep_rows(rows: list[str], n: int) -> list[str]:
    return rows[:n]


def _smaller(value: int, floor: int) -> list[int]:
    """Halve first (fast), then one less (precise)."""
    out = []
    if value // 2 >= floor and value // 2 != value - 1:
        out.append(value // 2)
    if value - 1 >= floor:
        out.append(value - 1)
    return out


UNIT_ARGS = ("units", "output_dim", "filters", "num_heads", "key_dim", "n")


def _unit_args(layer: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], int]]:
    for key in UNIT_ARGS:
        if isinstance(layer.get("args", {}).get(key), int):
            yield ("args", key), layer["args"][key]
    inner = layer.get("args", {}).get("layer")
    if isinstance(inner, dict) and isinstance(inner.get("args", {}).get("units"), int):
        yield ("args", "layer", "args", "units"), inner["args"]["units"]


def _set(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _simplify_options(spec: Spec) -> Iterator[Spec]:
    for index, layer in enumerate(spec["layers"]):
        for key in list(layer.get("call") or {}):
            cut = _copy(spec)
            del cut["layers"][index]["call"][key]
            if not cut["layers"][index]["call"]:
                del cut["layers"][index]["call"]
            yield cut
        if layer["op"] == "shared":
            continue
        for production in grammar.BY_OP.get(layer["op"], []):
            for key, choices in production.boundary.items():  # boundary values first: preferred
                for edge in choices:
                    if key in layer.get("args", {}) and layer["args"][key] != _plain(edge):
                        cut = _copy(spec)
                        cut["layers"][index]["args"][key] = _plain(edge)
                        yield cut
            for key, choices in production.options.items():
                if key in layer.get("args", {}) and layer["args"][key] != _plain(choices[0]):
                    cut = _copy(spec)
                    cut["layers"][index]["args"][key] = _plain(choices[0])
                    yield cut


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def _simplify_inputs(spec: Spec) -> Iterator[Spec]:
    if spec.get("training"):
        yield {**_copy(spec), "training": False}
    if spec.get("dtype_policy") is not None:
        yield {**_copy(spec), "dtype_policy": None}
    for index, entry in enumerate(spec["inputs"]):
        for row, pattern in enumerate(entry["rows"]):
            for simpler in ("none", "right"):
                if pattern not in ("none", simpler):
                    cut = _copy(spec)
                    _set_row(cut, entry["name"], row, simpler)
                    yield cut
        if entry.get("fill") not in (None, 0.0) and entry["kind"] == "float":
            cut = _copy(spec)
            cut["inputs"][index]["fill"] = 0.0
            for layer in cut["layers"]:
                if layer["op"] == "Masking" and layer["in"] == [entry["name"]]:
                    layer["args"]["mask_value"] = 0.0
            yield cut


def _set_row(spec: Spec, name: str, row: int, pattern: str) -> None:
    """Change one row's pattern in an input and in the inputs padded alike (a float input and its mask)."""
    rows = next(e["rows"] for e in spec["inputs"] if e["name"] == name)
    twins = [e for e in spec["inputs"] if e["rows"] == rows]
    for entry in twins:
        entry["rows"] = [*entry["rows"][:row], pattern, *entry["rows"][row + 1:]]
