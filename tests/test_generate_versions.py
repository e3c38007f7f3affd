"""Versions as an axis: each case on two Keras versions (x backends), judged along each axis apart.

The runtimes and environments are harness/versions' (tested there); here: which pairs are compared,
that a difference between versions on one backend is a finding named by both versions, that a cross
pair (one version on TensorFlow against another on JAX) is never compared, and that one pool can hold
two workers of one backend (a version each) without their answers colliding.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from harness.artifacts import ScenarioRecord
from harness.define.captured import Captured, Probe
from harness.generate import generator, versions
from harness.versions.runtimes import keras3

LABELS = {f"keras-{v}-{b}-cpu": keras3(v, b) for v in ("3.13.1", "3.15.1") for b in ("tensorflow", "torch")}


def _records(spec: dict, moved: set[str]) -> dict[str, ScenarioRecord]:
    out = {}
    for label in LABELS:
        values = np.zeros((spec["batch"], 2), np.float32) + (1.0 if label in moved else 0.0)
        probes = {la["name"]: Probe(values, None, "float32") for la in spec["layers"]}
        out[label] = ScenarioRecord(spec["name"], "ok", 0.0, Captured(spec["name"], label, probes),
                                    {"tolerances": {}, "deterministic": True})
    return out


def test_axes_compare_versions_per_backend_and_backends_per_version_never_cross_pairs() -> None:
    groups = versions.axes(list(LABELS), LABELS)
    assert sorted(sorted(g.items()) for g in groups) == sorted(sorted(g.items()) for g in [
        {"keras-3.13.1-tensorflow-cpu": "keras-3.13.1-tensorflow-cpu", "keras-3.15.1-tensorflow-cpu": "keras-3.15.1-tensorflow-cpu"},
        {"keras-3.13.1-torch-cpu": "keras-3.13.1-torch-cpu", "keras-3.15.1-torch-cpu": "keras-3.15.1-torch-cpu"},
        {"keras-3.13.1-tensorflow-cpu": "tensorflow", "keras-3.13.1-torch-cpu": "torch"},  # judged as backends
        {"keras-3.15.1-tensorflow-cpu": "tensorflow", "keras-3.15.1-torch-cpu": "torch"}])
    assert versions.axes(["keras-3.13.1-torch-cpu", "keras-3.15.1-torch-cpu"], LABELS) == [
        {"keras-3.13.1-torch-cpu": "keras-3.13.1-torch-cpu", "keras-3.15.1-torch-cpu": "keras-3.15.1-torch-cpu"}]


def test_a_backend_difference_within_one_version_is_named_by_backends_so_known_causes_apply() -> None:
    spec = generator.generate(0, 5)
    one_version = ["keras-3.13.1-tensorflow-cpu", "keras-3.13.1-torch-cpu"]
    judge = versions.judge_by_axes(versions.axes(one_version, LABELS))
    verdict = judge(spec, _records(spec, {"keras-3.13.1-torch-cpu"}))
    assert verdict.signature.startswith("tensorflow-vs-torch|differs|")  # backend names, not labels
    assert verdict.cause.startswith("tensorflow-vs-torch|differs|rnn|")


def test_a_difference_between_versions_is_a_finding_named_by_both_versions() -> None:
    spec = generator.generate(0, 5)
    judge = versions.judge_by_axes(versions.axes(list(LABELS), LABELS))
    verdict = judge(spec, _records(spec, {"keras-3.15.1-torch-cpu"}))
    assert verdict.signature.startswith("keras-3.13.1-torch-cpu-vs-keras-3.15.1-torch-cpu|differs|")
    assert judge(spec, _records(spec, set())).signature is None
    # the newer Keras differs on both backends alike: the versions differ, the backends of one version agree
    both = judge(spec, _records(spec, {"keras-3.15.1-torch-cpu", "keras-3.15.1-tensorflow-cpu"}))
    assert both.signature is not None and "3.13.1" in both.signature and "3.15.1" in both.signature


@pytest.mark.backend
def test_two_workers_of_one_backend_keep_their_answers_apart(tmp_path: Path) -> None:
    """Found by running --versions: both torch workers wrote torch-<id>.npz, and one read the other's
    file, or found it gone. Two real torch case workers, as two versions' workers are."""
    import os

    from harness.generate import workers

    labels = ("keras-a-torch-cpu", "keras-b-torch-cpu")
    environ = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    pool = workers.Pool(labels, timeout_s=120, workdir=tmp_path, environ_for=lambda label: environ,
                        command_for=lambda label: [sys.executable, "-m", "harness.run.case_worker", "torch",
                                                   str(tmp_path)])
    spec = generator.generate(0, 5)
    with pool:
        pool.start()
        for _ in range(2):
            records = pool.run(spec)
            assert {r.status for r in records.values()} == {"ok"}, records
    a, b = (records[label].captured.probes for label in labels)
    assert a.keys() == b.keys() and all(np.array_equal(a[k].values, b[k].values) for k in a)
