"""harness.compare on synthetic arrays: every verdict, masks, tolerances, non-finite values, metrics."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest

from harness.compare import verdicts
from harness.compare.verdicts import (
    DEFAULT_TOLERANCES,
    EXPECTED,
    SEVERITY,
    VERDICTS,
    Tolerance,
    compare_probe,
    compare_records,
    tolerance_for,
    ulp_distance,
    value_diff,
)
from tests.helpers.factories import JAX, TF, TORCH, make_artifact, make_probe, make_record, seed_probes, three_runs
from tests.helpers.known_builders import entry as known_entry

F32 = np.float32
NAME = "seed/case"


def pair_of(ra, rb, known=()) -> verdicts.PairComparison:
    """Compare two records through compare() (so known divergences apply), tensorflow vs torch."""
    runs = [make_artifact(TF, [ra] if ra else []), make_artifact(TORCH, [rb] if rb else [])]
    return verdicts.compare(runs, list(known)).get(NAME, TF, TORCH)


def rec(probes=None, **kw):
    return make_record(NAME, probes, **kw)


def vec(*values, dtype=F32):
    return np.array(values, dtype=dtype)


# ---- every verdict, each from the smallest input that should produce it ----------------------

def _match():
    return rec(seed_probes()), rec(seed_probes()), ()


def _differs():
    return rec(seed_probes()), rec(seed_probes(shift=0.5)), ()


def _differs_masked_only():
    return rec(seed_probes()), rec(seed_probes(masked_shift=0.5)), ()


def _mask_differs():
    other = seed_probes()["M_num"].mask.copy()
    other[0, 0] = True
    return rec(seed_probes()), rec(seed_probes(mask=other)), ()


def _shape_differs():
    return rec({"x": make_probe(np.zeros((2, 5), F32))}), rec({"x": make_probe(np.zeros((2, 4), F32))}), ()


def _dtype_differs():
    return rec({"x": make_probe(np.zeros(3, F32))}), rec({"x": make_probe(np.zeros(3, np.float64))}), ()


def _error_one_side():
    return rec(error=("ValueError", "boom")), rec(seed_probes()), ()


def _error_types_differ():
    return rec(error=("ValueError", "boom")), rec(error=("TypeError", "boom")), ()


def _both_error():
    return rec(error=("ValueError", "boom on tf")), rec(error=("ValueError", "other message")), ()


def _warnings_differ():
    return (rec(seed_probes(), warnings=[("UserWarning", "mask ignored")]), rec(seed_probes()), ())


def _nondeterministic():
    return rec(seed_probes()), rec(seed_probes(shift=0.5), deterministic=False), ()


def _known():
    entry = known_entry("seed/*", "torch", what="gru_1 differs", why="synthetic", probes="gru_*")
    return rec(seed_probes()), rec(seed_probes(shift=0.5)), (entry,)


def _missing():
    return rec(seed_probes()), None, ()


def _mask_unreadable():
    unread = {k: dataclasses.replace(p, mask=None, mask_readable=False) for k, p in seed_probes().items()}
    return rec(seed_probes()), rec(unread), ()


CASES: dict[str, tuple[str, Callable]] = {
    "match": ("match", _match),
    "differs": ("differs", _differs),
    "differs-masked-only": ("differs-masked-only", _differs_masked_only),
    "mask-differs": ("mask-differs", _mask_differs),
    "shape-differs": ("shape-differs", _shape_differs),
    "dtype-differs": ("dtype-differs", _dtype_differs),
    "error-one-side": ("error-differs", _error_one_side),
    "error-types-differ": ("error-differs", _error_types_differ),
    "both-error": ("both-error", _both_error),
    "warnings-differ": ("warnings-differ", _warnings_differ),
    "nondeterministic": ("nondeterministic", _nondeterministic),
    "known": ("known", _known),
    "missing": ("missing", _missing),
    "mask-unreadable": ("mask-unreadable", _mask_unreadable),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_verdict_is_reached(case):
    expected, build = CASES[case]
    ra, rb, known = build()
    assert pair_of(ra, rb, known).verdict == expected


def test_the_cases_reach_every_verdict_and_nothing_else():
    reached = {pair_of(*build()).verdict for _, build in CASES.values()}
    assert reached == set(VERDICTS)


def test_verdict_tables_are_consistent():
    assert set(SEVERITY) | {"known"} == set(VERDICTS)
    assert len(VERDICTS) == len(set(VERDICTS))
    assert EXPECTED == {"match", "both-error", "known"}
    assert SEVERITY[0] == "missing" and SEVERITY[-1] == "match"


# ---- presence and status --------------------------------------------------------------------

def test_missing_scenario_names_the_run_that_lacks_it():
    pair = pair_of(None, rec(seed_probes()))
    assert pair.verdict == "missing"
    assert pair.detail == f"not run by {TF}"
    assert pair.probes == ()


def test_missing_probe_on_one_side():
    ra = rec({"x": make_probe(vec(1, 2)), "y": make_probe(vec(1, 2))})
    rb = rec({"x": make_probe(vec(1, 2))})
    pair = compare_records(ra, rb, NAME, "a", "b")
    assert pair.verdict == "missing"
    by_name = {p.probe: p for p in pair.probes}
    assert by_name["x"].verdict == "match"
    assert by_name["y"].verdict == "missing"
    assert by_name["y"].shape_a == (2,) and by_name["y"].shape_b is None
    # the other direction too
    assert compare_records(rb, ra, NAME, "b", "a").verdict == "missing"


def test_a_match_has_no_detail():
    pair = compare_records(rec(seed_probes()), rec(seed_probes()), NAME, "a", "b")
    assert pair.verdict == "match"
    assert pair.detail == ""


def test_error_on_one_side_says_which():
    ra, rb, _ = _error_one_side()
    pair = compare_records(ra, rb, NAME, "a", "b")
    assert pair.verdict == "error-differs"
    assert pair.detail == "a: ValueError; b: ok"
    assert compare_records(rb, ra, NAME, "b", "a").detail == "b: ok; a: ValueError"


def test_error_types_differ_detail():
    pair = compare_records(*_error_types_differ()[:2], NAME, "a", "b")
    assert (pair.verdict, pair.detail) == ("error-differs", "a: ValueError; b: TypeError")


@pytest.mark.parametrize("status", ["crashed", "timeout", "skipped"])
def test_failed_statuses_count_as_errors(status):
    failed = rec(status=status, error=(status, "worker died"))
    assert compare_records(failed, rec(seed_probes()), NAME, "a", "b").verdict == "error-differs"
    assert compare_records(failed, rec(status=status, error=(status, "x")), NAME, "a", "b").verdict \
        == "both-error"


def test_crash_and_exception_are_different_errors():
    crashed = rec(status="crashed", error=("crashed", "signal 11"))
    raised = rec(error=("ValueError", "boom"))
    assert compare_records(crashed, raised, NAME, "a", "b").verdict == "error-differs"


# ---- masks are compared, never ignored --------------------------------------------------------

def test_same_values_different_masks_is_mask_differs():
    values = np.ones((2, 5, 3), F32)
    pa = make_probe(values, [[1, 0, 1, 0, 1], [1, 1, 1, 1, 1]])
    pb = make_probe(values, [[1, 0, 1, 0, 1], [1, 1, 1, 1, 0]])
    result = compare_probe("m", pa, pb, {})
    assert result.verdict == "mask-differs"
    assert np.array_equal(result.mask_a, pa.mask) and np.array_equal(result.mask_b, pb.mask)


@pytest.mark.parametrize("side", ["a", "b"])
def test_no_mask_against_a_mask_is_mask_differs(side):
    values = np.ones((2, 5), F32)
    with_mask = make_probe(values, np.ones((2, 5)))  # even an all-True mask is not "no mask"
    without = make_probe(values)
    pa, pb = (without, with_mask) if side == "a" else (with_mask, without)
    assert compare_probe("m", pa, pb, {}).verdict == "mask-differs"


def test_masks_of_different_shapes_differ():
    values = np.ones((2, 5, 3), F32)
    pa = make_probe(values, np.ones((2, 5)))
    pb = make_probe(values, np.ones((2, 5, 3)))
    assert compare_probe("m", pa, pb, {}).verdict == "mask-differs"


def test_mask_differs_outranks_value_differences():
    ra = rec(seed_probes())
    other = seed_probes(shift=0.5)
    mask = other["gru_1"].mask.copy()
    mask[1, 1] = False
    other["gru_1"] = make_probe(other["gru_1"].values, mask)
    pair = compare_records(ra, rec(other), NAME, "a", "b")
    assert pair.verdict == "mask-differs"
    assert pair.detail == "first at gru_1"


def test_difference_at_a_masked_timestep_only():
    pa = make_probe(np.zeros((2, 5, 3), F32), [[1, 1, 0, 1, 1], [1, 1, 1, 1, 1]])
    changed = pa.values.copy()
    changed[0, 2, 1] = 0.5  # timestep 2 of sequence 0 is masked
    result = compare_probe("gru", pa, make_probe(changed, pa.mask), {})
    assert result.verdict == "differs-masked-only"
    assert result.kept.n_diff == 0 and result.kept.n_total == 27
    assert result.masked.n_diff == 1 and result.masked.n_total == 3
    assert result.masked.first_index == (0, 2, 1)
    assert result.masked.first_values == (0.0, 0.5)


def test_the_same_difference_at_a_kept_timestep_differs():
    pa = make_probe(np.zeros((2, 5, 3), F32), [[1, 1, 0, 1, 1], [1, 1, 1, 1, 1]])
    changed = pa.values.copy()
    changed[0, 3, 1] = 0.5  # timestep 3 is kept
    result = compare_probe("gru", pa, make_probe(changed, pa.mask), {})
    assert result.verdict == "differs"
    assert result.kept.n_diff == 1 and result.masked.n_diff == 0
    assert result.kept.first_index == (0, 3, 1)


def test_without_masks_every_position_is_kept():
    pa = make_probe(np.zeros((2, 3), F32))
    pb = make_probe(vec(0, 0, 0, 0, 0, 1).reshape(2, 3))
    result = compare_probe("dense", pa, pb, {})
    assert result.verdict == "differs"
    assert result.kept.n_total == 6 and result.masked.n_total == 0


def test_mask_over_two_dimensional_values():
    mask = [[1, 0, 1]]
    pa = make_probe(vec(1, 2, 3).reshape(1, 3), mask)
    pb = make_probe(vec(1, 9, 3).reshape(1, 3), mask)
    result = compare_probe("emb", pa, pb, {})
    assert result.verdict == "differs-masked-only"
    assert result.masked.first_index == (0, 1)


def test_differs_masked_only_outranks_match_for_the_scenario():
    pair = compare_records(*_differs_masked_only()[:2], NAME, "a", "b")
    assert pair.verdict == "differs-masked-only"
    gru = next(p for p in pair.probes if p.probe == "gru_1")
    assert gru.kept.n_diff == 0 and gru.masked.n_diff == 1
    assert [p.verdict for p in pair.probes if p.probe != "gru_1"] == ["match", "match"]


# ---- tolerances --------------------------------------------------------------------------------

def _over_threshold(a: float, b: float, atol: float, rtol: float) -> float:
    """How far |a-b| is past the tolerance, in float64 on the float32-rounded values."""
    return abs(a - b) - (atol + rtol * max(abs(a), abs(b)))


@pytest.mark.parametrize("scale", [0.0, 1.0, 100.0])
def test_float32_default_just_under_passes_just_over_fails(scale):
    atol, rtol = DEFAULT_TOLERANCES["float32"]
    assert (atol, rtol) == (1e-6, 1e-5)
    threshold = atol + rtol * scale
    under, over = F32(scale + 0.9 * threshold), F32(scale + 1.1 * threshold)
    a = F32(scale)
    # the float32 rounding keeps each case clearly on its side of the line
    assert _over_threshold(float(a), float(under), atol, rtol) < -0.02 * threshold
    assert _over_threshold(float(a), float(over), atol, rtol) > 0.02 * threshold
    passed = compare_probe("p", make_probe(vec(a, 1)), make_probe(vec(under, 1)), {})
    failed = compare_probe("p", make_probe(vec(a, 1)), make_probe(vec(over, 1)), {})
    assert passed.verdict == "match" and passed.kept.n_diff == 0 and passed.kept.max_abs > 0
    assert failed.verdict == "differs" and failed.kept.n_diff == 1
    assert passed.tolerance == Tolerance(1e-6, 1e-5, "float32 default")


def test_rtol_is_relative_to_the_values():
    # 5e-4 apart is noise at 1000 (rtol 1e-5 * 1000 = 1e-2) but a difference at 1
    big = compare_probe("p", make_probe(vec(1000.0)), make_probe(vec(1000.0005)), {})
    small = compare_probe("p", make_probe(vec(1.0)), make_probe(vec(1.0005)), {})
    assert big.verdict == "match"
    assert small.verdict == "differs"


@pytest.mark.parametrize("dtype,store,under,over", [
    ("float16", np.float16, 1.0 + 2 ** -10, 1.0 + 3 * 2 ** -10),  # 1 vs 3 float16 steps at 1.0
    ("bfloat16", np.float32, 1.015, 1.03),  # bfloat16 arrives widened to float32
    ("float64", np.float64, 1.0 + 5e-10, 1.0 + 2e-9),
])
def test_per_dtype_defaults(dtype, store, under, over):
    atol, rtol = DEFAULT_TOLERANCES[dtype]
    assert _over_threshold(1.0, float(store(under)), atol, rtol) < 0
    assert _over_threshold(1.0, float(store(over)), atol, rtol) > 0
    one = make_probe(np.array([1.0], store), dtype=dtype)
    passed = compare_probe("p", one, make_probe(np.array([under], store), dtype=dtype), {})
    failed = compare_probe("p", one, make_probe(np.array([over], store), dtype=dtype), {})
    assert (passed.verdict, failed.verdict) == ("match", "differs")
    assert passed.tolerance.reason == f"{dtype} default"


def test_half_precision_is_looser_than_float32():
    assert DEFAULT_TOLERANCES["float16"] > DEFAULT_TOLERANCES["float32"]
    assert DEFAULT_TOLERANCES["bfloat16"] > DEFAULT_TOLERANCES["float16"]
    # a float16-sized step passes as float16 and fails as float32
    a, b = vec(1.0), vec(1.0 + 2 ** -10)
    assert compare_probe("p", make_probe(a, dtype="float16"), make_probe(b, dtype="float16"), {}).verdict \
        == "match"
    assert compare_probe("p", make_probe(a), make_probe(b), {}).verdict == "differs"


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
def test_integers_are_exact(dtype):
    result = compare_probe("ids", make_probe(np.array([3, 7, 100], dtype)),
                           make_probe(np.array([3, 7, 101], dtype)), {})
    assert result.verdict == "differs"
    assert result.kept.n_diff == 1 and result.kept.max_abs == 1.0
    assert result.tolerance == Tolerance(0.0, 0.0, "exact")


def test_large_int32_difference_of_one():
    big = 2**31 - 2
    result = compare_probe("ids", make_probe(np.array([big], np.int32)),
                           make_probe(np.array([big + 1], np.int32)), {})
    assert result.verdict == "differs"


def test_large_int64_difference_of_one_is_not_lost():
    big = 2**60
    result = compare_probe("ids", make_probe(np.array([big], np.int64)),
                           make_probe(np.array([big + 1], np.int64)), {})
    assert result.verdict == "differs"


def test_bools_are_exact():
    result = compare_probe("flags", make_probe(np.array([True, False, True])),
                           make_probe(np.array([True, True, True])), {})
    assert result.verdict == "differs"
    assert result.kept.n_diff == 1 and result.kept.first_index == (1,)
    assert result.tolerance.reason == "exact"


def test_override_glob_applies_with_its_reason():
    overrides = {"gru_*": {"atol": 0.1, "rtol": 0.0, "reason": "reset_after order of operations"}}
    ra = rec({"gru_1": make_probe(vec(1.0, 2.0)), "dense": make_probe(vec(1.0, 2.0))},
             tolerances=overrides)
    rb = rec({"gru_1": make_probe(vec(1.05, 2.0)), "dense": make_probe(vec(1.05, 2.0))})
    pair = compare_records(ra, rb, NAME, "a", "b")
    by_name = {p.probe: p for p in pair.probes}
    assert by_name["gru_1"].verdict == "match"
    assert by_name["gru_1"].tolerance == Tolerance(0.1, 0.0, "override 'gru_*': reset_after order of operations")
    assert by_name["dense"].verdict == "differs"
    assert by_name["dense"].tolerance.reason == "float32 default"
    assert pair.verdict == "differs"


def test_override_from_either_run_applies():
    overrides = {"x": {"atol": 0.1, "rtol": 0.0, "reason": "r"}}
    ra = rec({"x": make_probe(vec(1.0))})
    rb = rec({"x": make_probe(vec(1.05))}, tolerances=overrides)
    assert compare_records(ra, rb, NAME, "a", "b").verdict == "match"
    assert compare_records(rb, ra, NAME, "b", "a").verdict == "match"


def test_the_largest_matching_override_wins():
    overrides = {
        "gru_*": {"atol": 0.1, "rtol": 0.0, "reason": "broad"},
        "gru_1": {"atol": 0.5, "rtol": 0.0, "reason": "this layer"},
        "dense": {"atol": 9.0, "rtol": 0.0, "reason": "does not match"},
    }
    tol = tolerance_for("gru_1", "float32", "float32", overrides)
    assert (tol.atol, tol.rtol) == (0.5, 0.0)
    assert tol.reason == "override 'gru_1': this layer"
    assert tolerance_for("gru_2", "float32", "float32", overrides).reason == "override 'gru_*': broad"
    assert tolerance_for("other", "float32", "float32", overrides).reason == "float32 default"


def test_an_override_can_tighten_the_default():
    overrides = {"x": {"atol": 0.0, "rtol": 0.0, "reason": "must be bit-identical"}}
    a, b = vec(1.0), np.array([np.nextafter(F32(1.0), F32(2.0))])
    assert compare_probe("x", make_probe(a), make_probe(b), {}).verdict == "match"
    assert compare_probe("x", make_probe(a), make_probe(b), overrides).verdict == "differs"


def test_override_glob_is_case_sensitive():
    overrides = {"GRU*": {"atol": 1.0, "rtol": 0.0, "reason": "r"}}
    assert tolerance_for("gru_1", "float32", "float32", overrides).reason == "float32 default"


@pytest.mark.parametrize("a,b,expected", [
    ("float32", "float16", "float16 default"),
    ("float16", "float32", "float16 default"),
    ("float16", "bfloat16", "bfloat16 default"),
    ("float64", "float32", "float32 default"),
    ("float32", "int32", "float32 default"),
    ("int32", "int32", "exact"),
    ("bool", "bool", "exact"),
])
def test_tolerance_for_takes_the_looser_dtype(a, b, expected):
    tol = tolerance_for("p", a, b, {})
    assert tol.reason == expected
    if expected != "exact":
        assert (tol.atol, tol.rtol) == DEFAULT_TOLERANCES[expected.split()[0]]
    else:
        assert (tol.atol, tol.rtol) == (0.0, 0.0)


# ---- NaN and Inf --------------------------------------------------------------------------------

def test_nan_equals_nan_at_the_same_position():
    pa = make_probe(vec(np.nan, 1.0, 2.0))
    assert compare_probe("p", pa, make_probe(vec(np.nan, 1.0, 2.0)), {}).verdict == "match"
    # also on the tolerance path (another element differs within tolerance)
    result = compare_probe("p", pa, make_probe(vec(np.nan, 1.0 + 1e-7, 2.0)), {})
    assert result.verdict == "match"
    assert result.kept.nonfinite == 0 and result.kept.n_diff == 0


def test_nan_against_a_number_differs_and_is_counted():
    result = compare_probe("p", make_probe(vec(np.nan, 1.0, 2.0)), make_probe(vec(0.5, 1.0, np.nan)), {})
    assert result.verdict == "differs"
    assert result.kept.nonfinite == 2 and result.kept.n_diff == 2
    assert result.kept.max_abs == math.inf
    assert result.kept.first_index == (0,)
    assert math.isnan(result.kept.first_values[0]) and result.kept.first_values[1] == 0.5


def test_nan_at_different_positions_differs():
    result = compare_probe("p", make_probe(vec(np.nan, 1.0)), make_probe(vec(1.0, np.nan)), {})
    assert result.verdict == "differs" and result.kept.nonfinite == 2


def test_same_infinities_are_equal():
    result = compare_probe("p", make_probe(vec(np.inf, -np.inf, 1.0)),
                           make_probe(vec(np.inf, -np.inf, 1.0 + 1e-7)), {})
    assert result.verdict == "match"
    assert result.kept.nonfinite == 0 and math.isfinite(result.kept.max_abs)


@pytest.mark.parametrize("other", [-np.inf, 1e30, np.nan])
def test_inf_against_anything_else_differs(other):
    result = compare_probe("p", make_probe(vec(np.inf, 1.0)), make_probe(vec(other, 1.0)), {})
    assert result.verdict == "differs"
    assert result.kept.nonfinite == 1 and result.kept.first_index == (0,)


def test_nan_only_at_a_masked_position():
    mask = [[1, 0]]
    pa = make_probe(vec(1.0, np.nan).reshape(1, 2), mask)
    pb = make_probe(vec(1.0, 3.0).reshape(1, 2), mask)
    result = compare_probe("p", pa, pb, {})
    assert result.verdict == "differs-masked-only"
    assert result.masked.nonfinite == 1 and result.kept.nonfinite == 0


def test_pair_max_abs_ignores_probes_without_nonfinite_but_keeps_finite_ones():
    ra = rec({"x": make_probe(vec(1.0, 2.0)), "y": make_probe(vec(np.nan))})
    rb = rec({"x": make_probe(vec(1.5, 2.0)), "y": make_probe(vec(np.nan))})
    assert compare_records(ra, rb, NAME, "a", "b").max_abs == 0.5


def test_pair_max_abs_is_not_zero_when_nan_stands_against_a_number():
    ra = rec({"x": make_probe(vec(np.nan, 1.0))})
    rb = rec({"x": make_probe(vec(0.5, 1.0))})
    pair = compare_records(ra, rb, NAME, "a", "b")
    assert pair.verdict == "differs"
    assert pair.max_abs == math.inf


# ---- metrics ---------------------------------------------------------------------------------------

def test_metrics_over_a_full_array():
    a = np.full((2, 3, 2), 2.0, F32)
    b = a.copy()
    b[1, 2, 0] = 2.5
    b[1, 2, 1] = 2.25
    result = compare_probe("p", make_probe(a), make_probe(b), {})
    diff = result.kept
    assert (diff.n_total, diff.n_diff) == (12, 2)
    assert diff.share == pytest.approx(2 / 12)
    assert diff.max_abs == pytest.approx(0.5)
    assert diff.max_rel == pytest.approx(0.5 / 2.5)
    assert diff.first_index == (1, 2, 0)
    assert diff.first_values == (2.0, 2.5)
    assert diff.nonfinite == 0
    assert result.max_abs == pytest.approx(0.5)


def test_first_index_is_in_full_array_coordinates_when_split():
    a = np.zeros((2, 3, 2), F32)
    mask = np.array([[1, 1, 1], [1, 0, 1]], bool)
    b = a.copy()
    b[1, 1, 1] = 0.75  # masked
    b[1, 2, 0] = 0.5  # kept, after the masked one in flat order
    result = compare_probe("p", make_probe(a, mask), make_probe(b, mask), {})
    assert result.verdict == "differs"
    assert result.kept.first_index == (1, 2, 0) and result.kept.first_values == (0.0, 0.5)
    assert result.masked.first_index == (1, 1, 1) and result.masked.first_values == (0.0, 0.75)
    assert (result.kept.n_total, result.masked.n_total) == (10, 2)
    assert result.masked.share == pytest.approx(0.5)
    assert result.max_abs == pytest.approx(0.75)  # over kept and masked


def test_mask_differs_still_reports_metrics_on_the_positions_both_keep():
    a = np.zeros((1, 3), F32)
    b = np.array([[0.0, 0.5, 0.25]], F32)
    result = compare_probe("p", make_probe(a, [[1, 1, 0]]), make_probe(b, [[1, 0, 0]]), {})
    assert result.verdict == "mask-differs"
    assert result.kept.n_total == 1 and result.kept.n_diff == 0  # only timestep 0 is kept by both
    assert result.masked.n_diff == 2 and result.masked.first_index == (0, 1)


def test_ulp_distance():
    one = F32(1.0)
    up1 = np.nextafter(one, F32(2.0))
    up3 = np.nextafter(np.nextafter(up1, F32(2.0)), F32(2.0))
    assert ulp_distance(np.array([1.0]), np.array([float(up1)])) == 1
    assert ulp_distance(np.array([1.0]), np.array([float(up3)])) == 3
    assert ulp_distance(np.array([-1.0]), np.array([-float(up1)])) == 1
    assert ulp_distance(np.array([0.0]), np.array([-0.0])) == 0
    tiny = float(np.nextafter(F32(0), F32(1)))  # smallest subnormal: crossing zero is 2 ulps
    assert ulp_distance(np.array([tiny]), np.array([-tiny])) == 2
    assert ulp_distance(np.array([]), np.array([])) == 0


def test_ulp_reported_per_probe():
    one = F32(1.0)
    result = compare_probe("p", make_probe(vec(one, 5.0)), make_probe(np.array([np.nextafter(one, F32(2)), 5.0],
                                                                                F32)), {})
    assert result.verdict == "match"  # within tolerance, yet not bit-identical
    assert result.kept.max_ulp == 1 and result.kept.n_diff == 0


def test_value_diff_of_nothing_is_empty():
    empty = np.zeros((0,), F32)
    assert value_diff(empty, empty, Tolerance(0, 0, "exact")) == verdicts.NO_DIFF
    assert verdicts.NO_DIFF.share == 0.0


# ---- warnings, determinism ----------------------------------------------------------------------

def test_warnings_differ_detail_counts_each_side():
    ra = rec(seed_probes(), warnings=[("UserWarning", "a"), ("UserWarning", "b")])
    rb = rec(seed_probes(), warnings=[("UserWarning", "b"), ("DeprecationWarning", "c")])
    pair = compare_records(ra, rb, NAME, "x", "y")
    assert pair.verdict == "warnings-differ"
    assert pair.detail == "only x: 1; only y: 1"


def test_same_warnings_in_another_order_match():
    warnings = [("UserWarning", "a"), ("RuntimeWarning", "b")]
    ra = rec(seed_probes(), warnings=warnings)
    rb = rec(seed_probes(), warnings=list(reversed(warnings)))
    assert compare_records(ra, rb, NAME, "x", "y").verdict == "match"


def test_warning_category_matters():
    ra = rec(seed_probes(), warnings=[("UserWarning", "same text")])
    rb = rec(seed_probes(), warnings=[("RuntimeWarning", "same text")])
    assert compare_records(ra, rb, NAME, "x", "y").verdict == "warnings-differ"


def test_value_differences_outrank_warnings():
    ra = rec(seed_probes(), warnings=[("UserWarning", "a")])
    assert compare_records(ra, rec(seed_probes(shift=0.5)), NAME, "x", "y").verdict == "differs"


def test_nondeterminism_is_not_called_a_divergence():
    pair = compare_records(*_nondeterministic()[:2], NAME, "a", "b")
    assert pair.verdict == "nondeterministic"
    assert "two calls" in pair.detail
    # the flag alone, with equal values, is still a match
    assert compare_records(rec(seed_probes(), deterministic=False), rec(seed_probes()),
                           NAME, "a", "b").verdict == "match"
    # a masked-only difference from a nondeterministic run is nondeterminism too
    assert compare_records(rec(seed_probes(), deterministic=False), rec(seed_probes(masked_shift=1.0)),
                           NAME, "a", "b").verdict == "nondeterministic"


def test_nondeterminism_does_not_hide_a_mask_difference():
    other = seed_probes()
    mask = other["gru_1"].mask.copy()
    mask[0, 0] = True
    other["gru_1"] = make_probe(other["gru_1"].values, mask)
    pair = compare_records(rec(seed_probes(), deterministic=False), rec(other), NAME, "a", "b")
    assert pair.verdict == "mask-differs"


# ---- compiled probes -------------------------------------------------------------------------------

def test_jit_probe_on_one_side_only_is_not_missing():
    probes = seed_probes()
    with_jit = {**probes, "jit/gru_1": probes["gru_1"]}
    pair = compare_records(rec(with_jit), rec(probes), NAME, "a", "b")
    assert pair.verdict == "match"
    assert "jit/gru_1" not in [p.probe for p in pair.probes]
    assert compare_records(rec(probes), rec(with_jit), NAME, "a", "b").verdict == "match"


def test_jit_probes_on_both_sides_are_compared():
    probes = seed_probes()
    jit_a = {**probes, "jit/gru_1": probes["gru_1"]}
    jit_b = {**probes, "jit/gru_1": seed_probes(shift=0.5)["gru_1"]}
    pair = compare_records(rec(jit_a), rec(jit_b), NAME, "a", "b")
    assert pair.verdict == "differs"
    assert pair.detail == "first at jit/gru_1"


def test_a_plain_probe_on_one_side_only_is_missing():
    probes = seed_probes()
    extra = {**probes, "grad/gru_1#0": make_probe(vec(1.0))}
    assert compare_records(rec(probes), rec(extra), NAME, "a", "b").verdict == "missing"


def test_eager_vs_compiled_within_a_run():
    probes = seed_probes()
    same = make_record("s/same", {**probes, "jit/gru_1": probes["gru_1"]})
    drifted = make_record("s/drift", {**probes, "jit/gru_1": seed_probes(shift=0.5)["gru_1"],
                                      "jit/outputs": probes["outputs"]})
    eager_only = make_record("s/eager", probes)
    result = verdicts.eager_vs_compiled(make_artifact(JAX, [same, drifted, eager_only]))
    assert set(result) == {"s/same", "s/drift"}
    assert result["s/same"].verdict == "match"
    assert (result["s/same"].a, result["s/same"].b) == (JAX, f"{JAX}-jit")
    assert result["s/drift"].verdict == "differs"
    assert [p.probe for p in result["s/drift"].probes] == ["gru_1", "outputs"]
    assert [p.verdict for p in result["s/drift"].probes] == ["differs", "match"]


def test_eager_vs_compiled_mask_lost_when_compiled():
    probes = seed_probes()
    jit = make_probe(probes["gru_1"].values)  # same values, no mask
    result = verdicts.eager_vs_compiled(make_artifact(TF, [make_record("s", {**probes, "jit/gru_1": jit})]))
    assert result["s"].verdict == "mask-differs"


# ---- compare(): pairs, order, known divergences, counts -------------------------------------------

def _three(shift_torch: float = 0.5):
    return three_runs([rec(seed_probes())], [rec(seed_probes())], [rec(seed_probes(shift=shift_torch))])


def test_every_pair_of_runs_in_backend_order():
    runs = _three()
    result = verdicts.compare([runs[2], runs[0], runs[1]])
    assert result.labels == [TF, JAX, TORCH]
    assert result.pairs == [(TF, JAX), (TF, TORCH), (JAX, TORCH)]
    assert result.scenarios == [NAME]
    assert {k: p.verdict for k, p in result.results.items()} == {
        (NAME, TF, JAX): "match", (NAME, TF, TORCH): "differs", (NAME, JAX, TORCH): "differs"}


def test_run_order_does_not_change_the_comparison():
    runs = _three()
    one = verdicts.compare(runs)
    other = verdicts.compare(list(reversed(runs)))
    assert one.labels == other.labels and one.pairs == other.pairs
    assert {k: (p.verdict, p.detail, p.max_abs) for k, p in one.results.items()} == \
        {k: (p.verdict, p.detail, p.max_abs) for k, p in other.results.items()}


def test_unknown_backends_sort_after_the_known_ones_by_label():
    runs = [make_artifact("zeta-gpu", [], backend="zeta"), make_artifact("alpha", [], backend="alpha"),
            make_artifact(TORCH, [])]
    assert verdicts.compare(runs).labels == [TORCH, "alpha", "zeta-gpu"]


def test_two_runs_with_one_label_are_refused():
    with pytest.raises(ValueError, match="share a run label"):
        verdicts.compare([make_artifact(TF, []), make_artifact(TF, [])])


def test_scenarios_are_the_union_and_sorted():
    runs = [make_artifact(TF, [make_record("b/two"), make_record("a/one")]),
            make_artifact(JAX, [make_record("c/three")])]
    result = verdicts.compare(runs)
    assert result.scenarios == ["a/one", "b/two", "c/three"]
    assert result.get("c/three", TF, JAX).verdict == "missing"
    assert result.get("c/three", TF, JAX).detail == f"not run by {TF}"


def test_known_divergence_relabels_and_keeps_the_raw_verdict():
    entry = known_entry("seed/*", "torch", probes="gru_*")
    result = verdicts.compare(_three(), [entry])
    pair = result.get(NAME, TF, TORCH)
    assert (pair.verdict, pair.raw_verdict, pair.known) == ("known", "differs", entry)
    assert result.get(NAME, JAX, TORCH).verdict == "known"
    assert result.get(NAME, TF, JAX).verdict == "match" and result.get(NAME, TF, JAX).known is None
    assert result.stale_known == []
    assert verdicts.counts(result) == {"known": 2, "match": 1}


def test_known_divergence_that_matches_no_differing_probe_does_not_apply_and_is_stale():
    entry = known_entry("seed/*", "torch", probes="dense*")
    result = verdicts.compare(_three(), [entry])
    assert result.get(NAME, TF, TORCH).verdict == "differs"
    assert result.stale_known == [entry]


def test_known_divergence_for_another_backend_does_not_apply():
    entry = known_entry("seed/*", "jax")
    runs = three_runs([rec(seed_probes())], [rec(seed_probes())], [rec(seed_probes(shift=0.5))])
    result = verdicts.compare(runs, [entry])
    assert result.get(NAME, TF, TORCH).verdict == "differs"  # jax is not in this pair
    assert result.get(NAME, JAX, TORCH).verdict == "known"  # jax is on one side here


def test_known_divergence_never_touches_expected_verdicts():
    entries = [known_entry("*", odd, verdicts=("error-differs",), errors=(("ValueError", ""),))
               for odd in ("tensorflow", "jax", "torch")]
    runs = three_runs([rec(error=("ValueError", "x"))], [rec(error=("ValueError", "y"))],
                      [rec(error=("ValueError", "z"))])
    result = verdicts.compare(runs, entries)
    assert {p.verdict for p in result.results.values()} == {"both-error"}
    assert result.stale_known == entries


def test_known_divergence_covers_an_error_difference():
    entry = known_entry(NAME, "torch", what="raises", verdicts=("error-differs",), errors=(("TypeError", "^t$"),))
    runs = three_runs([rec(seed_probes())], [rec(seed_probes())], [rec(error=("TypeError", "t"))])
    result = verdicts.compare(runs, [entry])
    assert result.get(NAME, TF, TORCH).verdict == "known"
    assert result.get(NAME, TF, TORCH).raw_verdict == "error-differs"


def test_counts_and_scenario_verdict():
    runs = three_runs(
        [rec(seed_probes()), make_record("other", seed_probes())],
        [rec(seed_probes()), make_record("other", seed_probes())],
        [rec(seed_probes(shift=0.5)), make_record("other", seed_probes(masked_shift=0.5))],
    )
    result = verdicts.compare(runs)
    assert verdicts.counts(result) == {"differs": 2, "differs-masked-only": 2, "match": 2}
    assert sum(verdicts.counts(result).values()) == len(result.results)
    assert verdicts.scenario_verdict(result, NAME) == "differs"
    assert verdicts.scenario_verdict(result, "other") == "differs-masked-only"


def test_scenario_verdict_ranks_known_like_a_match_but_reports_it():
    entry = known_entry(NAME, "torch")
    result = verdicts.compare(_three(), [entry])
    assert verdicts.scenario_verdict(result, NAME) == "known"
    runs = three_runs([rec(seed_probes())], [rec(seed_probes(shift=0.25))], [rec(seed_probes(shift=0.5))])
    mixed = verdicts.compare(runs, [entry])  # tf-jax differs (not covered), torch pairs known
    assert mixed.get(NAME, TF, JAX).verdict == "differs"
    assert verdicts.scenario_verdict(mixed, NAME) == "differs"


def test_scenario_verdict_is_the_most_severe_unexpected_one():
    runs = three_runs([rec(seed_probes())], [rec(error=("ValueError", "v"))], [rec(seed_probes(shift=0.5))])
    result = verdicts.compare(runs)
    assert result.get(NAME, TF, TORCH).verdict == "differs"
    assert result.get(NAME, TF, JAX).verdict == "error-differs"
    assert verdicts.scenario_verdict(result, NAME) == "error-differs"


def test_a_single_run_has_no_pairs():
    result = verdicts.compare([make_artifact(TF, [rec(seed_probes())])])
    assert result.pairs == [] and result.results == {}
    assert verdicts.scenario_verdict(result, NAME) == "match"
