"""summary.json: the report's facts as JSON (read by `readme` and by people's scripts), rendered from
the same ReportModel as the markdown."""

from __future__ import annotations

import math
from typing import Any

from harness.compare.claims import CLAIMS
from harness.compare.verdicts import EXPECTED
from harness.report.model import ReportModel
from harness.report.sections import found, guidance, matrix, next_keras, training, versions


def facts(model: ReportModel) -> dict[str, Any]:
    cmp = model.comparison
    scenarios = []
    for name in cmp.scenarios:
        pairs = {}
        for a, b in cmp.pairs:
            p = cmp.get(name, a, b)
            pairs[p.key] = {"verdict": p.verdict, "raw_verdict": p.raw_verdict,
                            "max_abs_diff": _finite(p.max_abs) if p.compared else None,
                            # the largest |a - b| over the probes that differ: what a known cell shows
                            "differing_max_abs": _finite(p.differing_max_abs) if p.compared else None,
                            "tolerances_apart": _finite(p.tolerances_apart) if p.compared else None,
                            "nonfinite": not math.isfinite(p.max_abs),
                            "cell": matrix.cell(p),
                            "detail": p.detail,
                            **({"known": [e.id for e in p.explained_by]} if p.explained_by else {}),
                            **({"known_note": p.known_note} if p.known_note else {})}
        scenarios.append({"name": name, "verdict": model.verdicts[name], "pairs": pairs})
    return {
        "backends": cmp.labels,
        "environments": {r.label: r.environment for r in model.runs},
        "counts": model.counts,
        "claims": [
            {"id": claim, "text": text,
             "verdicts": {label: model.claims[label][claim].verdict for label in cmp.labels},
             "evidence": {label: model.claims[label][claim].evidence for label in cmp.labels}}
            for claim, text in CLAIMS.items()
        ],
        "findings": [s["name"] for s in scenarios if s["verdict"] not in EXPECTED],
        "known_on_nightly": [{"id": x.entry.id, "status": x.status, "detail": x.detail}
                             for x in model.known_on_nightly],
        "stale_known": [{"id": k.id, "scenarios": k.scenario,
                         "why": model.stale_reasons.get(id(k), "")} for k in cmp.stale_known],
        **({"found_by_generation": kept} if (kept := found.facts(model)) else {}),  # harness fuzz
        "compiled": {label: {s: p.verdict for s, p in v.items()} for label, v in model.compiled.items()},
        "scenarios": scenarios,
        "what_it_means": guidance.facts(model),
        **training.facts(model),  # training_claims: T1..T5 per backend, with the failing checks
        **versions.facts(model),  # keras_versions: claims per runtime, changes, changed scenarios
        **next_keras.facts(model),  # next_keras: the newest nightly against the newest release, by cause
        **({"baseline_changes": [{"scenario": c.scenario, "pair": c.pair, "before": c.before,
                                  "after": c.after} for c in model.baseline_changes],
            "claim_changes": [{"claim": c, "run": r, "before": b, "after": a}
                              for c, r, b, a in model.claim_changes]} if model.baseline else {}),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
