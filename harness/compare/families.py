"""Scenario families (the part of a scenario's name before "/"): each family's scenarios, its own
comparisons and its verdict counts, for the report's one page per family."""

from __future__ import annotations

from harness.compare.verdicts import Comparison, counts


def family_of(name: str) -> str:
    return name.split("/", 1)[0] if "/" in name else "other"


def families(comparison: Comparison) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in comparison.scenarios:
        out.setdefault(family_of(name), []).append(name)
    return dict(sorted(out.items()))


def split(comparison: Comparison, groups: dict[str, list[str]]) -> dict[str, Comparison]:
    """Each family's scenarios as a comparison of its own (its comparisons only, so that what a section
    counts or lists over the comparison stays within the family)."""
    cmp = comparison
    results: dict[str, dict] = {family: {} for family in groups}
    for key, pair in cmp.results.items():
        results[family_of(key[0])][key] = pair
    return {family: Comparison(cmp.labels, cmp.pairs, names, results[family], cmp.stale_known,
                               {n: cmp.verdicts[n] for n in names if n in cmp.verdicts})
            for family, names in groups.items()}


def family_counts(parts: dict[str, Comparison]) -> dict[str, dict[str, int]]:
    return {family: counts(sub) for family, sub in parts.items()}
