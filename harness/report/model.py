"""The report's one input: everything the report shows, judged before it is rendered.

compare/ (verdicts, claims, known divergences, migration paths, the Keras timeline) computes each
field; report/cli.py reads the artifacts and registries and fills this in once; every section renders
from it and computes nothing. Types only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.artifacts import Artifact
from harness.compare.baseline import BaselineChange, ClaimChange
from harness.compare.claims import ClaimResult
from harness.compare.demonstrated import Demonstration
from harness.compare.known import KnownDivergence, Surprise
from harness.compare.known_runtime import OnRuntime
from harness.compare.next_keras import NextKeras
from harness.compare.paths import MigrationPath, SurpriseSeen
from harness.compare.timeline import Timeline
from harness.compare.verdicts import Comparison, PairComparison


@dataclass(frozen=True)
class ReportModel:
    runs: list[Artifact]
    comparison: Comparison
    verdicts: dict[str, str]  # scenario -> its verdict, the most severe over its pairs
    counts: dict[str, int]  # verdict -> scenario x pair comparisons
    claims: dict[str, dict[str, ClaimResult]]  # run label -> claim id -> result (C1..C6)
    compiled: dict[str, dict[str, PairComparison]]  # run label -> scenario -> eager vs jit
    reproduce: str
    results_dir: str = "reports/results"
    figure: str | None = None
    # Masks in training (T1..T5): run label -> claim -> result, in column order; {} when nothing ran with Fit
    training: dict[str, dict[str, ClaimResult]] = field(default_factory=dict)
    baseline: str | None = None  # the baseline folder, when one was given
    baseline_changes: list[BaselineChange] = field(default_factory=list)
    claim_changes: list[ClaimChange] = field(default_factory=list)
    # What this means for you: the runs of the main release, each migration path and what it meets
    main_runs: list[Artifact] = field(default_factory=list)
    migration_paths: list[MigrationPath] = field(default_factory=list)
    known_by_path: dict[tuple[str, str], list[KnownDivergence]] = field(default_factory=dict)
    unexpected_by_path: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    differences: list[KnownDivergence] = field(default_factory=list)  # numbered as the paths first name them
    surprises_seen: list[SurpriseSeen] = field(default_factory=list)  # scenarios/surprises.toml, still seen
    surprises_gone: list[Surprise] = field(default_factory=list)
    timeline: Timeline | None = None  # Seed conclusions across Keras versions; None: no version run
    # One page per family (compare/families.py): its scenarios, its own comparison, its verdict counts
    families: dict[str, list[str]] = field(default_factory=dict)
    family_comparisons: dict[str, Comparison] = field(default_factory=dict)
    family_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Registry entries: the scenarios that run each entry's workaround (by id(entry), compare/demonstrated.py),
    # and why an entry explains nothing here (by id(entry), compare/fingerprint.py)
    demonstrations: dict[int, list[Demonstration]] = field(default_factory=dict)
    stale_reasons: dict[int, str] = field(default_factory=dict)
    # What changes in the next Keras (compare/next_keras.py): None without a nightly run beside the results
    next_keras: NextKeras | None = None
    next_keras_data: dict[str, Any] = field(default_factory=dict)  # the same facts, as summary.json has them
    # The registry (scenarios/known_divergences.toml) and each entry judged on the newest keras-nightly run
    # per backend (compare/known_runtime.py)
    known: list[KnownDivergence] = field(default_factory=list)
    newest_nightly: list[Artifact] = field(default_factory=list)
    known_on_nightly: list[OnRuntime] = field(default_factory=list)
    # Each registry entry's upstream issue draft (by id(entry); scenarios/upstream.toml, `harness upstream`):
    # (its path from the reports folder, its status upstream)
    upstream: dict[int, tuple[str, str]] = field(default_factory=dict)
