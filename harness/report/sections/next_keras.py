"""The report's "What changes in the next Keras": the newest nightly against the newest release.

The nightly runs beside the results folder (reports/versions/keras-nightly-*, written by `harness
versions run --keras nightly` or `nox -s nightly`) and the bisect results stored as data in
reports/versions/bisect/*.json (`harness bisect --record`) are read by harness/versions/runs.py and
judged by compare/next_keras.py; this section renders the facts (summary.json carries them under
"next_keras").
"""

from __future__ import annotations

from typing import Any

from harness.compare.next_keras import Group, NextKeras
from harness.report import markdown as md
from harness.report.model import ReportModel

MAX_SCENARIOS_SHOWN = 8


def facts(data: ReportModel) -> dict[str, Any]:
    return {} if data.next_keras is None else {"next_keras": data.next_keras_data}


def _scenarios(names: list[str]) -> str:
    shown = ", ".join(md.code(n) for n in names[:MAX_SCENARIOS_SHOWN])
    return shown + (f" and {len(names) - MAX_SCENARIOS_SHOWN} more" if len(names) > MAX_SCENARIOS_SHOWN else "")


def _group(group: Group, shown: dict[tuple[str, str], str]) -> list[str]:
    """One group as a bullet; `shown` maps (build, file) to the group whose hunk is already shown."""
    head = (f"- **{md.text(group.layer_class)}: {md.text(group.kind)}** on {md.text(', '.join(group.backends))} "
            f"({len(group.scenarios)} scenario{'s' if len(group.scenarios) != 1 else ''}): "
            f"{md.text(group.impact)}.")
    out = [head, f"  - Scenarios: {_scenarios(group.scenarios)}."]
    example = group.changes[0]
    out.append(f"  - For example {md.code(example.scenario)} on {md.text(example.backend)}: "
               f"{md.text(example.detail, 400)}.")
    if group.claims:
        out.append("  - Claims whose verdict moves: " + "; ".join(
            f"{md.text(m.claim)} on {md.text(m.backend)} {md.text(m.before)} → {md.text(m.after)}"
            for m in group.claims) + ".")
    else:
        out.append("  - No claim's verdict moves" + (" (the checks below flip inside claims already judged "
                                                    "'partly')" if group.claim_checks else "") + ".")
    checks = group.claim_checks
    if checks:
        flipped = "; ".join(f"{md.text(c)} '{md.text(n, 120)}' {'holds' if x else 'fails'} → "
                          f"{'holds' if y else 'fails'} ({k} run{'s' if k != 1 else ''})"
                          for c, n, x, y, k in checks[:6])
        more = f" and {len(checks) - 6} more" if len(checks) > 6 else ""
        out.append(f"  - Claim checks that flip: {flipped}{more}.")
    record = group.bisect
    if record is None:
        out.append("  - Introduced in: not bisected yet (`python -m harness bisect --select "
                   f"'{group.scenarios[0]}' --backend {group.backends[0]} --good <release> --bad nightly "
                   f"--record reports/versions/bisect/<name>.json`).")
        return out
    intro = (f"  - Introduced in **keras-nightly {md.text(record['first'])}** (the last build before it, "
             f"{md.text(record.get('last_same') or '?')}, behaves as the release; found by "
             f"{md.code(record.get('command') or 'harness bisect')}).")
    out.append(intro)
    source = record.get("source") or {}
    files = source.get("files") or []
    if files:
        top = files[0]
        key = (str(record["first"]), top["path"])
        if key in shown:  # the same build and file: one hunk in the section, not one per group
            out.append(f"  - Source change: {md.code(top['path'])}, the hunk shown under **{md.text(shown[key])}**.")
            return out
        shown[key] = group.key
        out.append(f"  - Source change: {len(files)} files under `keras/src` differ between the two wheels; the "
                   f"most relevant is {md.code(top['path'])} (+{top['added']} −{top['removed']}):")
        out += ["", _indent(md.fenced(source.get("hunk", ""), "diff")), ""]
    return out


def _indent(block: str) -> str:
    return "\n".join(("    " + line) if line else "" for line in block.splitlines())


def _matrix(found: NextKeras) -> list[str]:
    if not found.nightly_matrix:
        return []
    verdict_names = sorted({v for tally in found.nightly_matrix.values() for v in tally},
                           key=lambda v: (v != "match", v))
    rows = [[md.text(pair), *[str(tally.get(v, 0)) for v in verdict_names]]
            for pair, tally in found.nightly_matrix.items()]
    out = ["", "### Do the backends still agree with each other on the nightly?", "",
           "Each pair of backends on the nightly build, scenario by scenario (raw verdicts, before known "
           "divergences):", "", md.table(["pair", *map(md.text, verdict_names)], rows)]
    if found.backends_split:
        out += ["", "Where a pair's agreement differs from the release's (agreed on the release and no longer, or "
                "the reverse):", ""]
        out += [f"- {md.code(s)}, {md.text(pair)}: {md.text(before)} on the release → {md.text(after)} on the nightly"
                for s, pair, before, after in found.backends_split[:40]]
        if len(found.backends_split) > 40:
            out.append(f"- and {len(found.backends_split) - 40} more (summary.json)")
    else:
        out += ["", "Wherever two backends agree on the release they agree on the nightly, and the reverse."]
    return out


def render(data: ReportModel) -> str:
    found = data.next_keras
    if found is None:
        return ""
    builds = sorted(set(found.nightly.values()))
    releases = sorted(set(found.release.values()))
    compared = ", ".join(f"{b} {n}" for b, n in found.compared.items())
    out = ["## What changes in the next Keras", "",
           f"The newest nightly build (keras-nightly {md.text(', '.join(builds))}) against the newest release "
           f"(keras {md.text(', '.join(releases))}), on each backend (scenarios compared: {md.text(compared)}). "
           "Each group is one cause: the class of the first layer whose result changed (or the layer the "
           "nightly newly warns drops its mask) and the kind of change.", ""]
    if not found.groups:
        out.append("Nothing changes: every scenario gives the same results, masks and checks on the nightly.")
    shown: dict[tuple[str, str], str] = {}
    for group in found.groups:
        out += _group(group, shown)
    if found.untested:
        out += ["", f"Not compared ({len(found.untested)} scenario runs skipped on one side, e.g. a package the "
                f"nightly environment lacks): " + "; ".join(
                    f"{md.code(s)} on {md.text(b)}" for b, s, _ in found.untested[:10])
                + (" …" if len(found.untested) > 10 else "") + "."]
    if found.unreadable:
        out += ["", f"The harness could not read the masks of {len(found.unreadable)} scenario runs; they are a "
                "failure of the harness, not a change in Keras, and are left out above."]
    out += _matrix(found)
    return "\n".join(out)
