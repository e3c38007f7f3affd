"""Mutation mode (`harness fuzz --mutate`): start from the seed model and suite-style cases, mutate them.

As LEMON does for whole models: insert a layer after a tensor, delete a layer (reconnecting its
readers), swap a layer for another of the same needs, change one option, a row's padding pattern, the
dtype policy or the call mode. Every mutant is checked against the grammar; a mutation that does not
type-check is drawn again. The starting points are specs written in the grammar's terms: the seed
model of ../shared/SEED.md (Masking + two Embeddings, concatenated, three GRUs, a dense head) and the
suite's most common shapes (an explicit mask into a GRU, Embedding into LSTM, Masking into attention).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from harness.define import spec as specs
from harness.define.spec import SpecError
from harness.generate import generator, grammar, shrink

SEED_ROWS = ["middle"]


def _spec(name: str, inputs: list[dict[str, Any]], layers: list[dict[str, Any]], outputs: list[str],
          time: int = 5, batch: int = 1) -> dict[str, Any]:
    return {"version": specs.SPEC_VERSION, "name": name, "seed": 0, "batch": batch, "time": time,
            "dtype_policy": None, "training": False, "inputs": inputs, "layers": layers, "outputs": outputs}


def _layer(name: str, op: str, ins: list[str], **args: Any) -> dict[str, Any]:
    return {"name": name, "op": op, "args": args, "in": ins}


ROWS = ["middle", "right", "left", "full"]
STARTS = (
    _spec("seed", [{"name": "num", "kind": "float", "features": 3, "rows": SEED_ROWS, "fill": 0.0},
                   {"name": "version", "kind": "tokens", "vocab": 180, "rows": SEED_ROWS},
                   {"name": "missing", "kind": "tokens", "vocab": 4, "rows": SEED_ROWS}],
          [_layer("M_num", "Masking", ["num"], mask_value=0.0),
           _layer("M_version", "Embedding", ["version"], input_dim=180, output_dim=2, mask_zero=True),
           _layer("M_missing", "Embedding", ["missing"], input_dim=4, output_dim=1, mask_zero=True),
           _layer("concat_a", "Concatenate", ["M_num", "M_version"], axis=-1),
           _layer("concate", "Concatenate", ["concat_a", "M_missing"], axis=-1),
           _layer("gru_1", "GRU", ["concate"], units=3, return_sequences=True),
           _layer("gru_2", "GRU", ["gru_1"], units=3, return_sequences=True),
           _layer("gru_3", "GRU", ["gru_2"], units=3),
           _layer("dense_ft", "Dense", ["gru_3"], units=2)],
          ["dense_ft"]),
    _spec("explicit-gru", [{"name": "x", "kind": "float", "features": 2, "rows": ROWS, "fill": None},
                           {"name": "m", "kind": "mask", "rows": ROWS}],
          [{**_layer("rnn", "GRU", ["x"], units=3, return_sequences=True), "call": {"mask": {"ref": "m"}}}],
          ["rnn"], time=6, batch=4),
    _spec("embedding-lstm", [{"name": "ids", "kind": "tokens", "vocab": 10, "rows": ROWS}],
          [_layer("emb", "Embedding", ["ids"], input_dim=10, output_dim=3, mask_zero=True),
           _layer("lstm", "LSTM", ["emb"], units=3, return_sequences=True),
           _layer("pool", "GlobalAveragePooling1D", ["lstm"])],
          ["pool"], time=6, batch=4),
    _spec("masking-attention", [{"name": "x", "kind": "float", "features": 3, "rows": ROWS, "fill": 0.0}],
          [_layer("masked", "Masking", ["x"], mask_value=0.0),
           _layer("att", "Attention", ["masked", "masked"]),
           _layer("add", "Add", ["att", "masked"])],
          ["add"], time=6, batch=4),
)


def _insert(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    types = grammar.infer(spec)
    refs = [r for r, t in types.items() if t.kind == "seq"]
    ref = refs[int(rng.integers(len(refs)))]
    single = [p for p in grammar.PRODUCTIONS if p.needs == ("seq",) and p.group != "mask-source"]
    production = single[int(rng.integers(len(single)))]
    args = {k: v[int(rng.integers(len(v)))] for k, v in production.options.items()}
    args.update(production.derive([types[ref]], args))
    args = generator._jsonable({k: v for k, v in args.items() if not k.startswith("_")})
    name = f"mut{len(spec['layers'])}"
    while any(la["name"] == name for la in spec["layers"]):
        name += "x"
    new = _copy(spec)
    position = next((i + 1 for i, la in enumerate(new["layers"]) if la["name"] == specs.ref_name(ref)), 0)
    shrink._rewire(new, ref, name)  # readers of ref now read the new layer ...
    new["layers"].insert(position, {"name": name, "op": production.op, "args": args, "in": [ref]})
    return new  # ... which reads ref itself (set after the rewire)


def _delete(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    options = list(shrink._drop_layers(spec))
    return options[int(rng.integers(len(options)))] if options else spec


def _swap(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    new = _copy(spec)
    layer = new["layers"][int(rng.integers(len(new["layers"])))]
    same_needs = [p for p in grammar.PRODUCTIONS if p.op != layer["op"] and layer["op"] in grammar.BY_OP
                  and p.needs == grammar.BY_OP[layer["op"]][0].needs and p.group != "mask-source"]
    if not same_needs or layer["op"] == "shared":
        return new
    production = same_needs[int(rng.integers(len(same_needs)))]
    layer["op"] = production.op
    layer["args"] = generator._jsonable({k: v[0] for k, v in production.options.items() if not k.startswith("_")})
    layer.pop("call", None)
    return new


def _option(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    new = _copy(spec)
    layer = new["layers"][int(rng.integers(len(new["layers"])))]
    for production in grammar.BY_OP.get(layer["op"], []):
        choices = [(k, v) for k, v in production.options.items() if not k.startswith("_") and len(v) > 1]
        if choices:
            key, values = choices[int(rng.integers(len(choices)))]
            layer["args"][key] = generator._jsonable(values[int(rng.integers(len(values)))])
    return new


def _padding(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    new = _copy(spec)
    entry = new["inputs"][int(rng.integers(len(new["inputs"])))]
    row = int(rng.integers(len(entry["rows"])))
    shrink._set_row(new, entry["name"], row, specs.PATTERNS[int(rng.integers(len(specs.PATTERNS)))])
    return new


def _mode(spec: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    if rng.random() < 0.5:
        return {**_copy(spec), "training": not spec.get("training", False)}
    policies = [p for p in specs.DTYPE_POLICIES if p != spec.get("dtype_policy")]
    return {**_copy(spec), "dtype_policy": policies[int(rng.integers(len(policies)))]}


MUTATIONS = {"insert": _insert, "delete": _delete, "swap": _swap, "option": _option, "padding": _padding,
             "mode": _mode}


def _copy(spec: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(spec)


def mutant(seed: int, index: int, tries: int = 50) -> dict[str, Any]:
    """The index-th mutant of a campaign: one starting case, one to three mutations, type-checked."""
    rng = np.random.default_rng([seed, index, 7])
    current = _copy(STARTS[index % len(STARTS)])
    current["seed"] = int(rng.integers(2**31))
    for _ in range(int(rng.integers(1, 4))):
        for _ in range(tries):
            name = list(MUTATIONS)[int(rng.integers(len(MUTATIONS)))]
            try:
                candidate = generator.prune(MUTATIONS[name](current, rng))
                grammar.infer(candidate, refit=True)
            except (SpecError, KeyError, IndexError, ValueError):
                continue
            current = candidate
            break
    current["name"] = current["weight_seed"] = f"mutant/s{seed}-{index}"
    return grammar.check(current)
