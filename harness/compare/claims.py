"""Claims judged per run from the expectations the scenarios recorded: one judge over a table of claims,
the seed's conclusions (C1-C6, `CLAIMS`) and the training claims (T1-T5, training_claims.TRAINING_CLAIMS)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.artifacts import Artifact

CLAIMS = {
    "C1": "A mask travels with each layer's output; a layer that cannot take a mask raises an error.",
    "C2": "Embedding(mask_zero=True) creates a mask (of the input's zeros).",
    "C3": "Masking before Concatenate or Dense: their outputs look unaffected, the mask passes on "
          "and acts on later layers.",
    "C4": "RNN layers skip masked timesteps; a masked step's output is 0 or repeats the previous step.",
    "C5": "Before Concatenate, a timestep masked in any one input is masked in the concatenation.",
    "C6": "A second Masking redefines the mask; after an Embedding, mask_value=0 no longer matches.",
}
HOLDS, PARTLY, DOES_NOT_HOLD, UNTESTED = "holds", "partly", "does-not-hold", "untested"


@dataclass(frozen=True)
class Check:
    scenario: str
    name: str
    passed: bool
    evidence: str


@dataclass(frozen=True)
class ClaimResult:
    claim: str
    verdict: str
    checks: tuple[Check, ...]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def evidence(self) -> str:
        """One line: the first failing check if any (the interesting part), else the first check."""
        if not self.checks:
            return "no scenario tests this claim"
        check = (self.failed or list(self.checks))[0]
        where = f"{check.scenario}, {check.name}"
        return f"{where}: {check.evidence}" if check.evidence else where


def judge(run: Artifact, table: Mapping[str, str] = CLAIMS) -> dict[str, ClaimResult]:
    """Claim id -> verdict over every expectation of `run` tied to a claim of `table`."""
    checks: dict[str, list[Check]] = {claim: [] for claim in table}
    for record in run.records.values():
        for result in record.meta.get("expectations", []):
            claim = result.get("claim")
            if claim in checks:
                checks[claim].append(Check(record.name, str(result["name"]), bool(result["passed"]),
                                           str(result.get("evidence", ""))))
    return {claim: ClaimResult(claim, verdict_of(found), tuple(found)) for claim, found in checks.items()}


def verdict_of(checks: list[Check]) -> str:
    if not checks:
        return UNTESTED
    passed = sum(c.passed for c in checks)
    return HOLDS if passed == len(checks) else DOES_NOT_HOLD if passed == 0 else PARTLY
