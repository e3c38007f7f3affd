"""The generator and grammar: every production is reachable and every generated spec is valid.

Pure numpy tests check validity by construction (the grammar's own type inference, the spec's
structure, the input arrays against the padding patterns) over many generated and mutated cases, and
the `fuzz` command's refusals of bad input. One backend test builds and runs a set of specs that
covers every production through a real case worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.__main__ import main
from harness.define import spec as specs
from harness.define.spec import SpecError
from harness.generate import coverage, generator, grammar, mutate, repro
from harness.generate.cli import FuzzInputError, parse_budget, parse_shard

ROOT = Path(__file__).resolve().parent.parent
N_CASES = 400


def _cases(n: int = N_CASES, seed: int = 0) -> list[dict]:
    return [generator.generate(seed, i) for i in range(n)]


def _covering_set(cases: list[dict]) -> tuple[list[dict], set[str]]:
    """A few cases that together use every production drawn in `cases` (greedy cover)."""
    by_case = []
    for case in cases:
        cover = coverage.Coverage()
        cover.add(case)
        by_case.append((case, set(cover.productions)))
    chosen, covered = [], set()
    while True:
        best = max(by_case, key=lambda item: len(item[1] - covered))
        if not best[1] - covered:
            return chosen, covered
        chosen.append(best[0])
        covered |= best[1]


def test_every_production_is_generated_and_every_case_type_checks() -> None:
    cover = coverage.Coverage()
    for case in _cases():
        grammar.check(case)  # raises SpecError if the generator built an invalid graph
        assert specs.loads(specs.dumps(case)) == case  # JSON round trip
        cover.add(case)
    report = cover.report()
    assert report["productions_never_drawn"] == []
    assert set(report["productions"]) == set(coverage.ALL_PRODUCTIONS)
    features = report["features"]
    for wanted in ("training mode", "shared layer", "merge of two paths", "call mask", "call initial_state",
                   "call attention_mask",
                   "call use_causal_mask", "inputs: 2", *(f"padding {p}" for p in specs.PATTERNS)):
        assert features.get(wanted, 0) > 0, wanted
    sources = {source for (_, source, _) in cover.combos}
    assert {"embedding", "masking", "explicit", "none", "custom"} <= sources


def test_generation_is_a_pure_function_of_seed_and_index() -> None:
    assert generator.generate(5, 17) == generator.generate(5, 17)
    assert generator.generate(5, 17) != generator.generate(6, 17)


def test_mutants_type_check_and_start_from_the_seed_model() -> None:
    assert mutate.STARTS[0]["name"] == "seed"
    ops = set()
    for index in range(120):
        mutant = mutate.mutant(0, index)
        grammar.check(mutant)
        ops |= {la["op"] for la in mutant["layers"]}
    assert {"GRU", "Masking", "Embedding"} <= ops
    assert len(ops) > 15  # insertions and swaps reach beyond the starting layers


@pytest.mark.parametrize("pattern, expected", [
    ("right", "110"), ("left", "011"), ("middle", "101"), ("full", "000"), ("none", "111")])
def test_padding_patterns(pattern: str, expected: str) -> None:
    assert "".join("1" if k else "0" for k in specs.row_mask(pattern, 3)) == expected


def test_inputs_hold_the_fill_or_zero_tokens_at_padded_steps() -> None:
    spec = generator.generate(0, 0)
    spec = {**spec, "inputs": [
        {"name": "x", "kind": "float", "features": 2, "rows": ["right", "left"], "fill": -1.0},
        {"name": "g", "kind": "float", "features": 2, "rows": ["right", "left"], "fill": None},
        {"name": "t", "kind": "tokens", "vocab": 5, "rows": ["middle", "none"]},
        {"name": "m", "kind": "mask", "rows": ["full", "none"]}], "batch": 2, "time": 6}
    x, g, t, m = specs.input_arrays(spec)
    keep = specs.input_mask(spec["inputs"][0], 6)
    assert np.all(x[~keep] == -1.0) and np.all(x[keep] != -1.0)
    assert np.all(g[~keep] >= 2.0) and np.all(np.abs(g[keep]) <= 1.0)  # garbage, unlike any kept value
    assert np.all((t == 0) == ~specs.input_mask(spec["inputs"][2], 6))
    assert m.dtype == bool and not m[0].any() and m[1].all()


@pytest.mark.parametrize("mutation, message", [
    (lambda s: s["layers"].append({"name": "zz", "op": "NoSuchLayer", "args": {}, "in": ["x0"]}),
     "unknown grammar entry"),
    (lambda s: s["layers"][0].update({"in": ["nowhere"]}), "names no earlier"),
    (lambda s: s.update({"batch": 0}), "'batch'"),
    (lambda s: s["inputs"][0].update({"rows": ["sideways"] * s["batch"]}), "'rows'"),
    (lambda s: s.update({"version": 9}), "version"),
    (lambda s: s["layers"].append(dict(s["layers"][0])), "duplicate"),
])
def test_validate_refuses_malformed_specs(mutation, message: str) -> None:
    spec = json.loads(json.dumps(generator.generate(0, 1)))
    mutation(spec)
    with pytest.raises(SpecError, match=message):
        grammar.check(spec)


def test_grammar_refuses_shapes_that_do_not_fit() -> None:
    spec = json.loads(json.dumps(mutate.STARTS[3]))  # Masking -> Attention -> Add
    spec["layers"][2]["in"] = ["att", "x"]
    grammar.check(spec)
    spec["layers"].insert(2, {"name": "d", "op": "Dense", "args": {"units": 5}, "in": ["att"]})
    spec["layers"][3]["in"] = ["d", "masked"]
    with pytest.raises(SpecError, match="do not fit"):
        grammar.check(spec)


def test_repro_script_is_python_and_names_every_layer() -> None:
    spec = generator.generate(0, 3)
    text = repro.script(spec)
    compile(text, "repro.py", "exec")
    for layer in spec["layers"]:
        assert f"t_{layer['name']} = " in text
    assert "import harness" not in text and "from harness" not in text


@pytest.mark.parametrize("text, parsed", [("90s", (90.0, None)), ("10m", (600.0, None)), ("1h", (3600.0, None)),
                                          ("500", (None, 500))])
def test_budget_parses(text: str, parsed: tuple) -> None:
    budget = parse_budget(text)
    assert (budget.seconds, budget.cases) == parsed


@pytest.mark.parametrize("text", ["0", "-5", "0s", "ten", "5x", ""])
def test_bad_budgets_are_refused(text: str) -> None:
    with pytest.raises(FuzzInputError):
        parse_budget(text)


def test_shards() -> None:
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "1", "a/b", "-1/2", "0/0"):
        with pytest.raises(FuzzInputError):
            parse_shard(bad)


def _fuzz(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "fuzz", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def assert_one_error_line(code: int, err: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [
    ["--budget", "0"], ["--budget", "-3m"], ["--budget", "soon"], ["--shard", "2/2"], ["--shard", "x"],
    ["--spec", "MALFORMED"], ["--spec", "UNKNOWN_OP"], ["--spec", "MISSING"], ["--out", "UNWRITABLE"],
    ["--backends", "jax"], ["--backends", "tf,cntk"], ["--backend", "cntk"], ["--versions", "3.15.1"],
    ["--versions", "3.15.1,3.15.1", "--backend", "torch"], ["--backend", "torch"],
])
def test_bad_input_is_one_error_line_and_exit_2(args: list[str], tmp_path: Path, capsys) -> None:
    """In this process, as tests/test_cli.py does (a Python start each cost 3-6 s on a loaded machine);
    the next test runs one case as a command, end to end."""
    malformed = tmp_path / "bad.json"
    malformed.write_text("{not json")
    unknown = tmp_path / "unknown.json"
    spec = generator.generate(0, 2)
    spec["layers"][-1]["op"] = "FancyLayer"
    unknown.write_text(json.dumps(spec))
    blocker = tmp_path / "file"
    blocker.write_text("")
    replace = {"MALFORMED": str(malformed), "UNKNOWN_OP": str(unknown), "MISSING": str(tmp_path / "none.json"),
               "UNWRITABLE": str(blocker / "out")}
    argv = [replace.get(a, a) for a in args] + ([] if "--out" in args else ["--out", str(tmp_path / "o")])
    before = set(sys.modules)
    code = main(["fuzz", *argv])
    assert_one_error_line(code, capsys.readouterr().err)
    assert not (set(sys.modules) - before) & {"keras", "tensorflow", "jax", "torch"}, "nor imports a backend"


def test_bad_input_as_a_command_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    result = _fuzz("--budget", "soon", "--out", str(tmp_path / "o"))
    assert_one_error_line(result.returncode, result.stderr)


@pytest.mark.backend
def test_a_covering_set_of_specs_builds_and_runs_on_torch(torch_case_pool) -> None:
    """Every production, built by keras and called, through the real case worker (torch: the quickest)."""
    chosen, covered = _covering_set(_cases(400, seed=0))
    assert covered == set(coverage.ALL_PRODUCTIONS)
    built = 0
    for case in chosen:
        record = torch_case_pool.run(case)["torch"]
        # A layer that fails when called is a backend's behaviour (a finding, e.g. torch's unrolled
        # backward LSTM with a mask); a spec the builder cannot construct is a grammar fault.
        error = record.captured.error
        assert record.status == "ok" or error.message.startswith("Exception encountered when calling"), \
            (case["name"], error)
        built += record.status == "ok"
    assert built >= len(chosen) - 2


def test_found_section_lists_found_scenarios_with_verdict_and_repro() -> None:
    from harness.report import cli as report_cli
    from harness.report.sections import found
    from tests.helpers.factories import make_probe, make_record, three_runs

    def records(shift: float) -> list:
        return [make_record("found/gru-x", {"l1": make_probe(np.array([[1.0 + shift]], np.float32))},
                            tags=["generated", "found"], description="generated: Masking > GRU"),
                make_record("rnn/plain", {"l1": make_probe(np.zeros((1, 1), np.float32))})]

    runs = three_runs(records(0.0), records(0.0), records(0.5))
    no_known = Path("/nonexistent/known.toml")
    data, _ = report_cli.build(runs, no_known)
    text = found.render(data)
    assert "## Found by generation" in text and "found/gru" in text and "rnn/plain" not in text
    assert "scenarios/found/repro/gru-x.py" in text and "differs" in text
    facts = found.facts(data)
    assert [f["name"] for f in facts] == ["found/gru-x"] and facts[0]["verdict"] == "differs"
    assert found.render(report_cli.build(three_runs(records(0.0)[1:], [], []), no_known)[0]) == ""


def test_call_mode_is_a_scenario_option_and_specs_carry_it() -> None:
    from harness.define import registry

    def build():
        return None

    registry.scenario("t10/inference", description="d")(build)
    registry.scenario("t10/training", description="d", training=True)(build)
    by_name = {s.name: s for s in registry._BY_MODULE.pop(build.__module__).values()}  # registered, then gone
    inference, training = by_name["t10/inference"], by_name["t10/training"]
    assert (inference.training, training.training) == (False, True)
    assert inference.definition_hash != registry.Scenario(**{**inference.__dict__, "training": True}).definition_hash
    spec = {**generator.generate(0, 4), "training": True, "dtype_policy": "mixed_float16"}
    from harness.run.spec_scenario import as_scenario

    scenario = as_scenario(spec)
    assert scenario.training is True and scenario.dtype_policy == "mixed_float16" and scenario.name == spec["name"]
