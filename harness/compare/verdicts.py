"""Compare artifacts pairwise: tolerances, mask-aware value metrics, verdicts. numpy only.

Checks run in a fixed order and the first that fails names the verdict: presence, status,
shape, dtype, mask (exact), values. Values are split into kept positions (both masks keep the
timestep) and masked positions, because many layers leave masked values undefined while the
seed's C4 is precisely about them.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.artifacts import Artifact, ScenarioRecord
from harness.compare import fingerprint
from harness.compare.known import KnownDivergence
from harness.define.captured import Probe
from harness.define.registry import Tolerance  # reason: where it came from (a default, an override)

# Most severe first: a scenario's verdict is the most severe of its probes' verdicts.
SEVERITY = (
    "missing", "error-differs", "shape-differs", "dtype-differs", "mask-differs", "differs",
    "nondeterministic", "differs-masked-only", "mask-unreadable", "warnings-differ", "both-error", "match",
)
VERDICTS = (*SEVERITY, "known")
EXPECTED = frozenset({"match", "both-error", "known"})  # everything else is a divergence

# float dtype -> (atol, rtol); ints and bools are exact.
DEFAULT_TOLERANCES = {
    "float64": (1e-12, 1e-9),
    "float32": (1e-6, 1e-5),
    "float16": (1e-3, 1e-3),
    "bfloat16": (1e-2, 1e-2),
}
FAILED_STATUSES = ("error", "crashed", "timeout", "skipped")


class _cached:
    """functools.cached_property without Python 3.11's lock on every first read (gone in 3.12): at
    10,000 scenarios x 3 pairs that lock was a tenth of the report stage. Stores in the instance's
    __dict__, so it works on frozen dataclasses; later reads never reach this descriptor."""

    def __init__(self, function: Any) -> None:
        self.function, self.name, self.__doc__ = function, function.__name__, function.__doc__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


@dataclass(frozen=True)
class ValueDiff:
    """Differences over a set of positions; `n_total` 0 means there were none to compare."""

    n_total: int
    n_diff: int
    max_abs: float
    max_rel: float
    max_ulp: int  # distance in float32 units in the last place
    nonfinite: int  # positions where NaN/Inf stands against a number or a different Inf
    first_index: tuple[int, ...] | None = None
    first_values: tuple[float, float] | None = None
    # The largest |a - b| / (atol + rtol * max(|a|, |b|)): how many tolerances apart, so that a
    # bfloat16 rounding (large, within its loose tolerance) ranks below a float32 divergence.
    # Above 1 exactly where `n_diff` counts a position; inf for NaN/Inf or an exact dtype that differs.
    tolerances: float = 0.0

    @property
    def share(self) -> float:
        return self.n_diff / self.n_total if self.n_total else 0.0


NO_DIFF = ValueDiff(0, 0, 0.0, 0.0, 0, 0)


@dataclass(frozen=True)
class ProbeComparison:
    probe: str
    verdict: str
    shape_a: tuple[int, ...] | None
    shape_b: tuple[int, ...] | None
    dtype_a: str | None
    dtype_b: str | None
    mask_a: np.ndarray | None
    mask_b: np.ndarray | None
    tolerance: Tolerance | None
    kept: ValueDiff = NO_DIFF
    masked: ValueDiff = NO_DIFF

    @_cached  # read for every probe by the matrix, the summary and each pair's max
    def max_abs(self) -> float:
        return max(self.kept.max_abs, self.masked.max_abs)

    @property
    def tolerances_apart(self) -> float:
        """How many tolerances apart the two runs are at this probe's worst value."""
        return max(self.kept.tolerances, self.masked.tolerances)


@dataclass(frozen=True)
class PairComparison:
    scenario: str
    a: str  # run labels
    b: str
    verdict: str
    raw_verdict: str  # before known divergences were applied
    probes: tuple[ProbeComparison, ...] = ()
    detail: str = ""  # why, in one line: error types, the first differing probe, ...
    known: KnownDivergence | None = None  # the first entry that explains it (see explained_by)
    explained_by: tuple[KnownDivergence, ...] = ()  # every entry that explains a part of it
    known_note: str = ""  # an entry names the pair but does not describe it (or not on this runtime)

    @property
    def key(self) -> str:
        return f"{self.a}-vs-{self.b}"

    @_cached
    def max_abs(self) -> float:
        """inf when NaN or Inf stands against a number somewhere: never hidden as 0."""
        return max((p.max_abs for p in self.probes), default=0.0)

    @property
    def differing_max_abs(self) -> float:
        """The largest absolute difference over the probes that differ (0 when none does: a mask,
        an error or a warnings difference)."""
        return max((p.max_abs for p in self.probes if p.verdict != "match"), default=0.0)
    @_cached
    def compared(self) -> bool:
        """Whether any values were compared (not when both raised, or one is missing)."""
        return any(p.kept.n_total or p.masked.n_total for p in self.probes)

    @_cached
    def tolerances_apart(self) -> float:
        """How many tolerances apart the two runs are at their worst value (inf: NaN/Inf or exact dtypes)."""
        return max((p.tolerances_apart for p in self.probes), default=0.0)


@dataclass
class Comparison:
    labels: list[str]
    pairs: list[tuple[str, str]]
    scenarios: list[str]
    results: dict[tuple[str, str, str], PairComparison] = field(default_factory=dict)
    stale_known: list[KnownDivergence] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)  # scenario -> its verdict over all pairs

    def get(self, scenario: str, a: str, b: str) -> PairComparison:
        return self.results[(scenario, a, b)]


def tolerance_for(probe: str, dtype_a: str, dtype_b: str,
                  overrides: dict[str, dict[str, Any]]) -> Tolerance:
    """The looser dtype's default, unless an override's glob matches (the largest one wins)."""
    if not overrides:
        return _default_tolerance(dtype_a, dtype_b)
    chosen = _default_tolerance(dtype_a, dtype_b)
    matching = [(o["atol"], o["rtol"], glob, o["reason"]) for glob, o in overrides.items()
                if fnmatch.fnmatchcase(probe, glob)]
    if matching:
        atol, rtol, glob, reason = max(matching)
        chosen = Tolerance(atol, rtol, f"override {glob!r}: {reason}")
    return chosen


@functools.lru_cache(maxsize=64)
def _default_tolerance(dtype_a: str, dtype_b: str) -> Tolerance:
    defaults = [(DEFAULT_TOLERANCES[d], d) for d in (dtype_a, dtype_b) if d in DEFAULT_TOLERANCES]
    if defaults:
        (atol, rtol), name = max(defaults)
        chosen = Tolerance(atol, rtol, f"{name} default")
    else:
        chosen = Tolerance(0.0, 0.0, "exact")
    return chosen


def value_diff(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> ValueDiff:
    """Metrics over two same-shape arrays (already restricted to the positions of interest)."""
    if a.size == 0:
        return NO_DIFF
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(a64) & np.isfinite(b64)
    same_special = (np.isnan(a64) & np.isnan(b64)) | (np.isinf(a64) & (a64 == b64))
    nonfinite = ~finite & ~same_special
    with np.errstate(invalid="ignore", over="ignore"):
        abs_diff = np.where(finite, np.abs(a64 - b64), 0.0)
        scale = np.maximum(np.abs(a64), np.abs(b64))
        rel = np.divide(abs_diff, scale, out=np.zeros_like(abs_diff), where=finite & (scale > 0))
    allowed = tol.atol + tol.rtol * np.where(finite, scale, 0.0)
    exact = a.dtype.kind in "biu" and b.dtype.kind in "biu"
    if exact:
        differs = a != b  # exact, and without float64's rounding of large int64 values
    else:
        differs = nonfinite | (finite & (abs_diff > allowed))
    n_diff = int(differs.sum())
    # where no tolerance scales the difference (exact, NaN/Inf, a zero tolerance): inf or 0
    apart = np.divide(abs_diff, allowed, out=np.where(differs, np.inf, 0.0),
                      where=finite & (allowed > 0) & (not exact))
    first_index = first_values = None
    if n_diff:
        flat = int(np.flatnonzero(differs)[0])
        first_index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        first_values = (float(a64.flat[flat]), float(b64.flat[flat]))
    return ValueDiff(
        n_total=int(a.size),
        n_diff=n_diff,
        max_abs=float("inf") if nonfinite.any() else float(abs_diff.max()),
        max_rel=float(rel.max()),
        max_ulp=ulp_distance(a64[finite], b64[finite]),
        nonfinite=int(nonfinite.sum()),
        first_index=first_index,
        first_values=first_values,
        tolerances=float(apart.max()),
    )


def ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Largest distance in float32 ULPs: map floats to integers that order like the floats."""
    if a.size == 0:
        return 0

    def ordered(x: np.ndarray) -> np.ndarray:
        bits = x.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(bits < 0, np.int64(-(2**31)) - bits, bits)

    return int(np.abs(ordered(a) - ordered(b)).max())


def kept_positions(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Broadcast a (batch, time) mask over an output whose leading axes are (batch, time)."""
    if mask is None or mask.ndim > len(shape) or tuple(shape[: mask.ndim]) != mask.shape:
        return None
    return np.broadcast_to(mask.reshape(mask.shape + (1,) * (len(shape) - mask.ndim)), shape)


def compare_probe(name: str, pa: Probe | None, pb: Probe | None,
                  overrides: dict[str, dict[str, Any]]) -> ProbeComparison:
    if pa is None or pb is None:
        return ProbeComparison(name, "missing", _shape(pa), _shape(pb), _dtype(pa), _dtype(pb),
                               _mask(pa), _mask(pb), None)
    values_a, values_b, mask_a, mask_b = pa.values, pb.values, pa.mask, pb.mask
    if values_a.shape != values_b.shape or pa.dtype != pb.dtype:
        verdict = "shape-differs" if values_a.shape != values_b.shape else "dtype-differs"
        return ProbeComparison(name, verdict, values_a.shape, values_b.shape, pa.dtype, pb.dtype, mask_a,
                               mask_b, None)
    tol = tolerance_for(name, pa.dtype, pb.dtype, overrides)
    # A mask the harness could not read is neither a mask nor "no mask": never compared, so never a
    # mask divergence; values are still compared (over the readable side's kept steps).
    readable = pa.mask_readable and pb.mask_readable
    mask_same = readable and (mask_a is None) == (mask_b is None) and (
        mask_a is None or (mask_a.shape == mask_b.shape and _same_bytes(mask_a, mask_b)))
    if mask_same and (_same_bytes(values_a, values_b) or np.array_equal(
            values_a, values_b, equal_nan=values_a.dtype.kind == "f")):
        # The common case (most probes are bit-identical across backends): positional arguments and
        # one shared "nothing differs" ValueDiff per size keep it cheap at 10,000s of scenarios.
        return _match(name, values_a.shape, values_b.shape, pa.dtype, pb.dtype, mask_a, mask_b, tol,
                      _all_kept(values_a.size))
    base = dict(probe=name, shape_a=values_a.shape, shape_b=values_b.shape, dtype_a=pa.dtype,
                dtype_b=pb.dtype, mask_a=mask_a, mask_b=mask_b)
    # Kept positions are those both masks keep; with no usable mask every position is kept.
    keep_a = kept_positions(pa.mask, pa.values.shape)
    keep_b = kept_positions(pb.mask, pb.values.shape)
    keep = (keep_a if keep_b is None else keep_b if keep_a is None else keep_a & keep_b)
    if keep is None:
        keep = np.ones(pa.values.shape, dtype=bool)
    kept = value_diff(pa.values[keep], pb.values[keep], tol)
    masked = value_diff(pa.values[~keep], pb.values[~keep], tol)
    kept, masked = _reindex(kept, keep), _reindex(masked, ~keep)
    if readable and not mask_same:
        verdict = "mask-differs"
    elif kept.n_diff:
        verdict = "differs"
    elif masked.n_diff:
        verdict = "differs-masked-only"
    else:
        verdict = "match" if readable else "mask-unreadable"
    return ProbeComparison(verdict=verdict, tolerance=tol, kept=kept, masked=masked, **base)


@functools.lru_cache(maxsize=256)
def _all_kept(size: int) -> ValueDiff:
    return ValueDiff(size, 0, 0.0, 0.0, 0, 0)


def _match(probe: str, shape_a: tuple[int, ...], shape_b: tuple[int, ...], dtype_a: str, dtype_b: str,
           mask_a: np.ndarray | None, mask_b: np.ndarray | None, tolerance: Tolerance,
           kept: ValueDiff) -> ProbeComparison:
    """A matching ProbeComparison, equal to the constructor's, built without a frozen dataclass's
    per-field object.__setattr__ (2.5x cheaper; ~90,000 of them for 10,000 scenarios x 3 pairs)."""
    made = object.__new__(ProbeComparison)
    made.__dict__.update(probe=probe, verdict="match", shape_a=shape_a, shape_b=shape_b, dtype_a=dtype_a,
                         dtype_b=dtype_b, mask_a=mask_a, mask_b=mask_b, tolerance=tolerance, kept=kept,
                         masked=NO_DIFF, max_abs=0.0)  # max_abs: the cached property's value, known
    return made


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical arrays (the common case), cheaper than np.array_equal on small arrays."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _reindex(diff: ValueDiff, where: np.ndarray) -> ValueDiff:
    """Turn the first differing index within the selection back into an index of the full array."""
    if diff.first_index is None:
        return diff
    full = tuple(int(i) for i in np.argwhere(where)[diff.first_index[0]])
    return dataclasses.replace(diff, first_index=full)


def _shape(p: Probe | None):
    return None if p is None else p.values.shape


def _dtype(p: Probe | None):
    return None if p is None else p.dtype


def _mask(p: Probe | None):
    return None if p is None else p.mask


def compare_records(ra: ScenarioRecord | None, rb: ScenarioRecord | None, scenario: str,
                    a: str, b: str) -> PairComparison:
    """One scenario under two runs: the verdict before known divergences are applied."""
    if ra is None or rb is None:
        absent = a if ra is None else b
        return _pair(scenario, a, b, "missing", detail=f"not run by {absent}")
    failed_a, failed_b = ra.status in FAILED_STATUSES, rb.status in FAILED_STATUSES
    if failed_a or failed_b:
        type_a = _error_type(ra) if failed_a else "ok"
        type_b = _error_type(rb) if failed_b else "ok"
        verdict = "both-error" if failed_a and failed_b and type_a == type_b else "error-differs"
        return _pair(scenario, a, b, verdict, detail=f"{a}: {type_a}; {b}: {type_b}")
    overrides = {**rb.meta.get("tolerances", {}), **ra.meta.get("tolerances", {})}
    pa, pb = ra.captured.probes, rb.captured.probes
    # A compiled ("jit/") probe that only one backend has means its compiler was unsupported or
    # failed there; that is reported by the compiled-mode table, not as a missing probe.
    names = [k for k in pa if k in pb or not k.startswith("jit/")]
    names += [k for k in pb if k not in pa and not k.startswith("jit/")]
    probes = tuple(compare_probe(n, pa.get(n), pb.get(n), overrides) for n in names)
    if all(p.verdict == "match" for p in probes):  # the common case, decided without ranking
        verdict, detail = "match", ""
    else:
        verdict = min((p.verdict for p in probes), key=SEVERITY.index)
        detail = next(f"first at {p.probe}" for p in probes if p.verdict == verdict)
    if verdict in ("differs", "differs-masked-only") and not (
            ra.meta.get("deterministic", True) and rb.meta.get("deterministic", True)):
        verdict, detail = "nondeterministic", "a backend gave different results on two calls"
    if verdict == "match" and (ra.captured.warnings or rb.captured.warnings) and \
            _warning_set(ra) != _warning_set(rb):
        only_a = _warning_set(ra) - _warning_set(rb)
        only_b = _warning_set(rb) - _warning_set(ra)
        verdict = "warnings-differ"
        detail = f"only {a}: {len(only_a)}; only {b}: {len(only_b)}"
    return _pair(scenario, a, b, verdict, probes=probes, detail=detail)


def _pair(scenario: str, a: str, b: str, verdict: str, **kw: Any) -> PairComparison:
    return PairComparison(scenario=scenario, a=a, b=b, verdict=verdict, raw_verdict=verdict, **kw)


def _error_type(record: ScenarioRecord) -> str:
    error = record.captured.error
    return error.type if error else record.status


def _warning_set(record: ScenarioRecord) -> set[tuple[str, str]]:
    return {(w.category, w.message) for w in record.captured.warnings}


def label_order(artifact: Artifact) -> tuple[int, str]:
    backend = artifact.environment.get("backend", "")
    order = ("tensorflow", "jax", "torch")
    return (order.index(backend) if backend in order else len(order), artifact.label)


def compare(runs: list[Artifact], known: list[KnownDivergence] = ()) -> Comparison:
    """Every scenario under every pair of runs, with known divergences applied."""
    runs = sorted(runs, key=label_order)
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"two artifacts share a run label: {labels}")
    scenarios = sorted({name for r in runs for name in r.records})
    pairs = list(itertools.combinations(labels, 2))
    by_label = {r.label: r for r in runs}
    result = Comparison(labels=labels, pairs=pairs, scenarios=scenarios)
    used: set[int] = set()
    for name in scenarios:
        for a, b in pairs:
            ra, rb = by_label[a], by_label[b]
            pair = compare_records(ra.records.get(name), rb.records.get(name), name, a, b)
            if pair.verdict not in EXPECTED and known and name in ra.records and name in rb.records:
                said = fingerprint.judge(pair, (ra.records[name], rb.records[name]), (ra, rb), known)
                if said.explained_by:
                    used.update(id(e) for e in said.explained_by)
                    pair = dataclasses.replace(pair, verdict="known", known=said.explained_by[0],
                                               explained_by=said.explained_by)
                elif said.note:
                    # A finding still: the reader sees which entry came close and why it is not this.
                    pair = dataclasses.replace(pair, known_note=said.note,
                                               detail="; ".join(x for x in (pair.detail, said.note) if x))
            result.results[(name, a, b)] = pair
    result.stale_known = [k for k in known if id(k) not in used]
    result.verdicts = {name: _scenario_verdict(result, name) for name in scenarios}
    return result


def eager_vs_compiled(run: Artifact) -> dict[str, PairComparison]:
    """Within one run: each probe against its compiled ("jit/") twin."""
    out = {}
    for name, record in run.records.items():
        jit = {k[4:]: p for k, p in record.captured.probes.items() if k.startswith("jit/")}
        if not jit:
            continue
        eager = {k: p for k, p in record.captured.probes.items() if k in jit}
        overrides = record.meta.get("tolerances", {})
        probes = tuple(compare_probe(k, eager.get(k), jit[k], overrides) for k in jit)
        verdict = min((p.verdict for p in probes), key=SEVERITY.index, default="match")
        out[name] = _pair(name, f"{run.label}", f"{run.label}-jit", verdict, probes=probes)
    return out


def counts(comparison: Comparison) -> dict[str, int]:
    tally = dict.fromkeys(VERDICTS, 0)
    for pair in comparison.results.values():
        tally[pair.verdict] += 1
    return {k: v for k, v in tally.items() if v}


def scenario_verdict(comparison: Comparison, scenario: str) -> str:
    """The most severe verdict of a scenario over all pairs ("known" ranks like a match)."""
    cached = comparison.verdicts.get(scenario)
    return cached if cached is not None else _scenario_verdict(comparison, scenario)


def _scenario_verdict(comparison: Comparison, scenario: str) -> str:
    verdicts = [comparison.get(scenario, a, b).verdict for a, b in comparison.pairs]
    unexpected = [v for v in verdicts if v not in EXPECTED]
    if unexpected:
        return min(unexpected, key=SEVERITY.index)
    return "known" if "known" in verdicts else min(verdicts, key=SEVERITY.index, default="match")
