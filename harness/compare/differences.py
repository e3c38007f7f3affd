"""What changed between two runs of one selection (two Keras releases, one backend), as `harness bisect`
and the report's versions section see it.

Two runs differ when a scenario's expectations flip, its status or error changes, or the ordinary
pairwise comparison finds a mask, shape, dtype or value difference beyond tolerance. New or different
warnings alone are not a change, nor is a reworded message of an error of the same type.
"""

from __future__ import annotations

from harness.artifacts import Artifact
from harness.compare import verdicts

UNCHANGED_VERDICTS = ("match", "warnings-differ", "both-error")  # both-error: the same error type


def differences(reference: Artifact, run: Artifact, warnings: bool = False) -> list[str]:
    """What changed from `reference` to `run`, one line per scenario (empty: nothing changed);
    `warnings`: a new or different warning counts as a change too (bisect --warnings)."""
    unchanged = tuple(v for v in UNCHANGED_VERDICTS if not (warnings and v == "warnings-differ"))
    lines = []
    for name in dict.fromkeys([*reference.records, *run.records]):
        ra, rb = reference.records.get(name), run.records.get(name)
        flips = expectation_flips(ra, rb)
        pair = verdicts.compare_records(ra, rb, name, reference.label, run.label)
        if flips:
            lines.append(f"{name}: {'; '.join(flips)}")
        elif pair.verdict not in unchanged:
            lines.append(f"{name}: {pair.verdict}" + (f" ({pair.detail})" if pair.detail else ""))
    return lines


def expectation_flips(ra, rb) -> list[str]:
    if ra is None or rb is None:
        return []
    before = {e["name"]: bool(e["passed"]) for e in ra.meta.get("expectations", [])}
    after = {e["name"]: bool(e["passed"]) for e in rb.meta.get("expectations", [])}
    word = {True: "holds", False: "fails"}
    return [f"'{n}' {word[before[n]]} -> {word[after[n]]}" for n in before
            if n in after and before[n] != after[n]]
