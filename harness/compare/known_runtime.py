"""What each known divergence does on another runtime (the newest keras-nightly, an older release).

The entries are judged against that runtime's own cross-backend comparison: an entry "holds" where
its fingerprint still describes pairs there; "changed" where it names pairs it no longer describes
(they are findings of that runtime); "not seen" where its scenarios ran and nothing it describes
differs (fixed there?); "does not apply" where the runtime is outside the entry's versions. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.artifacts import Artifact
from harness.compare import fingerprint, verdicts
from harness.compare.known import KnownDivergence


@dataclass(frozen=True)
class OnRuntime:
    entry: KnownDivergence
    status: str  # holds | changed | not seen | does not apply | not run
    detail: str


def on_runtime(known: list[KnownDivergence], runs: list[Artifact]) -> list[OnRuntime]:
    """Each entry on the runtime of `runs` (one run per backend, the same Keras)."""
    if len(runs) < 2:
        return []
    comparison = verdicts.compare(runs, known)
    used = {id(e) for p in comparison.results.values() for e in p.explained_by}
    keras = ", ".join(sorted({str(r.environment.get("keras", "?")) for r in runs}))
    out = []
    for entry in known:
        notes = [p for p in comparison.results.values() if p.known_note and f"entry {entry.id!r}" in p.known_note]
        if id(entry) in used:
            detail = f"holds on Keras {keras}" + (f"; {len(notes)} pairs it names are no longer described"
                                                  if notes else "")
            out.append(OnRuntime(entry, "changed" if notes else "holds", detail))
            continue
        why = fingerprint.stale_reason(entry, comparison, runs)
        status = ("does not apply" if why.startswith("does not apply") else "changed" if why.startswith("changed")
                  else "not run" if "not run" in why or why.startswith("no ") else "not seen")
        out.append(OnRuntime(entry, status, why))
    return out
