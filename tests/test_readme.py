"""README's generated block: it must say what the report says (issue 16: nothing that can drift)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import artifacts
from harness.__main__ import main
from harness.report import cli as report_cli
from harness.report import readme
from tests.helpers.golden import reference_runs
from tests.helpers.markdown import inline_text, links, markdown_parser, render_html

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def all_visible(src: str) -> str:
    return "\n".join(inline_text(t) for t in markdown_parser().parse(src) if t.type == "inline")


def summary_from(runs, known: Path) -> dict:
    """The summary exactly as `report --json` writes it and `readme` reads it back."""
    _, summary = report_cli.build(runs, known)
    return json.loads(json.dumps(summary, sort_keys=True))


def test_readme_block_matches_the_committed_artifacts():
    """README's block is what `harness readme` makes from a report of reports/results."""
    runs = artifacts.read_all(ROOT / "reports" / "results")
    expected = readme.block(summary_from(runs, ROOT / "scenarios" / "known_divergences.toml"))
    assert readme.current_block(README.read_text(encoding="utf-8")) == expected, \
        "README is stale: python -m harness report && python -m harness readme"


def test_readme_block_matches_the_published_summary():
    summary = json.loads((ROOT / "reports" / "summary.json").read_text(encoding="utf-8"))
    if "what_it_means" not in summary:
        pytest.skip("reports/summary.json predates the guidance facts; republish to check it")
    assert readme.current_block(README.read_text(encoding="utf-8")) == readme.block(summary)


def test_block_carries_the_reports_facts(known_file):
    summary = summary_from(reference_runs(), known_file)
    text = readme.block(summary)
    assert text.startswith(readme.BEGIN) and text.endswith(readme.END)
    assert "14 scenarios, 42 comparisons of two backends: 2 missing," in text  # severity order
    assert "10 scenarios diverge for no recorded reason." in text
    assert "Keras 3.15.1 with TensorFlow 2.21.0, JAX 0.10.2, PyTorch 2.13.0" in text
    assert "GRU kept outputs differ by 0.5 on torch (TensorFlow → PyTorch, JAX ↔ PyTorch)" in text
    assert "Upstream: <https://github.com/keras-team/keras/issues/0>" in text
    assert "| C4 | RNN layers skip masked timesteps" in text
    assert "tensorflow-cpu: holds; jax-cpu: partly; torch-cpu: partly |" in text
    assert "| `rnn/gru-known` | match 0 | known: values, max abs 0.5 | known: values, max abs 0.5 |" in text
    assert ("reports/report.md", "published report") in links(text)


def test_a_changed_summary_changes_the_block(known_file):
    """The block is a function of the summary's results: a different verdict count shows up."""
    summary = summary_from(reference_runs(), known_file)
    before = readme.block(summary)
    summary["counts"]["match"] += 1
    after = readme.block(summary)
    assert after != before


def test_run_times_and_cache_states_leave_the_block_unchanged(known_file):
    """A rerun with the same results (other wall times, cache states, dates) leaves README as it was."""
    summary = summary_from(reference_runs(), known_file)
    before = readme.block(summary)
    for env in summary["environments"].values():
        env.update(run_wall_s=999.4, time="2031-01-01T00:00:00+00:00", compilation_cache="on (9 entries)",
                   git_revision="0123abc")
    assert readme.block(summary) == before


def test_rewrite_keeps_the_rest_and_needs_markers(known_file):
    summary = summary_from(reference_runs(), known_file)
    text = f"# Title\n\nbefore\n\n{readme.BEGIN}\nOLD-TEXT\n{readme.END}\n\nafter\n"
    new = readme.rewrite(text, summary)
    assert new.startswith("# Title\n\nbefore\n\n") and new.endswith("\n\nafter\n") and "OLD-TEXT" not in new
    assert readme.rewrite(new, summary) == new
    with pytest.raises(ValueError, match="summary:begin"):
        readme.rewrite("# no markers\n", summary)


def test_readme_command(tmp_path, known_file, capsys):
    summary_path = tmp_path / "summary.json"
    summary_path.write_text(json.dumps(summary_from(reference_runs(), known_file)))
    target = tmp_path / "README.md"
    target.write_text(f"intro\n{readme.BEGIN}\n{readme.END}\n")
    args = ["readme", "--summary", str(summary_path), "--readme", str(target)]
    assert main([*args, "--check"]) == 1
    assert main(args) == 0 and "42 comparisons" in target.read_text()
    assert main([*args, "--check"]) == 0
    target.write_text("no markers\n")
    assert main(args) == 2
    assert re.search(r"^harness: error: .*summary:begin", capsys.readouterr().err, re.M)
    assert main(["readme", "--summary", str(tmp_path / "missing.json"), "--readme", str(target)]) == 2


def test_block_text_from_data_cannot_inject_markup(known_file):
    summary = summary_from(reference_runs(), known_file)
    summary["what_it_means"]["same_everywhere"] = [{"what": "<script>x</script> | [a](javascript:1)",
                                                    "workaround": "`x`", "impact": "mask"}]
    text = readme.block(summary)
    assert all(not href.startswith("javascript") for href, _ in links(text))
    assert "<script" not in render_html(text)
    assert "<script>x</script> | [a](javascript:1)" in all_visible(text)  # shown as text


def test_internal_commands_are_hidden_and_options_documented(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "_worker" not in out and "_load" not in out and "readme" in out
    import argparse

    from harness.__main__ import _parser

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("list", "run", "report", "readme"):  # the commands this project's core owns
        undocumented = [a.option_strings for a in commands.choices[name]._actions
                        if a.option_strings and not a.help]
        assert undocumented == [], name
