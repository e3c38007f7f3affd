"""What `harness check` can truthfully say about one saved model: the facts behind its report.

The model ran as one forward scenario (every layer) and, with --targets, one training scenario
(Keras's fit API), under each backend. This module judges those records and nothing else: which
backends ran and which failed (with the innermost cause of each failure), which pairs could be
compared at all, the first divergent layer of each pair that could, NaN and Inf per probe, and a
verdict per migration path for each part (forward, training), each difference with the known
divergence whose pattern it matches or marked new. numpy only.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np

from harness.artifacts import Artifact, ScenarioRecord
from harness.compare import claims, fingerprint, training_claims, verdicts
from harness.compare.claims import ClaimResult
from harness.compare.known import KnownDivergence
from harness.compare.paths import paths as migration_paths
from harness.compare.verdicts import EXPECTED, FAILED_STATUSES, PairComparison
from harness.define.captured import ErrorInfo

FORWARD, TRAINING = "forward", "training"
PARTS = (FORWARD, TRAINING)
FIT_SUFFIX = "/fit"  # the training scenario is named <model>/fit


@dataclass(frozen=True)
class NonFinite:
    """NaN and Inf in one probe of one run, where they sit: kept or masked steps (all kept without
    a mask)."""

    probe: str
    nan_kept: int
    nan_masked: int
    inf_kept: int
    inf_masked: int

    def text(self) -> str:
        parts = [f"{n} {kind} at {where} steps" for n, kind, where in (
            (self.nan_kept, "NaN", "kept"), (self.nan_masked, "NaN", "masked"),
            (self.inf_kept, "Inf", "kept"), (self.inf_masked, "Inf", "masked")) if n]
        return ", ".join(parts)


@dataclass(frozen=True)
class RunState:
    """One backend's run of one part: did it produce outputs, and if not, why."""

    label: str
    backend: str
    status: str  # ok | error | crashed | timeout | skipped | not run
    error: ErrorInfo | None = None
    duration_s: float = 0.0
    deterministic: bool | None = None  # two eager calls bit-identical; None when it did not run
    nonfinite: tuple[NonFinite, ...] = ()

    @property
    def ran(self) -> bool:
        return self.status == "ok"

    @property
    def cause(self) -> str:
        """The innermost cause of the failure, one line ('' when it ran)."""
        if self.error is None:
            return "" if self.ran else self.status
        return self.error.causes[-1] if self.error.causes else f"{self.error.type}: {self.error.message}"

    @property
    def chain(self) -> tuple[str, ...]:
        """The failure as raised, then each exception it came from, outermost first."""
        if self.error is None:
            return ()
        return (f"{self.error.type}: {self.error.message}", *self.error.causes)


@dataclass(frozen=True)
class Difference:
    """One pair of backends that disagree on one part, with the known divergence it matches."""

    part: str
    a: str
    b: str
    verdict: str
    probes: tuple[str, ...]  # the probes that differ, in the model's order
    detail: str
    known: KnownDivergence | None = None


@dataclass(frozen=True)
class PathVerdict:
    """One migration path (a pair of runs) for one part: same, differs, or cannot tell (and why)."""

    title: str
    a: str
    b: str
    part: str
    verdict: str  # same | differs | cannot tell
    why: str = ""
    difference: Difference | None = None
    first_divergent: str | None = None  # forward: the first layer whose output or mask differs


@dataclass
class CheckFacts:
    model: str  # the forward scenario's name (the model file's name)
    labels: list[str]
    states: dict[str, dict[str, RunState]]  # part -> label -> state
    pairs: dict[str, list[PairComparison]]  # part -> comparisons of the pairs where both ran
    paths: list[PathVerdict] = field(default_factory=list)
    claims: dict[str, dict[str, ClaimResult]] = field(default_factory=dict)  # label -> T1..T5
    fit_ran: bool = False

    def ran(self, part: str) -> list[str]:
        return [label for label, s in self.states.get(part, {}).items() if s.ran]

    def compared(self, part: str = FORWARD) -> bool:
        """At least two backends produced outputs: only then can the check say anything matches."""
        return len(self.ran(part)) >= 2

    @property
    def problems(self) -> list[str]:
        """Why the check cannot answer (non-zero exit): one line each."""
        out = []
        for part in PARTS:
            states = self.states.get(part)
            if not states or (part == TRAINING and not self.fit_ran):
                continue
            ran = self.ran(part)
            if len(ran) < 2:
                failed = [s.label for s in states.values() if not s.ran]
                out.append(f"{part}: {len(ran)} of {len(states)} backend(s) produced outputs, fewer than "
                           f"the two a comparison needs" + (f" ({', '.join(failed)} failed)" if failed else ""))
        return out


def nonfinite(record: ScenarioRecord) -> tuple[NonFinite, ...]:
    """Every probe of a run holding NaN or Inf, with where they are."""
    out = []
    for key, probe in record.captured.probes.items():
        values = probe.values
        if values.dtype.kind != "f":
            continue
        nan, inf = np.isnan(values), np.isinf(values)
        if not (nan.any() or inf.any()):
            continue
        keep = verdicts.kept_positions(probe.mask, values.shape)
        keep = np.ones(values.shape, dtype=bool) if keep is None else keep
        out.append(NonFinite(key, int((nan & keep).sum()), int((nan & ~keep).sum()),
                             int((inf & keep).sum()), int((inf & ~keep).sum())))
    return tuple(out)


def run_state(run: Artifact, name: str) -> RunState:
    record = run.records.get(name)
    if record is None:
        return RunState(run.label, run.backend, "not run")
    ok = record.status not in FAILED_STATUSES and record.captured.error is None
    return RunState(run.label, run.backend, "ok" if ok else record.status, record.captured.error,
                    record.duration_s, record.meta.get("deterministic") if ok else None,
                    nonfinite(record))


def first_divergent(pair: PairComparison) -> str | None:
    """The first probe in the model's order whose output or mask differs (compiled twins aside)."""
    return next((p.probe for p in pair.probes if p.verdict != "match" and not p.probe.startswith("jit/")), None)


GENERIC_PROBES = ("*", "fit/*", "jit/*", "step/*")


def match_known(known: list[KnownDivergence], pair: PairComparison, runs: tuple[Artifact, Artifact]
                ) -> KnownDivergence | None:
    """The known divergence whose fingerprint describes this difference, whatever the model: the
    odd backend on one side, the raw verdict, every differing probe under its probes, the band,
    direction and expectations it states (harness.compare.fingerprint, the suite's own matching).

    The scenario a registry entry names is the suite's, never the checked model, so it is not
    matched; a fingerprint whose probes say nothing about what differs ("*", "fit/*") would match
    any difference and is left out.
    """
    records = (runs[0].records.get(pair.scenario), runs[1].records.get(pair.scenario))
    if records[0] is None or records[1] is None or not any(p.verdict != "match" for p in pair.probes):
        return None
    candidates = []
    for entry in known:
        prints = tuple(dataclasses.replace(f, scenario="*") for f in entry.fingerprints
                       if f.probes and not set(f.probes) <= set(GENERIC_PROBES))
        if prints:
            candidates.append(dataclasses.replace(entry, fingerprints=prints))
    said = fingerprint.judge(pair, records, runs, candidates)
    return next((k for k in known if k.id == said.explained_by[0].id), None) if said.explained_by else None


def match_error(known: list[KnownDivergence], pair: PairComparison, runs: tuple[Artifact, Artifact]
                ) -> KnownDivergence | None:
    """The known divergence whose error patterns describe how the two backends failed (or which one
    failed), whatever the model: each raising backend's error type and message match a pattern of a
    fingerprint that explains error-differs (harness.compare.fingerprint). A fingerprint without
    error patterns says nothing about an error and is left out."""
    records = (runs[0].records.get(pair.scenario), runs[1].records.get(pair.scenario))
    if records[0] is None or records[1] is None:
        return None
    candidates = []
    for entry in known:
        prints = tuple(dataclasses.replace(f, scenario="*") for f in entry.fingerprints
                       if f.errors and "error-differs" in f.verdicts)
        if prints:
            candidates.append(dataclasses.replace(entry, fingerprints=prints))
    said = fingerprint.judge(pair, records, runs, candidates)
    return next((k for k in known if k.id == said.explained_by[0].id), None) if said.explained_by else None


def judge(runs: list[Artifact], model: str, known: list[KnownDivergence]) -> CheckFacts:
    """The facts of one check: states, comparisons, per-path verdicts, training claims.

    The migration paths are the suite report's (compare/paths.py): one definition for both reports.
    """
    runs = sorted(runs, key=verdicts.label_order)
    labels = [r.label for r in runs]
    by_label = {r.label: r for r in runs}
    names = {FORWARD: model, TRAINING: model + FIT_SUFFIX}
    fit_ran = any(names[TRAINING] in r.records for r in runs)
    states = {part: {r.label: run_state(r, names[part]) for r in runs} for part in PARTS
              if part == FORWARD or fit_ran}
    comparison = verdicts.compare(runs, [])
    facts = CheckFacts(model, labels, states, {part: [] for part in states}, fit_ran=fit_ran)
    for path in migration_paths(comparison, runs):
        for part, by in states.items():
            pair = comparison.get(names[part], path.a, path.b)
            warned = _warnings_apart(by_label[path.a], by_label[path.b], names[part])
            facts.paths.append(_path_verdict(path, part, by, pair, known, (by_label[path.a], by_label[path.b]),
                                             facts, warned))
    if fit_ran:
        facts.claims = {label: claims.judge(by_label[label], training_claims.TRAINING_CLAIMS) for label in labels}
    return facts


PROBE_MODEL = re.compile(r"\b[\w.-]+_probes\b")  # the harness's own probe models (run/nested.py)


def models_warnings(record: ScenarioRecord) -> set[tuple[str, str]]:
    """(category, message) of a run's warnings, less those about the harness's own probe models."""
    return {(w.category, w.message) for w in record.captured.warnings if not PROBE_MODEL.search(w.message)}


def _warnings_apart(a: Artifact, b: Artifact, name: str) -> tuple[str, ...]:
    """The model's warnings only one of two runs gave, "label: Category: message"."""
    ra, rb = a.records.get(name), b.records.get(name)
    if ra is None or rb is None:
        return ()
    wa, wb = models_warnings(ra), models_warnings(rb)
    return tuple([f"{a.label}: {c}: {m}" for c, m in sorted(wa - wb)]
                 + [f"{b.label}: {c}: {m}" for c, m in sorted(wb - wa)])


def match_warning(known: list[KnownDivergence], backends: tuple[str, str], warned: tuple[str, ...]
                  ) -> KnownDivergence | None:
    """The known warnings-only divergence whose patterns match every warning one backend gave alone
    ("label: Category: message" lines), that backend being the entry's odd one out."""
    def matches(entry: KnownDivergence, line: str) -> bool:
        _, category, message = (line.split(": ", 2) + ["", ""])[:3]
        return any(p.matches(category, message) for f in entry.fingerprints
                   if "warnings-differ" in f.verdicts for p in f.warnings)

    return next((k for k in known if backends.count(k.odd) == 1 and warned
                 and all(matches(k, w) for w in warned)), None)


def _path_verdict(path, part: str, states: dict[str, RunState], pair: PairComparison,
                  known: list[KnownDivergence], runs: tuple[Artifact, Artifact], facts: CheckFacts,
                  warned: tuple[str, ...] = ()) -> PathVerdict:
    a, b = states[path.a], states[path.b]
    if not (a.ran and b.ran):
        failed = [s for s in (a, b) if not s.ran]
        if len(failed) == 2 and pair.verdict == "both-error":
            why = f"both raise {a.error.type if a.error else a.status}"
            return PathVerdict(path.title, path.a, path.b, part, "same error", why)
        why = " and ".join(f"{s.label} failed ({s.error.type if s.error else s.status})" for s in failed)
        if pair.verdict == "error-differs":  # a difference in itself: one fails, or they fail apart
            difference = Difference(part, path.a, path.b, pair.verdict, (), why, match_error(known, pair, runs))
            return PathVerdict(path.title, path.a, path.b, part, "differs", f"error-differs: {why}", difference)
        difference = Difference(part, path.a, path.b, pair.verdict, (), pair.detail)
        return PathVerdict(path.title, path.a, path.b, part, "cannot tell", why, difference)
    facts.pairs[part].append(pair)
    layer = first_divergent(pair) if part == FORWARD else None
    if pair.verdict in EXPECTED or (pair.verdict == "warnings-differ" and not warned):
        # (warnings that differ only about the harness's probe models are not the model's)
        return PathVerdict(path.title, path.a, path.b, part, "same", first_divergent=None)
    if pair.verdict == "warnings-differ":
        probes, entry = warned, match_warning(known, (runs[0].backend, runs[1].backend), warned)
    else:
        probes = tuple(p.probe for p in pair.probes if p.verdict != "match")
        entry = match_known(known, pair, runs)
    difference = Difference(part, path.a, path.b, pair.verdict, probes, pair.detail, entry)
    return PathVerdict(path.title, path.a, path.b, part, "differs", pair.verdict, difference, layer)


@dataclass(frozen=True)
class VersionCell:
    """One backend and part on another Keras release, against this check's run of the same backend."""

    version: str
    backend: str
    part: str
    verdict: str  # same | differs | error | cannot run | not run
    detail: str = ""


def judge_versions(runs: list[Artifact], model: str,
                   releases: list[tuple[str, list[Artifact], str]]) -> list[VersionCell]:
    """Each --keras release's runs against this check's: what changes for this model there.

    `releases`: (version, its runs, why some backend could not run there) per release."""
    base = {r.backend: r for r in runs}
    names = {FORWARD: model, TRAINING: model + FIT_SUFFIX}
    cells = []
    for version, found, problem in releases:
        by_backend = {r.backend: r for r in found}
        for backend, reference in base.items():
            run = by_backend.get(backend)
            for part, name in names.items():
                if name not in reference.records:
                    continue
                if run is None:
                    cells.append(VersionCell(version, backend, part, "cannot run", problem or "no run"))
                    continue
                then, now = run_state(run, name), run_state(reference, name)
                if not then.ran:
                    cells.append(VersionCell(version, backend, part, "error", then.cause))
                elif not now.ran:
                    cells.append(VersionCell(version, backend, part, "runs there only", f"here: {now.cause}"))
                else:
                    pair = verdicts.compare_records(reference.records[name], run.records[name], name,
                                                    reference.label, run.label)
                    differing = [p.probe for p in pair.probes if p.verdict != "match"]
                    shown = ", ".join(differing[:4]) + (f" and {len(differing) - 4} more" if len(differing) > 4 else "")
                    cells.append(VersionCell(version, backend, part, "same" if pair.verdict in EXPECTED else "differs",
                                             f"{pair.verdict}: {shown}" if shown else pair.detail))
    return cells
