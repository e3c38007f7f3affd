"""Compiled mode and determinism: the jit pass and two eager calls, per run."""

from __future__ import annotations

from collections import Counter

from harness.report import markdown as md
from harness.report.model import ReportModel


def render(model: ReportModel) -> str:
    runs = {r.label: r for r in model.runs}
    rows = []
    for label in model.comparison.labels:
        records = runs[label].records.values()
        compiled = [r.meta.get("compiled", {}) for r in records]
        statuses = Counter(c.get("status", "not run") for c in compiled)
        versus = model.compiled.get(label, {})
        differing = sorted(s for s, p in versus.items() if p.verdict != "match")
        nondeterministic = sorted(r.name for r in records if r.meta.get("deterministic") is False)
        detail = next((c.get("detail", "") for c in compiled if c.get("status") == "unsupported"), "")
        rows.append([
            md.code(label, cell=True),
            ", ".join(f"{n} {md.text(s)}" for s, n in sorted(statuses.items()))
            + (f" ({md.text(detail)})" if detail else ""),
            f"{len(versus) - len(differing)} of {len(versus)} match" +
            (": differs in " + ", ".join(md.text(s) for s in differing[:5]) if differing else ""),
            f"{len(records) - len(nondeterministic)} of {len(records)} bit-identical" +
            (": not in " + ", ".join(md.text(s) for s in nondeterministic[:5]) if nondeterministic else ""),
        ])
    return "\n".join(["## Compiled mode and determinism", "",
                      "Each scenario also runs compiled (`jit/` probes) and eagerly twice in the "
                      "same process.", "",
                      md.table(["run", "compiled pass", "eager vs compiled", "two eager calls"], rows)])
