"""The shards of one campaign merged (CI's fuzz.yml): findings by cause, coverage by union. numpy only.

Shards of one seed never run the same case, but they search one grammar, so two shards often find the
same bug, each through its own case and often its own layer class. A finding is recognised by its cause
(causes.py: the odd backend, the verdict, the layer family, the situation), not by its signature: the
same cause from two shards is one finding, counted in both (`shards`, `cases`), and the smallest of
their shrunk cases stands for it. Causes a shard counted against a finding already kept in the suite
(or its known entry) are merged the same way. Coverage is the union: a combination is exercised when
any shard exercised it.

    python -m harness fuzz-merge fuzz-out/shard-* --out fuzz-out [--summary FILE]
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from harness import safety

MAX_SHARD_FILE = 64 << 20  # a shard's findings.json or campaign.json (coverage lists ~100 KB)


class ShardError(Exception):
    """A shard folder that cannot be merged: the message names it (one line)."""


def _read(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(safety.read_bounded(path, limit=MAX_SHARD_FILE).decode("utf-8"))
    except (OSError, safety.RefusedFile, UnicodeDecodeError, ValueError) as exc:
        raise ShardError(f"{safety.printable(path)}: cannot be read as JSON ({exc})") from None


def _size(entry: dict[str, Any]) -> int:
    return (entry.get("size_after") or {}).get("layers", 1 << 30)


def merge(folders: list[Path]) -> dict[str, Any]:
    """{"findings": one entry per cause, "campaign": the shards' summaries merged}."""
    if not folders:
        raise ShardError("name at least one shard folder")
    by_cause: dict[str, dict[str, Any]] = {}
    causes: dict[str, dict[str, Any]] = {}
    totals: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    signatures: Counter[str] = Counter()
    reaches, wall = [], 0.0
    for folder in folders:
        if not folder.is_dir() or not any((folder / n).exists() for n in ("campaign.json", "findings.json")):
            raise ShardError(f"{safety.printable(folder)}: not a shard folder (no campaign.json or findings.json)")
        shard = folder.name
        campaign = _read(folder / "campaign.json", {})
        findings = _read(folder / "findings.json", [])
        if not isinstance(campaign, dict) or not isinstance(findings, list) or not all(
                isinstance(e, dict) and isinstance(e.get("signature"), str) for e in findings):
            raise ShardError(f"{safety.printable(folder)}: campaign.json or findings.json is not what "
                             "`harness fuzz` writes")
        hits = campaign.get("causes", {})
        for entry in findings:
            cause = entry.get("cause") or entry["signature"]  # a finding written before causes: its signature
            merged = by_cause.get(cause)
            if merged is None or _size(entry) < _size(merged):  # the smallest shrunk case stands for it
                by_cause[cause] = {**entry, "shards": (merged or {}).get("shards", []),
                                   "cases": (merged or {}).get("cases", 0),
                                   "signatures": (merged or {}).get("signatures", [])}
            merged = by_cause[cause]
            merged["shards"].append(shard)
            merged["cases"] += hits.get(cause, {}).get("cases", 1)
            merged["signatures"] = sorted({*merged["signatures"], entry["signature"],
                                           *hits.get(cause, {}).get("signatures", [])})
        for cause, hit in hits.items():
            into = causes.setdefault(cause, {**{k: v for k, v in hit.items() if k not in ("cases", "signatures")},
                                             "cases": 0, "signatures": [], "shards": []})
            into["cases"] += hit.get("cases", 0)
            into["signatures"] = sorted({*into["signatures"], *hit.get("signatures", [])})
            into["shards"].append(shard)
        totals["cases"] += campaign.get("cases", 0)
        verdicts.update(campaign.get("verdicts", {}))
        signatures.update(campaign.get("signatures", {}))
        wall = max(wall, campaign.get("wall_s", 0.0))
        reaches.append((campaign.get("coverage") or {}).get("reach"))
    return {"findings": list(by_cause.values()),
            "campaign": {"shards": [f.name for f in folders], "cases": totals["cases"], "wall_s": wall,
                         "verdicts": dict(sorted(verdicts.items())), "signatures": dict(sorted(signatures.items())),
                         "causes": causes, "coverage": {"reach": _union(reaches)}}}


def _union(reaches: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Exercised by any shard: reachable minus what no shard exercised."""
    if not reaches or any(r is None or "not_exercised" not in r for r in reaches):
        return None  # a shard written before the full list was recorded: no union to compute
    missing = set.intersection(*(set(r["not_exercised"]) for r in reaches))
    reachable = reaches[0]["reachable"]
    return {"exercised": reachable - len(missing), "reachable": reachable,
            "share": round((reachable - len(missing)) / reachable, 3) if reachable else None,
            "not_exercised": sorted(missing), "unreachable": reaches[0].get("unreachable", {})}


def summary_lines(merged: dict[str, Any]) -> list[str]:
    """The job summary: the findings by cause, with their shards, and the causes already kept."""
    campaign, found = merged["campaign"], merged["findings"]
    reach = campaign["coverage"]["reach"]
    lines = [f"{len(found)} finding(s) by cause over {len(campaign['shards'])} shard(s), {campaign['cases']} cases"
             + (f"; coverage {reach['exercised']} of {reach['reachable']} reachable combinations "
                f"({reach['share']:.0%})" if reach else ""), ""]
    for entry in found:
        features = entry.get("features") or {}
        tags = ", ".join(f"{k} {'/'.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in features.items() if v not in ([], None))
        lines.append(f"- `{entry.get('cause') or entry['signature']}`: {' > '.join(entry['layer_classes'])} "
                     f"({entry['size_before']['layers']} -> {entry['size_after']['layers']} layers), "
                     f"{entry['cases']} case(s) in {', '.join(entry['shards'])}" + (f"; {tags}" if tags else ""))
    again = {c: h for c, h in campaign["causes"].items() if "kept" in h}
    if again:
        lines += ["", "Causes already kept in the suite, found again:"]
        lines += [f"- `{c}`: {h['cases']} case(s), counted against {h['kept']}"
                  + (f" (known: {h['known']})" if h.get("known") else "") for c, h in sorted(again.items())]
    return lines
