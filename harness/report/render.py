"""Markdown rendering: a pure function of the comparison results. Deterministic for equal input."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from harness.artifacts import Artifact
from harness.compare import fingerprint, known_runtime
from harness.compare.claims import CLAIMS, ClaimResult
from harness.compare.known import KnownDivergence, Surprise
from harness.compare.verdicts import (
    EXPECTED,
    SEVERITY,
    Comparison,
    PairComparison,
    ProbeComparison,
    counts,
    scenario_verdict,
)
from harness.define.registry import ScenarioError, upstream_url
from harness.report import cells as cell_words
from harness.report import found, guidance, legend, next_keras, training, versions
from harness.report import markdown as md

MAX_SEQUENCES = 8  # mask rows drawn per probe before eliding


@dataclass(frozen=True)
class BaselineChange:
    scenario: str
    a: str
    b: str
    before: str
    after: str

    @property
    def pair(self) -> str:
        return f"{self.a}-vs-{self.b}"


@dataclass(frozen=True)
class ReportInput:
    runs: list[Artifact]
    comparison: Comparison
    claims: dict[str, dict[str, ClaimResult]]  # run label -> claim id -> result
    compiled: dict[str, dict[str, PairComparison]]  # run label -> scenario -> eager vs jit
    reproduce: str
    results_dir: str = "reports/results"
    figure: str | None = None
    baseline: str | None = None  # the baseline folder, when one was given
    baseline_changes: list[BaselineChange] = field(default_factory=list)
    claim_changes: list[tuple[str, str, str, str]] = field(default_factory=list)
    surprises: list[Surprise] = field(default_factory=list)  # scenarios/surprises.toml
    known: list[KnownDivergence] = field(default_factory=list)  # scenarios/known_divergences.toml


def render(data: ReportInput) -> str:
    # The answer first (what changes for a user, and what to do), then how to read the rest, then
    # the evidence and the machinery. Each section is a function of `data`; add one line per section.
    sections = [
        _header(data),
        guidance.section(data),
        next_keras.section(data),  # What changes in the next Keras (newest nightly vs newest release)
        _findings(data),
        legend.section(data),
        _claims(data),
        versions.section(data),  # Seed conclusions across Keras versions (Keras 2, 3.x releases)
        training.section(data),  # Masks in training (claims T1..T5, scenarios run with Fit)
        _summary(data),
        _baseline(data),
        _matrix(data),
        _compiled(data),
        _known(data),
        found.section(data),  # Found by generation (harness fuzz, scenarios/found/)
        _claim_evidence(data),
        _environment(data),
        _scenarios(data),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _short(label: str) -> str:
    return label.removesuffix("-cpu")


def _pair_name(a: str, b: str) -> str:
    return f"{_short(a)} vs {_short(b)}"


def _runs_in_order(data: ReportInput) -> list[Artifact]:
    """The runs in the comparison's backend order, the order of every table's columns."""
    return sorted(data.runs, key=lambda r: data.comparison.labels.index(r.label))


def _header(data: ReportInput) -> str:
    labels = ", ".join(md.code(r.label) for r in _runs_in_order(data))
    return "\n".join([
        "# Keras mask harness report",
        "",
        f"{len(data.comparison.scenarios)} scenarios compared across {len(data.runs)} runs ({labels}), "
        f"every pair of runs. Produced by `python -m harness report` from the artifacts in "
        f"{md.code(data.results_dir)}; nothing in this file is edited by hand "
        "([how to reproduce it](#how-this-report-was-made)).",
    ])


def _findings(data: ReportInput) -> str:
    cmp = data.comparison
    lines = ["## Findings", ""]
    unexpected = [s for s in cmp.scenarios if scenario_verdict(cmp, s) not in EXPECTED]
    if not unexpected:
        known = sum(p.verdict == "known" for p in cmp.results.values())
        return "\n".join(lines + ["No unexpected divergence between backends: every pair matches, "
                                  "fails the same way, or differs for a known reason"
                                  + (f" ({known} comparisons: see [Known divergences](#known-divergences))."
                                     if known else ".")])
    lines.append(f"{len(unexpected)} scenarios diverge between backends for no recorded reason "
                 "(each section shows the scenario's source as a reproduction):")
    lines.append("")
    for name in sorted(unexpected, key=lambda s: (SEVERITY.index(scenario_verdict(cmp, s)), s)):
        pairs = [cmp.get(name, a, b) for a, b in cmp.pairs]
        bad = "; ".join(f"{_pair_name(p.a, p.b)}: {p.verdict}" + (f" ({md.text(p.detail)})" if p.detail else "")
                        for p in pairs if p.verdict not in EXPECTED)
        lines.append(f"- [{md.text(name)}](#{md.slug(name)}): {bad}")
    return "\n".join(lines)


def _claims(data: ReportInput) -> str:
    """One verdict per claim when every backend agrees, per backend where they differ; the checks
    and their evidence in full are one link away, in the evidence section."""
    labels = data.comparison.labels
    rows = []
    for claim, text in CLAIMS.items():
        verdicts: dict[str, list[str]] = {}
        for label in labels:
            result = data.claims.get(label, {}).get(claim)
            verdicts.setdefault(_claim_verdict(result) if result else "not judged", []).append(_short(label))
        if len(verdicts) == 1:
            verdict = next(iter(verdicts))
        else:
            verdict = "; ".join(f"{', '.join(where)}: {v}" for v, where in verdicts.items())
        rows.append([claim, md.text(text), verdict, f"[checks and evidence](#{_claim_anchor(claim)})"])
    return "\n".join(["## Seed conclusions under Keras 3", "",
                      "The seed's conclusions about Keras 2 masking, re-tested on every backend. One "
                      "verdict when every backend agrees, one per backend where they differ.", "",
                      md.table(["claim", "what the seed concluded (Keras 2)", "Keras 3", "details"], rows)])


def _claim_anchor(claim: str) -> str:
    return md.slug(f"Claim {claim}")


def _claim_verdict(result: ClaimResult) -> str:
    verdict = result.verdict.replace("-", " ")
    if result.verdict != "partly":
        return verdict
    passed = len(result.checks) - len(result.failed)
    return f"partly: {passed} of {len(result.checks)} checks pass"


def _claim_evidence(data: ReportInput) -> str:
    """Every check of every claim, with its evidence in full (said once when all backends agree)."""
    labels = data.comparison.labels
    lines = ["## Seed conclusions: checks and evidence", "",
             "Every check behind each claim, failing checks first, with the evidence each backend recorded."]
    for claim, text in CLAIMS.items():
        checks: dict[tuple[str, str], dict[str, object]] = {}
        for label in labels:
            result = data.claims.get(label, {}).get(claim)
            for check in (result.checks if result else ()):
                checks.setdefault((check.scenario, check.name), {})[label] = check
        lines += ["", f"### Claim {claim}", "", md.text(text, 1000)]
        if not checks:
            lines += ["", "No scenario checks this claim."]
            continue
        rows = []
        failing_first = sorted(checks.items(), key=lambda kv: all(c.passed for c in kv[1].values()))
        for (scenario, name), per_run in failing_first:
            marks = [("yes" if per_run[x].passed else "**no**") if x in per_run else "—" for x in labels]
            rows.append([md.text(name, 1000), f"[{md.text(scenario)}](#{md.slug(scenario)})", *marks,
                         _once({x: c.evidence for x, c in per_run.items()})])
        lines += ["", md.table(["check", "scenario", *(_short(x) for x in labels), "evidence"], rows)]
    return "\n".join(lines)


def _once(by_label: dict[str, str]) -> str:
    """Evidence said once when every run recorded the same text, else per run; never cut."""
    texts = {t for t in by_label.values()}
    if len(texts) <= 1:
        return md.text(next(iter(texts), ""), 4000) or "—"
    return "<br>".join(f"{_short(label)}: {md.text(t, 4000)}" for label, t in by_label.items())


def _summary(data: ReportInput) -> str:
    tally = counts(data.comparison)
    rows = [[verdict, str(n)] for verdict, n in sorted(tally.items(), key=lambda kv: _rank(kv[0]))]
    return "\n".join(["## Summary", "",
                      f"Verdicts over {len(data.comparison.results)} scenario × pair comparisons:",
                      "", md.table(["verdict", "count"], rows)])


def _rank(verdict: str) -> int:
    return SEVERITY.index(verdict) if verdict in SEVERITY else len(SEVERITY)


def _baseline(data: ReportInput) -> str:
    if data.baseline is None:
        return ""
    lines = ["## Changed since baseline", "", f"Baseline: {md.code(data.baseline)}.", ""]
    new = [c for c in data.baseline_changes if c.after not in EXPECTED]
    fixed = [c for c in data.baseline_changes if c.after in EXPECTED]
    for title, changes in (("New divergences", new), ("Fixed divergences", fixed)):
        lines.append(f"**{title}:** {len(changes)}")
        if changes:
            lines += ["", md.table(["scenario", "pair", "before", "now"],
                                   [[f"[{md.text(c.scenario)}](#{md.slug(c.scenario)})",
                                     _pair_name(c.a, c.b), c.before, c.after] for c in changes])]
        lines.append("")
    lines.append(f"**Changed claim verdicts:** {len(data.claim_changes)}")
    if data.claim_changes:
        lines += ["", md.table(["claim", "run", "before", "now"],
                               [[c, md.text(r), b, a] for c, r, b, a in data.claim_changes])]
    return "\n".join(lines).rstrip()


def _matrix(data: ReportInput) -> str:
    cmp = data.comparison
    seen, _ = guidance.surprises_seen(data.surprises, data.runs)
    surprising = {name for x in seen for name in x.scenarios}
    anchor = md.slug(guidance.SURPRISES_HEADING)
    header = ["scenario", *(_pair_name(a, b) for a, b in cmp.pairs)]
    rows = []
    for name in cmp.scenarios:
        cells = [f"[{md.text(name)}](#{md.slug(name)})"
                 + (f" ([same everywhere, not as documented](#{anchor}))" if name in surprising else "")]
        for a, b in cmp.pairs:
            cells.append(matrix_cell(cmp.get(name, a, b)))
        rows.append(cells)
    figure = (f"\n\n![Each comparison in tolerances: 1 is the limit; errors and known divergences "
              f"marked]({data.figure})" if data.figure else "")
    return "\n".join(["## Scenarios by backend pair", "",
                      "Each cell: the verdict. For a match (or both raising), how far apart the two "
                      "backends are in units of the tolerance that applied (the largest over the "
                      "scenario's probes: below 1 is within tolerance, 0 is identical; none when no "
                      "values were compared). For a known or unexpected difference, what differs (values, "
                      "masked values, mask, error, warnings) and, where values differ, the largest "
                      "absolute difference of the probes that differ. Details are in each scenario's "
                      "section.", "",
                      md.table(header, rows)]) + figure


def matrix_cell(pair: PairComparison) -> str:
    compared = any(p.kept.n_total or p.masked.n_total for p in pair.probes)
    largest = pair.differing_max_abs
    return cell_words.text(pair.verdict, pair.raw_verdict, tolerances_apart(pair) if compared else None,
                      largest if np.isfinite(largest) else None)


def tolerances_apart(pair: PairComparison) -> float:
    """How many tolerances apart the two runs are at their worst value (inf: NaN/Inf or exact dtypes)."""
    return max((max(p.kept.tolerances, p.masked.tolerances) for p in pair.probes), default=0.0)


format_apart = cell_words.format_apart


def _num(value: float) -> str:
    if value == 0:
        return "0"
    if not np.isfinite(value):
        return "inf"
    return f"{value:.1e}"


def _compiled(data: ReportInput) -> str:
    runs = {r.label: r for r in data.runs}
    rows = []
    for label in data.comparison.labels:
        records = runs[label].records.values()
        compiled = [r.meta.get("compiled", {}) for r in records]
        statuses = Counter(c.get("status", "not run") for c in compiled)
        versus = data.compiled.get(label, {})
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


ENV_ROWS = ("backend", "backend_version", "keras", "numpy", "python", "platform", "device",
            "device_name", "floatx", "harness", "git_revision", "time", "run_wall_s", "compilation_cache")


def _environment(data: ReportInput) -> str:
    runs = _runs_in_order(data)
    rows = [[key] + [md.text(r.environment.get(key, "—")) for r in runs] for key in ENV_ROWS]
    return "\n".join(["## How this report was made", "", "Reproduce:", "", md.fenced(data.reproduce, "sh"), "",
                      "The runs it compares (`run_wall_s`: the seconds each run took):", "",
                      md.table(["", *(md.code(r.label, cell=True) for r in runs)], rows)])


def _known(data: ReportInput) -> str:
    cmp = data.comparison
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
        covered = "; ".join(f"[{md.text(p.scenario)}](#{md.slug(p.scenario)}) {_pair_name(p.a, p.b)}: "
                            f"{md.text(matrix_cell(p))}" for p in pairs)
        versions = f", Keras {md.text(entry.keras)}" if entry.keras else ""
        lines += [f"- **{md.text(entry.what, 400)}** ({md.code(entry.id)}: odd backend "
                  f"{md.text(entry.odd)}{versions})", f"  Covers: {covered}.",
                  f"  Why: {md.text(entry.why, 1500)}", f"  Upstream: {md.link(entry.link)}"]
        lines += guidance.workaround_lines(entry, data) + [""]
    nightly = next_keras.nightly_runs(data)
    if nightly and data.known:
        build = ", ".join(sorted({str(r.environment.get("keras", "?")) for r in nightly}))
        lines += [f"On keras-nightly {md.text(build)} ({', '.join(md.text(r.backend) for r in nightly)}), "
                  "compared across backends, each entry:", ""]
        lines += [f"- {md.code(x.entry.id)}: {x.status} ({md.text(x.detail, 400)})"
                  for x in known_runtime.on_runtime(list(data.known), nightly)] + [""]
    if cmp.stale_known:
        lines += ["Registry entries that explain nothing in this report:", ""]
        lines += [f"- {md.code(k.id)} ({md.code(k.scenario)} on {md.text(k.odd)}): {md.text(k.what, 300)}; "
                  f"{md.text(fingerprint.stale_reason(k, cmp, data.runs), 400)}." for k in cmp.stale_known]
    return "\n".join(lines).rstrip()


def _scenarios(data: ReportInput) -> str:
    cmp = data.comparison
    order = sorted(cmp.scenarios, key=lambda s: (_rank(scenario_verdict(cmp, s)) if
                                                 scenario_verdict(cmp, s) not in EXPECTED else 99, s))
    runs = {r.label: r for r in data.runs}
    # What the reader should know before the numbers: a known divergence, or behaviour the same
    # everywhere but not as documented (otherwise such a scenario would read as a bare "match").
    notes: dict[str, list[str]] = {}
    for pair in cmp.results.values():
        for entry in pair.explained_by:
            note = f"Known divergence: {md.text(entry.what, 1000)} ([cause](#known-divergences))."
            if note not in notes.setdefault(pair.scenario, []):
                notes[pair.scenario].append(note)
    anchor = md.slug(guidance.SURPRISES_HEADING)
    for seen in guidance.surprises_seen(data.surprises, data.runs)[0]:
        for name in seen.scenarios:
            notes.setdefault(name, []).append(f"The same on every backend, but not as documented: "
                                              f"{md.text(seen.entry.what, 1000)} ([what to do](#{anchor})).")
    divergent = sum(scenario_verdict(cmp, s) not in EXPECTED for s in cmp.scenarios)
    intro = (f"The {divergent} scenarios that diverge for no recorded reason first, then the rest in name "
             "order." if divergent else "In name order (none diverges for an unrecorded reason).")
    return "\n\n".join([f"## Scenarios\n\n{intro}"] +
                       [_scenario(name, cmp, runs, notes.get(name, ())) for name in order])


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


def _scenario(name: str, cmp: Comparison, runs: dict[str, Artifact], notes=()) -> str:
    records = {label: runs[label].records.get(name) for label in cmp.labels}
    present = [r for r in records.values() if r is not None]
    meta = present[0].meta if present else {}
    verdict = scenario_verdict(cmp, name)
    lines = [f"### {md.text(name)}", "", md.text(meta.get("description", "")), "", *_upstream(meta),
             f"Verdict: **{verdict}**. " + "; ".join(
                 f"{_pair_name(a, b)}: {cmp.get(name, a, b).verdict}" for a, b in cmp.pairs)]
    lines += [x for note in notes for x in ("", note)]
    status = []
    for label, record in records.items():
        if record is None:
            status.append(f"{_short(label)}: not run")
        elif record.captured.error:
            e = record.captured.error
            status.append(f"{_short(label)}: {md.text(record.status)} {md.code(e.type + ': ' + e.message, 2000)}")
        else:
            status.append(f"{_short(label)}: {md.text(record.status)} ({record.duration_s:.2f}s)")
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
                      _once({x: str(e.get("evidence", "")) for x, e in per_run.items()})])
    return ["", md.table(["expectation", "claim", *(_short(x) for x in labels), "evidence"], table)]


def _warnings(records: dict) -> list[str]:
    seen: dict[tuple[str, str], list[str]] = {}
    for label, record in records.items():
        for w in (record.captured.warnings if record else []):
            seen.setdefault((w.category, w.message), []).append(_short(label))
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
                masks[_short(label)] = draw_mask(p.mask, cell=True) if p.mask_readable else "unreadable"
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
                cells.append(f"match {_num(pc.max_abs)}")
            elif not pc.kept.n_total and not pc.masked.n_total:  # values were never compared
                cells.append(f"**{pc.verdict}**")
            else:
                cells.append(f"**{pc.verdict}** {_num(pc.kept.max_abs)}"
                             + (f" / masked {_num(pc.masked.max_abs)}" if pc.masked.n_total else ""))
        rows.append(cells)
    header = ["probe", "shape", "dtype", "mask", *(_pair_name(p.a, p.b) for p in pairs)]
    return md.table(header, rows)


_DRAWN: dict[tuple, str] = {}  # mask -> its drawing: masks repeat across probes, runs and scenarios


def draw_mask(mask: np.ndarray | None, *, cell: bool = False) -> str:
    """A (batch, time) mask as one 0/1 string per sequence, in a code span; 'no mask' if None."""
    if mask is None:
        return "no mask"
    key = (mask.shape, mask.dtype.str, mask.tobytes(), cell)
    drawn = _DRAWN.get(key)
    if drawn is None:
        rows = mask.reshape(mask.shape[0], -1) if mask.ndim > 1 else mask.reshape(1, -1)
        # b"0"/b"1" per timestep: 48 is ord("0")
        strings = [(row.astype(np.uint8) + 48).tobytes().decode() for row in rows[:MAX_SEQUENCES]]
        more = f" +{rows.shape[0] - MAX_SEQUENCES}" if rows.shape[0] > MAX_SEQUENCES else ""
        drawn = md.code(" ".join(strings), cell=cell) + more
        if len(_DRAWN) < 65536:  # bounded: a report with more distinct masks draws the rest each time
            _DRAWN[key] = drawn
    return drawn


def probe_detail(pair: PairComparison, probe: ProbeComparison) -> str:
    head = f"- {_pair_name(pair.a, pair.b)}, {md.code(probe.probe)}: **{probe.verdict}**"
    if probe.verdict in ("shape-differs", "missing"):
        return f"{head}: {probe.shape_a} vs {probe.shape_b}"
    if probe.verdict == "dtype-differs":
        return f"{head}: {md.text(probe.dtype_a)} vs {md.text(probe.dtype_b)}"
    parts = []
    if probe.verdict == "mask-differs":
        parts.append(f"masks {draw_mask(probe.mask_a)} vs {draw_mask(probe.mask_b)}")
    for where, diff in (("kept", probe.kept), ("masked", probe.masked)):
        if diff.n_total == 0:
            continue
        text = (f"{where}: {diff.n_diff}/{diff.n_total} differ ({diff.share:.0%}), max abs "
                f"{_num(diff.max_abs)}, max rel {_num(diff.max_rel)}, {diff.max_ulp} ulp")
        if diff.first_index is not None and diff.first_values is not None:
            a, b = diff.first_values
            text += f", first at {list(diff.first_index)}: {a:.7g} vs {b:.7g}"
        if diff.nonfinite:
            text += f", {diff.nonfinite} NaN/Inf against a number"
        parts.append(text)
    tol = probe.tolerance
    if tol is not None:
        parts.append(f"tolerance atol {tol.atol:g} rtol {tol.rtol:g} ({md.text(tol.source, 160)})")
    return head + ": " + "; ".join(parts)
