"""The "Found by generation" section: scenarios that `harness fuzz` found, shrank and kept.

A found scenario lives in scenarios/found/ and runs in the suite like any other; its record carries
the tag "found" and a description naming the layers of the shrunk model. The section lists each with
its verdict on every pair, the first divergent probe, the known-divergence entry (and its upstream
link) when one explains it, and the standalone script that reproduces it (scenarios/found/repro/).
"""

from __future__ import annotations

from typing import Any

from harness.report import markdown as md
from harness.report.model import ReportModel

TAG = "found"


def _found(model: ReportModel) -> list[str]:
    names = []
    for name in model.comparison.scenarios:
        records = [run.records[name] for run in model.runs if name in run.records]
        if any(TAG in r.meta.get("tags", []) for r in records) or name.startswith("found/"):
            names.append(name)
    return names


def _description(model: ReportModel, name: str) -> str:
    return next((run.records[name].meta.get("description", "") for run in model.runs if name in run.records), "")


def _features(model: ReportModel, name: str) -> list[str]:
    """The finding's feature tags (family:, source:, boundary:, mode:, keras:; harness/generate/causes.py),
    which files kept before the tags were recorded do not have."""
    tags = next((run.records[name].meta.get("tags", []) for run in model.runs if name in run.records), [])
    return [t for t in tags if ":" in t]


def facts(model: ReportModel) -> list[dict[str, Any]]:
    """The section's facts for summary.json."""
    cmp = model.comparison
    out = []
    for name in _found(model):
        pairs = {cmp.get(name, a, b).key: cmp.get(name, a, b).verdict for a, b in cmp.pairs}
        known = next((cmp.get(name, a, b).known for a, b in cmp.pairs if cmp.get(name, a, b).known), None)
        out.append({"name": name, "verdict": model.verdicts[name], "pairs": pairs,
                    "description": _description(model, name), "features": _features(model, name),
                    "repro": repro_path(name),
                    "upstream": known.link if known else None})
    return out


def repro_path(name: str) -> str:
    return f"scenarios/found/repro/{name.split('/', 1)[-1]}.py"


def render(model: ReportModel) -> str:
    found = _found(model)
    if not found:
        return ""
    cmp = model.comparison
    lines = ["## Found by generation", "",
             f"{len(found)} scenario(s) that `python -m harness fuzz` generated, found diverging, shrank to a "
             "minimal model and kept in `scenarios/found/` (see docs/fuzz.md). Each runs in the suite above "
             "like a hand-written one; each has a standalone keras + numpy script that prints what one "
             "backend does (`KERAS_BACKEND=jax python SCRIPT`).", "",
             "| scenario | shrunk model | verdict | first difference | reproduce | upstream |",
             "|---|---|---|---|---|---|"]
    for name in found:
        pairs = [cmp.get(name, a, b) for a, b in cmp.pairs]
        verdicts = "; ".join(f"{md.text(p.key)}: {md.text(p.verdict)}" for p in pairs if p.verdict != "match")
        detail = next((p.detail for p in pairs if p.detail), "")
        known = next((p.known for p in pairs if p.known), None)
        upstream = md.link(known.link) if known and known.link else "none found"
        features = " ".join(md.code(t, cell=True) for t in _features(model, name))
        lines.append(f"| [{md.text(name)}](#{md.slug(name)}) | {md.text(_description(model, name), 200)}"
                     f"{'<br>' + features if features else ''} | "
                     f"{verdicts or 'match'} | {md.text(detail)} | {md.code(repro_path(name), cell=True)} | "
                     f"{upstream} |")
    return "\n".join(lines)
