"""Backend integration: the seed scenarios under each real backend, in subprocesses, then compared.

One `python -m harness run --backend all --select 'seed/*'` for the session (the `seed_run` fixture,
tests/helpers/shared_runs.py) starts `harness run --backend B` for each installed backend; one test per
backend checks that backend's artifact, and the end-to-end test rebuilds the report from the seed's
records and checks that its masks are 0,1,0,1,0 everywhere and that every pair of backends agrees.
A backend that is not installed is skipped (the nox `tests` session installs all three).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.__main__ import main
from tests.helpers import shared_runs as shared

pytestmark = pytest.mark.backend

BACKENDS = shared.BACKENDS
installed = shared.installed
SEED = "seed/rnn-model"
SEED_MASK = [[False, True, False, True, False]]
MASKED_PROBES = ("M_num", "M_version", "M_missing", "concate", "gru_1")


def artifact_for(results: Path, backend: str) -> artifacts.Artifact:
    found = [a for a in artifacts.read_all(results) if a.backend == backend]
    assert len(found) == 1, [a.label for a in artifacts.read_all(results)]
    return found[0]


def check_seed_masks(artifact: artifacts.Artifact) -> None:
    record = artifact.records[SEED]
    assert record.status == "ok", record.captured.error
    for probe in MASKED_PROBES:
        mask = record.captured.mask(probe)
        assert mask is not None, f"{artifact.backend}: {probe} has no mask"
        np.testing.assert_array_equal(mask, SEED_MASK, err_msg=f"{artifact.backend}: {probe}")
    assert record.captured.output("outputs").shape == (1, 2)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_seed_scenarios_run_under_each_backend(backend, seed_run):
    if not installed(backend):
        pytest.skip(f"{backend} is not installed here (`nox -s tests` installs it)")
    done, results = seed_run.done, seed_run.results
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    artifact = artifact_for(results, backend)
    assert artifact.label.startswith(f"{backend}-")
    env = artifact.environment
    assert env["backend"] == backend and env["keras"] and env["backend_version"] != "not installed"
    assert env["floatx"] == "float32"
    seed_names = [n for n in artifact.records if n.startswith("seed/")]
    assert SEED in seed_names and len(seed_names) == len(artifact.records)
    for name, record in artifact.records.items():
        assert record.status == "ok", (name, record.captured.error)
        assert record.captured.probes, name
    check_seed_masks(artifact)
    expectations = {e["name"]: e["passed"] for e in artifact.records[SEED].meta["expectations"]}
    for probe in MASKED_PROBES:
        assert expectations[f"{probe} mask is 01010"] is True, (backend, probe)
    assert not list(results.glob(".partial-*"))


def test_all_backends_agree_on_the_seed(seed_run, tmp_path, capsys):
    missing = [b for b in BACKENDS if not installed(b)]
    if missing:
        pytest.skip(f"needs every backend; missing: {', '.join(missing)}")
    assert seed_run.done.returncode == 0, seed_run.done.stderr[-3000:]
    assert sorted(r.backend for r in artifacts.read_all(seed_run.results)) == sorted(BACKENDS)
    # The seed's record alone, as a run of `--select seed/rnn-model` writes it: the other seed scenarios
    # have divergences of their own (seed/adam-repeated-index, a known one), which --strict would fail on.
    results = tmp_path / "results"
    for run in artifacts.read_all(seed_run.results):
        artifacts.write(artifacts.Artifact(run.label, run.environment, {SEED: run.records[SEED]}), results)
    runs = artifacts.read_all(results)
    assert sorted(r.backend for r in runs) == sorted(BACKENDS)
    for run in runs:
        check_seed_masks(run)
    known = tmp_path / "known.toml"
    known.write_text("")  # no known divergences: the verdicts are the raw comparison
    out, summary = tmp_path / "report.md", tmp_path / "summary.json"
    code = main(["report", "--results", str(results), "--out", str(out), "--json", str(summary),
                 "--known", str(known), "--strict"])
    assert code == 0, capsys.readouterr().err
    facts = json.loads(summary.read_text())
    assert sorted(facts["backends"]) == sorted(r.label for r in runs)
    [seed] = [s for s in facts["scenarios"] if s["name"] == SEED]
    assert len(seed["pairs"]) == 3
    assert {pair: v["verdict"] for pair, v in seed["pairs"].items()} == dict.fromkeys(seed["pairs"], "match")
    assert seed["verdict"] == "match"
    text = (tmp_path / "families" / "seed.md").read_text()  # a scenario's section is on its family's page
    assert "`01010`" in text and SEED in text
