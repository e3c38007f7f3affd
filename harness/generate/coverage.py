"""What a campaign searched: grammar productions and (layer, mask source, padding) combinations.

A reader of the campaign summary sees which building blocks were exercised and how often, and which
were never drawn, so "no finding" can be told apart from "not searched". numpy only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.define import spec as specs
from harness.generate import grammar


def production_key(production: grammar.Production) -> str:
    return f"{production.op}({','.join(production.needs)})"


ALL_PRODUCTIONS = tuple(dict.fromkeys(production_key(p) for p in grammar.PRODUCTIONS))


class Coverage:
    def __init__(self) -> None:
        self.productions: Counter[str] = Counter()
        self.combos: Counter[tuple[str, str, str]] = Counter()
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
            for key in (layer.get("call") or {}):
                self.features[f"call {key}"] += 1
        self.features["inputs: " + str(len(spec["inputs"]))] += 1
        self.features["training mode" if spec.get("training") else "inference mode"] += 1
        self.features[f"dtype policy {spec.get('dtype_policy') or 'float32'}"] += 1
        if any(len(layer["in"]) > 1 for layer in spec["layers"]):
            self.features["merge of two paths"] += 1
        for entry in spec["inputs"]:
            for pattern in entry["rows"]:
                self.features[f"padding {pattern}"] += 1

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
        }
