"""Changed since a baseline: comparisons whose verdict crossed the expected/unexpected line, and claim
verdicts that moved (`report --baseline DIR`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from harness.compare.claims import CLAIMS, ClaimResult
from harness.compare.verdicts import EXPECTED, Comparison


@dataclass(frozen=True)
class BaselineChange:
    scenario: str
    a: str
    b: str
    before: str
    after: str

    @property
    def pair(self) -> str:
        return f"{self.a}-vs-{self.b}"


class ClaimChange(NamedTuple):
    claim: str
    run: str  # run label
    before: str
    after: str


def baseline_changes(before: Comparison, after: Comparison) -> list[BaselineChange]:
    """Pairs whose verdict moved across the expected/unexpected line, or appeared."""
    out = []
    for key, pair in after.results.items():
        old = before.results.get(key)
        old_verdict = old.verdict if old else "absent"
        was_bad = old is not None and old.verdict not in EXPECTED
        is_bad = pair.verdict not in EXPECTED
        if was_bad != is_bad or (is_bad and old_verdict != pair.verdict):
            out.append(BaselineChange(pair.scenario, pair.a, pair.b, old_verdict, pair.verdict))
    order = {pair: i for i, pair in enumerate(after.pairs)}
    return sorted(out, key=lambda c: (c.scenario, order[(c.a, c.b)]))


def claim_changes(before: dict[str, dict[str, ClaimResult]],
                  after: dict[str, dict[str, ClaimResult]]) -> list[ClaimChange]:
    """Claim verdicts that differ between a run and the baseline's run of the same label."""
    return [ClaimChange(c, label, before[label][c].verdict, after[label][c].verdict)
            for label in after if label in before for c in CLAIMS
            if before[label][c].verdict != after[label][c].verdict]
