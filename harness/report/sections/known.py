"""Known divergences: the registry entries that explained a comparison, and the entries that explain nothing."""

from __future__ import annotations

from harness.compare.verdicts import PairComparison
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel
from harness.report.sections import guidance
from harness.report.sections.matrix import cell


def render(model: ReportModel) -> str:
    cmp = model.comparison
    by_entry: dict[int, list[PairComparison]] = {}
    entries: dict[int, object] = {}
    for pair in cmp.results.values():
        for entry in pair.explained_by:
            by_entry.setdefault(id(entry), []).append(pair)
            entries[id(entry)] = entry
    lines = ["## Known divergences", ""]
    if not by_entry and not cmp.stale_known:
        return "\n".join(lines + ["None recorded or matched."])
    if by_entry:
        lines += ["Understood differences, recorded in the registry (`scenarios/known_divergences.toml`), "
                  "one entry per cause. An entry covers a comparison only when its fingerprint (raw verdict, "
                  "the probes that differ, the odd backend, the band and direction of the difference, "
                  "error and warning patterns, the Keras versions) describes all of it; they are not "
                  "counted as findings.", ""]
    for key, pairs in by_entry.items():
        entry = entries[key]
        covered = "; ".join(f"[{md.text(p.scenario)}](#{md.slug(p.scenario)}) {common.pair_name(p.a, p.b)}: "
                            f"{md.text(cell(p))}" for p in pairs)
        versions = f", Keras {md.text(entry.keras)}" if entry.keras else ""
        lines += [f"- **{md.text(entry.what, 400)}** ({md.code(entry.id)}: odd backend "
                  f"{md.text(entry.odd)}{versions})", f"  Covers: {covered}.",
                  f"  Why: {md.text(entry.why, 1500)}", f"  Upstream: {md.link(entry.link)}"]
        lines += guidance.workaround_lines(entry, model) + [""]
    nightly = model.newest_nightly
    if nightly and model.known:
        build = ", ".join(sorted({str(r.environment.get("keras", "?")) for r in nightly}))
        lines += [f"On keras-nightly {md.text(build)} ({', '.join(md.text(r.backend) for r in nightly)}), "
                  "compared across backends, each entry:", ""]
        lines += [f"- {md.code(x.entry.id)}: {x.status} ({md.text(x.detail, 400)})"
                  for x in model.known_on_nightly] + [""]
    if cmp.stale_known:
        lines += ["Registry entries that explain nothing in this report:", ""]
        lines += [f"- {md.code(k.id)} ({md.code(k.scenario)} on {md.text(k.odd)}): {md.text(k.what, 300)}; "
                  f"{md.text(model.stale_reasons.get(id(k), ''), 400)}." for k in cmp.stale_known]
    return "\n".join(lines).rstrip()
