"""The next-Keras facts and section on synthetic runs: a release and a nightly per backend, one
scenario whose GRU drops its mask on the nightly, one whose values change, one unchanged, one skipped.

No Keras. The runs are built from harness dataclasses; the bisect result is a stored JSON record.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness import artifacts
from harness.artifacts import Artifact, ScenarioRecord
from harness.compare import next_keras
from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

MASK = np.array([[True, True, False]])
X = np.ones((1, 3, 2), np.float32)
DROP = ("Layer 'rnn' (of type GRU) was passed an input with a mask attached to it. However, this layer does "
        "not support masking and will therefore destroy the mask information. Downstream layers will not see the mask.")


def record(name, probes, *, warnings=(), classes=None, passed=True, status="ok", error=None):
    meta = {"description": "", "tags": [], "tolerances": {}, "layer_classes": classes or {},
            "expectations": [{"name": "gru keeps the mask", "claim": "C4", "passed": passed, "evidence": ""}]}
    captured = Captured(name, "", probes=probes, warnings=[WarningInfo("UserWarning", w) for w in warnings],
                        error=error)
    return ScenarioRecord(name, status, 0.1, captured, meta)


def runs_for(backend, nightly):
    keras = "3.16.0.dev2026102704" if nightly else "3.15.1"
    gru_mask = None if nightly else MASK
    records = [
        record("rnn/gru", {"masking": Probe(X, MASK, "float32"), "rnn": Probe(X, gru_mask, "float32"),
                           "head": Probe(X, gru_mask, "float32")},
               warnings=[DROP] if nightly else [], classes={"masking": "Masking", "rnn": "GRU", "head": "Dense"},
               passed=not nightly),
        record("attn/values", {"attention": Probe(X + (0.5 if nightly and backend == "torch" else 0), MASK,
                                                  "float32")}, classes={"attention": "Attention"}),
        record("layers/same", {"dense": Probe(X, MASK, "float32")}, classes={"dense": "Dense"}),
        record("models/hub", {}, status="skipped" if nightly else "ok",
               error=ErrorInfo("Unsupported", "no keras_hub") if nightly else None),
    ]
    label = f"keras-nightly-{keras}-{backend}-cpu" if nightly else f"{backend}-cpu"
    env = {"backend": backend, "keras": keras, "keras_flavour": "keras"}
    return Artifact(label, env, {r.name: r for r in records})


def test_changes_are_grouped_by_the_layer_that_caused_them_and_the_kind():
    releases = [runs_for(b, False) for b in ("tensorflow", "jax", "torch")]
    nightlies = [runs_for(b, True) for b in ("tensorflow", "jax", "torch")]
    bisect = {"backend": "torch", "first": "3.16.0.dev2026081304", "last_same": "3.16.0.dev2026081204",
              "divergence": {"scenario": "rnn/gru", "probe": "rnn", "layer_class": "GRU", "verdict": "mask-differs"},
              "source": {"old": "a.whl", "new": "b.whl", "hunk": "-        self.supports_masking = True",
                         "files": [{"path": "keras/src/layers/rnn/rnn.py", "added": 1, "removed": 1}]}}
    facts = next_keras.build(releases, nightlies, [bisect])
    assert facts.release == {b: "3.15.1" for b in ("tensorflow", "jax", "torch")}
    keys = [(g.layer_class, g.kind, tuple(g.backends), tuple(g.scenarios)) for g in facts.groups]
    assert keys == [("GRU", "mask dropped", ("tensorflow", "jax", "torch"), ("rnn/gru",)),
                    ("Attention", "values", ("torch",), ("attn/values",))]
    gru = facts.groups[0]
    assert gru.bisect["first"] == "3.16.0.dev2026081304"  # matched by scenario, layer and backend
    assert facts.groups[1].bisect is None
    assert [(m.claim, m.backend, m.before, m.after) for m in gru.claims] == [
        ("C4", b, "holds", "partly") for b in ("tensorflow", "jax", "torch")]
    assert gru.claim_checks == [("C4", "gru keeps the mask", True, False, 3)]  # one per backend
    assert facts.groups[1].claim_checks == []
    assert {(b, s) for b, s, _ in facts.untested} == {(b, "models/hub") for b in ("tensorflow", "jax", "torch")}
    # the nightly's own matrix: attn/values now splits torch from the others, which agreed on the release
    assert ("attn/values", "tensorflow vs torch", "match", "differs") in facts.backends_split
    data = next_keras.as_data(facts)
    assert data["groups"][0]["introduced_in"] == "3.16.0.dev2026081304"
    assert data["groups"][0]["source"]["file"] == "keras/src/layers/rnn/rnn.py"
    json.dumps(data)  # summary.json can carry it


def test_a_mask_drop_seen_first_at_a_later_probe_is_blamed_on_the_layer_keras_warns_about():
    old, new = runs_for("torch", False), runs_for("torch", True)
    # only the Dense head is probed: its mask is what changes, the GRU before it is the cause
    for run in (old, new):
        rec = run.records["rnn/gru"]
        rec.captured.probes.pop("rnn")
    change = next_keras.classify(old.records["rnn/gru"], new.records["rnn/gru"], "torch", old.label, new.label)
    assert (change.kind, change.layer_class, change.probe) == ("mask dropped", "GRU", "head")


def test_no_nightly_run_no_facts():
    assert next_keras.build([runs_for("torch", False)], []) is None


def test_the_section_renders_from_artifacts_beside_the_results(tmp_path):
    from harness.report import cli as report_cli
    from harness.report.sections import next_keras as section
    from harness.versions import runs as version_runs

    versions = tmp_path / version_runs.RELEASES_DIR  # the folder beside results
    for backend in ("tensorflow", "jax", "torch"):
        artifacts.write(runs_for(backend, True), versions)
    (versions / "bisect").mkdir()
    (versions / "bisect" / "gru.json").write_text(json.dumps({
        "backend": "jax", "first": "3.16.0.dev2026081304", "last_same": "3.16.0.dev2026081204",
        "command": "python -m harness bisect --select 'rnn/gru' --backend jax --good 3.15.1 --bad nightly",
        "divergence": {"scenario": "rnn/gru", "probe": "rnn", "layer_class": "GRU", "verdict": "mask-differs"},
        "source": {"old": "a.whl", "new": "b.whl", "hunk": "@@ -1 +1 @@\n-    supports_masking = True\n+    x",
                   "files": [{"path": "keras/src/layers/rnn/rnn.py", "added": 1, "removed": 1}]}}))
    (versions / "bisect" / "broken.json").write_text("{not json")
    runs = [runs_for(b, False) for b in ("tensorflow", "jax", "torch")]
    results = tmp_path / "results"
    data, summary = report_cli.build(runs, tmp_path / "no-known.toml", results_dir=str(results),
                                     **report_cli.beside(results))  # what `harness report` reads beside --results
    text = section.render(data)
    assert text.startswith("## What changes in the next Keras")
    assert "**GRU: mask dropped** on tensorflow, jax, torch" in text
    assert "Introduced in **keras-nightly 3.16.0.dev2026081304**" in text
    assert "-    supports_masking = True" in text and "`keras/src/layers/rnn/rnn.py`" in text
    assert "not bisected yet" in text  # the Attention group
    assert summary["next_keras"]["nightly"]["torch"] == "3.16.0.dev2026102704"
    assert Path(data.results_dir).name == "results"
