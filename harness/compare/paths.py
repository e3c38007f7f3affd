"""What each migration path (a pair of runs on one Keras release) meets: the registry entries that
explained one of its comparisons, its unexpected divergences, the known divergences numbered as the
paths first name them, and the surprises (scenarios/surprises.toml) that every backend's run still
shows. The report's first section and the per-feature checklist render these."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from harness.artifacts import Artifact
from harness.compare.known import KnownDivergence, Surprise
from harness.compare.verdicts import EXPECTED, Comparison
from harness.compare.version_range import within as _within

BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


@dataclass(frozen=True)
class MigrationPath:
    """One migration path: two runs, named the way a user names the move."""

    a: str  # run labels
    b: str
    title: str


def paths(comparison: Comparison, runs: list[Artifact]) -> list[MigrationPath]:
    """Every pair of runs on one Keras release (a pair across releases is a version question, which
    the versions section answers); "A → B" when A is TensorFlow (where users come from), else "A ↔ B"."""
    backends = {r.label: r.backend for r in runs}
    release = {r.label: _release(r) for r in runs}

    def name(label: str) -> str:
        backend = backends.get(label, "")
        unique = sum(backends[x] == backend and release[x] == release[label] for x in backends) == 1
        return BACKEND_NAMES.get(backend, label) if unique else label

    return [MigrationPath(a, b, f"{name(a)} {'→' if backends.get(a) == 'tensorflow' else '↔'} {name(b)}")
            for a, b in comparison.pairs if release.get(a) == release.get(b)]


def known_by_path(comparison: Comparison) -> dict[tuple[str, str], list[KnownDivergence]]:
    """The registry entries that explained a comparison of each pair, in registry order of first use."""
    out: dict[tuple[str, str], list[KnownDivergence]] = {}
    for (_, a, b), pair in comparison.results.items():
        entries = out.setdefault((a, b), [])
        entries += [e for e in pair.explained_by if all(x is not e for x in entries)]
    return out


def unexpected_by_path(comparison: Comparison) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(scenario, verdict) of every divergence no registry entry explains, per pair."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for (name, a, b), pair in comparison.results.items():
        if pair.verdict not in EXPECTED:
            out.setdefault((a, b), []).append((name, pair.verdict))
    return out


def _release(run) -> tuple:
    return (str(run.environment.get("keras_flavour", "")), str(run.environment.get("keras", "")))


def main_runs(runs: list[Artifact]) -> list:
    """The runs of the release most runs share (the backends compared), without e.g. a Keras 2 run."""
    groups: dict[tuple, list] = {}
    for run in runs:
        groups.setdefault(_release(run), []).append(run)
    return max(groups.values(), key=len, default=[])


@dataclass(frozen=True)
class SurpriseSeen:
    entry: Surprise
    scenarios: tuple[str, ...]  # where every run fails the tied expectation


def surprises_seen(surprises: list[Surprise], runs: list[Artifact]) -> tuple[list[SurpriseSeen], list[Surprise]]:
    """Entries whose expectation fails on every backend's run (of the main release) that recorded a
    matching scenario; the rest."""
    runs = main_runs(runs)
    seen, gone = [], []
    for entry in surprises:
        if entry.keras and not all(_within(str(r.environment.get("keras", "")), entry.keras) for r in runs):
            gone.append(entry)  # does not apply on this runtime: never shown as seen
            continue
        where: list[str] = []
        names = sorted({n for r in runs for n in r.records if fnmatch.fnmatchcase(n, entry.scenario)})
        for name in names:
            recorded = [r for r in runs if name in r.records]
            failing = [r.label for r in recorded if any(
                not e["passed"] and fnmatch.fnmatchcase(str(e["name"]), entry.expectation)
                for e in r.records[name].meta.get("expectations", []))]
            if recorded and len(failing) == len(recorded):
                where.append(name)
        if where:
            seen.append(SurpriseSeen(entry, tuple(where)))
        else:
            gone.append(entry)
    return seen, gone


def differences(comparison: Comparison, runs: list) -> list[KnownDivergence]:
    """The known divergences the migration paths show, numbered in the order the paths first name
    them: "Difference n" in the report's first section, and the number the per-feature checklist links to."""
    known = known_by_path(comparison)
    numbered: list[KnownDivergence] = []
    for path in paths(comparison, runs):
        numbered += [e for e in known.get((path.a, path.b), []) if all(x is not e for x in numbered)]
    return numbered
