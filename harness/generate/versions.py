"""Keras versions as an axis of the search: each case on Keras A and Keras B (releases or nightly
builds) on one backend, or versions x backends.

    python -m harness fuzz --versions 3.15.1,nightly --backend torch
    python -m harness fuzz --versions 3.13.1,3.15.1 --backends tensorflow,jax,torch

One case worker per (version, backend) runs in that version's cached environment (harness/versions:
envs.ensure builds it once; the worker imports the harness from this checkout, so both versions run
the same capture code). A worker's records are labelled as a version run is (keras-3.15.1-torch-cpu).
A case is judged along each axis with the suite's own comparison: the versions on each backend, and
the backends on each version, under the backends' names, so known divergences and kept findings apply
(a cross pair, one Keras on TensorFlow against another on JAX, says nothing). A difference is shrunk and kept like any finding; its signature names both versions.
Never imports keras.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness.artifacts import ScenarioRecord
from harness.compare.known import KnownDivergence
from harness.generate import findings
from harness.generate.findings import Verdict


def runtimes(versions: list[str], backends: list[str]) -> dict[str, Any]:
    """label -> Runtime for every (version, backend); a version the index does not have is refused."""
    from harness.versions import resolve as versions_resolve

    chosen = {}
    for version in versions:
        for backend in backends:
            runtime = versions_resolve.runtime_for(version, backend)
            chosen[runtime.label()] = runtime
    return chosen


def pool_arguments(chosen: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """workers.Pool keyword arguments: each label's interpreter (built if missing) and environment."""
    from harness.versions import runs

    pythons = {label: runs.python_for(runtime, log=lambda m: print(m, file=sys.stderr))
               for label, runtime in chosen.items()}

    def command_for(label: str) -> list[str]:
        return [str(pythons[label]), "-m", "harness.run.case_worker", chosen[label].backend, str(workdir)]

    return {"command_for": command_for, "environ_for": lambda label: runs._environ(chosen[label]),
            "workdir": workdir}


def axes(labels: list[str], chosen: dict[str, Any]) -> list[dict[str, str]]:
    """The groups compared, each {label: name it is judged under}: the versions on each backend first
    (named by label: the versions are what differs), then the backends on each version (named by backend,
    so the known divergences and kept findings of the three-backend suite apply to them)."""
    by_backend: dict[str, list[str]] = {}
    by_version: dict[str, list[str]] = {}
    for label in labels:
        by_backend.setdefault(chosen[label].backend, []).append(label)
        by_version.setdefault(chosen[label].version, []).append(label)
    groups = [{label: label for label in g} for g in by_backend.values() if len(g) > 1]
    groups += [{label: chosen[label].backend for label in g} for g in by_version.values() if len(g) > 1]
    return groups


def judge_by_axes(groups: list[dict[str, str]]):
    """A judge (campaign.Options.judge) that compares each group apart; the first divergence wins."""
    def judge(spec: dict[str, Any], records: dict[str, ScenarioRecord],
              known: list[KnownDivergence] = ()) -> Verdict:
        last = None
        for group in groups:
            verdict = findings.judge(spec, {name: records[label] for label, name in group.items() if label in records},
                                     known)
            if verdict.signature is not None:
                return verdict
            last = last or verdict
        return last or Verdict("match", None)

    return judge
