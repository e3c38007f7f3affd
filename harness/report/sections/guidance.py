""""What this means for you": the report's answer first, drawn from data, never from prose in code.

Per migration path (a pair of runs, TensorFlow -> JAX first), what behaves differently comes from the
known-divergence entries that covered one of that pair's comparisons (scenarios/known_divergences.toml:
impact, layer, situation, workaround, minimal scenario) and from the unexpected divergences; what is
the same everywhere but contradicts the seed or the Keras docs comes from scenarios/surprises.toml,
shown only while the tied expectation fails on every run. Change the data and this section changes.
"""

from __future__ import annotations

from harness.compare.known import IMPACTS, KnownDivergence, Surprise
from harness.compare.paths import MigrationPath, SurpriseSeen
from harness.compare.verdicts import Comparison
from harness.report import markdown as md
from harness.report.model import ReportModel

NOX_SESSIONS = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
SURPRISES_HEADING = "The same on every backend, but not what the seed or the Keras docs say"


def render(data: ReportModel) -> str:
    """The report's first section."""
    cmp = data.comparison
    backends = {r.label: r.backend for r in data.runs}
    lines = ["## What this means for you", ""]
    if not cmp.pairs:
        return "\n".join(lines + ["One run only: nothing to compare. Run a second backend to see what changes."])
    keras = sorted({str(r.environment.get("keras", "?")) for r in data.main_runs})
    lines += [f"Moving a masked Keras model between backends (Keras {', '.join(map(md.text, keras))}, "
              f"{len(cmp.scenarios)} scenarios): what behaves differently, what it touches, and what to do. "
              "Each item links to its smallest scenario, whose section is the reproduction.", ""]
    known, unexpected = data.known_by_path, data.unexpected_by_path
    migrations = data.migration_paths
    numbered = data.differences  # each difference is told once, numbered, below the paths
    for path in migrations:
        lines += [f"### {md.text(path.title)}", ""]
        items = []
        for entry in known.get((path.a, path.b), []):
            n = next(i for i, e in enumerate(numbered, 1) if e is entry)
            items.append(f"- {_headline(entry)} ([difference {n}: what to do](#{difference_anchor(n, entry)}))")
        found = unexpected.get((path.a, path.b), [])
        if found:
            items.append(f"- **Not yet understood**: {len(found)} scenarios differ for no recorded reason: "
                         + ", ".join(f"[{md.text(s)}](#{md.slug(s)}) ({v})" for s, v in found)
                         + " (see [Findings](#findings)).")
        lines += items or ["Nothing differs: every scenario gives the same masks and values (within "
                           "tolerance) or fails the same way."]
        lines.append("")
    for n, entry in enumerate(numbered, 1):
        covered = [p for p in migrations if any(e is entry for e in known.get((p.a, p.b), []))]
        lines += [f"### {md.text(_title(n, entry))}", "", _known_item(entry, data, covered, backends), ""]
    seen, gone = data.surprises_seen, data.surprises_gone
    lines += [f"### {SURPRISES_HEADING}", ""]
    if seen:
        lines += ["Switching backends does not change these, and the backends agree on them (the matrix "
                  "shows them as match), but a model that relies on what the seed or the docs say is "
                  "affected.", ""]
        lines += [_surprise_item(s, data) for s in seen]
    else:
        lines.append("None seen.")
    if gone:
        lines += ["", "No longer seen (entries in `scenarios/surprises.toml` whose expectation now passes "
                  "somewhere): " + "; ".join(md.text(g.what, 160) for g in gone) + "."]
    return "\n".join(lines).rstrip()


def difference_anchor(n: int, entry: KnownDivergence) -> str:
    return md.slug(_title(n, entry))


def _impact(entry: KnownDivergence | Surprise) -> str:
    return IMPACTS.get(entry.impact, "")


def _scenario_link(name: str, cmp: Comparison) -> str:
    return f"[{md.text(name)}](#{md.slug(name)})" if name in cmp.scenarios else md.code(name)


def _details(entry: KnownDivergence | Surprise, data: ReportModel) -> list[str]:
    parts = []
    if entry.layer:
        parts.append(f"Layer: {md.text(entry.layer)}.")
    if entry.situation:
        parts.append(f"When: {md.text(entry.situation)}.")
    lines = ["  " + " ".join(parts)] if parts else []
    if entry.workaround:
        lines.append(f"  What to do: {md.text(entry.workaround.rstrip('.'), 1000)}.")
    return lines + workaround_lines(entry, data)


def workaround_lines(entry: KnownDivergence | Surprise, data: ReportModel) -> list[str]:
    """Whether a scenario shows the workaround working (judged from this report's comparison), and
    the entries that share the cause."""
    lines = []
    if entry.workaround:
        shown = data.demonstrations.get(id(entry), [])
        good = [d for d in shown if d.shown]
        if good:
            lines.append("  Shown working on every backend: " +
                         ", ".join(_scenario_link(d.scenario, data.comparison) for d in good) + ".")
        for d in (d for d in shown if not d.shown):
            lines.append(f"  {_scenario_link(d.scenario, data.comparison)} runs the workaround but does not "
                         f"show the difference gone here: {md.text(d.detail, 400)}.")
        if not shown:
            lines.append("  Not demonstrated: no scenario runs this workaround.")
    if entry.see_also:
        lines.append("  Same cause as: " + ", ".join(md.code(x) for x in entry.see_also) + ".")
    return lines


def _title(n: int, entry: KnownDivergence) -> str:
    impact = _impact(entry)
    return f"Difference {n}: {impact}" if impact else f"Difference {n}"


def _headline(entry: KnownDivergence) -> str:
    """One line: what it touches, in which layer and situation (the entry's `what` without them)."""
    impact = _impact(entry)
    head = f"**{md.text(impact[0].upper() + impact[1:])}**: " if impact else ""
    if entry.layer or entry.situation:
        return head + md.text(", ".join(x for x in (entry.layer, entry.situation) if x), 1000)
    return head + md.text(entry.what, 1000)


def _known_item(entry: KnownDivergence, data: ReportModel, covered: list[MigrationPath],
                backends: dict[str, str]) -> str:
    cmp = data.comparison
    lines = [md.text(entry.what[:1].upper() + entry.what[1:], 1000) + "."] + [x.strip() for x in _details(entry, data)]
    if entry.minimal:
        labels = [x for x in cmp.labels if any(x in (p.a, p.b) for p in covered)]
        sessions = " ".join(NOX_SESSIONS.get(backends.get(x, ""), x) for x in labels)
        lines.append(f"Smallest case: {_scenario_link(entry.minimal, cmp)}; reproduce with "
                     f"{md.code(f'nox -s {sessions} -- --select {entry.minimal}')}. Cause and upstream: "
                     "[Known divergences](#known-divergences).")
    lines += _upstream_draft(entry, data)
    return "\n\n".join(lines)


def _upstream_draft(entry: KnownDivergence | Surprise, data: ReportModel) -> list[str]:
    """The entry's issue draft for Keras (reports/upstream/) and where it stands upstream."""
    if id(entry) not in data.upstream:
        return []
    path, status = data.upstream[id(entry)]
    return [f"Upstream issue draft: [{md.text(path)}]({path}) ({md.text(status)})."]


def _surprise_item(seen: SurpriseSeen, data: ReportModel) -> str:
    entry, cmp = seen.entry, data.comparison
    impact = _impact(entry)
    head = f"- **{md.text(impact[0].upper() + impact[1:])}**: " if impact else "- "
    lines = [head + md.text(entry.what, 1000) + ". Contradicts: " + md.text(entry.contradicts, 500) + "."]
    lines += _details(entry, data)
    shown = ", ".join(_scenario_link(s, cmp) for s in seen.scenarios)
    tail = f"  Seen in {shown}"
    if entry.minimal and entry.minimal not in seen.scenarios:
        tail += f"; the fix shown in {_scenario_link(entry.minimal, cmp)}"
    if entry.link.startswith("https://"):
        tail += f"; upstream: {md.link(entry.link)}"
    lines.append(tail + ".")
    lines += ["  " + line for line in _upstream_draft(entry, data)]
    return "\n".join(lines)


def facts(data: ReportModel) -> dict:
    """The same content for summary.json (and the README block that is generated from it)."""
    known, unexpected = data.known_by_path, data.unexpected_by_path
    seen, gone = data.surprises_seen, data.surprises_gone

    def entry_facts(e: KnownDivergence | Surprise) -> dict:
        shown = data.demonstrations.get(id(e), [])
        return {"what": e.what, "impact": e.impact, "layer": e.layer, "situation": e.situation,
                "workaround": e.workaround, "minimal": e.minimal, "link": e.link, "id": e.id,
                "keras": e.keras, "see_also": list(e.see_also),
                "demonstrated_by": [{"scenario": d.scenario, "shown": d.shown, "detail": d.detail}
                                    for d in shown]}

    return {
        "paths": [{"path": p.title, "runs": [p.a, p.b],
                   "known": [entry_facts(e) for e in known.get((p.a, p.b), [])],
                   "unexpected": [{"scenario": s, "verdict": v} for s, v in unexpected.get((p.a, p.b), [])]}
                  for p in data.migration_paths],
        "same_everywhere": [{**entry_facts(s.entry), "contradicts": s.entry.contradicts,
                             "scenarios": list(s.scenarios)} for s in seen],
        "no_longer_seen": [g.what for g in gone],
    }
