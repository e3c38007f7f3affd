"""One comparison in a few words, the same in the matrix, the README sample and the heatmap.

A match shows how far apart the backends are in tolerances (below 1: within tolerance). A known or
unexpected difference shows what differs, from its raw verdict ("known: mask", "known: warnings",
"known: error", "known: values"), and, where values differ, the largest absolute difference of the
probes that differ: never a count of tolerances, which for a real difference means nothing to a reader.
"""

from __future__ import annotations

import math

from harness.compare.verdicts import EXPECTED

# What a raw verdict says differs, in the cell's words.
KINDS = {
    "differs": "values",
    "differs-masked-only": "masked values",
    "mask-differs": "mask",
    "error-differs": "error",
    "warnings-differ": "warnings",
    "shape-differs": "shape",
    "dtype-differs": "dtype",
    "nondeterministic": "nondeterministic",
    "missing": "missing",
}
VALUE_KINDS = ("differs", "differs-masked-only", "nondeterministic")


def text(verdict: str, raw_verdict: str, apart: float | None, largest_abs: float | None) -> str:
    """`apart`: tolerances apart (None: no values compared); `largest_abs`: the largest absolute
    difference of the differing probes (None for NaN/Inf against a number)."""
    if verdict == "known":
        return f"known: {KINDS.get(raw_verdict, raw_verdict)}" + _abs(raw_verdict, largest_abs)
    if verdict in EXPECTED:
        return verdict if apart is None else f"{verdict} {format_apart(apart)}"
    return f"**{verdict}**" + _abs(raw_verdict, largest_abs)


def _abs(raw_verdict: str, largest_abs: float | None) -> str:
    if raw_verdict not in VALUE_KINDS:
        return ""
    return ", max abs " + ("inf" if largest_abs is None or not math.isfinite(largest_abs) else f"{largest_abs:.3g}")


def format_apart(value: float) -> str:
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "inf"
    if value < 0.01:
        return "<0.01"
    return f"{value:.2g}" if value < 10 else f"{value:.0f}"


def heat_mark(verdict: str, raw_verdict: str) -> str:
    """The heatmap's label for a cell drawn as itself rather than as a distance."""
    if verdict == "known":
        return f"known: {KINDS.get(raw_verdict, raw_verdict)}"
    if verdict == "both-error":
        return "both error"
    return "" if verdict in EXPECTED else verdict
