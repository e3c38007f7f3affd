"""Scenarios: one section per scenario, divergent first: status, probes, differences, reproduction."""

from __future__ import annotations

from harness.artifacts import Artifact
from harness.compare.verdicts import EXPECTED, PairComparison, ProbeComparison
from harness.define.registry import ScenarioError, upstream_url
from harness.report import common
from harness.report import markdown as md
from harness.report.model import ReportModel
from harness.report.sections.guidance import SURPRISES_HEADING


def render(model: ReportModel) -> str:
    cmp = model.comparison
    order = sorted(cmp.scenarios, key=lambda s: (common.rank(model.verdicts[s]) if
                                                 model.verdicts[s] not in EXPECTED else 99, s))
    runs = {r.label: r for r in model.runs}
    # What the reader should know before the numbers: a known divergence, or behaviour the same
    # everywhere but not as documented (otherwise such a scenario would read as a bare "match").
    notes: dict[str, list[str]] = {}
    for pair in cmp.results.values():
        for entry in pair.explained_by:
            note = f"Known divergence: {md.text(entry.what, 1000)} ([cause](#known-divergences))."
            if note not in notes.setdefault(pair.scenario, []):
                notes[pair.scenario].append(note)
    anchor = md.slug(SURPRISES_HEADING)
    for seen in model.surprises_seen:
        for name in seen.scenarios:
            notes.setdefault(name, []).append(f"The same on every backend, but not as documented: "
                                              f"{md.text(seen.entry.what, 1000)} ([what to do](#{anchor})).")
    divergent = sum(model.verdicts[s] not in EXPECTED for s in cmp.scenarios)
    intro = (f"The {divergent} scenarios that diverge for no recorded reason first, then the rest in name "
             "order." if divergent else "In name order (none diverges for an unrecorded reason).")
    return "\n\n".join([f"## Scenarios\n\n{intro}"] +
                       [_scenario(name, model, runs, notes.get(name, ())) for name in order])


def _upstream(meta: dict) -> list[str]:
    """"Upstream: <links>" for the reports a scenario reproduces (Scenario.upstream); a reference the
    artifact holds in another shape is shown as text, never as a link."""
    refs = meta.get("upstream") or []
    if not isinstance(refs, list) or not refs:
        return []
    shown = []
    for ref in refs:
        try:
            shown.append(md.link(upstream_url(str(ref)), md.text(ref)))
        except ScenarioError:
            shown.append(md.text(ref))
    return ["Upstream: " + ", ".join(shown), ""]


def _scenario(name: str, model: ReportModel, runs: dict[str, Artifact], notes=()) -> str:
    cmp = model.comparison
    records = {label: runs[label].records.get(name) for label in cmp.labels}
    present = [r for r in records.values() if r is not None]
    meta = present[0].meta if present else {}
    verdict = model.verdicts[name]
    lines = [f"### {md.text(name)}", "", md.text(meta.get("description", "")), "", *_upstream(meta),
             f"Verdict: **{verdict}**. " + "; ".join(
                 f"{common.pair_name(a, b)}: {cmp.get(name, a, b).verdict}" for a, b in cmp.pairs)]
    lines += [x for note in notes for x in ("", note)]
    status = []
    for label, record in records.items():
        if record is None:
            status.append(f"{common.short(label)}: not run")
        elif record.captured.error:
            e = record.captured.error
            status.append(f"{common.short(label)}: {md.text(record.status)} {md.code(e.type + ': ' + e.message, 2000)}")
        else:
            # no duration: a rerun with the same results leaves the page as it was (run times are
            # on the environment page)
            status.append(f"{common.short(label)}: {md.text(record.status)}")
    lines += ["", "Status: " + "; ".join(status)]
    lines += _expectations(records)
    lines += _warnings(records)
    pairs = [cmp.get(name, a, b) for a, b in cmp.pairs]
    if any(p.probes for p in pairs):
        lines += ["", probe_table(pairs, records)] + _tolerances(meta)
        details = [probe_detail(p, pr) for p in pairs for pr in p.probes if pr.verdict != "match"]
        if details:
            lines += ["", "Differences:", ""] + details
    if verdict not in EXPECTED and meta.get("source"):
        lines += ["", "Reproduction (the scenario's build; weights are set by the harness):", "",
                  md.fenced(meta["source"], "python")]
    return "\n".join(lines)


def _tolerances(meta: dict) -> list[str]:
    """The scenario's tolerance overrides with their reasons; the defaults are in the legend."""
    overrides = meta.get("tolerances") or {}
    if not overrides:
        return []
    parts = [f"{md.code(glob)}: atol {o['atol']:g}, rtol {o['rtol']:g} ({md.text(o['reason'], 1000)})"
             for glob, o in sorted(overrides.items())]
    return ["", "Tolerance overrides: " + "; ".join(parts) + ". Other probes: the defaults."]


def _expectations(records: dict) -> list[str]:
    """One row per expectation: pass or fail per backend, then its evidence (once when all agree)."""
    labels = list(records)
    rows: dict[str, dict[str, dict]] = {}
    for label, record in records.items():
        for e in (record.meta.get("expectations", []) if record else []):
            rows.setdefault(e["name"], {})[label] = e
    if not rows:
        return []
    table = []
    for name, per_run in rows.items():
        marks = [("yes" if per_run[x]["passed"] else "**no**") if x in per_run else "—" for x in labels]
        claim = next((e.get("claim") or "" for e in per_run.values()), "")
        table.append([md.text(name, 1000), md.text(claim), *marks,
                      common.once({x: str(e.get("evidence", "")) for x, e in per_run.items()})])
    return ["", md.table(["expectation", "claim", *(common.short(x) for x in labels), "evidence"], table)]


def _warnings(records: dict) -> list[str]:
    seen: dict[tuple[str, str], list[str]] = {}
    for label, record in records.items():
        for w in (record.captured.warnings if record else []):
            seen.setdefault((w.category, w.message), []).append(common.short(label))
    if not seen:
        return []
    lines = ["", "Warnings:", ""]
    for (category, message), where in seen.items():
        lines.append(f"- {md.code(category)} on {', '.join(where)}: {md.text(message, 2000)}")
    return lines


def probe_table(pairs: list[PairComparison], records: dict) -> str:
    by_probe: dict[str, dict[str, ProbeComparison]] = {}
    for pair in pairs:
        for probe in pair.probes:
            by_probe.setdefault(probe.probe, {})[pair.key] = probe
    rows = []
    for probe, per_pair in by_probe.items():
        masks: dict[str, str] = {}
        shapes: dict[str, None] = {}
        dtypes: dict[str, None] = {}
        for label, record in records.items():
            p = record.captured.probes.get(probe) if record else None
            if p is not None:
                masks[common.short(label)] = common.draw_mask(p.mask, cell=True) if p.mask_readable else "unreadable"
                shapes.setdefault("×".join(map(str, p.values.shape)), None)
                dtypes.setdefault(md.text(p.dtype), None)
        shape, dtype = " vs ".join(shapes) or "—", " vs ".join(dtypes) or "—"
        if len(set(masks.values())) <= 1:
            mask_cell = next(iter(masks.values()), "—")
        else:
            mask_cell = "<br>".join(f"{k}: {v}" for k, v in masks.items())
        cells = [md.code(probe, cell=True), shape, dtype, mask_cell]
        for pair in pairs:
            pc = per_pair.get(pair.key)
            if pc is None:
                cells.append("—")
            elif pc.verdict == "match":
                cells.append(f"match {common.num(pc.max_abs)}")
            elif not pc.kept.n_total and not pc.masked.n_total:  # values were never compared
                cells.append(f"**{pc.verdict}**")
            else:
                cells.append(f"**{pc.verdict}** {common.num(pc.kept.max_abs)}"
                             + (f" / masked {common.num(pc.masked.max_abs)}" if pc.masked.n_total else ""))
        rows.append(cells)
    header = ["probe", "shape", "dtype", "mask", *(common.pair_name(p.a, p.b) for p in pairs)]
    return md.table(header, rows)


def probe_detail(pair: PairComparison, probe: ProbeComparison) -> str:
    head = f"- {common.pair_name(pair.a, pair.b)}, {md.code(probe.probe)}: **{probe.verdict}**"
    if probe.verdict in ("shape-differs", "missing"):
        return f"{head}: {probe.shape_a} vs {probe.shape_b}"
    if probe.verdict == "dtype-differs":
        return f"{head}: {md.text(probe.dtype_a)} vs {md.text(probe.dtype_b)}"
    parts = []
    if probe.verdict == "mask-differs":
        parts.append(f"masks {common.draw_mask(probe.mask_a)} vs {common.draw_mask(probe.mask_b)}")
    for where, diff in (("kept", probe.kept), ("masked", probe.masked)):
        if diff.n_total == 0:
            continue
        text = (f"{where}: {diff.n_diff}/{diff.n_total} differ ({diff.share:.0%}), max abs "
                f"{common.num(diff.max_abs)}, max rel {common.num(diff.max_rel)}, {diff.max_ulp} ulp")
        if diff.first_index is not None and diff.first_values is not None:
            a, b = diff.first_values
            text += f", first at {list(diff.first_index)}: {a:.7g} vs {b:.7g}"
        if diff.nonfinite:
            text += f", {diff.nonfinite} NaN/Inf against a number"
        parts.append(text)
    tol = probe.tolerance
    if tol is not None:
        parts.append(f"tolerance atol {tol.atol:g} rtol {tol.rtol:g} ({md.text(tol.reason, 160)})")
    return head + ": " + "; ".join(parts)
