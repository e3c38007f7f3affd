"""harness.claims: the seed's conclusions judged per run from recorded expectations."""

from __future__ import annotations

import pytest

from harness.compare import claims
from harness.compare.claims import CLAIMS, DOES_NOT_HOLD, HOLDS, PARTLY, UNTESTED, Check, ClaimResult
from tests.helpers.factories import JAX, expectation, make_artifact, make_record


def run_with(*records):
    return make_artifact(JAX, records)


def rec(name, *expectations):
    return make_record(name, expectations=list(expectations))


def test_claims_are_c1_to_c6():
    assert list(CLAIMS) == [f"C{i}" for i in range(1, 7)]


def test_every_verdict_from_expectations():
    run = run_with(
        rec("a/one", expectation("mask made", "C2", True, "mask 01010"),
            expectation("concat mask", "C5", True),
            expectation("rnn skips", "C4", True)),
        rec("b/two", expectation("concat mask again", "C5", True),
            expectation("rnn zero", "C4", False, "masked steps 3 neither zero nor repeat"),
            expectation("masking twice", "C6", False, "second mask ignored")),
    )
    judged = claims.judge(run)
    assert set(judged) == set(CLAIMS)
    assert {c: r.verdict for c, r in judged.items()} == {
        "C1": UNTESTED, "C2": HOLDS, "C3": UNTESTED, "C4": PARTLY, "C5": HOLDS, "C6": DOES_NOT_HOLD}
    assert (HOLDS, PARTLY, DOES_NOT_HOLD, UNTESTED) == ("holds", "partly", "does-not-hold", "untested")


def test_checks_remember_their_scenario_and_failures():
    run = run_with(rec("a", expectation("x", "C4", True)), rec("b", expectation("y", "C4", False, "ev")))
    result = claims.judge(run)["C4"]
    assert result.checks == (Check("a", "x", True, ""), Check("b", "y", False, "ev"))
    assert result.failed == [Check("b", "y", False, "ev")]


def test_evidence_prefers_the_first_failure():
    run = run_with(rec("a", expectation("fine", "C4", True, "all good"),
                       expectation("broken", "C4", False, "step 2 is 0.3"),
                       expectation("also broken", "C4", False, "step 4")))
    assert claims.judge(run)["C4"].evidence == "a, broken: step 2 is 0.3"  # scenario, check: evidence


def test_evidence_when_everything_passes_is_the_first_check():
    run = run_with(rec("a", expectation("first", "C2", True, "mask 01010"), expectation("second", "C2", True)))
    assert claims.judge(run)["C2"].evidence == "a, first: mask 01010"


def test_evidence_without_text_is_the_check_name():
    run = run_with(rec("a", expectation("bare", "C2", False)))
    assert claims.judge(run)["C2"].evidence == "a, bare"


def test_untested_evidence():
    assert claims.judge(run_with())["C1"].evidence == "no scenario tests this claim"
    assert ClaimResult("C1", UNTESTED, ()).failed == []


@pytest.mark.parametrize("claim", [None, "", "C7", "c2"])
def test_expectations_tied_to_no_known_claim_are_ignored(claim):
    judged = claims.judge(run_with(rec("a", expectation("e", claim, False))))
    assert all(r.verdict == UNTESTED for r in judged.values())


def test_error_records_without_expectations_leave_claims_untested():
    run = run_with(make_record("a", error=("ValueError", "boom")))
    assert claims.judge(run)["C5"].verdict == UNTESTED


@pytest.mark.parametrize("passed,verdict", [([True, True, True], HOLDS), ([True, False, True], PARTLY),
                                            ([False, False], DOES_NOT_HOLD), ([False], DOES_NOT_HOLD),
                                            ([True], HOLDS)])
def test_verdict_rule(passed, verdict):
    run = run_with(*(rec(f"s{i}", expectation(f"e{i}", "C3", p)) for i, p in enumerate(passed)))
    assert claims.judge(run)["C3"].verdict == verdict
