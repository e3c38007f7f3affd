"""`python -m harness upstream`: drafts built from data and a captured run, the 'no longer shows' check,
bad input as one error line, and the committed drafts staying what the data and runs produce.

The repro scripts here are plain Python (no keras import); the environment probe reads package metadata
of the interpreter running the tests, which has keras installed.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from harness.__main__ import main
from harness.upstream import drafts, evidence, render

ROOT = Path(__file__).resolve().parent.parent
ENV = f"jax={sys.executable}"

CAUSE = """
[[cause]]
id = "demo-cause"
title = "Demo: a layer prints the wrong thing"
kind = "known"
covers = ["demo/*"]
status = "not filed"
summary = "the demo differs"
problem = "The demo layer prints the wrong thing."
expected = "{expected}"
expected_why = "The documentation says so."
cause = "A line in the demo."
fix = "Print the right thing."
quotes = [{{ file = "__init__.py", anchor = "{anchor}", lines = 1 }}]
"""


def _write_case(tmp_path: Path, script: str, expected: str = "right", anchor: str = "keras") -> tuple[Path, Path]:
    data = tmp_path / "upstream.toml"
    data.write_text(CAUSE.format(expected=expected, anchor=anchor))
    repros = tmp_path / "repros"
    (repros / "demo-cause").mkdir(parents=True)
    (repros / "demo-cause" / "repro.py").write_text(textwrap.dedent(script))
    return data, repros


def _run(tmp_path: Path, data: Path, repros: Path, *extra: str) -> int:
    return main(["upstream", "--data", str(data), "--repros", str(repros), "--out", str(tmp_path / "out"),
                 "--env", ENV, *extra])


def test_draft_is_built_from_the_data_and_a_captured_run(tmp_path, capsys):
    token = uuid.uuid4().hex  # printed by the script at run time: only a real run can put it in the draft
    data, repros = _write_case(tmp_path, f"""
        import os
        print("value seen:", "{token}", os.environ["KERAS_BACKEND"])
        print("RESULT: wrong")
        """)
    assert _run(tmp_path, data, repros) == 0
    draft = (tmp_path / "out" / "demo-cause" / "README.md").read_text()
    assert f"value seen: {token} jax" in draft  # the captured stdout, with the backend the runner set
    assert "# Demo: a layer prints the wrong thing" in draft
    assert "`RESULT: right`" in draft and "(shows the difference)" in draft
    from importlib.metadata import version
    keras_version = version("keras")
    assert f"keras {keras_version}" in draft  # the environment table comes from the interpreter's probe
    assert "Lines 1-1 in Keras" in draft  # the quote was found in the installed keras/src
    assert "{" not in draft.split("**Standalone code")[0]  # no template field left unfilled above the script
    runs = json.loads((tmp_path / "out" / "demo-cause" / "runs.json").read_text())
    assert runs["runs"][0]["result"] == "wrong" and runs["runs"][0]["env"]["backend"] == "jax"
    index = (tmp_path / "out" / "README.md").read_text()
    assert "[Demo: a layer prints the wrong thing](demo-cause/README.md)" in index and "shows it under jax" in index
    assert "upstream: demo-cause: shows" in capsys.readouterr().out


THREE = [f"{b}={sys.executable}" for b in ("tensorflow", "jax", "torch")]


def _run_in(tmp_path: Path, data: Path, repros: Path, envs: list[str], *extra: str) -> int:
    return main(["upstream", "--data", str(data), "--repros", str(repros), "--out", str(tmp_path / "out"),
                 *[a for e in envs for a in ("--env", e)], *extra])


def test_a_repro_that_no_longer_shows_the_difference_makes_the_draft_say_so(tmp_path, capsys):
    data, repros = _write_case(tmp_path, 'print("RESULT: right")\n')
    assert _run_in(tmp_path, data, repros, THREE) == 0  # all three backends ran: only then "no longer shows"
    draft = (tmp_path / "out" / "demo-cause" / "README.md").read_text()
    assert "This repro no longer shows the difference" in draft
    assert "no longer shows" in (tmp_path / "out" / "README.md").read_text()
    assert "upstream: demo-cause: no longer shows" in capsys.readouterr().out


@pytest.mark.parametrize("envs,missing", [(THREE[:1], "jax, torch"), (THREE[1:], "tensorflow")])
def test_expected_lines_from_fewer_than_three_backends_do_not_say_no_longer_shows(tmp_path, capsys, envs, missing):
    """A cross-backend cause shows on the backend that differs; when that one did not run, the expected
    lines of the others say nothing about it."""
    data, repros = _write_case(tmp_path, 'print("RESULT: right")\n')
    assert _run_in(tmp_path, data, repros, envs) == 0
    draft = (tmp_path / "out" / "demo-cause" / "README.md").read_text()
    index = (tmp_path / "out" / "README.md").read_text()
    assert "no longer shows" not in draft and "no longer shows" not in index
    assert f"but none ran on {missing}" in draft and f"not shown where run \\(not run on {missing}\\)" in index
    assert f"upstream: demo-cause: not shown where run (not run on {missing})" in capsys.readouterr().out


def test_a_next_keras_change_needs_a_nightly_run_before_it_no_longer_shows():
    cause = drafts.Cause(id="n", title="t", kind="next-keras", status="not filed", covers=(), expected="e")

    def runs(dist):
        return {"runs": [{"env": {"backend": b, "keras_dist": dist, "label": b, "keras": "1"}, "result": "e"}
                         for b in render.BACKENDS]}
    assert render.verdict(cause, runs("keras")) == "not shown where run"
    assert render.not_covered(cause, runs("keras")) == ["keras-nightly"]
    assert render.verdict(cause, runs("keras-nightly")) == "no longer shows"


def test_a_run_that_prints_no_result_or_overruns_its_bound_is_not_called_fixed(tmp_path):
    data, repros = _write_case(tmp_path, "import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    assert _run(tmp_path, data, repros, "--timeout", "2") == 0
    draft = (tmp_path / "out" / "demo-cause" / "README.md").read_text()
    assert "did not finish in any environment" in draft and "no longer shows" not in draft
    assert "stopped after the 2 s bound" in draft and "started" in draft


def test_no_run_renders_the_same_draft_from_runs_json(tmp_path):
    data, repros = _write_case(tmp_path, 'print("RESULT: wrong")\n')
    assert _run(tmp_path, data, repros) == 0
    first = (tmp_path / "out" / "demo-cause" / "README.md").read_text()
    (tmp_path / "out" / "demo-cause" / "README.md").unlink()
    assert _run(tmp_path, data, repros, "--no-run") == 0
    assert (tmp_path / "out" / "demo-cause" / "README.md").read_text() == first


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("harness: error:"), err
    return err[0]


def test_an_unknown_finding_is_one_error_line(tmp_path, capsys):
    data, repros = _write_case(tmp_path, 'print("RESULT: wrong")\n')
    assert _run(tmp_path, data, repros, "--finding", "no-such-cause") == 2
    assert "no such cause" in _one_error_line(capsys)


def test_an_output_folder_that_cannot_be_written_is_one_error_line(tmp_path, capsys):
    data, repros = _write_case(tmp_path, 'print("RESULT: wrong")\n')
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code = main(["upstream", "--data", str(data), "--repros", str(repros), "--out", str(blocker / "sub"),
                 "--env", ENV])
    assert code == 2 and "cannot write there" in _one_error_line(capsys)


@pytest.mark.parametrize("env", ["nobackend=/usr/bin/python3", "jax=/no/such/python", "jax"])
def test_a_bad_environment_is_one_error_line(tmp_path, capsys, env):
    data, repros = _write_case(tmp_path, 'print("RESULT: wrong")\n')
    assert main(["upstream", "--data", str(data), "--repros", str(repros), "--out", str(tmp_path / "o"),
                 "--env", env]) == 2
    _one_error_line(capsys)


def test_a_finding_can_be_named_by_a_scenario_it_covers(tmp_path):
    data, _ = _write_case(tmp_path, "")
    assert [c.id for c in drafts.select(drafts.load(data), "demo/anything")] == ["demo-cause"]


def test_version_rows_read_the_odd_backends_record(tmp_path):
    cause = drafts.Cause(id="x-cause", title="t", kind="known", status="not filed", covers=(), expected="e",
                         evidence=(drafts.Evidence(scenario="s/a", backend="torch", status_error="AttributeError"),))

    def artifact(name, keras, backend, status, err):
        (tmp_path / f"{name}.json").write_text(json.dumps({"environment": {"keras": keras, "backend": backend},
            "scenarios": [{"name": "s/a", "status": status, "error": err and {"type": err}}]}))
    artifact("keras-3.2.1-torch-cpu", "3.2.1", "torch", "error", "AttributeError")
    artifact("keras-3.10.0-torch-cpu", "3.10.0", "torch", "ok", None)
    artifact("keras-3.10.0-jax-cpu", "3.10.0", "jax", "ok", None)  # not the odd backend: left out
    rows = evidence.version_rows(cause, (tmp_path,))
    assert [(r["keras"], r["shows"]) for r in rows] == [("keras 3.2.1", True), ("keras 3.10.0", False)]


# --- the committed drafts -------------------------------------------------------------------------

PUBLISHED = drafts.load(ROOT / "scenarios" / "upstream.toml")


@pytest.mark.parametrize("cause", [c for c in PUBLISHED if c.repro], ids=lambda c: c.id)
def test_committed_drafts_are_what_their_data_and_captured_runs_render(cause, tmp_path):
    folder = ROOT / "reports" / "upstream" / cause.id
    runs = json.loads((folder / "runs.json").read_text())
    backends = {r["env"]["backend"] for r in runs["runs"]}
    assert backends == {"tensorflow", "jax", "torch"}, "each repro runs on all three backends"
    assert all(r["result"] is not None and r["rc"] == 0 for r in runs["runs"]), "each run completes (exit 0)"
    script = (folder / "repro.py").read_text()
    assert "keras.src" not in script, "repros use public APIs every Keras version has (no keras.src)"
    rendered = render.draft(cause, script, runs)
    assert (folder / "README.md").read_text() == rendered, "regenerate with python -m harness upstream --no-run"


def test_the_index_lists_every_cause_with_its_status():
    index = (ROOT / "reports" / "upstream" / "README.md").read_text()
    for cause in PUBLISHED:
        assert render.status_text(cause) in index and (f"]({cause.id}/README.md)" in index) == cause.repro


def test_every_next_keras_change_group_is_listed_with_its_draft_or_none():
    cause = drafts.Cause(id="nightly-rnn", title="t", kind="next-keras", status="not filed", covers=("rnn/*",),
                         expected="e")
    groups = {"nightly": {"jax": "3.16.0.dev1"}, "groups": [
        {"layer_class": "GRU", "kind": "mask", "backends": ["jax"], "scenarios": ["rnn/gru-basic"]},
        {"layer_class": "Dense", "kind": "values", "backends": ["torch"], "scenarios": ["layers/dense"]}]}
    text = render.index([cause], {}, groups)
    rows = text.split("## Next-Keras changes")[1].splitlines()
    assert any("GRU" in r and "[nightly-rnn](nightly-rnn/README.md)" in r for r in rows)
    assert any("Dense" in r and "no draft yet" in r for r in rows)
    assert "no nightly run yet" in render.index([cause], {}, None)


def _entries(path: Path, table: str) -> list[dict]:
    import tomllib
    return tomllib.loads(path.read_text()).get(table, [])


@pytest.mark.parametrize("source,table", [("known_divergences.toml", "divergence"), ("surprises.toml", "surprise")])
def test_every_known_divergence_and_surprise_has_a_cause_in_the_upstream_data(source, table):
    """No report entry is dropped: each is explained by a cause (a draft, or a status line saying it is
    already upstream, fixed, or not Keras's to fix)."""
    import fnmatch
    missing = []
    for entry in _entries(ROOT / "scenarios" / source, table):
        names = [entry.get("minimal"), entry.get("scenario")] + [f.get("scenario") for f in entry.get("fingerprint", [])]
        names = [n for n in names if n]
        if not any(fnmatch.fnmatchcase(n, glob) for n in names for c in PUBLISHED for glob in c.covers):
            missing.append(entry.get("id") or entry.get("what", "")[:60])
    assert not missing, f"entries without a cause in scenarios/upstream.toml: {missing}"


def test_a_stored_bisect_of_a_covered_scenario_reaches_the_draft(tmp_path):
    cause = drafts.Cause(id="x-cause", title="t", kind="next-keras", status="not filed", covers=("rnn/*", "fit/*"),
                         expected="e", next_keras_groups=("GRU/*",))
    (tmp_path / "fit.json").write_text(json.dumps({"backend": "torch", "first": "3.16.0.dev2026071704",
        "divergences": [{"scenario": "fit/regression-steps-per-execution", "layer_class": "Model"}]}))
    (tmp_path / "rnn.json").write_text(json.dumps({"backend": "torch", "first": "3.16.0.dev2026072104",
        "last_same": "3.16.0.dev2026072004", "command": "harness bisect --select 'rnn/*' --backend torch",
        "divergences": [{"scenario": "rnn/gru-basic", "probe": "rnn", "layer_class": "GRU", "verdict": "mask-differs"}]}))
    (tmp_path / "other.json").write_text(json.dumps({"backend": "jax", "first": "3.4.0",
        "divergences": [{"scenario": "claims/c5-x"}]}))
    (tmp_path / "broken.json").write_text("{")
    rows = evidence.bisect_rows(cause, tmp_path)
    assert [r["file"] for r in rows] == ["rnn.json"]
    text = render.draft(cause, "print('RESULT: e')", {"script": "repro.py", "timeout_s": 1, "runs": [],
                                                      "bisects": rows})
    assert "first changed in keras 3.16.0.dev2026072104" in text and "rnn/gru-basic" in text


def test_a_report_entry_finds_the_draft_of_the_cause_that_covers_it():
    link = drafts.link_for(PUBLISHED, "found/mask-differs-reshape-jax-tf-torch-a21362")
    assert link and link.id == "jax-reshape-same-shape-keeps-mask"
    assert link.path == "upstream/jax-reshape-same-shape-keeps-mask/README.md" and link.status == "not filed"
    fixed = drafts.link_for(PUBLISHED, "fit/regression-steps-per-execution")
    assert fixed and fixed.status.startswith("fixed: https://github.com/keras-team/keras/pull/23234")
    assert drafts.link_for(PUBLISHED, "no/such-scenario") is None


def test_every_known_divergence_id_names_a_cause():
    import tomllib
    ids = [e["id"] for e in tomllib.loads((ROOT / "scenarios" / "known_divergences.toml").read_text()).get("divergence", [])
           if "id" in e]
    named = {i for c in PUBLISHED for i in c.entries}
    assert ids and not [i for i in ids if i not in named]
    link = drafts.link_for(PUBLISHED, "fit/min-train-metric-reads-padding", "jax-fit-metrics-read-padding")
    assert link and link.id == "jax-fit-metrics-count-padding"


def test_the_report_links_each_registry_entry_to_its_draft(tmp_path):
    from types import SimpleNamespace

    from harness.compare.known import DEFAULT_KNOWN, SURPRISES_FILE, load_known, load_surprises
    from harness.report import cli as report_cli
    from harness.report.sections import guidance

    known = load_known(ROOT / DEFAULT_KNOWN)
    surprises = load_surprises(ROOT / DEFAULT_KNOWN.parent / SURPRISES_FILE)
    links = report_cli._upstream_links([*known, *surprises], ROOT / "scenarios" / "upstream.toml")
    by_id = {e.id: links.get(id(e)) for e in [*known, *surprises] if e.id}
    assert by_id["jax-reshape-same-shape-keeps-mask"] == ("upstream/jax-reshape-same-shape-keeps-mask/README.md",
                                                          "not filed")
    initial_state = next(s for s in surprises if s.scenario == "rnn/*-initial-state")
    assert links[id(initial_state)][0] == "upstream/rnn-initial-state-gets-no-mask/README.md"
    assert all((ROOT / "reports" / path).is_file() for path, _ in links.values())
    line = guidance._upstream_draft(initial_state, SimpleNamespace(upstream=links))
    assert line == ["Upstream issue draft: [upstream/rnn-initial-state-gets-no-mask/README.md]"
                    "(upstream/rnn-initial-state-gets-no-mask/README.md) (not filed)."]
    assert report_cli._upstream_links(known, tmp_path / "absent.toml") == {}


def test_a_quote_follows_a_module_that_moved(tmp_path):
    from harness.upstream import capture

    (tmp_path / "src" / "backend" / "ops").mkdir(parents=True)
    (tmp_path / "src" / "backend" / "ops" / "nn.py").write_text("a = 1\nmask = where(mask)\nb = 2\n")
    q = drafts.Quote(file="backend/nn.py|backend/ops/nn.py", anchor="mask = where", lines=2)
    found = capture.quote(str(tmp_path), q)
    assert (found["file"], found["anchor_line"], found["text"]) == ("backend/ops/nn.py", 2, "mask = where(mask)\nb = 2")
    assert capture.quote(str(tmp_path), drafts.Quote(file="backend/nn.py", anchor="x"))["line"] is None
