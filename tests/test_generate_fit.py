"""Fit mode: generated cases trained through compile/fit/evaluate/train_on_batch, judged by the training
claims T1..T5 on each backend, shrunk like any case, kept as fit/ scenarios with a repro script."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.artifacts import ScenarioRecord
from harness.compare import training_claims
from harness.define import registry
from harness.define import spec as specs
from harness.define.captured import Captured, Probe
from harness.generate import campaign, findings, fitmode, generator, grammar, repro, shrink

BACKENDS = ("tensorflow", "jax", "torch")


def _fit_cases(n: int = 60) -> list[dict]:
    return [generator.generate(0, i) for i in range(generator.FIT_SHARE, 10 * n, 10)]


def test_a_fixed_share_of_cases_are_fit_cases_on_one_masked_sequence_output() -> None:
    cases = _fit_cases()
    assert all(c.get("fit") for c in cases) and not any(generator.generate(0, i).get("fit") for i in range(9))
    ranks = {c["fit"].get("sample_weight_rank") for c in cases}
    assert ranks == {None, 1, 2, 3} and any(c["fit"].get("class_weight") for c in cases)
    assert {c["fit"]["loss"] for c in cases} == set(specs.FIT_LOSSES)
    masked = 0
    for case in cases:
        [out] = case["outputs"]
        t = grammar.infer(case)[out]
        assert (t.kind, t.time, t.features) == ("seq", case["time"], case["fit"]["units"])
        assert not case["training"] and case["dtype_policy"] is None
        assert not {la["op"] for la in case["layers"]} & set(generator.RNG_OPS)
        masked += t.source != "none"
    assert masked > len(cases) * 0.6  # generated on masked sequence outputs, where the graph has one


@pytest.mark.parametrize("rank,shape", [(1, (4,)), (2, (4, 6)), (3, (4, 6, 1))])
def test_sample_weights_of_every_rank_and_heavy_padded_steps(rank, shape) -> None:
    case = next(c for c in _fit_cases(200) if c["fit"].get("sample_weight_rank") == rank and c["batch"] == 4
                and c["time"] == 6)
    targets, weight, classes = specs.fit_arrays(case)
    assert weight.shape == shape and classes is None and targets.shape[:2] == (4, 6)
    if rank > 1:  # padded steps weigh 3: a mask that does not cancel them shows
        keep = np.all([specs.input_mask(e, 6) for e in case["inputs"]], axis=0)
        assert np.all(weight.reshape(4, 6)[~keep] == 3.0)
    fit = specs.fit_of(case)
    assert isinstance(fit, registry.Fit) and fit.loss == case["fit"]["loss"] and fit.sample_weight is weight or \
        np.array_equal(fit.sample_weight, weight)


def test_fit_specs_are_validated() -> None:
    case = _fit_cases(1)[0]
    for bad in ({"loss": "hinge"}, {"sample_weight_rank": 4}, {"metrics": ["auc"]}, {"steps": 0},
                {"learning_rate": 2.0}, {"surprise": 1}):
        with pytest.raises(specs.SpecError):
            specs.validate({**case, "fit": {**case["fit"], **bad}})
    with pytest.raises(specs.SpecError, match="fit case's output"):
        grammar.infer({**case, "fit": {**case["fit"], "units": 7}})


def _claim_records(case: dict, failing: str | None) -> dict[str, ScenarioRecord]:
    """Captures that satisfy the claims exactly (predictions = targets' one-hot), torch's loss off if asked."""
    spec = fitmode.claims(case)
    target = spec.targets[0]
    records = {}
    for backend in BACKENDS:
        if case["fit"]["loss"] == "mse":
            pred = target.y.astype(np.float32)
        else:
            pred = np.eye(case["fit"]["units"], dtype=np.float32)[target.y] * 0.98 + 0.01
        loss = training_claims.evaluate_loss(spec, [pred])
        probes = {f"fit/predict/{when}": Probe(pred, target.keep, "float32") for when in ("before", "after")}
        for when in ("before", "after"):
            probes[f"fit/evaluate/{when}/loss"] = Probe(np.float32(loss + (5.0 if backend == failing else 0.0)),
                                                        None, "float32")
        records[backend] = ScenarioRecord(case["name"], "ok", 0.0, Captured(case["name"], backend, probes),
                                          {"tolerances": {}, "deterministic": True})
    return records


def test_a_training_claim_that_holds_on_some_backends_only_is_a_finding() -> None:
    case = next(c for c in _fit_cases() if c["fit"]["loss"] == "mse" and not c["fit"].get("sample_weight_rank"))
    results = fitmode.claim_results(case, _claim_records(case, None)["torch"].captured)
    assert any(name.startswith("T2") for name in results)
    split = findings._claims_split(case, _claim_records(case, "torch"), [("tensorflow", "jax"),
                                                                       ("tensorflow", "torch"), ("jax", "torch")])
    assert split is not None and split.signature.endswith("|claim-differs|fit/T2")
    assert split.pairs == ("tensorflow-vs-torch", "jax-vs-torch") and split.cause.startswith("torch|claim-differs|fit/t2|")
    assert findings._claims_split(case, _claim_records(case, None), [("tensorflow", "torch")]) is None


def test_the_shrinker_simplifies_the_training_too() -> None:
    case = next(c for c in _fit_cases() if c["fit"].get("sample_weight_rank") and c["fit"]["optimizer"] == "Adam")
    variants = list(shrink.variants(case))
    assert any("fit" not in v for v in variants)  # a forward divergence needs no training
    assert any(v.get("fit", {}).get("sample_weight_rank", 0) is None for v in variants)
    assert any(v.get("fit", {}).get("optimizer") == "SGD" for v in variants)


def test_a_fit_finding_is_kept_as_a_fit_scenario_with_a_training_repro(tmp_path: Path) -> None:
    case = next(c for c in _fit_cases() if c["fit"]["loss"] == "mse")

    def runner(spec: dict) -> dict[str, ScenarioRecord]:
        return _claim_records(spec, "torch") if spec.get("fit") else _claim_records(case, None)

    options = campaign.Options(out=tmp_path, budget=campaign.Budget(cases=1), shrink_tries=20, log=lambda _: None)
    campaign.run(options, runner, cases=[case])
    [entry] = json.loads((tmp_path / "findings.json").read_text())
    assert entry["name"].startswith("fit/found-") and entry["first_divergent_class"] == "fit/evaluate"
    [kept] = registry.load([entry["paths"]["scenario"]])
    assert kept.fit is not None and [e.claim for e in kept.expectations][:2] == ["T1", "T2"]
    text = Path(entry["paths"]["repro"]).read_text()
    compile(text, "repro.py", "exec")
    assert "model.fit(" in text and "model.compile(" in text and "sample_weight=sample_weight" in text


def test_repro_of_a_forward_case_has_no_training() -> None:
    assert "model.fit(" not in repro.script(generator.generate(0, 3))


@pytest.mark.backend
def test_fit_cases_train_on_a_real_backend_and_the_claims_read_their_capture(torch_case_pool) -> None:
    """Fit cases of every sample-weight rank through the real torch case worker: fit/ probes captured."""
    chosen = {}
    for case in _fit_cases(200):
        chosen.setdefault((case["fit"]["loss"], case["fit"].get("sample_weight_rank")), case)
    for (loss, rank), case in sorted(chosen.items(), key=str):
        record = torch_case_pool.run(case)["torch"]
        if rank == 1:  # a (batch,) weight on a masked (batch, time) output raises (known: fit/*weight*)
            continue
        assert record.status == "ok", (case["name"], record.captured.error)
        probes = record.captured.probes
        assert "fit/evaluate/after/loss" in probes and any(k.startswith("fit/history/") for k in probes)
        results = fitmode.claim_results(case, record.captured)
        assert results and any(k.startswith("T2") for k in results)
