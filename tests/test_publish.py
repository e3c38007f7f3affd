"""The report command end to end on synthetic artifacts: files, summary.json, exit codes, baselines."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.__main__ import main
from harness.compare import verdicts
from harness.compare.baseline import baseline_changes
from harness.compare.known import load_known
from harness.report import cli as report_cli
from harness.report import render, site
from tests.helpers.factories import JAX, LABELS, TF, TORCH, make_probe, make_record, seed_probes, three_runs
from tests.helpers.golden import reference_runs
from tests.helpers.markdown import links, rendered_tables, table_problems

ROOT = Path(__file__).resolve().parents[1]


def run_report(tmp_path: Path, results: Path, *extra: str, known: Path | None = None) -> tuple[int, Path, Path]:
    out, summary = tmp_path / "out" / "report.md", tmp_path / "out" / "summary.json"
    if known is None:  # an empty registry: no known divergences (a missing --known file is an error)
        known = tmp_path / "no-known.toml"
        known.write_text("")
    code = main(["report", "--results", str(results), "--out", str(out), "--json", str(summary),
                 "--known", str(known), *extra])
    return code, out, summary


def matching_runs():
    return three_runs(*([make_record("seed/a", seed_probes())] for _ in LABELS))


def diverging_runs():
    return three_runs([make_record("seed/a", seed_probes())], [make_record("seed/a", seed_probes())],
                      [make_record("seed/a", seed_probes(shift=0.5))])


def assert_one_clean_error_line(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("harness: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]
    return lines[0]


# ---- success ------------------------------------------------------------------------------------------

def test_report_writes_markdown_summary_and_figure(tmp_path, write_artifacts, known_file, capsys):
    results = write_artifacts(reference_runs())
    code, out, summary_path = run_report(tmp_path, results, known=known_file)
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Keras mask harness report\n")
    assert table_problems(text) == []
    # the first page, and one page and one SVG heatmap per family beside it (tests/test_site.py)
    assert (out.parent / "families" / "rnn.svg").read_text().startswith("<svg")
    assert "marked](rnn.svg)" in (out.parent / "families" / "rnn.md").read_text()
    stdout = capsys.readouterr().out
    assert "report: 3 runs, 14 scenarios, 10 with unexpected divergences" in stdout
    assert json.loads(summary_path.read_text())["backends"] == [TF, JAX, TORCH]


def test_summary_json_contract(tmp_path, write_artifacts, known_file):
    runs = reference_runs()
    code, _, summary_path = run_report(tmp_path, write_artifacts(runs), known=known_file)
    assert code == 0
    summary = json.loads(summary_path.read_text())
    assert {"backends", "scenarios", "counts", "claims"} <= set(summary)
    comparison = verdicts.compare(runs, load_known(known_file))
    assert summary["backends"] == [TF, JAX, TORCH]
    assert summary["counts"] == verdicts.counts(comparison)
    assert [s["name"] for s in summary["scenarios"]] == comparison.scenarios
    for entry in summary["scenarios"]:
        assert set(entry["pairs"]) == {f"{TF}-vs-{JAX}", f"{TF}-vs-{TORCH}", f"{JAX}-vs-{TORCH}"}
        for key, pair in entry["pairs"].items():
            a, b = key.split("-vs-")
            expected = comparison.get(entry["name"], a, b)
            assert pair["verdict"] == expected.verdict
            compared = any(p.kept.n_total or p.masked.n_total for p in expected.probes)
            if compared and math.isfinite(expected.max_abs):
                assert pair["max_abs_diff"] == pytest.approx(expected.max_abs)
            else:  # never compared (shape, dtype, error) or NaN/Inf against a number: no number
                assert pair["max_abs_diff"] is None
    by_name = {s["name"]: s for s in summary["scenarios"]}
    # 0.5 apart at values of 3.1 and 2.6: 0.5 / (1e-6 + 1e-5 * 3.1) = 15625 float32 tolerances
    assert by_name["rnn/gru-differs"]["pairs"][f"{TF}-vs-{TORCH}"] == {
        "verdict": "differs", "raw_verdict": "differs", "max_abs_diff": 0.5, "differing_max_abs": 0.5,
        "detail": "first at gru_1", "nonfinite": False, "cell": "**differs**, max abs 0.5",
        "tolerances_apart": pytest.approx(0.5 / (1e-6 + 1e-5 * 3.1))}
    known = by_name["rnn/gru-known"]["pairs"][f"{JAX}-vs-{TORCH}"]
    assert (known["verdict"], known["raw_verdict"], known["known"], known["cell"]) == (
        "known", "differs", ["torch-gru-kernel"], "known: values, max abs 0.5")
    mask = by_name["merge/mask-differs"]["pairs"][f"{TF}-vs-{TORCH}"]
    assert (mask["raw_verdict"], mask["differing_max_abs"]) == ("mask-differs", 0.0)
    assert by_name["rnn/raises-everywhere"]["pairs"][f"{TF}-vs-{JAX}"]["tolerances_apart"] is None
    paths = {p["path"]: p for p in summary["what_it_means"]["paths"]}
    assert list(paths) == ["TensorFlow → JAX", "TensorFlow → PyTorch", "JAX ↔ PyTorch"]
    assert [k["what"] for k in paths["JAX ↔ PyTorch"]["known"]] == ["GRU kept outputs differ by 0.5 on torch"]
    assert paths["TensorFlow → JAX"]["known"] == []
    assert {"scenario": "rnn/gru-differs", "verdict": "differs"} in paths["TensorFlow → PyTorch"]["unexpected"]
    assert [c["id"] for c in summary["claims"]] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    c4 = summary["claims"][3]
    assert c4["verdicts"] == {TF: "holds", JAX: "partly", TORCH: "partly"}
    assert c4["evidence"][JAX] == "rnn/masked-only, masked output is zero: 0.25 at step 0"
    assert "gone/jax" in summary["findings"] and "rnn/gru-known" not in summary["findings"]
    assert summary["stale_known"] == [{"id": "removed", "scenarios": "removed/*", "why": "its scenarios were not run"}]
    assert summary["compiled"][TF] == {"seed/masking-concat": "match"}
    assert "baseline_changes" not in summary


def test_cli_report_equals_the_in_memory_report(tmp_path, write_artifacts, known_file):
    runs = reference_runs()
    _, out, summary_path = run_report(tmp_path, write_artifacts(runs), known=known_file)
    data, summary = report_cli.build(runs, known_file, results_dir=str(tmp_path / "results"))
    for rel, text in site.build(data).items():
        assert (out.parent / rel).read_text(encoding="utf-8") == text
    assert json.loads(summary_path.read_text()) == json.loads(json.dumps(summary))


def test_report_is_byte_identical_on_a_rerun(tmp_path, write_artifacts, known_file):
    results = write_artifacts(reference_runs())
    _, out, summary_path = run_report(tmp_path, results, known=known_file)
    files = sorted(p for p in out.parent.rglob("*") if p.is_file())
    first = [p.read_bytes() for p in files]
    _, out, summary_path = run_report(tmp_path, results, known=known_file)
    assert sorted(p for p in out.parent.rglob("*") if p.is_file()) == files
    assert [p.read_bytes() for p in files] == first


def test_report_never_imports_a_backend(tmp_path, write_artifacts):
    results = write_artifacts(diverging_runs())
    (tmp_path / "none.toml").write_text("")
    script = (
        "import sys\n"
        "from harness.__main__ import main\n"
        f"code = main(['report', '--results', {str(results)!r}, '--out', {str(tmp_path / 'r.md')!r},"
        f" '--json', {str(tmp_path / 's.json')!r}, '--known', {str(tmp_path / 'none.toml')!r}])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'jax', 'torch'})\n"
        "print(code, loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"


# ---- exit codes -----------------------------------------------------------------------------------------

def test_divergence_without_strict_exits_0(tmp_path, write_artifacts):
    assert run_report(tmp_path, write_artifacts(diverging_runs()))[0] == 0


def test_strict_with_an_unexpected_divergence_exits_1(tmp_path, write_artifacts):
    code, out, summary = run_report(tmp_path, write_artifacts(diverging_runs()), "--strict")
    assert code == 1
    assert out.is_file() and summary.is_file()  # the report is still written


def test_strict_with_everything_matching_exits_0(tmp_path, write_artifacts):
    assert run_report(tmp_path, write_artifacts(matching_runs()), "--strict")[0] == 0


def test_strict_with_only_known_divergences_exits_0(tmp_path, write_artifacts):
    known = tmp_path / "known.toml"
    known.write_text('[[divergence]]\nscenario = "seed/a"\nodd = "torch"\nprobes = "*"\nwhat = "w"\nwhy = "y"\n')
    assert run_report(tmp_path, write_artifacts(diverging_runs()), "--strict", known=known)[0] == 0


def test_strict_counts_both_error_as_expected(tmp_path, write_artifacts):
    runs = three_runs(*([make_record("s", error=("ValueError", "same everywhere"))] for _ in LABELS))
    assert run_report(tmp_path, write_artifacts(runs), "--strict")[0] == 0


@pytest.mark.parametrize("where", ["empty", "absent"])
def test_no_artifacts_exits_2(tmp_path, capsys, where):
    results = tmp_path / "results"
    if where == "empty":
        results.mkdir()
    code, out, _ = run_report(tmp_path, results)
    assert code == 2
    assert not out.exists()
    assert_one_clean_error_line(capsys, "no artifacts", str(results))


def test_corrupt_artifact_exits_2(tmp_path, write_artifacts, capsys):
    results = write_artifacts(matching_runs())
    (results / f"{JAX}.json").write_text('{"schema_version": 1, "label": ')
    assert run_report(tmp_path, results)[0] == 2
    assert_one_clean_error_line(capsys, f"{JAX}.json")


def test_wrong_schema_exits_2(tmp_path, write_artifacts, capsys):
    results = write_artifacts(matching_runs())
    path = results / f"{TF}.json"
    manifest = json.loads(path.read_text())
    manifest["schema_version"] = 999
    path.write_text(json.dumps(manifest))
    assert run_report(tmp_path, results)[0] == 2
    assert_one_clean_error_line(capsys, "schema_version", f"{TF}.json")


def test_malformed_known_registry_exits_2(tmp_path, write_artifacts, capsys):
    known = tmp_path / "known.toml"
    known.write_text("[[divergence]\n")
    assert run_report(tmp_path, write_artifacts(matching_runs()), known=known)[0] == 2
    assert_one_clean_error_line(capsys, "known.toml", "not valid TOML")


def test_two_artifacts_with_one_label_exit_2(tmp_path, write_artifacts, capsys):
    results = write_artifacts(matching_runs())
    shutil.copy(results / f"{JAX}.json", results / "jax-copy.json")
    shutil.copy(results / f"{JAX}.npz", results / "jax-copy.npz")
    assert run_report(tmp_path, results)[0] == 2
    assert_one_clean_error_line(capsys, "share a run label")


def test_unknown_option_exits_2(tmp_path, capsys):
    assert main(["report", "--no-such-flag"]) == 2
    assert_one_clean_error_line(capsys, "--no-such-flag")


def test_empty_baseline_folder_exits_2(tmp_path, write_artifacts, capsys):
    results = write_artifacts(matching_runs())
    (tmp_path / "baseline").mkdir()
    assert run_report(tmp_path, results, "--baseline", str(tmp_path / "baseline"))[0] == 2
    assert_one_clean_error_line(capsys, "no artifacts")


def test_baseline_with_two_artifacts_of_one_label_exits_2(tmp_path, write_artifacts, capsys):
    results = write_artifacts(matching_runs())
    baseline = write_artifacts(matching_runs(), "baseline")
    shutil.copy(baseline / f"{JAX}.json", baseline / "jax-copy.json")
    shutil.copy(baseline / f"{JAX}.npz", baseline / "jax-copy.npz")
    assert run_report(tmp_path, results, "--baseline", str(baseline))[0] == 2
    assert_one_clean_error_line(capsys, "share a run label")


# ---- baseline ------------------------------------------------------------------------------------------

EXPECTED_CHANGES = [
    {"scenario": "rnn/gru-differs", "pair": f"{TF}-vs-{TORCH}", "before": "match", "after": "differs"},
    {"scenario": "rnn/gru-differs", "pair": f"{JAX}-vs-{TORCH}", "before": "match", "after": "differs"},
    {"scenario": "seed/masking-concat", "pair": f"{TF}-vs-{TORCH}", "before": "differs", "after": "match"},
    {"scenario": "seed/masking-concat", "pair": f"{JAX}-vs-{TORCH}", "before": "differs", "after": "match"},
]


def test_baseline_build_lists_exactly_the_changes(known_file):
    data, summary = report_cli.build(reference_runs(), known_file, baseline_runs=reference_runs(baseline=True),
                                  baseline_name="old")
    assert summary["baseline_changes"] == EXPECTED_CHANGES
    assert data.claim_changes == [("C4", TORCH, "holds", "partly")]
    text = render.render(data)
    changed = text[text.index("## Changed since baseline"):text.index("## Scenarios by backend pair")]
    assert "Baseline: `old`." in changed
    assert "**New divergences:** 2" in changed and "**Fixed divergences:** 2" in changed
    assert "**Changed claim verdicts:** 1" in changed
    new, fixed, claim = rendered_tables(changed)
    # pairs shown as in every other table of the report, in backend order
    assert new[1:] == [["rnn/gru-differs", "tensorflow vs torch", "match", "differs"],
                       ["rnn/gru-differs", "jax vs torch", "match", "differs"]]
    assert fixed[1:] == [["seed/masking-concat", "tensorflow vs torch", "differs", "match"],
                         ["seed/masking-concat", "jax vs torch", "differs", "match"]]
    assert claim == [["claim", "run", "before", "now"], ["C4", TORCH, "holds", "partly"]]


def test_baseline_identical_to_current_changes_nothing(known_file):
    data, summary = report_cli.build(reference_runs(), known_file, baseline_runs=reference_runs(),
                                  baseline_name="same")
    assert summary["baseline_changes"] == [] and data.claim_changes == []
    text = render.render(data)
    assert "**New divergences:** 0" in text and "**Fixed divergences:** 0" in text
    assert "**Changed claim verdicts:** 0" in text


def test_baseline_change_from_one_divergence_to_another_is_listed():
    before = diverging_runs()
    mask = seed_probes()["gru_1"].mask.copy()
    mask[0, 0] = True
    after_probes = seed_probes()
    after_probes["gru_1"] = make_probe(after_probes["gru_1"].values, mask)
    after = three_runs([make_record("seed/a", seed_probes())], [make_record("seed/a", seed_probes())],
                       [make_record("seed/a", after_probes)])
    changes = baseline_changes(verdicts.compare(before), verdicts.compare(after))
    assert [(c.pair, c.before, c.after) for c in changes] == [
        (f"{TF}-vs-{TORCH}", "differs", "mask-differs"), (f"{JAX}-vs-{TORCH}", "differs", "mask-differs")]


def test_baseline_scenario_new_since_baseline():
    before = matching_runs()
    after = three_runs(*([make_record("seed/a", seed_probes()), make_record("new/b", seed_probes(),
                                                                            error=("E", "x") if label == TF
                                                                            else None)]
                         for label in LABELS))
    changes = baseline_changes(verdicts.compare(before), verdicts.compare(after))
    assert [(c.scenario, c.pair, c.before, c.after) for c in changes] == [
        ("new/b", f"{TF}-vs-{JAX}", "absent", "error-differs"),
        ("new/b", f"{TF}-vs-{TORCH}", "absent", "error-differs")]


def test_baseline_through_the_cli(tmp_path, write_artifacts, known_file):
    results = write_artifacts(reference_runs())
    baseline = write_artifacts(reference_runs(baseline=True), "baseline")
    code, out, summary_path = run_report(tmp_path, results, "--baseline", str(baseline), known=known_file)
    assert code == 0
    summary = json.loads(summary_path.read_text())
    assert summary["baseline_changes"] == EXPECTED_CHANGES
    text = out.read_text(encoding="utf-8")
    assert f"Baseline: `{baseline}`." in text
    assert table_problems(text) == []


def test_summary_carries_the_changed_claim_verdicts(known_file):
    _, summary = report_cli.build(reference_runs(), known_file, baseline_runs=reference_runs(baseline=True),
                               baseline_name="old")
    changes = summary.get("claim_changes") or summary.get("baseline_claim_changes")
    assert changes, sorted(summary)
    flat = json.dumps(changes)
    assert "C4" in flat and TORCH in flat and "holds" in flat and "partly" in flat


def test_baseline_runs_without_a_name_still_show_the_changes(known_file):
    data, summary = report_cli.build(reference_runs(), known_file, baseline_runs=reference_runs(baseline=True))
    assert summary.get("baseline_changes") == EXPECTED_CHANGES
    assert "## Changed since baseline" in render.render(data)


# ---- numbers in summary.json --------------------------------------------------------------------------

def test_nan_against_a_number_is_not_a_zero_difference_in_the_summary(no_known):
    def rec(values):
        return make_record("s", {"x": make_probe(np.array(values, np.float32))})
    runs = three_runs([rec([np.nan, 1.0])], [rec([np.nan, 1.0])], [rec([0.5, 1.0])])
    _, summary = report_cli.build(runs, no_known)
    pair = summary["scenarios"][0]["pairs"][f"{TF}-vs-{TORCH}"]
    assert pair["verdict"] == "differs"
    assert pair["max_abs_diff"] is None  # not finite, as facts._finite intends


def test_read_back_artifacts_compare_like_the_in_memory_ones(tmp_path, write_artifacts):
    runs = reference_runs()
    read = artifacts.read_all(write_artifacts(runs))
    one, two = verdicts.compare(runs), verdicts.compare(read)
    assert {k: (p.verdict, p.max_abs) for k, p in one.results.items()} == \
        {k: (p.verdict, p.max_abs) for k, p in two.results.items()}


def test_report_links_resolve_in_the_cli_output(tmp_path, write_artifacts, known_file):
    _, out, _ = run_report(tmp_path, write_artifacts(reference_runs()), known=known_file)
    text = out.read_text(encoding="utf-8")
    external = sorted({href for href, _ in links(text) if href.startswith("https://")})
    assert external == ["https://github.com/keras-team/keras/issues/0"]
    from test_site import resolve, site_pages  # every link between the site's pages, GitHub's way

    checked, problems = resolve(out.parent, site_pages(out.parent))
    assert problems == [] and checked > 50
