"""Random specs from the grammar, valid by construction: types are inferred while generating. numpy only.

`generate(seed, index)` is a pure function of its arguments, so a campaign is reproducible and can be
split over shards by index. Each case starts from one or two inputs and their mask sources (Embedding
with mask_zero, Masking, an explicit bool mask input, or none), then grows a DAG: every step picks a
production whose needs the current tensors meet, prefers the newest tensor (chains) but also reaches
back (branches), makes a second operand by branching when a merge or attention needs one, and now and
then calls an earlier layer a second time (a shared layer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.define import spec as specs
from harness.generate import fitmode, grammar
from harness.generate.grammar import PRODUCTIONS, Production, Tensor

# How often each group is picked, relative to the others: the layers that handle masks get more.
GROUP_WEIGHTS = {"recurrent": 4.0, "attention": 2.0, "merge": 2.5, "pooling": 1.5, "shape-preserving": 2.5,
                 "shape-changing": 1.5, "custom": 1.5, "mask-source": 0.5, "vector": 0.5,
                 "helper": 0.0}  # helpers are added where a call option needs them
FILLS = (0.0, -1.0, 2.0)  # Masking mask values: the fill of the padded steps
# A fixed share of every campaign's cases (index % 10 < 3) are boundary cases: their layers take the
# boundary value of an option half of the time (grammar.Production.boundary: cropping (0, 0), padding 0,
# size 1, the identity permutation, units 1, ...), and their sizes are extreme (zero-length and
# length-1 sequences, one row, a batch whose every row is padding). Differential fuzzers find most of
# their bugs at such edges; left to chance the grammar never drew them.
BOUNDARY_SHARE = 3  # in 10
# Shape buckets: most cases use one width for every feature and unit size (and batch 4, time 6), so
# the programs JAX compiles for one case (each eager op, each RNN's lax.scan) are the same programs in
# the next: found in the worker's memory or in the persistent compilation cache instead of compiled
# again. JAX compiling a fresh program per new shape was ~99% of a campaign's time.
BUCKET_WIDTH, BUCKET_SHARE = 4, 0.85
SIZE_ARGS = ("units", "output_dim", "filters", "_units")
BOUNDARY_TIMES = (1, 1, 1, 0)
RNG_OPS = ("Dropout", "GaussianNoise")
FIT_SHARE = 9  # the cases with index % 10 == 9 are fit cases (fitmode.py)
BRANCH_OPS = ("Activation", "Identity", "Lambda", "LayerNormalization", "custom.PassMask", "Dense")


class _Case:
    def __init__(self, rng: np.random.Generator, name: str, seed: int):
        self.rng = rng
        # weight_seed: the weights stay those of this case when it is renamed to its finding's name
        self.spec: dict[str, Any] = {"version": specs.SPEC_VERSION, "name": name, "seed": seed, "weight_seed": name,
                                     "inputs": [], "layers": [], "outputs": [], "dtype_policy": None,
                                     "training": False}
        self.pool: dict[str, Tensor] = {}  # ref -> type, in creation order
        self.consumed: set[str] = set()
        self.boundary = False  # a boundary case: options drawn from the boundary values half of the time
        self.width: int | None = None  # shape bucket: every size option takes this width
        self.fit = False  # a fit case: trained through compile/fit/evaluate/train_on_batch (fitmode.py)
        self.full_batch = False  # every row of every input is padding

    def pick(self, options: tuple) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def add_input(self, entry: dict[str, Any]) -> str:
        self.spec["inputs"].append(entry)
        self.pool[entry["name"]] = grammar.input_tensor(entry, self.spec["time"])
        return entry["name"]

    def add(self, production: Production, refs: list[str], args: dict[str, Any] | None = None,
            call: dict[str, Any] | None = None) -> list[str] | None:
        ins = [self.pool[r] for r in refs]
        if not production.fit(ins):
            return None
        if args is None:
            args = self.draw(production, ins)
        outs = production.out(ins, {**args, "_cell": production.op})
        if outs is None:
            return None
        call = dict(call or {})
        for option, choices in production.calls.items():
            value = self.pick(choices)
            if value:
                call[option] = value
        if call.get("use_causal_mask") and len({t.time for t in ins}) > 1:
            del call["use_causal_mask"]
        name = f"l{len(self.spec['layers'])}"
        entry = {"name": name, "op": production.op, "args": _jsonable(args), "in": refs}
        if call:
            entry["call"] = call
        self.spec["layers"].append(entry)
        self.consumed.update(specs.refs_of(entry))
        if "mask" in call:
            outs = [Tensor(t.kind, t.time, t.features, "explicit", t.padding) for t in outs]
        if len(outs) == 1:
            self.pool[name] = outs[0]
            return [name]
        made = [f"{name}:{i}" for i in range(len(outs))]
        self.pool.update(zip(made, outs))
        return made

    def draw(self, production: Production, ins: list[Tensor], edge: str | None = None) -> dict[str, Any]:
        """A layer's args: its options, the bucket's width, and boundary values. `edge` None: a boundary
        case takes each boundary value 60% of the time, a regular case none; "boundary": every boundary
        value; "regular": none (a coverage-guided case aims at one form, guide.py)."""
        args = {k: self.pick(v) for k, v in production.options.items()}
        if self.width:
            args.update({k: self.width for k in SIZE_ARGS if k in args})
        if edge == "boundary" or (edge is None and self.boundary):
            args.update({k: self.pick(v) for k, v in production.boundary.items()
                         if edge == "boundary" or self.rng.random() < 0.6})
        args.update(production.derive(ins, args))
        return {k: v for k, v in args.items() if not k.startswith("_")}

    def recent(self, kind: str) -> str | None:
        """The newest tensor of a kind (most of the time) or an older one (a branch)."""
        refs = [r for r, t in self.pool.items() if t.kind == kind]
        if not refs:
            return None
        return refs[-1] if self.rng.random() < 0.65 else self.pick(tuple(refs))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _start(case: _Case, source: str, index: int, features: int) -> None:
    """One input and its mask source."""
    spec, rng = case.spec, case.rng
    rows = [case.pick(specs.PATTERNS) for _ in range(spec["batch"])]
    if case.full_batch:
        rows = ["full"] * spec["batch"]
    name = f"x{index}"
    if source == "embedding":
        vocab = int(rng.integers(5, 13))
        ref = case.add_input({"name": name, "kind": "tokens", "vocab": vocab, "rows": rows})
        embedding = grammar.production_for("Embedding", [case.pool[ref]])
        case.add(embedding, [ref], {"input_dim": vocab, "output_dim": features,
                                    "mask_zero": bool(rng.random() < 0.85)})
    elif source == "masking":
        fill = case.pick(FILLS)
        ref = case.add_input({"name": name, "kind": "float", "features": features, "rows": rows, "fill": fill})
        case.add(grammar.production_for("Masking", [case.pool[ref]]), [ref], {"mask_value": fill})
    elif source == "explicit":
        case.add_input({"name": name, "kind": "float", "features": features, "rows": rows, "fill": None})
        case.add_input({"name": f"m{index}", "kind": "mask", "rows": rows})
    else:
        case.add_input({"name": name, "kind": "float", "features": features, "rows": rows, "fill": 0.0})


def _explicit_consumer(case: _Case) -> None:
    """An explicit mask input is only a mask source once some layer is called with mask=it."""
    for mask_ref, mask in list(case.pool.items()):
        if mask.kind != "mask" or mask_ref in case.consumed:
            continue
        data = "x" + mask_ref[1:]  # the float input made with it, whose padded steps hold garbage
        chosen = case.pick(tuple(p for p in PRODUCTIONS if p.explicit_mask))
        case.add(chosen, [data], call={"mask": {"ref": mask_ref}})


def _step(case: _Case) -> None:
    rng = case.rng
    usable = [p for p in PRODUCTIONS if all(case.recent(k) is not None for k in set(p.needs))
              and not (case.fit and p.op in RNG_OPS)]  # training must be deterministic to compare
    # a boundary case favours the productions that have boundary values, most those with an identity form
    weights = np.array([GROUP_WEIGHTS.get(p.group, 1.0) * (_edge_weight(p) if case.boundary else 1.0)
                        for p in usable])
    production = usable[int(rng.choice(len(usable), p=weights / weights.sum()))]
    first = case.recent(production.needs[0])
    refs = [first]
    if len(production.needs) == 2:
        partners = [r for r, t in case.pool.items() if r != first and t.kind == "seq"
                    and production.fit([case.pool[first], t])
                    and production.out([case.pool[first], t], {"axis": -1, "axes": (2, 2)}) is not None]
        if partners and rng.random() < 0.6:
            refs.append(case.pick(tuple(partners)))
        else:  # branch off the first operand, so the merge joins two paths of one graph
            branch = grammar.production_for(case.pick(BRANCH_OPS), [case.pool[first]])
            args = {"units": case.pool[first].features} if branch.op == "Dense" else None
            made = case.add(branch, [first], args)
            if made is None:
                return
            refs.append(made[0])
    call = {}
    if production.explicit_mask:
        masks = [r for r, t in case.pool.items() if t.kind == "mask" and t.time == case.pool[first].time]
        if masks and rng.random() < 0.5:
            call["mask"] = {"ref": case.pick(tuple(masks))}
    if production.op == "MultiHeadAttention" and rng.random() < 0.6:
        masks = [r for r, t in case.pool.items() if t.kind == "mask" and t.time == case.pool[first].time]
        if masks:  # attention_mask=: which query step may attend to which value step
            pair = case.add(grammar.production_for("custom.PairMask", [case.pool[masks[-1]]]), [masks[-1]])
            call["attention_mask"] = {"ref": pair[0]}
    if production.group == "recurrent" and production.op != "Bidirectional" and rng.random() < 0.25:
        call.update(_initial_state(case, production, first))
    if call.get("initial_state"):
        args = {k: case.pick(v) for k, v in production.options.items()}
        args["units"] = call.pop("_units")
        case.add(production, refs, args, call)
        return
    case.add(production, refs, call=call)


def _edge_weight(production: Production) -> float:
    if not production.boundary:
        return 1.0
    return 4.0 if production.op in grammar.IDENTITY else 2.0


def _initial_state(case: _Case, production: Production, source: str) -> dict[str, Any]:
    """initial_state: Dense(units) over a pooled branch of the RNN's own input."""
    n = case.width or case.pick(grammar.UNITS)
    pool = case.add(grammar.production_for("GlobalAveragePooling1D", [case.pool[source]]), [source])
    states = []
    for _ in range(2 if production.op == "LSTM" else 1):
        states += case.add(grammar.production_for("Dense", [case.pool[pool[0]]]), pool, {"units": n}) or []
    return {"initial_state": {"refs": states}, "_units": n}


def _share(case: _Case) -> None:
    """Call an earlier single-input layer again on another tensor of the same shape."""
    for layer in case.spec["layers"]:
        if layer["op"] == "shared" or len(layer["in"]) != 1 or layer.get("call"):
            continue
        first = case.pool[layer["in"][0]]
        for ref, t in case.pool.items():
            if ref != layer["in"][0] and (t.kind, t.time, t.features) == (first.kind, first.time, first.features):
                outs = grammar.production_for(layer["op"], [t]).out([t], {**layer["args"], "_cell": layer["op"]})
                if outs is None or len(outs) != 1:
                    continue
                name = f"l{len(case.spec['layers'])}"
                case.spec["layers"].append({"name": name, "op": "shared", "args": {"layer": layer["name"]},
                                            "in": [ref]})
                case.consumed.add(ref)
                case.pool[name] = outs[0]
                return


def generate(seed: int, index: int, *, max_layers: int = 6, buckets: bool = True) -> dict[str, Any]:
    """The index-th case of a campaign seeded with `seed`: a spec that type-checks.

    `buckets=False` draws every size freely, as campaigns did before shape buckets (same cases)."""
    rng = np.random.default_rng([seed, index])
    case = _Case(rng, f"fuzz/s{seed}-{index}", int(rng.integers(2**31)))
    # Few distinct shapes: JAX compiles each eager op once per shape, so repeated shapes stay warm.
    case.spec["batch"] = 4 if rng.random() < 0.8 else int(rng.integers(1, 4))
    case.spec["time"] = 6 if rng.random() < 0.8 else int(rng.integers(2, 6))
    features = int(case.pick((2, 3, 4)))
    if buckets and index % 10 >= BOUNDARY_SHARE and rng.random() < BUCKET_SHARE:
        case.width = features = BUCKET_WIDTH
    if index % 10 < BOUNDARY_SHARE:  # extra draws only here: the other cases stay what they were
        case.boundary = True
        if rng.random() < 0.5:
            case.spec["time"] = int(case.pick(BOUNDARY_TIMES))
        if rng.random() < 0.3:
            case.spec["batch"] = 1
        case.full_batch = bool(rng.random() < 0.25)
    n_inputs = 2 if rng.random() < 0.35 else 1
    case.fit = index % 10 == FIT_SHARE
    if case.fit:  # one masked input: the loss sees its padding
        _start(case, case.pick(grammar.MASK_SOURCES[:3]), 0, features)
        n_inputs = 0
    for i in range(n_inputs):
        _start(case, case.pick(grammar.MASK_SOURCES), i, features)
    _explicit_consumer(case)
    for _ in range(int(rng.integers(1, max_layers + 1))):
        if rng.random() < 0.08:
            _share(case)
        else:
            _step(case)
    if rng.random() < 0.25:
        case.spec["training"] = True
    if rng.random() < 0.08:
        case.spec["dtype_policy"] = case.pick(("mixed_float16", "mixed_bfloat16"))
    case.spec["outputs"] = leaves(case.spec, case.pool)
    if case.fit:
        _fit_head(case)
    return grammar.check(prune(case.spec))


def _fit_head(case: _Case) -> None:
    """A Dense head on the newest sequence of the input's steps, its only output, and the fit entry."""
    spec = case.spec
    spec["training"], spec["dtype_policy"] = False, None
    fit = fitmode.draw(case.rng, int(case.pick((2, 3))))
    body = [r for r, t in case.pool.items() if t.kind == "seq" and t.time == spec["time"]]
    body = [r for r in body if case.pool[r].source != "none"] or body  # a masked sequence, where there is one
    activation = None if fit["loss"] == "mse" else "softmax"
    head = case.add(grammar.production_for("Dense", [case.pool[body[-1]]]), [body[-1]],
                    {"units": fit["units"], "activation": activation})
    spec["outputs"], spec["fit"] = head, fit


def prune(spec: dict[str, Any]) -> dict[str, Any]:
    """Drop layers no output depends on and inputs nothing reads (a model has no dangling parts)."""
    by_name = {layer["name"]: layer for layer in spec["layers"]}
    needed, todo = set(), [specs.ref_name(r) for r in spec["outputs"]]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        layer = by_name.get(name)
        if layer is not None:
            todo += [specs.ref_name(r) for r in specs.refs_of(layer)]
            if layer["op"] == "shared":
                todo.append(layer["args"]["layer"])
    return {**spec, "layers": [la for la in spec["layers"] if la["name"] in needed],
            "inputs": [e for e in spec["inputs"] if e["name"] in needed]}


def leaves(spec: dict[str, Any], types: dict[str, Tensor]) -> list[str]:
    """Layer outputs that nothing reads: the model's outputs (a multi-output layer's are NAME:i)."""
    consumed = {r for layer in spec["layers"] for r in specs.refs_of(layer)}
    layer_names = {layer["name"] for layer in spec["layers"]}
    out = [r for r, t in types.items() if t.kind not in ("mask", "pairmask") and specs.ref_name(r) in layer_names
           and r not in consumed]
    return out or [next(r for r in reversed(types) if types[r].kind not in ("mask", "pairmask"))]
