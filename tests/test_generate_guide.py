"""Coverage-guided generation (guide.py), shard merging by cause (shards.py) and findings' feature tags.

numpy only: coverage depends on the generated specs alone, so guidance is tested without a backend.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.generate import campaign, causes, coverage, findings, fitmode, generator, grammar, guide, shards

ROOT = Path(__file__).resolve().parent.parent


def _exercised(spec: dict) -> set:
    cover = coverage.Coverage()
    cover.add(spec)
    return cover.exercised()


def _campaign_coverage(seed: int, n: int, guided: bool) -> float:
    options = campaign.Options(out=Path("."), budget=campaign.Budget(cases=n), seed=seed, guided=guided)
    cover = coverage.Coverage()
    for index in range(n):
        cover.add(campaign.case_at(options, index, cover))
    return len(cover.exercised()) / len(coverage.reachable_combos())


@pytest.mark.parametrize("seed", [0, 1])
def test_guided_cases_cover_more_than_as_many_random_cases(seed: int) -> None:
    """Guidance steers: the same number of cases of the same seed exercise clearly more combinations
    (with the guided share drawn at random instead, the two are equal)."""
    unguided, guided = _campaign_coverage(seed, 150, False), _campaign_coverage(seed, 150, True)
    assert guided >= unguided + 0.15, (guided, unguided)


def test_every_combination_aimed_at_is_in_the_case() -> None:
    cover = coverage.Coverage()
    for index in range(60):  # a campaign's worth of guided cases, each aimed at what is left
        uncovered = cover.uncovered()
        spec, targets = guide.generate(3, index, uncovered)
        assert 1 <= len(targets) <= guide.MAX_TARGETS
        if spec["time"] > 1:  # at one step some layers cannot be built, and are left out
            assert len(targets) == min(guide.MAX_TARGETS, len(uncovered))
        assert set(targets) <= set(uncovered)  # aimed only at what was not exercised yet
        missed = set(targets) - _exercised(spec)
        assert not missed, (index, missed)
        cover.add(spec)


def test_every_reachable_combination_can_be_aimed_at() -> None:
    """coverage.reachable() is honest: each combination it counts, aimed at alone, is built."""
    missed = []
    for i, combo in enumerate(sorted(coverage.reachable_combos())):
        spec, targets = guide.generate(0, 10 * i + 4, [combo])  # a regular guided case: six steps
        assert targets == [combo]
        if combo not in _exercised(spec):
            missed.append(combo)
    assert missed == []


def test_guided_generation_is_reproducible_and_leaves_the_other_shares_random() -> None:
    options = campaign.Options(out=Path("."), budget=campaign.Budget(cases=20), seed=4)

    def run() -> list[dict]:
        cover, specs = coverage.Coverage(), []
        for index in range(20):
            specs.append(campaign.case_at(options, index, cover))
            cover.add(specs[-1])
        return specs

    first = run()
    assert first == run()
    for index, spec in enumerate(first):
        if not guide.guided(index):  # boundary, fit and random cases are what they were
            assert spec == generator.generate(4, index)
        else:
            assert spec != generator.generate(4, index)
    assert [i for i in range(10) if not guide.guided(i)] == [3, 9]  # the random case and the fit case


def test_boundary_cases_stay_boundary_cases_aimed_at_boundary_forms() -> None:
    """The boundary share (index % 10 < 3) keeps its extreme sizes, and aims at boundary forms first."""
    cover, sizes = coverage.Coverage(), []
    for index in range(200):
        uncovered = cover.uncovered()
        spec, targets = guide.generate(5, index, uncovered)
        if index % 10 < 3:
            if any(c[3] == "boundary" for c in uncovered):  # boundary forms first, while some are left
                assert targets and all(c[3] == "boundary" for c in targets)
            sizes.append((spec["time"], spec["batch"], all(r == "full" for e in spec["inputs"] for r in e["rows"])))
        assert set(targets) <= _exercised(spec)
        cover.add(spec)
    times, batches, full = zip(*sizes)
    assert 0.3 < times.count(1) / len(sizes) < 0.7 and 0.1 < batches.count(1) / len(sizes) < 0.5 and any(full)


def test_shards_aim_first_at_their_own_part() -> None:
    uncovered = sorted(coverage.reachable_combos())
    order = {c: i for i, c in enumerate(uncovered)}
    for shard in range(3):
        _, targets = guide.generate(0, 4, uncovered, shard=(shard, 3))
        assert all(order[c] % 3 == shard for c in targets)


def test_with_nothing_left_a_guided_case_is_random() -> None:
    spec, targets = guide.generate(0, 4, [])
    assert targets == [] and spec == generator.generate(0, 4)


def test_boundary_targets_take_the_boundary_value_and_regular_ones_do_not() -> None:
    combos = [("Cropping1D(seq)", "embedding", "right", "boundary"), ("Cropping1D(seq)", "masking", "left", "regular")]
    spec, _ = guide.generate(0, 4, combos, max_targets=2)
    croppings = sorted(tuple(la["args"]["cropping"]) for la in spec["layers"] if la["op"] == "Cropping1D")
    assert croppings[0] == (0, 0) and croppings[1] != (0, 0)


# ---- findings' features ------------------------------------------------------------------------------

CROPPED = {"version": 1, "name": "fuzz/s0-1", "seed": 1, "batch": 1, "time": 2, "dtype_policy": None,
           "training": False, "inputs": [{"name": "x0", "kind": "tokens", "vocab": 5, "rows": ["right"]}],
           "layers": [{"name": "l0", "op": "Embedding", "args": {"input_dim": 5, "output_dim": 2, "mask_zero": True},
                       "in": ["x0"]},
                      {"name": "l1", "op": "Cropping1D", "args": {"cropping": [0, 0]}, "in": ["l0"]},
                      {"name": "l2", "op": "Bidirectional", "in": ["l1"],
                       "args": {"layer": {"op": "GRU", "args": {"units": 1, "return_sequences": True}}}}],
           "outputs": ["l2"]}


def test_features_name_family_sources_boundary_forms_mode_and_versions() -> None:
    grammar.check(CROPPED)
    features = causes.features(CROPPED, "Cropping1D", ["3.15.1"])
    assert features == {"family": "reshaping", "mask_sources": ["embedding"],
                        "boundary": ["Cropping1D(cropping=[0, 0])", "Bidirectional(units=1)"], "mode": "forward",
                        "training": False, "dtype_policy": "float32", "keras": ["3.15.1"]}
    fit = {**fitmode.draw(np.random.default_rng(0), 2), "loss": "mse", "optimizer": "Adam", "on_batch": False,
           "sample_weight_rank": 2}  # the head's units: Bidirectional concat of 1 + 1
    fit.pop("class_weight", None)
    assert causes.features({**CROPPED, "fit": fit}, "fit/history")["mode"] == "fit:Adam+sample-weight-rank-2"
    tags = causes.tags(features)
    assert tags == ["family:reshaping", "source:embedding", "boundary:Cropping1D", "boundary:Bidirectional",
                    "mode:forward", "keras:3.15.1"]
    verdict = findings.Verdict("mask-differs", "tensorflow-vs-jax|mask-differs|Cropping1D", ("tensorflow-vs-jax",),
                               "l1", "Cropping1D", cause="jax|mask-differs|reshaping|identity")
    source = findings.scenario_source(CROPPED, verdict, 3, "scenarios/found/repro/x.py", tags)
    assert "'source:embedding'" in source and "'boundary:Cropping1D'" in source


# ---- shards merged by cause --------------------------------------------------------------------------

def _entry(cause: str, signature: str, layers: int, name: str) -> dict:
    return {"name": name, "cause": cause, "signature": signature, "layer_classes": ["Embedding", "Permute"],
            "size_before": {"layers": 6}, "size_after": {"layers": layers}, "features": {"family": "reshaping"}}


def _shard(folder: Path, entries: list[dict], causes_hit: dict, not_exercised: list[str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "findings.json").write_text(json.dumps(entries))
    (folder / "campaign.json").write_text(json.dumps({
        "cases": 10, "wall_s": 60.0, "verdicts": {"match": 9, "finding": 1}, "signatures": {},
        "causes": causes_hit,
        "coverage": {"reach": {"reachable": 4, "not_exercised": not_exercised, "unreachable": {"x": "why"}}}}))
    return folder


def _two_shards(tmp_path: Path) -> list[Path]:
    jax = "jax|mask-differs|reshaping|identity"
    a = _shard(tmp_path / "shard-0", [_entry(jax, "tensorflow-vs-jax|mask-differs|Permute", 3, "found/a")],
               {jax: {"cases": 2, "signatures": ["tensorflow-vs-jax|mask-differs|Permute"], "finding": "found/a"},
                "torch|error-differs|error(torch:AttributeError)|-": {"cases": 4, "signatures": ["s"],
                                                                       "kept": "found/k", "known": "torch-flip"}},
               ["A", "B", "C"])
    b = _shard(tmp_path / "shard-1", [_entry(jax, "tensorflow-vs-jax|mask-differs|Cropping1D", 2, "found/b"),
                                      _entry("torch|differs|rnn|-", "jax-vs-torch|differs|GRU", 1, "found/c")],
               {jax: {"cases": 3, "signatures": ["tensorflow-vs-jax|mask-differs|Cropping1D"], "finding": "found/b"},
                "torch|differs|rnn|-": {"cases": 1, "signatures": [], "finding": "found/c"},
                "torch|error-differs|error(torch:AttributeError)|-": {"cases": 1, "signatures": ["s"],
                                                                       "kept": "found/k", "known": "torch-flip"}},
               ["B", "C", "D"])
    return [a, b]


def test_the_same_cause_from_two_shards_is_one_finding_counted_in_both(tmp_path: Path) -> None:
    merged = shards.merge(_two_shards(tmp_path))
    by_cause = {e["cause"]: e for e in merged["findings"]}
    assert len(merged["findings"]) == 2
    jax = by_cause["jax|mask-differs|reshaping|identity"]
    assert jax["shards"] == ["shard-0", "shard-1"] and jax["cases"] == 5
    assert jax["name"] == "found/b"  # the smaller shrunk case stands for the cause
    assert jax["signatures"] == ["tensorflow-vs-jax|mask-differs|Cropping1D", "tensorflow-vs-jax|mask-differs|Permute"]
    assert by_cause["torch|differs|rnn|-"]["shards"] == ["shard-1"]
    kept = merged["campaign"]["causes"]["torch|error-differs|error(torch:AttributeError)|-"]
    assert kept["cases"] == 5 and kept["kept"] == "found/k" and kept["shards"] == ["shard-0", "shard-1"]
    reach = merged["campaign"]["coverage"]["reach"]
    assert reach["not_exercised"] == ["B", "C"] and reach["exercised"] == 2 and merged["campaign"]["cases"] == 20


def test_fuzz_merge_command_writes_the_merge_and_refuses_a_missing_shard(tmp_path: Path) -> None:
    folders = _two_shards(tmp_path)
    summary = tmp_path / "summary.md"
    result = subprocess.run([sys.executable, "-m", "harness", "fuzz-merge", *map(str, folders), "--out",
                             str(tmp_path), "--summary", str(summary)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(json.loads((tmp_path / "findings.json").read_text())) == 2
    text = summary.read_text()
    assert text.startswith("2 finding(s) by cause over 2 shard(s), 20 cases; coverage 2 of 4")
    assert "5 case(s) in shard-0, shard-1" in text and "counted against found/k (known: torch-flip)" in text
    bad = subprocess.run([sys.executable, "-m", "harness", "fuzz-merge", str(tmp_path / "nope"), "--out",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_the_workflow_merges_with_fuzz_merge() -> None:
    text = (ROOT / ".github" / "workflows" / "fuzz.yml").read_text()
    assert "python -m harness fuzz-merge fuzz-out/shard-* --out fuzz-out" in text
    assert 'merged.setdefault(entry["signature"]' not in text



@pytest.mark.parametrize("files", [{}, {"findings.json": "[{}]"}, {"findings.json": "[1]"},
                                   {"findings.json": '{"a": 1}'}, {"campaign.json": "[1, 2]"},
                                   {"campaign.json": '{"causes": [1]}'}, {"findings.json": "{not json"}],
                         ids=["empty-folder", "entry-without-signature", "entry-not-an-object",
                              "findings-not-a-list", "campaign-not-an-object", "causes-not-an-object",
                              "not-json"])
def test_fuzz_merge_refuses_a_folder_that_is_not_a_shard_in_one_line(tmp_path: Path, capsys, files) -> None:
    shard = tmp_path / "shard-0"
    shard.mkdir()
    for name, text in files.items():
        (shard / name).write_text(text)
    from harness.__main__ import main
    assert main(["fuzz-merge", str(shard), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: error: ") and "Traceback" not in err
    assert not (tmp_path / "out" / "findings.json").exists(), "nothing is written for a refused merge"
