"""DIR/report.md of `harness check`: only what concerns the checked model.

The verdict per migration path first (forward, training, next Keras), each difference with the
known divergence it matches and what to do, or "new: please report" with the command that
reproduces it; then each backend's run (a failure with its innermost cause and its chain), NaN and
Inf where they are, the training claims, and the layer table of every backend that produced outputs.
No seed claims, no registry bookkeeping, no suite scenarios: those are the suite report's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.artifacts import Artifact
from harness.compare.check_model import (
    FORWARD,
    PARTS,
    PROBE_MODEL,
    TRAINING,
    CheckFacts,
    Difference,
    PathVerdict,
    VersionCell,
)
from harness.compare.training_claims import TRAINING_CLAIMS
from harness.report import common
from harness.report import markdown as md
from harness.report.cells import format_apart
from harness.report.sections.scenarios import probe_detail, probe_table

ISSUES = "https://github.com/keras-team/keras/issues"
# The training probes in groups a reader asks about, each a (title, test on the probe key)
GROUPS = (
    ("loss (fit, train_on_batch, evaluate)", lambda k: k.endswith("loss")),
    ("logged metrics (fit's history and per-batch logs, *_on_batch)",
     lambda k: k.startswith(("fit/history/", "fit/batch/", "fit/on_batch/test/", "fit/on_batch/train/"))
     and not k.endswith("loss")),
    ("evaluate's metrics", lambda k: k.startswith("fit/evaluate/") and not k.endswith("loss")),
    ("gradients before the first step", lambda k: k.startswith("fit/gradients/grad/")),
    ("weights after each step", lambda k: k.startswith(("fit/weights/", "fit/step/"))),
    ("predictions", lambda k: k.startswith(("fit/predict/", "fit/on_batch/predict"))),
)


@dataclass(frozen=True)
class CheckReportInput:
    facts: CheckFacts
    runs: list[Artifact]
    command: str  # reproduces this check
    inputs: str  # what the inputs were, in words
    training: str = ""  # what training ran, in words ("" without --targets)
    versions: list[VersionCell] = field(default_factory=list)  # --keras: each release against this check


def render_check(data: CheckReportInput) -> str:
    sections = [_header(data), _verdicts(data), _differences(data), _backends(data), _versions_section(data),
                _nonfinite(data), _warnings(data), _training(data), _layers(data)]
    return "\n\n".join(s for s in sections if s) + "\n"


def _header(data: CheckReportInput) -> str:
    env = next((r.environment for r in data.runs), {})
    by_label = {r.label: r for r in data.runs}
    runs = ", ".join(f"{md.code(label)} ({_versions(by_label[label].environment)})"
                     for label in data.facts.labels) or "none"
    lines = [f"# Check of {md.code(data.facts.model)}", "",
             f"Keras {md.text(env.get('keras', '?'))}; runs: {runs}.", "",
             f"Inputs: {md.text(data.inputs, 1000)}."]
    if data.training:
        lines += ["", f"Training: {md.text(data.training, 2000)}."]
    lines += ["", "Reproduce: " + md.code(data.command, 2000)]
    for problem in data.facts.problems:
        lines += ["", f"**Not compared**: {md.text(problem, 2000)}."]
    return "\n".join(lines)


def _versions(env: dict) -> str:
    backend = env.get("backend", "?")
    return f"{backend} {env.get(backend, env.get('backend_version', '?'))}"


def _cell(verdict: PathVerdict | None) -> str:
    if verdict is None:
        return "not run"
    if verdict.verdict == "same":
        return "same"
    if verdict.verdict == "same error":
        return f"same error ({md.text(verdict.why, 200)})"
    if verdict.verdict == "cannot tell":
        return f"**cannot tell**: {md.text(verdict.why, 300)}"
    entry = verdict.difference.known if verdict.difference else None
    return f"**differs** ({md.text(verdict.why)}): " + ("known" if entry else "**new**")


def _verdicts(data: CheckReportInput) -> str:
    facts = data.facts
    by = {(v.a, v.b, v.part): v for v in facts.paths}
    titles = list(dict.fromkeys((v.a, v.b, v.title) for v in facts.paths))
    if not titles:
        extra = f" Next Keras: {_next_keras(data)}." if data.versions else ""
        return "## Verdict per migration path\n\nNo two backends ran: nothing was compared." + extra
    header = ["migration path", "forward (every layer)", "training (fit)" if facts.fit_ran else "training",
              "next Keras"]
    rows = []
    for a, b, title in titles:
        training = _cell(by.get((a, b, TRAINING))) if facts.fit_ran else "not run (give --targets)"
        rows.append([md.text(title), _cell(by.get((a, b, FORWARD))), training, _next_keras(data, a, b)])
    return "## Verdict per migration path\n\n" + md.table(header, rows)


def _next_keras(data: CheckReportInput, *labels: str) -> str:
    """What changes on the --keras releases for the backends of one path (the details: its section)."""
    if not data.versions:
        return "not run (give --keras VERSION)"
    backends = {r.backend for r in data.runs if r.label in labels} if labels else {c.backend for c in data.versions}
    out = []
    for version in dict.fromkeys(c.version for c in data.versions):
        cells = [c for c in data.versions if c.version == version and c.backend in backends]
        changed = [c for c in cells if c.verdict != "same"]
        out.append(f"{md.text(version)}: " + ("same" if cells and not changed else
                                             ", ".join(f"{c.backend} {c.part} **{c.verdict}**" for c in changed)
                                             or "not run"))
    return "; ".join(out) + " ([details](#on-other-keras-releases))"


def _versions_section(data: CheckReportInput) -> str:
    """A column per release: each backend and part against this check's run (Keras as installed here)."""
    if not data.versions:
        return ""
    versions = list(dict.fromkeys(c.version for c in data.versions))
    keys = list(dict.fromkeys((c.backend, c.part) for c in data.versions))
    by = {(c.version, c.backend, c.part): c for c in data.versions}
    rows = []
    for backend, part in keys:
        cells = []
        for version in versions:
            c = by.get((version, backend, part))
            cells.append("—" if c is None else c.verdict if c.verdict == "same" else
                         f"**{c.verdict}**: {md.text(c.detail, 400)}")
        rows.append([md.text(backend), part, *cells])
    here = next((r.environment.get("keras", "?") for r in data.runs), "?")
    return (f"## On other Keras releases\n\nThe same check in each release's environment (harness versions), "
            f"against Keras {md.text(here)} here, backend by backend.\n\n"
            + md.table(["backend", "part", *(f"Keras {md.text(v)}" for v in versions)], rows))


def _differences(data: CheckReportInput) -> str:
    items = [v for v in data.facts.paths if v.verdict == "differs" and v.difference is not None]
    if not items:
        return ""
    lines = ["## What differs, and what to do"]
    for v in items:
        lines += ["", f"### {md.text(v.title)}, {v.part}: {md.text(v.difference.verdict)}", ""]
        lines += _difference(v, v.difference, data.command)
        if v.part == TRAINING:
            lines += _agreeing(data.facts, v)
    return "\n".join(lines)


def _agreeing(facts: CheckFacts, v: PathVerdict) -> list[str]:
    """For a training difference: the groups of values that still agree (the loss, say)."""
    pair = next((p for p in facts.pairs.get(TRAINING, []) if (p.a, p.b) == (v.a, v.b)), None)
    if pair is None:
        return []
    agree = [title.split(" (")[0] for title, test in GROUPS
             if (probes := [p for p in pair.probes if test(p.probe)]) and all(p.verdict == "match" for p in probes)]
    return [f"- Still the same on both: {md.text(', '.join(agree))}"] if agree else []


def _difference(v: PathVerdict, d: Difference, command: str) -> list[str]:
    more = f" and {len(d.probes) - 8} more" if len(d.probes) > 8 else ""
    shown = ", ".join(md.code(p, 300) for p in d.probes[:8]) + more
    lines = [f"- What differs: {shown or md.text(d.detail)}"]
    if v.first_divergent:
        lines.append(f"- First divergent layer: {md.code(v.first_divergent)}")
    if d.known is not None:
        k = d.known
        if d.verdict == "warnings-differ":
            pattern = f"a warning only {md.text(k.odd)} gives"
        elif d.verdict == "error-differs":
            pattern = f"each backend's error, by type and message, {md.text(k.odd)} the odd one out"
        else:
            probes = ", ".join(dict.fromkeys(p for f in k.fingerprints for p in f.probes))
            pattern = f"{md.code(probes)} differ, {md.text(k.odd)} the odd one out"
        lines.append(f"- Known divergence {md.code(k.id)} (its fingerprint: {pattern}): {md.text(k.what, 1000)}")
        lines.append(f"- Why: {md.text(k.why, 1000)}")
        if k.workaround:
            lines.append(f"- What to do: {md.text(k.workaround, 1000)}")
        if k.minimal:
            lines.append(f"- The suite's smallest case: {md.code(k.minimal)}")
        if k.link:
            lines.append(f"- Upstream: {md.link(k.link, k.link)}")
    else:
        lines.append(f"- **New: please report** ({md.link(ISSUES, 'Keras issues')}), with the model and "
                     f"this command: {md.code(command, 2000)}")
    return lines


def _backends(data: CheckReportInput) -> str:
    facts = data.facts
    parts = [p for p in PARTS if p in facts.states]
    rows = []
    for label in facts.labels:
        cells = [md.code(label, cell=True)]
        for part in parts:
            s = facts.states[part][label]
            if s.ran:
                calls = ("two eager calls bit-identical" if s.deterministic else
                         "**two eager calls differ**" if s.deterministic is False else "")
                cells.append(f"ran ({s.duration_s:.1f} s)" + (f"; {calls}" if calls else ""))
            else:
                chain = "<br>".join(f"{'raised' if i == 0 else 'from'} {md.code(c, 400, cell=True)}"
                                    for i, c in enumerate(s.chain))
                cells.append(f"**{md.text(s.status)}**: innermost cause {md.code(s.cause, 400, cell=True)}"
                             + (f"<br>{chain}" if len(s.chain) > 1 else ""))
        rows.append(cells)
    return "## Each backend's run\n\n" + md.table(["run", *parts], rows)


def _warnings(data: CheckReportInput) -> str:
    """What Keras warned about while running the model (a layer dropping a mask, say), per backend;
    warnings about the harness's own probe models are not the model's and are left out."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    left_out = 0
    names = {FORWARD: data.facts.model, TRAINING: data.facts.model + "/fit"}
    for run in data.runs:
        for part, name in names.items():
            record = run.records.get(name)
            for w in (record.captured.warnings if record else []):
                if PROBE_MODEL.search(w.message):  # not the model's
                    left_out += 1
                    continue
                seen.setdefault((part, w.category, w.message), []).append(run.label)
    if not seen:
        return ""
    rows = [[part, md.code(category, cell=True), md.text(message, 600), md.text(", ".join(labels))]
            for (part, category, message), labels in seen.items()]
    note = (f" ({left_out} about the harness's own probe models left out.)" if left_out else "")
    return "## Warnings\n\nWhat Keras or the backend warned while running the model." + note + "\n\n" + \
        md.table(["part", "category", "message", "runs"], rows)


def _nonfinite(data: CheckReportInput) -> str:
    rows = []
    for part in PARTS:
        for label, s in data.facts.states.get(part, {}).items():
            rows += [[md.code(n.probe, cell=True), md.code(label, cell=True), md.text(n.text())]
                     for n in s.nonfinite]
    if not rows:
        ran = any(s.ran for states in data.facts.states.values() for s in states.values())
        return "## NaN and Inf\n\nNone in any captured value." if ran else ""
    return ("## NaN and Inf\n\nReported whether or not the backends agree on them: a NaN at masked steps "
            "reaches the loss or a metric if anything reads those steps.\n\n"
            + md.table(["probe", "run", "where"], sorted(rows)))


def _training(data: CheckReportInput) -> str:
    facts = data.facts
    if not facts.fit_ran:
        return ""
    lines = ["## Training"]
    pairs = facts.pairs.get(TRAINING, [])
    if pairs:
        rows = []
        for pair in pairs:
            cells = [md.text(f"{pair.a} vs {pair.b}")]
            for _, test in GROUPS:
                probes = [p for p in pair.probes if test(p.probe)]
                bad = [p for p in probes if p.verdict != "match"]
                apart = format_apart(max((p.tolerances_apart for p in bad), default=0.0))
                cells.append("—" if not probes else "agree" if not bad else
                             f"**differ** ({len(bad)} of {len(probes)}; {apart} tolerances apart)")
            rows.append(cells)
        lines += ["", md.table(["pair", *(title for title, _ in GROUPS)], rows)]
    if facts.claims:
        labels = list(facts.claims)
        rows = []
        for claim, text in TRAINING_CLAIMS.items():
            results = [facts.claims[label][claim] for label in labels]
            if all(r.verdict == "untested" for r in results):
                continue
            evidence = next((c.evidence for r in results for c in r.checks if not c.passed),
                            next((c.evidence for r in results for c in r.checks), ""))
            rows.append([claim, md.text(text), *(md.text(r.verdict) for r in results), md.text(evidence, 600)])
        if rows:
            lines += ["", "Masks in training, recomputed in numpy from each backend's captured values "
                          "(docs/training.md):", "",
                      md.table(["claim", "", *(md.code(x, cell=True) for x in labels), "evidence (first failing)"],
                               rows)]
    return "\n".join(lines)


def _layers(data: CheckReportInput) -> str:
    """Every backend that produced outputs gets its layers shown, compared or not."""
    facts = data.facts
    records = {r.label: r.records.get(facts.model) for r in data.runs}
    ran = [label for label in facts.ran(FORWARD)]
    if not ran:
        return ""
    lines = ["## Layers (forward pass)", "",
             "Each layer's output and mask (one 0/1 string per row, 1 = kept), per pair of backends that "
             "both ran: `match` and the largest difference, or the verdict."]
    pairs = facts.pairs.get(FORWARD, [])
    if pairs:
        lines += ["", probe_table(pairs, {label: records[label] for label in facts.labels})]
        details = [probe_detail(p, pr) for p in pairs for pr in p.probes if pr.verdict != "match"]
        if details:
            lines += ["", "Differences:", ""] + details
    alone = [label for label in ran if not any(label in (p.a, p.b) for p in pairs)]
    for label in alone:
        record = records[label]
        rows = [[md.code(key, cell=True), "×".join(map(str, p.values.shape)), md.text(p.dtype),
                 common.draw_mask(p.mask, cell=True)] for key, p in record.captured.probes.items()]
        lines += ["", f"{md.code(label)} (compared with no other backend):", "",
                  md.table(["probe", "shape", "dtype", "mask"], rows)]
    return "\n".join(lines)


def summary(data: CheckReportInput) -> dict:
    """DIR/summary.json: the same facts as the report, for a program."""
    facts = data.facts
    return {
        "model": facts.model,
        "runs": {r.label: r.environment for r in data.runs},
        "compared": facts.compared(FORWARD),
        "problems": facts.problems,
        "states": {part: {label: {"status": s.status, "cause": s.cause, "chain": list(s.chain),
                                  "deterministic": s.deterministic,
                                  "nonfinite": {n.probe: n.text() for n in s.nonfinite}}
                          for label, s in states.items()} for part, states in facts.states.items()},
        "paths": [{"path": v.title, "pair": f"{v.a}-vs-{v.b}", "part": v.part, "verdict": v.verdict, "why": v.why,
                   "first_divergent_layer": v.first_divergent,
                   "differing": list(v.difference.probes) if v.difference else [],
                   "known": v.difference.known.what if v.difference and v.difference.known else None}
                  for v in facts.paths],
        "training_claims": {label: {c: r.verdict for c, r in claims.items()} for label, claims in facts.claims.items()},
        "next_keras": [{"version": c.version, "backend": c.backend, "part": c.part, "verdict": c.verdict,
                        "detail": c.detail} for c in data.versions],
    }
