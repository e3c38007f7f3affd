"""Backend integration: the seed scenarios under each real backend, in subprocesses, then compared.

One test per backend runs `python -m harness run --backend B --select 'seed/*'` and checks the
artifact; the end-to-end test runs every backend at once (`--backend all`), rebuilds the report and
checks that the seed's masks are 0,1,0,1,0 everywhere and that every pair of backends agrees.
A backend that is not installed is skipped (the nox `tests` session installs all three).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.__main__ import main

pytestmark = pytest.mark.backend

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # harness name -> package
SEED = "seed/rnn-model"
SEED_MASK = [[False, True, False, True, False]]
MASKED_PROBES = ("M_num", "M_version", "M_missing", "concate", "gru_1")


def installed(backend: str) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in ("keras", BACKENDS[backend]))


def harness(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=400, check=False)


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
def test_seed_scenarios_run_under_each_backend(backend, tmp_path):
    if not installed(backend):
        pytest.skip(f"{backend} is not installed here (`nox -s tests` installs it)")
    results = tmp_path / "results"
    done = harness("run", "--backend", backend, "--select", "seed/*", "--results", str(results),
                   "--no-compiled", "-q", cwd=tmp_path)
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


def test_all_backends_agree_on_the_seed(tmp_path, capsys):
    missing = [b for b in BACKENDS if not installed(b)]
    if missing:
        pytest.skip(f"needs every backend; missing: {', '.join(missing)}")
    results = tmp_path / "results"
    done = harness("run", "--backend", "all", "--select", SEED, "--results", str(results),
                   "--no-compiled", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
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
