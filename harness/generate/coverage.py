"""What a campaign searched: productions and (layer, mask source, padding, boundary) combinations.

A reader of the campaign summary sees which building blocks were exercised and how often, and which
were never drawn, so "no finding" can be told apart from "not searched". numpy only.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from harness.define import spec as specs
from harness.generate import grammar


def production_key(production: grammar.Production) -> str:
    return f"{production.op}({','.join(production.needs)})"


ALL_PRODUCTIONS = tuple(dict.fromkeys(production_key(p) for p in grammar.PRODUCTIONS))
SOURCES = grammar.MASK_SOURCES + ("custom",)
EDGES = ("regular", "boundary")  # whether the layer's options took a boundary value
Combo = tuple[str, str, str, str]  # (production key, mask source of its first input, padding, edge)


def _sources(production: grammar.Production) -> tuple[tuple[str, ...], str]:
    """The mask sources its first input can carry, and why the others cannot be."""
    if production.needs[0] == "tokens":
        return ("none",), "takes the token input, which carries no mask"
    if production.needs[0] == "mask":
        return ("explicit",), "reads the bool mask input itself"
    return SOURCES, ""


def reachable() -> tuple[set[tuple[str, str, str, str]], dict[str, str]]:
    """Every (production, mask source, padding, boundary) the grammar can draw, and the unreachable ones
    grouped with the reason. A seq/vec input can carry any source (any layer may follow any chain)
    and any padding (every input draws its rows' patterns); only productions with boundary values
    have a boundary form."""
    combos, unreachable = set(), {}
    for production in grammar.PRODUCTIONS:
        key = production_key(production)
        sources, why = _sources(production)
        edges = EDGES if production.boundary else EDGES[:1]
        combos |= {(key, s, p, e) for s in sources for p in specs.PATTERNS for e in edges}
        if why:
            unreachable[f"{key} with a mask source other than {'/'.join(sources)}"] = why
        if not production.boundary:
            unreachable.setdefault(f"{key}: boundary form", "no option of it has a boundary value")
    return combos, unreachable


@cache
def reachable_combos() -> frozenset[Combo]:
    return frozenset(reachable()[0])


class Coverage:
    def __init__(self) -> None:
        self.productions: Counter[str] = Counter()
        self.combos: Counter[tuple[str, str, str]] = Counter()
        self.edge_combos: Counter[tuple[str, str, str, str]] = Counter()
        self.features: Counter[str] = Counter()

    def add(self, spec: dict[str, Any]) -> None:
        types = grammar.infer(spec)
        for layer in spec["layers"]:
            ins = [types[r] for r in layer["in"]]
            op = layer["op"]
            if op == "shared":
                self.features["shared layer"] += 1
                op = next(la["op"] for la in spec["layers"] if la["name"] == layer["args"]["layer"])
            production = grammar.production_for(op, ins)
            self.productions[production_key(production)] += 1
            self.combos[(op, ins[0].source, ins[0].padding)] += 1
            edge = EDGES[grammar.at_boundary(op, layer.get("args", {})) and bool(production.boundary)]
            self.edge_combos[(production_key(production), ins[0].source, ins[0].padding, edge)] += 1
            for key in (layer.get("call") or {}):
                self.features[f"call {key}"] += 1
        self.features["inputs: " + str(len(spec["inputs"]))] += 1
        self.features["training mode" if spec.get("training") else "inference mode"] += 1
        self.features[f"dtype policy {spec.get('dtype_policy') or 'float32'}"] += 1
        self.features["fit mode" if spec.get("fit") else "forward only"] += 1
        self.features[f"time {spec['time']}" if spec["time"] <= 1 else "time > 1"] += 1
        if all(r == "full" for e in spec["inputs"] for r in e["rows"]):
            self.features["every row padded"] += 1
        if any(len(layer["in"]) > 1 for layer in spec["layers"]):
            self.features["merge of two paths"] += 1
        for entry in spec["inputs"]:
            for pattern in entry["rows"]:
                self.features[f"padding {pattern}"] += 1

    def exercised(self) -> set[Combo]:
        return set(self.edge_combos) & reachable_combos()

    def uncovered(self) -> list[Combo]:
        """The reachable combinations no case has exercised yet, in a fixed order (guide.py aims at them)."""
        return sorted(reachable_combos() - set(self.edge_combos))

    def report(self) -> dict[str, Any]:
        possible = len(ALL_PRODUCTIONS) * len(grammar.MASK_SOURCES + ("custom",)) * len(specs.PATTERNS)
        return {
            "productions": dict(sorted(self.productions.items())),
            "productions_never_drawn": [p for p in ALL_PRODUCTIONS if p not in self.productions],
            "combinations_exercised": len(self.combos),
            "combinations_possible": possible,
            "combinations": {f"{op} | {source} | {padding}": n
                             for (op, source, padding), n in sorted(self.combos.items())},
            "features": dict(sorted(self.features.items())),
            **self._reach(),
        }

    def _reach(self) -> dict[str, Any]:
        """Exercised out of reachable (layer, mask source, padding, boundary) combinations."""
        combos, unreachable = reachable()
        seen, missing = self.exercised(), self.uncovered()
        return {"reach": {
            "exercised": len(seen), "reachable": len(combos),
            "share": round(len(seen) / len(combos), 3) if combos else None,
            # every one, so the shards of a campaign can be merged (shards.py: exercised by any shard)
            "not_exercised": [" | ".join(c) for c in missing],
            "not_exercised_by_production": dict(Counter(c[0] for c in missing).most_common()),
            "unreachable": unreachable,
        }}
