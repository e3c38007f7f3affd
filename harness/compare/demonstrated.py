"""Is a workaround shown working? Judged from the comparison, never taken from the registry's word.

A known divergence's or a surprise's `demonstrated_by` names scenarios that run its workaround on every
backend. A scenario demonstrates it when every run recorded it and, on every pair: for a divergence,
no pair is an unexpected divergence and none is still explained by that entry (other entries, such as
a warnings-only one, may explain a pair); for a surprise, additionally every expectation passes on
every run (the behaviour the surprise is about is gone where the workaround is applied).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.compare.known import KnownDivergence, Surprise
from harness.compare.verdicts import EXPECTED, Comparison


@dataclass(frozen=True)
class Demonstration:
    scenario: str
    shown: bool
    detail: str  # why not, when not shown ("" when shown)


def demonstrations(entry: KnownDivergence | Surprise, comparison: Comparison, runs: list) -> list[Demonstration]:
    return [_judge(entry, name, comparison, runs) for name in entry.demonstrated_by]


def _judge(entry, name: str, comparison: Comparison, runs: list) -> Demonstration:
    absent = [r.label for r in runs if name not in r.records]
    if len(runs) < 2 or not comparison.pairs:
        return Demonstration(name, False, "fewer than two runs: nothing to compare")
    if absent:
        return Demonstration(name, False, f"not run by {', '.join(absent)}")
    pairs = [comparison.get(name, a, b) for a, b in comparison.pairs]
    bad = [p for p in pairs if p.verdict not in EXPECTED]
    if bad:
        return Demonstration(name, False, "; ".join(f"{p.a} vs {p.b}: {p.verdict}" for p in bad))
    still = [p for p in pairs if any(e is entry for e in p.explained_by)]
    if still:
        return Demonstration(name, False, "the divergence is still there: " +
                             "; ".join(f"{p.a} vs {p.b}: known ({p.raw_verdict})" for p in still))
    failed = [] if isinstance(entry, KnownDivergence) else [
        f"{r.label}: {e.get('name')}" for r in runs for e in r.records[name].meta.get("expectations", [])
        if not e.get("passed", True)]
    if failed:
        return Demonstration(name, False, "expectations fail: " + "; ".join(failed[:3]))
    return Demonstration(name, True, "")
