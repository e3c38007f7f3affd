"""The report's "Seed conclusions across Keras versions": claims per runtime, what changed when, and the
Keras changes bisect found (judged in harness/compare/timeline.py)."""

from __future__ import annotations

from typing import Any

from harness.compare.claims import CLAIMS
from harness.report import markdown as md
from harness.report.model import ReportModel

MAX_CHANGED_ROWS = 60


def render(model: ReportModel) -> str:
    timeline = model.timeline
    if timeline is None:
        return ""
    line, judged, problem = timeline.runtimes, timeline.claims, timeline.problem
    claim_ids = list(CLAIMS)
    rows = []
    for runtime in line:
        reason = runtime.cannot_run
        if reason:
            rows.append([md.text(runtime.name), *[md.text("cannot run")] * len(claim_ids)])
            continue
        rows.append([md.text(runtime.name), *[md.text(judged[runtime.run.label][c].verdict) for c in claim_ids]])
    found = timeline.changes
    out = [
        "## Seed conclusions across Keras versions",
        "",
        "The seed's conclusions were written on Keras 2. Each row is one runtime: tf-keras (Keras 2), then "
        "each Keras 3 release run per backend, oldest first. Keras 3 release runs come from "
        f"{md.code(timeline.folder)} (`python -m harness versions run`); "
        "they are not in the pairwise matrix.",
        "",
        md.table(["runtime", *claim_ids], rows),
    ]
    if problem:
        out += ["", f"The release runs could not be read: {md.text(problem)}"]
    out += ["", "### Where a verdict changed", ""]
    if not found:
        out.append("No claim's verdict changes between the runs above.")
    for change in found:
        text = (f"- **{change.claim}** on {md.text(change.backend)}: {md.text(change.before)} in "
                f"{md.text(change.last_before)} → {md.text(change.after)} in {md.text(change.first_after)}")
        if change.upstream:
            u = change.upstream
            links = ", ".join(md.link(url, md.text(_link_label(url))) for url in u.links)
            text += (f". First release: keras {md.text(u.first)}" + (" (harness bisect)" if u.bisect else "")
                     + f" ({links})")
        out.append(text + ".")
    scenario_rows = timeline.changed_scenarios
    if scenario_rows:
        shown = scenario_rows[:MAX_CHANGED_ROWS]
        out += ["", "### Scenarios whose expectations, masks or outputs changed between releases", "",
                md.table(["backend", "from", "to", "change"],
                         [[md.text(b), md.text(a), md.text(c), md.text(what)] for b, a, c, what in shown])]
        if len(scenario_rows) > len(shown):
            out.append(f"\n({len(scenario_rows) - len(shown)} more in summary.json)")
    out += ["", "### Keras changes found by bisect", ""]
    out += [f"- **{md.text(u.claim)}**, keras {md.text(u.first)} ({md.text(', '.join(u.backends))}): "
            f"{md.text(u.what)} ({', '.join(md.link(url, md.text(_link_label(url))) for url in u.links)})"
            + (f"; found by {md.code(u.bisect)}" if u.bisect else "") for u in timeline.upstream] or ["None recorded."]
    blocked = [(r.name, r.cannot_run) for r in line if r.cannot_run]
    if blocked:
        out += ["", "### Releases that cannot run here", ""]
        out += [f"- {md.text(name)}: {md.text(reason)}" for name, reason in blocked]
    return "\n".join(out)


def _link_label(url: str) -> str:
    """owner/repo#123 for a pull request or issue, file@tag#L1-L2 for a source permalink."""
    parts = url.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] in ("pull", "issues"):
        return f"{parts[-4]}/{parts[-3]}#{parts[-1]}"
    if "/blob/" in url:
        ref, path = url.split("/blob/", 1)[1].split("/", 1)
        return f"{path.rsplit('/', 1)[-1]}@{ref}"
    return url


def facts(model: ReportModel) -> dict[str, Any]:
    timeline = model.timeline
    if timeline is None:
        return {}
    line = timeline.runtimes
    return {"keras_versions": {
        "runtimes": [{"name": r.name, "label": r.run.label, "flavour": r.flavour,
                      "keras": ".".join(map(str, r.version)), "backend": r.backend,
                      **({"cannot_run": r.cannot_run} if r.cannot_run else
                         {"claims": {c: v.verdict for c, v in timeline.claims[r.run.label].items()}})}
                     for r in line],
        "changes": [{"claim": c.claim, "backend": c.backend, "before": c.before, "after": c.after,
                     "last_before": c.last_before, "first_after": c.first_after,
                     **({"first_release": c.upstream.first, "upstream": list(c.upstream.links),
                         "what": c.upstream.what} if c.upstream else {})}
                    for c in timeline.changes],
        "changed_scenarios": [{"backend": b, "from": a, "to": c, "change": what}
                              for b, a, c, what in timeline.changed_scenarios],
    }}
