"""bisect's search on fake release histories, and its notion of "changed" on synthetic artifacts.

The histories are step functions: releases before the change observe one value, releases from it on
another. The search must name the change exactly, run few releases, and survive releases that cannot
run. No Keras, no network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.compare.differences import differences
from harness.versions import bisect
from tests.helpers.factories import expectation, make_artifact, make_probe, make_record

RELEASES = ["3.0.0", "3.0.1", "3.0.2", "3.1.0", "3.2.0", "3.3.0", "3.3.3", "3.4.0", "3.5.0", "3.6.0",
            "3.7.0", "3.8.0", "3.9.0", "3.10.0", "3.11.0", "3.12.0", "3.13.0", "3.14.0", "3.15.1"]


def history(first_changed: str | None, cannot_run: dict[str, str] | None = None):
    """observe(): 'old' before `first_changed`, 'new' from it on; CannotRun for the given releases."""
    cannot_run = cannot_run or {}

    def observe(version: str) -> str:
        if version in cannot_run:
            raise bisect.CannotRun(cannot_run[version])
        if first_changed is None:
            return "old"
        return "new" if RELEASES.index(version) >= RELEASES.index(first_changed) else "old"

    return observe


def search(releases=RELEASES, **kw):
    return bisect.first_change(list(releases), history(**kw), lambda a, b: a == b)


@pytest.mark.parametrize("changed", RELEASES[1:])
def test_names_the_first_changed_release_in_log_steps(changed):
    result = search(first_changed=changed)
    assert result.first == changed
    assert result.last_same == RELEASES[RELEASES.index(changed) - 1]
    assert result.verdict_line() == f"first changed in keras {changed}"
    # two endpoints plus a binary search over the releases between them
    assert len(result.observed) <= 2 + math.ceil(math.log2(len(RELEASES) - 2)) + 1
    assert len(set(result.observed)) == len(result.observed)  # never runs a release twice


def test_nothing_changed_runs_only_the_endpoints():
    result = search(first_changed=None)
    assert result.first is None
    assert result.observed == ["3.0.0", "3.15.1"]
    assert result.verdict_line() == "nothing changed between keras 3.0.0 and keras 3.15.1"


def test_a_release_that_cannot_run_is_skipped_and_its_neighbour_decides():
    # the midpoint of the first step cannot run; the answer must still be exact
    result = search(first_changed="3.7.0", cannot_run={"3.6.0": "no wheel", "3.5.0": "no wheel"})
    assert result.first == "3.7.0"
    assert not result.ambiguous or result.verdict_line().startswith("first changed in keras 3.7.0")


def test_when_only_unrunnable_releases_lie_before_the_change_the_line_says_so():
    result = search(first_changed="3.4.0", cannot_run={"3.3.3": "numpy", "3.3.0": "numpy"})
    assert result.first == "3.4.0"
    assert result.last_same == "3.2.0"
    assert result.ambiguous == ["3.3.0", "3.3.3"]
    assert result.verdict_line() == "first changed in keras 3.4.0 (or in 3.3.0, 3.3.3, which could not run)"
    assert set(result.skipped) == {"3.3.0", "3.3.3"}


def test_an_endpoint_that_cannot_run_is_an_error():
    with pytest.raises(bisect.BisectError, match="keras 3.0.0 cannot run here: numpy"):
        search(first_changed="3.4.0", cannot_run={"3.0.0": "numpy"})


def test_a_range_of_one_release_is_an_error():
    with pytest.raises(bisect.BisectError, match="two releases"):
        search(releases=["3.3.3"], first_changed=None)


@given(st.integers(min_value=3, max_value=40).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(min_value=1, max_value=n - 1),
                        st.sets(st.integers(min_value=1, max_value=n - 2), max_size=n // 2))))
def test_any_step_history_with_any_skips(case):
    n, change, unrunnable = case
    releases = [f"3.{i}.0" for i in range(n)]
    skipped = {releases[i] for i in unrunnable}

    def observe(version: str) -> int:
        if version in skipped:
            raise bisect.CannotRun("skip")
        return int(releases.index(version) >= change)

    result = bisect.first_change(releases, observe, lambda a, b: a == b)
    # the true first change is the reported one or one of the skipped releases before it
    candidates = [result.first, *result.ambiguous]
    assert releases[change] in candidates
    assert result.first not in skipped
    assert all(v in skipped for v in result.ambiguous)


# ---- what counts as a change ----------------------------------------------------------------

def _run(label, *, mask=(1, 0, 1), values=(1.0, 2.0, 3.0), passed=True, warnings=()):
    probe = make_probe(np.array([values], dtype=np.float32), np.array([mask], dtype=bool))
    record = make_record("seed/x", {"gru": probe}, warnings=warnings,
                         expectations=[expectation("gru mask is 101", "C4", passed)])
    return make_artifact(label, [record], backend="torch")


def test_identical_runs_and_new_warnings_are_not_changes():
    assert differences(_run("keras-3.0.0-torch-cpu"), _run("keras-3.1.0-torch-cpu")) == []
    noisy = _run("keras-3.1.0-torch-cpu", warnings=[("UserWarning", "deprecated")])
    assert differences(_run("keras-3.0.0-torch-cpu"), noisy) == []


@pytest.mark.parametrize("change, expected", [
    ({"mask": (1, 1, 1)}, "mask-differs"),
    ({"values": (1.0, 2.5, 3.0)}, "differs"),
    ({"passed": False}, "'gru mask is 101' holds -> fails"),
])
def test_masks_outputs_and_expectations_are_changes(change, expected):
    lines = differences(_run("keras-3.0.0-torch-cpu"), _run("keras-3.1.0-torch-cpu", **change))
    assert len(lines) == 1 and lines[0].startswith("seed/x: ") and expected in lines[0]


def test_an_error_where_the_reference_ran_is_a_change():
    broken = make_artifact("keras-3.1.0-torch-cpu", [make_record("seed/x", error=("TypeError", "no"))],
                           backend="torch")
    assert differences(_run("keras-3.0.0-torch-cpu"), broken) == ["seed/x: error-differs "
                                                                         "(keras-3.0.0-torch-cpu: ok; "
                                                                         "keras-3.1.0-torch-cpu: TypeError)"]


def test_the_same_error_type_reworded_is_not_a_change_another_type_is():
    def failing(label, error):
        return make_artifact(label, [make_record("seed/x", error=error)], backend="torch")

    old = failing("keras-3.0.0-torch-cpu", ("TypeError", "broadcast_to(): argument 'size' must be tuple"))
    assert differences(old, failing("keras-3.1.0-torch-cpu", ("TypeError", "reworded"))) == []
    assert differences(old, failing("keras-3.1.0-torch-cpu", ("ValueError", "x"))) != []


def test_new_warnings_are_a_change_only_when_asked():
    before, after = _run("keras-3.15.1-torch-cpu"), _run("keras-nightly-3.16.0.dev1-torch-cpu",
                                                          warnings=[("UserWarning", "destroys the mask")])
    assert differences(before, after) == []
    assert differences(before, after, warnings=True) == ["seed/x: warnings-differ (only keras-3.15.1-"
                                                         "torch-cpu: 0; only keras-nightly-3.16.0.dev1-"
                                                         "torch-cpu: 1)"]
    assert [d.scenario for d in bisect.divergences(before, after, warnings=True)] == ["seed/x"]
