"""What each known divergence does on another runtime (the newest keras-nightly, an older release).

Each entry is judged on the pairs it explains on this report's runtime, looked up on the other
runtime's own cross-backend comparison (same scenario, same two backends): "holds" where it still
describes every one of them; "changed" where one still differs but no longer as described (a finding
of that runtime, with the entry's reason); "fixed" (or "partly fixed") where they (some) no longer
differ this way: a match there, or another entry's difference only; "does not apply" where the
other runtime is outside the entry's versions; "not run" where none of them ran there. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.artifacts import Artifact
from harness.compare import fingerprint, verdicts
from harness.compare.known import KnownDivergence


@dataclass(frozen=True)
class OnRuntime:
    entry: KnownDivergence
    status: str  # holds | changed | partly fixed | fixed | does not apply | not run
    detail: str


def on_runtime(known: list[KnownDivergence], reference: verdicts.Comparison, reference_runs: list[Artifact],
               runs: list[Artifact]) -> list[OnRuntime]:
    """Each entry that explains a pair of `reference` (this report's comparison), on the runtime of `runs`
    (one run per backend, the same Keras)."""
    if len(runs) < 2:
        return []
    other = verdicts.compare(runs, known)
    keras = ", ".join(sorted({str(r.environment.get("keras", "?")) for r in runs}))
    backend_of = {r.label: r.backend for r in [*reference_runs, *runs]}
    there = {(name, backend_of[a], backend_of[b]): p for (name, a, b), p in other.results.items()}
    out = []
    for entry in known:
        pairs = [p for p in reference.results.values() if any(e is entry for e in p.explained_by)]
        if not pairs:
            continue
        if all(fingerprint.runtime_note(entry, (r, r)) for r in runs):
            out.append(OnRuntime(entry, "does not apply", fingerprint.runtime_note(entry, (runs[0], runs[0]))))
            continue
        held, changed, fixed = [], [], []
        for p in pairs:
            now = there.get((p.scenario, backend_of[p.a], backend_of[p.b]))
            if now is None:
                continue
            where = f"{p.scenario} {backend_of[p.a]} vs {backend_of[p.b]}"
            if any(e.id == entry.id for e in now.explained_by):
                held.append(where)
            elif now.verdict in verdicts.EXPECTED:
                fixed.append(f"{where} ({now.verdict})")
            else:
                changed.append(f"{where}: {now.raw_verdict}" + (f" ({now.known_note})" if now.known_note else ""))
        if not (held or changed or fixed):
            out.append(OnRuntime(entry, "not run", f"none of its {len(pairs)} pairs ran on Keras {keras}"))
            continue
        status = "changed" if changed else "partly fixed" if fixed and held else "fixed" if fixed else "holds"
        parts = [f"{len(held)} of {len(held) + len(changed) + len(fixed)} pairs still as described on Keras {keras}"]
        parts += [f"changed: {'; '.join(changed[:3])}" + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")] \
            if changed else []
        parts += [f"no longer differ this way there: {', '.join(fixed[:3])}" + (f" and {len(fixed) - 3} more" if len(fixed) > 3 else "")] \
            if fixed else []
        out.append(OnRuntime(entry, status, "; ".join(parts)))
    return out
