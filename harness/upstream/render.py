"""The draft of one cause (reports/upstream/<id>/README.md) and the index (reports/upstream/README.md).

Laid out as Keras's bug template asks (System information, Describe the problem, current behaviour,
expected behaviour, Contributing, Standalone code, Source code / logs), from three inputs only: the
cause's data, the script's text, and what capture.py recorded when it ran. Nothing here runs code.
"""

from __future__ import annotations

import fnmatch

from harness.report import markdown as md
from harness.upstream.drafts import Cause

TEMPLATE = ("https://github.com/keras-team/keras/blob/cbbe8eb530/.github/ISSUE_TEMPLATE/00-bug-template.md")


def shows(run: dict, cause: Cause) -> bool | None:
    """True when the run printed a RESULT line other than the expected one; None when it printed none."""
    if run.get("result") is None:
        return None
    return run["result"] != cause.expected


BACKENDS = ("tensorflow", "jax", "torch")


def not_covered(cause: Cause, captured: dict | None) -> list[str]:
    """What the finished runs leave out that 'no longer shows' needs: each backend (a cross-backend cause
    shows on the backend that differs, which may be the one not run), and for a next-Keras change a
    keras-nightly run (the release prints the expected line by definition)."""
    finished = [r for r in (captured or {}).get("runs", []) if shows(r, cause) is not None]
    ran = {r["env"]["backend"] for r in finished}
    missing = [b for b in BACKENDS if b not in ran]
    if cause.kind == "next-keras" and not any(r["env"].get("keras_dist") == "keras-nightly" for r in finished):
        missing.append("keras-nightly")
    return missing


def verdict(cause: Cause, captured: dict | None) -> str:
    """'shows', 'no longer shows' (only when finished runs cover every backend, and a nightly for a
    next-Keras change), 'not shown where run' (they do not), 'did not run' (no finished run), or 'no repro'."""
    if not cause.repro:
        return "no repro"
    finished = [r for r in (captured or {}).get("runs", []) if shows(r, cause) is not None]
    if not finished:
        return "did not run"
    if any(shows(r, cause) for r in finished):
        return "shows"
    return "not shown where run" if not_covered(cause, captured) else "no longer shows"


def verdict_text(cause: Cause, captured: dict | None) -> str:
    """The verdict as the index and the command line say it: where it shows, or what was not run."""
    state = verdict(cause, captured)
    runs = (captured or {}).get("runs", [])
    if state == "shows":
        return "shows it under " + ", ".join(f"{r['env']['label']} {r['env']['keras']}" for r in runs if shows(r, cause))
    if state == "not shown where run":
        return f"not shown where run (not run on {', '.join(not_covered(cause, captured))})"
    return state


def _run_name(run: dict) -> str:
    env = run["env"]
    return f"{env['label']} (Keras {env['keras']}, {env['backend_dist'] or env['backend']} {env['backend_version']})"


def _state_line(cause: Cause, captured: dict) -> str:
    state = verdict(cause, captured)
    runs = captured["runs"]
    if cause.status in ("filed", "fixed"):  # the record of a check, not an issue to open
        head = f"**Already {cause.status} upstream** ({md.link(cause.status_url, md.text(cause.status_url))}): do not file. "
    else:
        head = ""
    if state == "did not run":
        return head + ("**The repro did not finish in any environment** (no `RESULT:` line; see the logs below): "
                "this draft cannot say whether the difference is still there.")
    if state == "not shown where run":
        return head + (f"**The runs made print the expected line** {md.code('RESULT: ' + cause.expected)} "
                f"({', '.join(md.text(_run_name(r)) for r in runs)}), **but none ran on "
                f"{md.text(', '.join(not_covered(cause, captured)))}**, where the difference may be: this draft "
                "cannot tell whether the difference is gone. Run it there too.")
    if state == "no longer shows":
        return head + (f"**This repro no longer shows the difference**: every run printed the expected line "
                f"{md.code('RESULT: ' + cause.expected)} ({', '.join(md.text(_run_name(r)) for r in runs)}). "
                "Do not file it as it stands; find what changed first.")
    differ = [md.text(_run_name(r)) for r in runs if shows(r, cause)]
    same = [md.text(_run_name(r)) for r in runs if shows(r, cause) is False]
    broke = [md.text(_run_name(r)) for r in runs if shows(r, cause) is None]
    line = head + f"The repro shows the difference under {', '.join(differ)}"
    line += f"; it prints the expected line under {', '.join(same)}" if same else ""
    line += f"; it did not finish under {', '.join(broke)}" if broke else ""
    return line + "."


def _environment(captured: dict) -> str:
    rows = []
    for run in captured["runs"]:
        env = run["env"]
        rows.append([md.code(env["label"], cell=True), md.text(f"{env['keras_dist']} {env['keras']}"),
                     md.text(f"{env['backend_dist'] or env['backend']} {env['backend_version']}"),
                     md.text(env["numpy"]), md.text(env["python"]), md.text(env["os"])])
    return md.table(["run", "Keras", "backend", "numpy", "Python", "OS"], rows)


def _current(cause: Cause, captured: dict) -> str:
    lines = []
    for run in captured["runs"]:
        mark = {True: "shows the difference", False: "as expected", None: "did not finish"}[shows(run, cause)]
        result = run["result"] if run["result"] is not None else (
            "timed out" if run["timed_out"] else f"exit code {run['rc']}, no RESULT line")
        lines.append(f"- {md.code(run['env']['label'])}: {md.code(result)} ({mark})")
    return "\n".join(lines)


def _versions(cause: Cause, captured: dict, rows: list[dict]) -> str:
    by_version: dict[str, list[str]] = {}
    for run in captured["runs"]:
        state = {True: "shows", False: "does not show", None: "did not finish"}[shows(run, cause)]
        by_version.setdefault(run["env"]["keras"], []).append(f"{run['env']['backend']}: {state}")
    parts = ["This script, run for this draft: " + "; ".join(
        f"Keras {md.text(v)} ({', '.join(s)})" for v, s in by_version.items()) + "."]
    if cause.versions_note:
        parts.append(md.text(cause.versions_note, 2000))
    for b in captured.get("bisects", []):
        found = f"first changed in keras {b['first']}" if b.get("first") else "no change found"
        parts.append(f"Bisect ({md.text(b['file'])}, {md.text(b['backend'])}): {md.text(found)}"
                     + (f" (last the same: {md.text(b['last_same'])})" if b.get("last_same") else "")
                     + f" for {md.text(', '.join(b['scenarios'][:4]))}"
                     + (f"; {md.code(b['command'])}" if b.get("command") else "") + ".")
    if rows:
        shown = [r["keras"] for r in rows if r["shows"]]
        clear = [r["keras"] for r in rows if not r["shows"]]
        parts.append(f"Suite runs that show it: {md.text(', '.join(dict.fromkeys(shown)) or 'none')}; "
                     f"that do not: {md.text(', '.join(dict.fromkeys(clear)) or 'none')}.")
        table = [[md.text(r["keras"]), md.text(r["backend"]), md.code(r["scenario"], cell=True),
                  "shows" if r["shows"] else "does not show"] for r in rows]
        parts.append("The harness's suite runs (reports/results and reports/versions; a run is listed where it "
                     "recorded the scenario on the backend that differs):\n\n"
                     + md.table(["Keras", "backend", "scenario", "this behaviour"], table))
    return "\n\n".join(parts)


def _cause_section(cause: Cause, captured: dict) -> str:
    parts = [md.text(cause.cause, 4000)] if cause.cause else []
    sources = captured.get("sources", {})
    for i, q in enumerate(cause.quotes):
        where, shown = [], {}  # each distinct text once, under the first version that has it
        first_file = q.file.split("|")[0]
        for version, quotes in sources.items():
            found = quotes[i] if i < len(quotes) else None
            if found and found.get("line"):
                moved = f" ({found['file']})" if found.get("file", first_file) != first_file else ""
                where.append(f"line {found['anchor_line']}{moved} in Keras {version}")
                shown.setdefault(found["text"], (version, found))
            else:
                where.append(f"not found in Keras {version}")
        parts.append(f"{md.code('keras/src/' + first_file)}: {', '.join(md.text(w) for w in where)}.")
        for version, found in shown.values():
            last = found["line"] + found["text"].count("\n")
            parts.append(f"Lines {found['line']}-{last} in Keras {md.text(version)}:\n\n" + md.fenced(found["text"], "python"))
    return "\n\n".join(parts)


def _logs(captured: dict) -> str:
    parts = []
    for run in captured["runs"]:
        env = run["env"]
        cmd = f"KERAS_BACKEND={env['backend']} python {captured['script']}"
        body = run["stdout"] or "(nothing on stdout)"
        if run["rc"] != 0 or run["timed_out"]:
            tail = run["stderr_tail"] or "(nothing on stderr)"
            state = f"stopped after the {captured['timeout_s']:g} s bound" if run["timed_out"] else f"exit code {run['rc']}"
            body += f"\n--- {state}; last lines of stderr ---\n{tail}"
        parts.append(f"{md.code(cmd)} under {md.text(_run_name(run))}, {run['seconds']:g} s:\n\n" + md.fenced(body, "text"))
    return "\n\n".join(parts)


def _related(cause: Cause) -> str:
    if not cause.related:
        return "None found that is about this exact behaviour."
    return "\n".join(f"- {md.link(r.url, md.text(r.title))}: {md.text(r.how, 600)}" for r in cause.related)


def status_text(cause: Cause) -> str:
    if cause.status in ("filed", "fixed", "upstream elsewhere"):
        return f"{cause.status}: {md.link(cause.status_url, md.text(cause.status_url.split('github.com/')[-1]))}"
    return md.text(cause.status)


def draft(cause: Cause, script_text: str, captured: dict) -> str:
    """The markdown draft; every value in it comes from `cause`, `script_text` or `captured` (the runs
    of the script and the suite runs that recorded the cause's scenario, as cli.py stored them)."""
    version_rows = captured.get("suite_runs", [])
    backends = sorted({r["env"]["backend"] for r in captured["runs"]})
    note = f" {md.text(cause.status_note, 600)}" if cause.status_note else ""
    sections = [
        f"# {md.text(cause.title, 200)}",
        f"Draft issue for keras-team/keras, written by keras-mask-harness (`python -m harness upstream "
        f"--finding {cause.id}`) from the data in scenarios/upstream.toml and a captured run of "
        f"[repro.py](repro.py). Status: {status_text(cause)}.{note} Laid out as the Keras "
        f"{md.link(TEMPLATE, 'bug template')} asks.",
        _state_line(cause, captured),
        "**System information**.\n\n"
        "- Have I written custom code: yes, the standalone script below (keras and numpy only).\n"
        "- Installed from: binary (pip wheels), CPU.\n"
        f"- Exact command to reproduce: {', '.join(md.code(f'KERAS_BACKEND={b} python repro.py') for b in backends)}\n\n"
        + _environment(captured),
        "**Describe the problem**.\n\n" + md.text(cause.problem, 4000),
        "**Describe the current behavior**.\n\nThe script's last line, per run:\n\n" + _current(cause, captured),
        "**Describe the expected behavior**.\n\n" + md.code("RESULT: " + cause.expected)
        + (f"\n\n{md.text(cause.expected_why, 2000)}" if cause.expected_why else ""),
        "**Keras versions affected**.\n\n" + _versions(cause, captured, version_rows),
        "**Where it comes from**.\n\n" + _cause_section(cause, captured),
        "**[Contributing](https://github.com/keras-team/keras/blob/master/CONTRIBUTING.md)**.\n\n"
        "- Do you want to contribute a PR? (yes/no): not yet; this is a draft.\n"
        + (f"- Briefly describe your candidate solution: a suggestion, not tested against Keras's own tests: "
           f"{md.text(cause.fix, 2000)}" if cause.fix else "- Candidate solution: none suggested; the cause is not clear enough."),
        "**Standalone code to reproduce the issue**.\n\n" + md.fenced(script_text, "python"),
        "**Source code / logs**.\n\nWhat the script printed (stdout), captured by running it in each environment:\n\n"
        + _logs(captured),
        "**Related upstream issues and pull requests**.\n\n" + _related(cause),
    ]
    if cause.workaround:
        sections.append("**Workaround until it is fixed**.\n\n" + md.text(cause.workaround, 1000))
    return "\n\n".join(sections) + "\n"


def index(causes: list[Cause], captured: dict[str, dict | None], next_keras: dict | None = None) -> str:
    """reports/upstream/README.md: one line per cause with its status and what its repro shows now."""
    rows = []
    for c in causes:
        name = f"[{md.text(c.title, 160)}]({c.id}/README.md)" if c.repro else md.text(c.title, 160)
        state = verdict_text(c, captured.get(c.id))
        rows.append([name, md.text(c.kind), status_text(c), md.text(state), md.text(c.summary, 300)])
    head = ("# Upstream drafts\n\nOne line per cause the harness found, with its status upstream (kept in "
            "scenarios/upstream.toml, so the report can say which are already upstream). A draft folder holds "
            "the issue text (README.md) and the standalone script it quotes (repro.py). Regenerate with "
            "`python -m harness upstream --all` (runs every script in every environment) or "
            "`python -m harness upstream --all --no-run` (re-renders from the captured runs).\n\n")
    return (head + md.table(["cause", "kind", "status", "what the repro shows now", "the difference"], rows) + "\n"
            + _next_keras_section(causes, next_keras))


def _next_keras_section(causes: list[Cause], next_keras: dict | None) -> str:
    """Each change group of the report's "What changes in the next Keras" (summary.json `next_keras`) with
    the next-keras draft whose covered scenarios it touches, or "no draft yet": none is dropped."""
    head = "\n## Next-Keras changes\n\n"
    if not next_keras or not next_keras.get("groups"):
        return head + ("No change groups in the report's summary (`next_keras` in reports/summary.json): the "
                       "published report has no nightly run yet. The next-keras drafts above come from their "
                       "own repro runs on keras-nightly.\n")
    drafts_for = [c for c in causes if c.kind == "next-keras"]
    rows = []
    for group in next_keras["groups"]:
        scenarios = [str(s) for s in group.get("scenarios", [])]
        key = f"{group.get('layer_class', '')}/{group.get('kind', '')}"
        hits = [c for c in causes if any(fnmatch.fnmatchcase(key, g) for g in c.next_keras_groups)] or [
            c for c in drafts_for if any(fnmatch.fnmatchcase(s, g) for s in scenarios for g in c.covers)]
        where = ", ".join((f"[{md.text(c.id)}]({c.id}/README.md)" if c.repro else md.text(c.id))
                          + ("" if c.status == "not filed" else f" ({md.text(c.status)})") for c in hits) or "no draft yet"
        rows.append([md.text(group.get("layer_class", "")), md.text(group.get("kind", "")),
                     md.text(", ".join(group.get("backends", []))), md.text(group.get("introduced_in") or "not bisected"),
                     md.text(", ".join(scenarios[:4]) + (" …" if len(scenarios) > 4 else "")), where])
    nightly = ", ".join(f"{b} {v}" for b, v in sorted((next_keras.get("nightly") or {}).items()))
    return (head + f"From the report's next-Keras facts (`next_keras` in summary.json, keras-nightly {md.text(nightly)} "
            "against the release runs), each group with the cause that explains it:\n\n"
            + md.table(["layer", "change", "backends", "introduced in", "scenarios", "draft"], rows) + "\n")
