"""The shrinker, on a divergence planted in a fake backend: it must reach the minimal form.

The fake runner makes records in numpy (shapes from the grammar), identical on three backends except
that "torch" moves the output of any GRU or LSTM that reads, through any path, from a Masking or an
Embedding layer, when some input row is padded. From the big case below, the smallest case with that
divergence is exactly: one float input of one row, one step and one feature; Masking; GRU(units=1)
with default options; inference mode, float32.
The judge is the real one (harness.compare via findings.judge), so the signature is the campaign's.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from harness.artifacts import ScenarioRecord
from harness.define import spec as specs
from harness.define.captured import Captured, Probe
from harness.generate import findings, grammar, shrink

BACKENDS = ("tensorflow", "jax", "torch")
PLANTED = ("GRU", "LSTM")  # the layer classes whose torch output the fake backend moves


def _reads_masking(spec: dict, name: str) -> bool:
    by_name = {la["name"]: la for la in spec["layers"]}
    todo, seen = [name], set()
    while todo:
        layer = by_name.get(specs.ref_name(todo.pop()))
        if layer is None or layer["name"] in seen:
            continue
        seen.add(layer["name"])
        if layer["op"] in ("Masking", "Embedding"):  # a mask source
            return True
        todo += layer["in"]
    return False


def fake_runner(spec: dict) -> dict[str, ScenarioRecord]:
    """Three backends' records for a spec, with the planted GRU divergence on torch."""
    types = grammar.infer(spec)
    padded = any(r != "none" for e in spec["inputs"] for r in e["rows"])
    records = {}
    for backend in BACKENDS:
        probes = {}
        for layer in spec["layers"]:
            outs = [r for r in types if specs.ref_name(r) == layer["name"]]
            t = types[layer["name"] if layer["name"] in types else outs[0]]
            shape = (spec["batch"], t.time, t.features) if t.kind == "seq" else (spec["batch"], t.features)
            values = np.zeros(shape, np.float32)
            if backend == "torch" and layer["op"] in PLANTED and padded and _reads_masking(spec, layer["name"]):
                values += 1.0
            probes[layer["name"]] = Probe(values, None, "float32")
        records[backend] = ScenarioRecord(spec["name"], "ok", 0.0, Captured(spec["name"], backend, probes),
                                          {"tolerances": {}, "deterministic": True})
    return records


def big_case() -> dict:
    rows = ["right", "left", "middle", "none"]
    spec = {
        "version": 1, "name": "fuzz/planted", "seed": 3, "batch": 4, "time": 6,
        "dtype_policy": "mixed_float16", "training": True,
        "inputs": [{"name": "x0", "kind": "float", "features": 4, "rows": rows, "fill": 2.0},
                   {"name": "x1", "kind": "tokens", "vocab": 9, "rows": ["left"] * 4}],
        "layers": [
            {"name": "l0", "op": "Masking", "args": {"mask_value": 2.0}, "in": ["x0"]},
            {"name": "l1", "op": "Dense", "args": {"units": 4, "activation": "tanh"}, "in": ["l0"]},
            {"name": "l2", "op": "GRU", "args": {"units": 4, "return_sequences": True, "go_backwards": True,
                                                 "unroll": True, "return_state": False, "reset_after": False},
             "in": ["l1"]},
            {"name": "l3", "op": "Embedding", "args": {"input_dim": 9, "output_dim": 4, "mask_zero": True},
             "in": ["x1"]},
            {"name": "l4", "op": "Concatenate", "args": {"axis": -1}, "in": ["l2", "l3"]},
            {"name": "l5", "op": "LSTM", "args": {"units": 3, "return_sequences": False}, "in": ["l4"]},
            {"name": "l6", "op": "LayerNormalization", "args": {}, "in": ["l3"]},
        ],
        "outputs": ["l5", "l6"],
    }
    return grammar.check(spec)


def signature(spec: dict) -> str | None:
    return findings.judge(spec, fake_runner(spec)).signature


def test_planted_divergence_is_found_with_its_signature() -> None:
    assert signature(big_case()) == "tensorflow-vs-torch+jax-vs-torch|differs|GRU"
    clean = copy.deepcopy(big_case())
    for entry in clean["inputs"]:
        entry["rows"] = ["none"] * clean["batch"]
    assert signature(clean) is None


def test_shrinks_to_the_minimal_form() -> None:
    start = big_case()
    wanted = signature(start)
    tries = []

    def keeps(candidate: dict) -> bool:
        tries.append(candidate)
        return signature(candidate) == wanted

    shrunk, n = shrink.shrink(start, keeps, max_tries=500)
    assert n == len(tries) and n > 0
    assert signature(shrunk) == wanted
    assert [la["op"] for la in shrunk["layers"]] == ["Masking", "GRU"]
    assert (shrunk["batch"], shrunk["time"]) == (1, 1)
    assert [(e["kind"], e["features"]) for e in shrunk["inputs"]] == [("float", 1)]
    assert shrunk["inputs"][0]["rows"] != ["none"]
    gru = shrunk["layers"][1]
    assert gru["args"]["units"] == 1
    assert all(gru["args"][k] == v[0] for k, v in grammar.BY_OP["GRU"][0].options.items()
               if k in gru["args"] and k != "units")
    assert "call" not in gru
    assert shrunk["training"] is False and shrunk["dtype_policy"] is None
    assert shrunk["inputs"][0]["fill"] == 0.0 and shrunk["layers"][0]["args"]["mask_value"] == 0.0
    assert shrink.weight(shrunk) < shrink.weight(start)


def test_shrinking_respects_the_try_budget_and_never_returns_a_case_that_lost_the_divergence() -> None:
    start = big_case()
    shrunk, n = shrink.shrink(start, lambda c: signature(c) == signature(start), max_tries=3)
    assert n == 3
    assert signature(shrunk) == signature(start)


def test_every_variant_type_checks_and_is_smaller() -> None:
    start = big_case()
    seen = 0
    for candidate in shrink.variants(start):
        grammar.check(candidate)
        assert shrink.weight(candidate) <= shrink.weight(start)
        seen += 1
    assert seen > 20


def test_campaign_keeps_one_shrunk_finding_per_cause_with_all_its_files(tmp_path) -> None:
    import json

    from harness.define import registry
    from harness.generate import campaign

    # unguided: the fake's divergence needs a padded row in ANY input, so a guided case's second input
    # (padded, while the GRU's own is not) is a local minimum of 3 layers, not the planted 2
    options = campaign.Options(out=tmp_path / "out", budget=campaign.Budget(cases=80), seed=0,
                               shrink_tries=300, log=lambda _: None, guided=False)
    summary = campaign.run(options, fake_runner)
    entries = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert summary["cases"] == 80
    planted = {f"tensorflow-vs-torch+jax-vs-torch|differs|{op}" for op in PLANTED}
    hits = sum(n for k, n in summary["signatures"].items() if k in planted)
    assert set(summary["signatures"]) <= planted and len(entries) == len(summary["causes"]) >= 1
    assert hits > len(entries)  # the planted causes were hit more often than they were kept: deduplicated
    assert sum(c["cases"] for c in summary["causes"].values()) == hits
    assert len({e["cause"] for e in entries}) == len(entries)
    for entry in entries:
        assert entry["cause"].startswith("torch|differs|rnn|") and entry["cause"] in summary["causes"]
        assert entry["layer_classes"] in (["Masking", entry["first_divergent_class"]],
                                          ["Embedding", entry["first_divergent_class"]])
        assert entry["size_after"]["layers"] == 2 and entry["size_after"]["batch"] == 1
        assert entry["pairs"] == ["tensorflow-vs-torch", "jax-vs-torch"] and entry["covered_by_known"] is None
    entry = entries[0]
    for key in ("spec", "repro", "scenario"):
        assert Path(entry["paths"][key]).is_file()
    compile(Path(entry["paths"]["repro"]).read_text(), "repro.py", "exec")
    loaded = registry.load([entry["paths"]["scenario"]])  # registers without importing keras
    assert [s.name for s in loaded] == [entry["name"]] and "found" in loaded[0].tags
    assert {(k.signature, k.cause, k.path) for k in findings.kept_findings(tmp_path / "out" / "found")} == {
        (e["signature"], e["cause"], e["paths"]["scenario"]) for e in entries}
    # a second campaign that knows the finding (scenarios/found) does not keep it again
    again = campaign.Options(out=tmp_path / "again", budget=campaign.Budget(cases=80), seed=0,
                             kept=findings.kept_findings(tmp_path / "out" / "found"), log=lambda _: None)
    campaign.run(again, fake_runner)
    assert json.loads((tmp_path / "again" / "findings.json").read_text()) == []
    coverage = summary["coverage"]
    assert coverage["combinations_exercised"] > 10 and "GRU(seq)" in coverage["productions"]


def test_rng_driven_and_rounding_level_differences_are_never_findings() -> None:
    spec = big_case()
    records = fake_runner(spec)
    torch = records["torch"]
    moved = {k: Probe(p.values + 5e-4, p.mask, p.dtype) for k, p in records["tensorflow"].captured.probes.items()}
    rounding = {**records, "torch": ScenarioRecord(torch.name, "ok", 0.0, Captured(torch.name, "torch", moved),
                                                   torch.meta)}
    assert findings.judge(spec, rounding).verdict == "noise"
    random = {**records, "torch": ScenarioRecord(torch.name, "ok", 0.0, torch.captured,
                                                 {**torch.meta, "deterministic": False})}
    assert findings.judge(spec, random).signature is None
    assert findings.judge(spec, records).signature is not None  # the same difference, deterministic: kept
