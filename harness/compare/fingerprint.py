"""Does a known divergence describe this comparison? Fingerprint matching, numpy only.

A pair is known only when every part of its difference is described: an error or warning difference
by an entry whose patterns match, a value difference probe by probe, each differing probe by some
fingerprint whose every condition holds (raw verdict, probe globs, odd backend, band, direction,
expectations). An entry that names the pair (its scenario glob and its odd backend) without
describing it leaves the pair's raw verdict standing, with the reason: "an entry exists but does not
describe this", or "does not apply on this runtime" when the runtime is outside the entry's versions.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import numpy as np

from harness.artifacts import Artifact, ScenarioRecord
from harness.compare.known import Fingerprint, KnownDivergence
from harness.compare.version_range import within as _within


@dataclass(frozen=True)
class Judgement:
    """What the registry says about one pair: the entries that explain it, or why none does."""

    explained_by: tuple[KnownDivergence, ...] = ()
    note: str = ""  # when not explained but named: why not, for the reader (and Findings)


NONE = Judgement()
# Raw verdicts that come from probes (a fingerprint of them explains probe by probe).
_VALUE_RAW = {"missing", "shape-differs", "dtype-differs", "mask-differs", "differs", "differs-masked-only",
              "nondeterministic"}


def runtime_note(entry: KnownDivergence, runs: tuple[Artifact, Artifact]) -> str:
    """'' when both runs are inside the entry's versions, else what is outside, in one line."""
    for run in runs:
        # A run that does not say which Keras it ran (a fuzz worker's in-memory artifact) is not
        # judged outside a range; every artifact the run stage writes says.
        keras = str(run.environment.get("keras", ""))
        if entry.keras and keras and not _within(keras, entry.keras):
            return (f"entry {entry.id!r} does not apply on this runtime: Keras {keras or '?'} is outside "
                    f"its range {entry.keras!r}")
        version = str(run.environment.get("backend_version", ""))
        if run.backend == entry.odd and entry.backend_versions and version and \
                not _within(version, entry.backend_versions):
            return (f"entry {entry.id!r} does not apply on this runtime: {run.backend} {version or '?'} is "
                    f"outside its range {entry.backend_versions!r}")
    return ""


def judge(pair, records: tuple[ScenarioRecord, ScenarioRecord], runs: tuple[Artifact, Artifact],
          known: list[KnownDivergence]) -> Judgement:
    """`pair`: a verdicts.PairComparison whose raw verdict is a divergence."""
    backends = (runs[0].backend, runs[1].backend)
    named = [(e, [f for f in e.fingerprints if fnmatch.fnmatchcase(pair.scenario, f.scenario)])
             for e in known if backends.count(e.odd) == 1]
    named = [(e, fps) for e, fps in named if fps]
    if not named:
        return NONE
    notes: list[str] = []
    usable: list[tuple[KnownDivergence, Fingerprint]] = []
    for entry, fps in named:
        outside = runtime_note(entry, runs)
        if outside:
            notes.append(outside)
        else:
            usable += [(entry, f) for f in fps]
    if usable:
        explained, why_not = _explain(pair, records, backends, usable)
        if explained:
            return Judgement(explained_by=explained)
        notes += why_not
    return Judgement(note="; ".join(dict.fromkeys(notes)))


def _explain(pair, records, backends, usable) -> tuple[tuple[KnownDivergence, ...], list[str]]:
    raw = pair.raw_verdict
    if raw in ("error-differs", "warnings-differ"):
        for entry, fp in usable:
            odd = backends.index(entry.odd)
            why = _whole_pair(fp, raw, records, backends, odd)
            if not why:
                return (entry,), []
        return (), [_not_described(e, _whole_pair(f, raw, records, backends, backends.index(e.odd))) for e, f in usable]
    differing = [p for p in pair.probes if p.verdict != "match"]
    claimed: dict[str, KnownDivergence] = {}
    used: list[KnownDivergence] = []
    reasons: list[str] = []
    for entry, fp in usable:
        odd = backends.index(entry.odd)
        why = _pair_level(fp, raw, differing, records, odd)
        if why:
            reasons.append(_not_described(entry, why))
            continue
        took = False
        for probe in differing:
            why = _probe_level(fp, probe, records, odd)
            if why:
                reasons.append(_not_described(entry, why))
            else:
                claimed.setdefault(probe.probe, entry)
                took = True
        if took and all(e is not entry for e in used):
            used.append(entry)
    if differing and all(p.probe in claimed for p in differing):
        described = {v for entry, fp in usable if entry in used for v in fp.verdicts}
        if raw in described:  # e.g. "nondeterministic" is the pair's, not a probe's: it must be named
            return tuple(used), []
        return (), [_not_described(used[0], f"the raw verdict is {raw}, the entries describe "
                                            f"{', '.join(sorted(described))}")]
    left = [p.probe for p in differing if p.probe not in claimed]
    return (), reasons or [_not_described(usable[0][0], f"no fingerprint explains {', '.join(left[:4])}")]


def _not_described(entry: KnownDivergence, why: str) -> str:
    return f"entry {entry.id!r} exists but does not describe this: {why}"


def _whole_pair(fp: Fingerprint, raw: str, records, backends, odd: int) -> str:
    """'' when an error / missing / warnings difference is described by `fp`, else why not."""
    if raw not in fp.verdicts:
        return f"the raw verdict is {raw}, the entry describes {', '.join(fp.verdicts)}"
    if raw == "error-differs":
        # Usually the odd backend is the one that raises; an entry whose patterns all name the other
        # backends says the odd one is the one that works (e.g. export needs TensorFlow).
        odd_works = all(p.backend and p.backend != backends[odd] for p in fp.errors)
        for side in (odd, 1 - odd):
            record = records[side]
            failed = record.status != "ok"
            if side == odd and failed == odd_works:
                return f"the odd backend ({backends[side]}) {'failed' if failed else 'did not fail'}"
            if failed and not _error_matches(fp, record, backends[side]):
                error = record.captured.error
                shown = f"{error.type}: {error.message[:120]}" if error else record.status
                return f"{backends[side]} raised {shown!r}, which no error pattern matches"
        return ""
    only = [_warnings(records[s]) - _warnings(records[1 - s]) for s in (0, 1)]
    # A pattern without a backend is a warning of the odd side alone. One that names a backend is that
    # backend's text of a warning every backend gives but words differently (PyTorch prints a shape as
    # torch.Size([1, 1, 1]), the others as (1, 1, 1)): then the other side has its own text too.
    for category, message in sorted(only[1 - odd]):
        if not any(p.backend == backends[1 - odd] and p.matches(category, message) for p in fp.warnings):
            return f"a warning only on the other backend: {category}: {message[:120]!r}"
    for category, message in sorted(only[odd]):
        if not any(p.backend in ("", backends[odd]) and p.matches(category, message) for p in fp.warnings):
            return f"a warning no pattern matches: {category}: {message[:120]!r}"
    theirs = [p for p in fp.warnings if p.backend == backends[1 - odd]]
    if theirs and not any(p.matches(c, m) for c, m in only[1 - odd] for p in theirs):
        return f"{backends[1 - odd]} does not give its own text of the warning"
    return ""


def _error_matches(fp: Fingerprint, record: ScenarioRecord, backend: str) -> bool:
    error = record.captured.error
    if error is None:
        return False
    return any(p.matches(error.type, error.message) and p.backend in ("", backend) for p in fp.errors)


def _warnings(record: ScenarioRecord) -> set[tuple[str, str]]:
    return {(w.category, w.message) for w in record.captured.warnings}


def _pair_level(fp: Fingerprint, raw: str, differing, records, odd: int) -> str:
    if raw in ("error-differs", "warnings-differ") or not set(fp.verdicts) & _VALUE_RAW:
        return f"the raw verdict is {raw}, the entry describes {', '.join(fp.verdicts)}"
    names = [p.probe for p in differing]
    for glob in fp.requires:
        if not any(fnmatch.fnmatchcase(n, glob) for n in names):
            return f"no differing probe matches {glob!r}, where this cause shows"
    for glob in fp.expectations:
        odd_fails = _fails(records[odd], glob)
        other_fails = _fails(records[1 - odd], glob)
        if not odd_fails or other_fails:
            return (f"expected the odd backend alone to fail an expectation {glob!r} "
                    f"(odd fails: {odd_fails}; other fails: {other_fails})")
    return ""


def _fails(record: ScenarioRecord, glob: str) -> bool:
    return any(not e.get("passed", True) and fnmatch.fnmatchcase(str(e.get("name", "")), glob)
               for e in record.meta.get("expectations", []))


def _probe_level(fp: Fingerprint, probe, records, odd: int) -> str:
    name = probe.probe
    if not any(fnmatch.fnmatchcase(name, g) for g in fp.probes) or \
            any(fnmatch.fnmatchcase(name, g) for g in fp.except_probes):
        return f"probe {name} is not one this cause touches"
    if probe.verdict not in fp.verdicts:
        return f"probe {name} is {probe.verdict}, the entry describes {', '.join(fp.verdicts)}"
    if fp.abs_range is not None:
        lo, hi = fp.abs_range
        largest = probe.max_abs
        if not lo <= largest <= hi:
            return f"probe {name} differs by {largest:.3g}, outside [{lo:g}, {hi:g}]"
    pa, pb = records[0].captured.probes.get(name), records[1].captured.probes.get(name)
    if pa is None or pb is None:
        return "" if probe.verdict == "missing" else f"probe {name} is missing on one side"
    odd_p, other_p = (pa, pb) if odd == 0 else (pb, pa)
    if fp.mask:
        has = (odd_p.mask is not None, other_p.mask is not None)
        want = (True, False) if fp.mask == "odd-only" else (False, True)
        if has != want:
            return f"probe {name}: mask on the odd side {has[0]}, on the other {has[1]} (expected {fp.mask})"
    if fp.others_zero or fp.direction:
        if odd_p.values.shape != other_p.values.shape:
            return f"probe {name}: shapes differ"
        odd_v, other_v = odd_p.values.astype(np.float64), other_p.values.astype(np.float64)
        tol = probe.tolerance
        scale = np.maximum(np.abs(odd_v), np.abs(other_v))
        where = np.abs(odd_v - other_v) > (tol.atol + tol.rtol * scale if tol else 0.0)
        if fp.others_zero and np.any(other_v[where] != 0):
            return f"probe {name}: the other backend is not 0 where they differ"
        if fp.direction:
            why = _direction(fp.direction, odd_v - other_v, where, records, odd, name)
            if why:
                return why
    return ""


def _direction(direction: str, delta: np.ndarray, where: np.ndarray, records, odd: int, name: str) -> str:
    if direction == "odd-larger" and np.any(delta[where] <= 0):
        return f"probe {name}: the odd backend is not larger everywhere they differ"
    if direction == "odd-smaller" and np.any(delta[where] >= 0):
        return f"probe {name}: the odd backend is not smaller everywhere they differ"
    if direction == "along-descent":
        # step/W (the weight after one step) against grad/W (equal on both sides): the odd backend's
        # weight went further along -gradient, i.e. (odd - other) has the sign of -grad.
        grad = records[odd].captured.probes.get("grad/" + name.split("/", 1)[-1])
        if grad is None or grad.values.shape != delta.shape:
            return f"probe {name}: no gradient probe to check the direction against"
        if np.any(delta[where] * grad.values.astype(np.float64)[where] >= 0):
            return f"probe {name}: the odd backend did not move further along the descent direction"
    return ""


def stale_reason(entry: KnownDivergence, comparison, runs: list[Artifact]) -> str:
    """Why an entry explained nothing in this comparison, in one line for the reader."""
    named = sorted({name for name in comparison.scenarios for f in entry.fingerprints
                    if fnmatch.fnmatchcase(name, f.scenario)})
    odd_runs = [r for r in runs if r.backend == entry.odd]
    if not named or not odd_runs:
        return "its scenarios were not run" if not named else f"no {entry.odd} run in this report"
    outside = [runtime_note(entry, (r, r)) for r in runs]
    if all(outside):
        return f"does not apply on this runtime ({outside[0].split(': ', 1)[1]})"
    keras = ", ".join(sorted({str(r.environment.get("keras", "?")) for r in runs}))
    if any(p.known_note and f"entry {entry.id!r}" in p.known_note for p in comparison.results.values()):
        return f"changed in Keras {keras}: it names pairs here but no longer describes them (see Findings)"
    return f"not seen on Keras {keras}: its scenarios ran and nothing it describes differs (fixed?)"
