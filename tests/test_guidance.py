"""The report's "What this means for you": per migration path, from the registries' data."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.compare.known import KnownDivergenceError, load_known, load_surprises
from harness.report import cli as report_cli
from harness.report import render
from harness.report.sections import guidance
from tests.helpers.factories import LABELS, expectation, make_record, seed_probes, three_runs
from tests.helpers.golden import KNOWN_TOML, reference_runs
from tests.helpers.markdown import heading_anchors, links

READER = '''layer = "GRU"
situation = "with reset_after"
impact = "kept"
workaround = "use unroll=True"
minimal = "rnn/gru-known"
'''


def section(src: str, title: str) -> str:
    start = src.index(f"\n## {title}\n")
    end = src.find("\n## ", start + 1)
    return src[start:end]


def subsection(src: str, title: str) -> str:
    start = src.index(f"\n### {title}\n")
    end = src.find("\n### ", start + 1)
    return src[start: end if end != -1 else len(src)]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "known.toml"
    link = 'link = "https://github.com/keras-team/keras/issues/0"\n'
    path.write_text(KNOWN_TOML.replace(link, link + READER, 1), encoding="utf-8")
    return path


def render_with(runs, known: Path, surprises: str = "") -> tuple[str, dict]:
    if surprises:
        known.with_name("surprises.toml").write_text(surprises, encoding="utf-8")
    data, summary = report_cli.build(runs, known)
    return render.render(data), summary


def test_a_known_divergence_is_listed_under_exactly_the_paths_it_covers(registry):
    out, _ = render_with(reference_runs(), registry)
    means = section(out, "What this means for you")
    # rnn/gru-known differs on torch: both paths to or from PyTorch, not TensorFlow -> JAX
    for path in ("TensorFlow → PyTorch", "JAX ↔ PyTorch"):
        assert "**Forward values at kept steps**: GRU, with reset\\_after" in subsection(means, path)
    assert "GRU, with reset" not in subsection(means, "TensorFlow → JAX")
    detail = subsection(means, "Difference 1: forward values at kept steps")
    assert "What to do: use unroll=True." in detail
    assert "`nox -s tf jax torch -- --select rnn/gru-known`" in detail
    assert ("#rnngru-known", "rnn/gru-known") in links(detail)
    anchors = set(heading_anchors(out))
    assert all(href[1:] in anchors for href, _ in links(means) if href.startswith("#"))


def test_unexpected_divergences_are_named_per_path(registry):
    out, _ = render_with(reference_runs(), registry)
    tf_torch = subsection(section(out, "What this means for you"), "TensorFlow → PyTorch")
    assert "**Not yet understood**: 7 scenarios" in tf_torch
    assert "[rnn/gru-differs](#rnngru-differs) (differs)" in tf_torch


def test_nothing_differs_says_so(no_known):
    runs = three_runs(*([make_record("s", seed_probes())] for _ in LABELS))
    out, summary = render_with(runs, no_known)
    means = section(out, "What this means for you")
    assert means.count("Nothing differs") == 3
    assert all(p["known"] == [] and p["unexpected"] == [] for p in summary["what_it_means"]["paths"])


SURPRISE = '''
[[surprise]]
scenario = "claims/*"
expectation = "C1: *"
what = "no layer raises"
contradicts = "seed C1"
impact = "mask"
workaround = "watch the warning"
minimal = "claims/fixed"
'''


def claim_runs(passes: tuple[bool, bool, bool]) -> list:
    return three_runs(*([make_record("claims/c1", seed_probes(), expectations=[
        expectation("C1: Conv1D raises", "C1", ok, "no error raised")]),
        make_record("claims/fixed", seed_probes())] for ok in passes))


def test_a_surprise_is_shown_while_every_backend_fails_its_expectation(no_known):
    out, summary = render_with(claim_runs((False, False, False)), no_known, SURPRISE)
    shown = subsection(section(out, "What this means for you"), guidance.SURPRISES_HEADING)
    assert "- **The mask itself**: no layer raises. Contradicts: seed C1." in shown
    assert "What to do: watch the warning." in shown
    assert "Seen in [claims/c1](#claimsc1); the fix shown in [claims/fixed](#claimsfixed)" in shown
    assert summary["what_it_means"]["same_everywhere"][0]["scenarios"] == ["claims/c1"]
    # the matrix row of a scenario that shows it says so, instead of a bare "match"
    assert "[claims/c1](#claimsc1) ([same everywhere, not as documented]" in section(out, "Scenarios by backend pair")


@pytest.mark.parametrize("passes", [(True, True, True), (False, True, False)], ids=["fixed", "one-backend"])
def test_a_surprise_disappears_when_the_data_changes(no_known, passes):
    out, summary = render_with(claim_runs(passes), no_known, SURPRISE)
    shown = subsection(section(out, "What this means for you"), guidance.SURPRISES_HEADING)
    assert "None seen." in shown and "No longer seen" in shown and "no layer raises" in shown
    assert summary["what_it_means"]["same_everywhere"] == []
    assert summary["what_it_means"]["no_longer_seen"] == ["no layer raises"]
    assert "same everywhere, not as documented" not in out


def test_the_committed_surprises_load_and_name_real_scenarios():
    from harness.define import registry

    names = [s.name for s in registry.load(registry.DEFAULT_SOURCES)]
    entries = load_surprises(Path("scenarios/surprises.toml"))
    assert len(entries) >= 3
    import fnmatch

    known = load_known(Path("scenarios/known_divergences.toml"))
    globs = [e.scenario for e in entries] + [f.scenario for e in known for f in e.fingerprints]
    for glob in globs:
        assert any(fnmatch.fnmatchcase(n, glob) for n in names), glob
    for entry in entries + known:
        assert not entry.minimal or entry.minimal in names, entry.minimal
        assert all(s in names for s in entry.demonstrated_by), entry.demonstrated_by
        assert entry.impact and entry.workaround, entry.what


def test_old_registry_entries_without_reader_fields_stay_valid(known_file):
    entry = load_known(known_file)[0]
    assert (entry.impact, entry.workaround, entry.minimal) == ("", "", "")


def test_an_unknown_impact_is_refused(tmp_path):
    path = tmp_path / "known.toml"
    path.write_text('[[divergence]]\nscenario = "s"\nodd = "jax"\nprobes = "*"\nwhat = "w"\nwhy = "y"\nimpact = "speed"\n')
    with pytest.raises(KnownDivergenceError, match="impact 'speed' is not one of error, metrics, kept, masked, mask, training, warnings"):
        load_known(path)
    bad = tmp_path / "surprises.toml"
    bad.write_text('[[surprise]]\nscenario = "s"\nwhat = "w"\ncontradicts = "c"\n')
    with pytest.raises(KnownDivergenceError, match="surprise #1 lacks 'expectation'"):
        load_surprises(bad)


def test_a_malformed_surprises_file_is_a_clean_report_error(tmp_path, write_artifacts, known_file, capsys):
    from harness.__main__ import main

    (known_file.with_name("surprises.toml")).write_text("[[surprise]\n")
    results = write_artifacts(three_runs(*([make_record("s", seed_probes())] for _ in LABELS)))
    code = main(["report", "--results", str(results), "--known", str(known_file),
                 "--out", str(tmp_path / "r.md"), "--json", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("harness: error:") and "surprises.toml: not valid TOML" in err


def test_a_run_on_another_keras_release_is_no_migration_path(no_known):
    """A Keras 2 run beside the three backends: no path to it, and a surprise stays seen."""
    from tests.helpers.factories import make_artifact

    runs = claim_runs((False, False, False))
    keras2 = make_artifact("tf-keras-2.21-cpu", [make_record("claims/c1", seed_probes(shift=1.0), expectations=[
        expectation("C1: Conv1D raises", "C1", True, "raised")])], backend="tensorflow",
        keras="2.21.0", keras_flavour="tf-keras")
    out, summary = render_with([*runs, keras2], no_known, SURPRISE)
    assert [p["path"] for p in summary["what_it_means"]["paths"]] == [
        "TensorFlow → JAX", "TensorFlow → PyTorch", "JAX ↔ PyTorch"]
    assert summary["what_it_means"]["same_everywhere"][0]["scenarios"] == ["claims/c1"]
    assert "tf-keras" not in section(out, "What this means for you")


def test_scenario_sections_say_what_the_reader_should_know_first(registry, no_known):
    out, _ = render_with(claim_runs((False, False, False)), no_known, SURPRISE)
    c1 = subsection(section(out, "Scenarios"), "claims/c1")
    assert "The same on every backend, but not as documented: no layer raises" in c1
    assert "not as documented" not in subsection(section(out, "Scenarios"), "claims/fixed")
    out, _ = render_with(reference_runs(), registry)
    known = subsection(section(out, "Scenarios"), "rnn/gru-known")
    assert known.count("Known divergence: GRU kept outputs differ by 0.5 on torch ([cause](#known-divergences)).") == 1
