"""A finding is never lost: its weights survive the rename to the finding's name, and the kept scenario
and repro script are seeded like the case that diverged.

The pure tests use a fake runner whose divergence depends on the weights (as a real masking divergence
can: s0-316's all-masked attention row showed only with its weights), so a campaign that seeded weights
by name would lose the finding at the rename. The backend test checks the real capture on torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.artifacts import ScenarioRecord
from harness.define import registry
from harness.define import spec as specs
from harness.define.captured import Captured, Probe
from harness.define.weights import weight_values
from harness.generate import campaign, causes, findings, generator, grammar, repro
from harness.run.spec_scenario import as_scenario

BACKENDS = ("tensorflow", "jax", "torch")


def weighted_runner(spec: dict) -> dict[str, ScenarioRecord]:
    """Torch differs only when the case's first weight (seeded as the harness seeds it) is positive."""
    first = float(weight_values(specs.weight_seed(spec), "l0#0", (1,))[0])
    records = {}
    for backend in BACKENDS:
        values = np.zeros((spec["batch"], 1), np.float32) + (1.0 if backend == "torch" and first > 0 else 0.0)
        probes = {la["name"]: Probe(values, None, "float32") for la in spec["layers"]}
        records[backend] = ScenarioRecord(spec["name"], "ok", 0.0, Captured(spec["name"], backend, probes),
                                          {"tolerances": {}, "deterministic": True})
    return records


def _diverging_case() -> dict:
    """The first generated case the weighted runner splits, and whose slug name would not."""
    for index in range(200):
        case = generator.generate(11, index, max_layers=2)
        verdict = findings.judge(case, weighted_runner(case))
        renamed_by_name = {k: v for k, v in case.items() if k != "weight_seed"}
        renamed_by_name["name"] = "found/" + findings.slug(verdict.signature) if verdict.signature else "x"
        if verdict.signature and findings.judge(renamed_by_name, weighted_runner(renamed_by_name)).signature is None:
            return case
    raise AssertionError("no case diverges with its own weights and not with its finding's name")


def test_generated_cases_carry_their_weight_seed_and_renaming_keeps_it() -> None:
    case = generator.generate(0, 316)
    assert case["weight_seed"] == case["name"] == "fuzz/s0-316"
    renamed = {**case, "name": "found/some-finding"}
    assert specs.weight_seed(renamed) == "fuzz/s0-316"
    assert as_scenario(renamed).weight_seed == "fuzz/s0-316"
    old = {k: v for k, v in case.items() if k != "weight_seed"}  # specs written before the field: the name
    assert specs.weight_seed(old) == "fuzz/s0-316"
    with pytest.raises(specs.SpecError, match="weight_seed"):
        specs.validate({**case, "weight_seed": 7})


def test_a_weight_dependent_finding_survives_the_rename_and_is_kept(tmp_path: Path) -> None:
    case = _diverging_case()
    options = campaign.Options(out=tmp_path, budget=campaign.Budget(cases=1), shrink_tries=40, log=lambda _: None)
    campaign.run(options, weighted_runner, cases=[case])
    [entry] = json.loads((tmp_path / "findings.json").read_text())
    assert entry["reproduced_under_name"] is True and entry["found_in_case"] == case["name"]
    shrunk = json.loads(Path(entry["paths"]["spec"]).read_text())["shrunk"]
    assert shrunk["name"] == entry["name"] and shrunk["weight_seed"] == case["name"]
    assert findings.judge(shrunk, weighted_runner(shrunk)).signature == entry["signature"]
    [kept] = registry.load([entry["paths"]["scenario"]])  # the suite's scenario: same weights
    assert kept.name == entry["name"] and kept.weight_seed == case["name"]
    assert f"NAME = {case['name']!r}" in Path(entry["paths"]["repro"]).read_text()


def test_repro_script_seeds_weights_by_weight_seed() -> None:
    case = {**generator.generate(0, 3), "name": "found/renamed"}
    text = repro.script(case)
    assert "NAME = 'fuzz/s0-3'" in text and "found/renamed" not in text


@pytest.mark.backend
def test_renaming_a_case_keeps_its_weights_on_a_real_backend(torch_case_pool) -> None:
    case = grammar.check({
        "version": 1, "name": "fuzz/s9-1", "weight_seed": "fuzz/s9-1", "seed": 5, "batch": 2, "time": 3,
        "dtype_policy": None, "training": False,
        "inputs": [{"name": "x0", "kind": "float", "features": 2, "rows": ["right", "none"], "fill": 0.0}],
        "layers": [{"name": "l0", "op": "Masking", "args": {"mask_value": 0.0}, "in": ["x0"]},
                   {"name": "l1", "op": "GRU", "args": {"units": 2}, "in": ["l0"]}],
        "outputs": ["l1"]})
    pool = torch_case_pool
    original = pool.run(case)["torch"].captured.probes["l1"].values
    renamed = pool.run({**case, "name": "found/renamed"})["torch"].captured.probes["l1"].values
    reseeded = pool.run({**case, "weight_seed": "other"})["torch"].captured.probes["l1"].values
    np.testing.assert_array_equal(original, renamed)
    assert not np.allclose(original, reseeded)  # the seed does decide the weights


# ---- recognised by cause -------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def planted_runner(odd: str, layer: str, kind: str):
    """Records where `odd` differs from the others at `layer` ('values' moved, or a 'mask' only it has)."""
    def run(spec: dict) -> dict[str, ScenarioRecord]:
        types = grammar.infer(spec)
        records = {}
        for backend in BACKENDS:
            probes = {}
            for la in spec["layers"]:
                t = types.get(la["name"]) or types[f"{la['name']}:0"]
                shape = (spec["batch"], t.time, t.features) if t.kind == "seq" else (spec["batch"], t.features)
                values, mask = np.zeros(shape, np.float32), None
                if backend == odd and la["name"] == layer:
                    if kind == "values":
                        values += 1.0
                    else:
                        mask = np.ones(shape[:2], bool)
                probes[la["name"]] = Probe(values, mask, "float32")
            records[backend] = ScenarioRecord(spec["name"], "ok", 0.0, Captured(spec["name"], backend, probes),
                                              {"tolerances": {}, "deterministic": True})
        return records
    return run


def _rnn_case(op: str, return_sequences: bool) -> dict:
    return grammar.check({
        "version": 1, "name": "fuzz/s5-40", "weight_seed": "fuzz/s5-40", "seed": 1, "batch": 2, "time": 4,
        "dtype_policy": None, "training": False,
        "inputs": [{"name": "x0", "kind": "float", "features": 3, "rows": ["full", "right"], "fill": 0.0}],
        "layers": [{"name": "l0", "op": "Masking", "args": {"mask_value": 0.0}, "in": ["x0"]},
                   {"name": "l1", "op": "GlobalAveragePooling1D", "args": {}, "in": ["l0"]},
                   {"name": "l2", "op": "Dense", "args": {"units": 2}, "in": ["l1"]},
                   {"name": "l3", "op": op, "args": {"units": 2, "return_sequences": return_sequences},
                    "in": ["l0"], "call": {"initial_state": {"refs": ["l2"]}}}],
        "outputs": ["l3"]})


def _campaign(tmp_path: Path, case: dict, runner, variants: bool = False) -> tuple[dict, list]:
    from harness.compare.known import load_known

    options = campaign.Options(out=tmp_path, budget=campaign.Budget(cases=1), shrink_tries=30, log=lambda _: None,
                               variants=variants,
                               kept=findings.kept_findings(ROOT / "scenarios" / "found"),
                               known=load_known(ROOT / "scenarios" / "known_divergences.toml"))
    summary = campaign.run(options, runner, cases=[case])
    return summary, json.loads((tmp_path / "findings.json").read_text())


def test_the_gru_initial_state_cause_refound_through_simple_rnn_counts_against_the_kept_one(tmp_path) -> None:
    summary, entries = _campaign(tmp_path, _rnn_case("SimpleRNN", False), planted_runner("jax", "l3", "values"))
    assert entries == []  # not kept twice
    [(cause, counted)] = summary["causes"].items()
    assert cause == "jax|differs|rnn|initial_state,last-output,all-masked-row"
    assert counted["kept"] == "found/differs-gru-jax-tf-torch-06160b" and counted["cases"] == 1
    assert counted["known"] == "jax-rnn-masked-step-outputs-initial-state"  # and the known entry that explains it
    assert counted["signatures"] == ["tensorflow-vs-jax+jax-vs-torch|differs|SimpleRNN"]


def test_another_situation_or_odd_backend_is_another_cause(tmp_path) -> None:
    _, entries = _campaign(tmp_path / "a", _rnn_case("SimpleRNN", False), planted_runner("torch", "l3", "values"))
    assert [e["cause"].split("|")[0] for e in entries] == ["torch"]
    _, entries = _campaign(tmp_path / "b", _rnn_case("LSTM" if False else "GRU", True),
                           planted_runner("jax", "l3", "values"))
    assert len(entries) == 1 and "last-output" not in entries[0]["cause"]


def planted_signature(case: dict) -> str:
    return findings.judge(case, planted_runner("jax", "l1", "mask")(case)).signature


def test_the_jax_no_op_mask_through_an_identity_permute_is_the_reshape_cause(tmp_path) -> None:
    case = grammar.check({
        "version": 1, "name": "fuzz/s1-2", "seed": 1, "batch": 1, "time": 2, "dtype_policy": None,
        "training": False,
        "inputs": [{"name": "x0", "kind": "tokens", "vocab": 5, "rows": ["right"]}],
        "layers": [{"name": "l0", "op": "Embedding", "args": {"input_dim": 5, "output_dim": 2, "mask_zero": True},
                    "in": ["x0"]},
                   {"name": "l1", "op": "Permute", "args": {"dims": [1, 2]}, "in": ["l0"]}],
        "outputs": ["l1"]})
    summary, entries = _campaign(tmp_path, case, planted_runner("jax", "l1", "mask"), variants=True)
    counted = summary["causes"]["jax|mask-differs|reshaping|identity"]
    # the kept finding of this very signature (the Permute one), the cause's known entry
    assert entries == [] and counted["kept"] == "found/mask-differs-permute-jax-tf-torch-9ae318"
    assert counted["known"] == "jax-reshape-same-shape-keeps-mask"
    kept = [k for k in findings.kept_findings(ROOT / "scenarios" / "found") if k.signature != planted_signature(case)]
    options = campaign.Options(out=tmp_path / "reach", budget=campaign.Budget(cases=1), shrink_tries=30,
                               log=lambda _: None, variants=True, kept=kept)
    summary = campaign.run(options, planted_runner("jax", "l1", "mask"), cases=[case])
    [variant] = summary["causes"]["jax|mask-differs|reshaping|identity"]["variants"]  # its reach, not a new finding
    assert variant["signature"].endswith("|mask-differs|Permute") and variant["layer_classes"] == ["Embedding", "Permute"]
    assert Path(variant["paths"]["repro"]).is_file()
    # a real permutation (of as many steps as features: the same shape) is not that cause ...
    swapped = grammar.check({**case, "layers": [case["layers"][0], {**case["layers"][1], "args": {"dims": [2, 1]}}]})
    signature = findings.judge(swapped, planted_runner("jax", "l1", "mask")(swapped)).signature
    assert causes.cause(swapped, signature, "l1") == "jax|mask-differs|reshaping|-"
    # ... and the shrinker, preferring boundary values, tries the identity permutation, which keeps it
    summary, entries = _campaign(tmp_path / "swap", swapped, planted_runner("jax", "l1", "mask"))
    assert entries == []
    [shrunk] = summary["causes"]["jax|mask-differs|reshaping|identity"]["shrunk"]  # accounted for, with its size
    assert shrunk["cause_before"] == "jax|mask-differs|reshaping|-" and shrunk["layers"] == [2, 2]


def test_a_case_every_backend_refuses_is_counted_not_kept() -> None:
    from harness.define.captured import ErrorInfo

    case = generator.generate(0, 5)

    def errors(types: dict[str, str]) -> dict[str, ScenarioRecord]:
        return {b: ScenarioRecord(case["name"], "error", 0.0,
                                  Captured(case["name"], b, error=ErrorInfo(t, "zero-length sequence")), {})
                for b, t in types.items()}

    refused = findings.judge(case, errors({"tensorflow": "InvalidArgumentError", "jax": "IndexError",
                                           "torch": "IndexError"}))
    assert refused.verdict == "all-raise" and refused.signature is None
    one = {**errors({"torch": "AttributeError"}), **{b: r for b, r in weighted_runner(case).items() if b != "torch"}}
    assert findings.judge(case, one).signature.endswith("|error-differs|error(torch:AttributeError)")


def test_a_warnings_difference_is_named_by_the_warning_not_by_a_layer() -> None:
    from harness.define.captured import WarningInfo

    case = generator.generate(0, 5)
    records = weighted_runner(case)
    records = {b: ScenarioRecord(r.name, r.status, 0.0, Captured(r.name, b, {k: Probe(np.zeros_like(p.values), None,
                                                                                      "float32")
                                                                         for k, p in r.captured.probes.items()}),
                                 r.meta) for b, r in records.items()}
    warned = WarningInfo("UserWarning", "Layer 'l3' (of type Dense) does not support masking, 4 steps")
    records["torch"].captured.warnings.append(warned)
    verdict = findings.judge(case, records)
    assert verdict.signature.endswith(
        "|warnings-differ|warning(UserWarning: Layer * (of type *) does not support masking, N steps)")
    assert verdict.cause.startswith("torch|warnings-differ|warning(UserWarning: Layer *")
