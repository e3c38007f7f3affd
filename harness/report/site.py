"""The report as a small site: a first page that answers, one page per scenario family, and the
evidence, versions and environment pages, with links that resolve on GitHub.

The first page (report.md) holds the answer: the per-feature checklist per migration path, the
differences and what to do, the surprises, the next Keras (its causes; next-keras.md has all of it),
the known divergences and the matrix summarised by family, in under 80 KB (masks in training are on
training.md). Nothing on it changes when the results do not: run times, cache states, the git
revision and the clock go on environment.md. Each family (the part of a scenario's name before
"/") gets families/<family>.md with its matrix rows, its heatmap (families/<family>.svg) and its
scenarios' sections, so a new family needs no edit here.

Sections are rendered as one document would be, with in-page links (#anchor); `relocate` then points
each link whose anchor is on another page at that page, using GitHub's own anchors (slugs.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import posixpath
import re
from collections import Counter
from pathlib import Path

from harness import safety
from harness.compare.verdicts import EXPECTED, SEVERITY
from harness.report import common, heatsvg, slugs
from harness.report import markdown as md
from harness.report.model import ReportModel
from harness.report.sections import (
    baseline,
    checklist,
    claims,
    compiled,
    environment,
    evidence,
    findings,
    found,
    guidance,
    known,
    legend,
    matrix,
    next_keras,
    scenarios,
    summary,
    training,
    versions,
)

FIRST = "report.md"
FAMILIES = "families"
EVIDENCE = "claims-evidence.md"
VERSIONS = "keras-versions.md"
ENVIRONMENT = "environment.md"
TRAINING = "training.md"
NEXT_KERAS = "next-keras.md"
FOUND = "found-by-generation.md"
# heatmap.png: the single-page report's figure
OWNED_TOP = (EVIDENCE, VERSIONS, ENVIRONMENT, TRAINING, NEXT_KERAS, FOUND, "heatmap.png")
VOLATILE = ("time", "run_wall_s", "compilation_cache", "git_revision", "command")  # differ run to run
SLOWEST = 10  # scenarios per run listed on the environment page


def family_page(family: str) -> str:
    return f"{FAMILIES}/{_file_name(family)}.md"


def _file_name(family: str) -> str:
    """A family as a file name: printable, no path separators or dots that could leave the folder;
    a name that had to change gets a short hash, so two families never share a page."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", family)
    if cleaned == family:
        return family
    return f"{cleaned}-{hashlib.sha256(family.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


def _subsets(data: ReportModel) -> dict[str, ReportModel]:
    """Each family's scenarios as a report model of its own (compare/families.py split the comparison)."""
    return {family: dataclasses.replace(data, figure=None, comparison=sub, counts=data.family_counts[family])
            for family, sub in data.family_comparisons.items()}


def build(data: ReportModel, first: str = FIRST) -> dict[str, str]:
    """Every file of the site: relative path -> text."""
    groups = data.families
    version_text = versions.render(data)
    training_text, next_text = training.render(data), next_keras.render(data)
    found_text = found.render(data)
    pages = {first: first_page(data, groups, bool(version_text), bool(training_text), next_text, found_text)}
    for family, sub in _subsets(data).items():
        names = groups[family]
        pages[family_page(family)] = _family(sub, family, names, first)
        if data.comparison.pairs:
            pages[family_page(family).removesuffix(".md") + ".svg"] = heatsvg.draw(
                data.comparison, names, f"{family}/: backends apart, in tolerances")
    pages[EVIDENCE] = _page("Seed conclusions: checks and evidence", evidence.render(data), first)
    if version_text:
        pages[VERSIONS] = _page("Seed conclusions across Keras versions", version_text, first)
    pages[ENVIRONMENT] = _page("Environment and run times", _environment(data), first)
    if training_text:
        pages[TRAINING] = _page("Masks in training", training_text, first)
    if next_text:
        pages[NEXT_KERAS] = _page("What changes in the next Keras", next_text, first)
    if found_text:
        pages[FOUND] = _page("Found by generation", found_text, first)
    return relocate(pages, first)


def _page(title: str, body: str, first: str) -> str:
    return "\n\n".join([f"# {md.text(title)}", f"Part of the [mask harness report]({first}).", body]) + "\n"


def first_page(data: ReportModel, groups: dict[str, list[str]], has_versions: bool, has_training: bool,
               next_text: str, found_text: str = "") -> str:
    # The answer first, then the evidence that fits on one page (under 80 KB); everything per
    # scenario is one link away on its family's page. Add a section here with one line.
    sections = [
        _header(data, groups, has_versions, has_training),
        checklist.render(data),
        guidance.render(data),
        findings.render(data),
        _next_keras(next_text, has_versions),
        legend.render(data),
        claims.render(data),
        summary.render(data),
        baseline.render(data),
        _by_family(data, groups),
        compiled.render(data),
        known.render(data),
        _found_digest(found_text),
        _made(data),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _header(data: ReportModel, groups: dict[str, list[str]], has_versions: bool, has_training: bool) -> str:
    runs = common.runs_in_order(data)
    labels = ", ".join(md.code(r.label) for r in runs)
    family_links = ", ".join(f"[{md.text(f)}]({family_page(f)})" for f in groups)
    return "\n".join([
        "# Keras mask harness report", "",
        f"{len(data.comparison.scenarios)} scenarios compared across {len(data.runs)} runs ({labels}), every "
        "pair of runs. This page answers what changes for a masked model on each migration path; the "
        f"scenarios themselves are on one page per family ({family_links}); the seed conclusions' "
        f"[checks and evidence]({EVIDENCE}), "
        + (f"the [Keras versions]({VERSIONS}), " if has_versions else "")
        + (f"[masks in training]({TRAINING}), " if has_training else "")
        + f"the [environment and run times]({ENVIRONMENT}) have pages of their own. Produced by "
        f"`python -m harness report` from the artifacts in {md.code(data.results_dir)}; nothing here is "
        "edited by hand ([how to reproduce it](#how-this-report-was-made)).",
    ])


def _found_digest(section: str) -> str:
    """The found-by-generation section as the first page shows it: its heading and opening paragraph;
    the table (one wide row per kept finding, growing with every campaign) is on its own page."""
    if not section:
        return ""
    head, _, rest = section.partition("\n\n")
    opening = rest.split("\n\n", 1)[0]
    return "\n\n".join([head, opening, f"Each one's shrunk model, verdict, first difference, repro script "
                                        f"and upstream link: [Found by generation]({FOUND})."])


def _next_keras(section: str, has_versions: bool) -> str:
    """The slot for what changes with the next Keras release (keras-nightly against this one): the
    section's opening and its top-level items here, all of it on its own page."""
    if section:
        return digest(section, f"Each change with its scenarios, the claims that move, the build that "
                               f"introduced it and the source change: [the next Keras]({NEXT_KERAS}).")
    return "\n".join(["## The next Keras", "",
                      "No next-Keras (keras-nightly) run is compared in this report; the checklist's last "
                      "column says so."
                      + (f" The Keras releases before this one are on the [Keras versions]({VERSIONS}) page."
                         if has_versions else "")])


def digest(section: str, more: str) -> str:
    """A long section as the first page shows it: its heading, its first paragraph and the first line
    of each top-level list item, then `more` (the link to all of it). Its subsections, nested items
    and code blocks stay on its own page. A section without top-level items is short: kept whole."""
    head, *body = section.splitlines()
    out, i = [head, ""], 0
    while i < len(body) and not body[i].strip():
        i += 1
    while i < len(body) and body[i].strip() and not body[i].startswith(("- ", "#")):
        out.append(body[i])
        i += 1
    items, fenced = [], False
    for line in body[i:]:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif line.startswith("#") and not fenced:
            break  # the first subsection ends the digest
        elif line.startswith("- ") and not fenced:
            items.append(line)
    if not items:
        return section
    return "\n".join([*out, "", *items, "", more])


def _by_family(data: ReportModel, groups: dict[str, list[str]]) -> str:
    cmp = data.comparison
    header = ["family", "scenarios", *(common.pair_name(a, b) for a, b in cmp.pairs)]
    rows = []
    for family, names in groups.items():
        cells = [f"[{md.text(family)}/]({family_page(family)})", str(len(names))]
        for a, b in cmp.pairs:
            tally = Counter(cmp.get(n, a, b).verdict for n in names)
            order = sorted(tally.items(), key=lambda kv: (SEVERITY.index(kv[0]) if kv[0] in SEVERITY
                                                          else len(SEVERITY), kv[0]))
            cells.append(", ".join(f"{n} {v}" if v in EXPECTED else f"**{n} {v}**" for v, n in order))
        rows.append(cells)
    return "\n".join(["## Scenarios by family", "",
                      "How each family's scenarios compare on every pair of backends. Each family's page has "
                      "the full matrix (the verdict and how many tolerances apart), a heatmap, and one "
                      "section per scenario with its probes, masks and checks.", "",
                      md.table(header, rows)])


def _family(sub: ReportModel, family: str, names: list[str], first: str) -> str:
    tally = sub.counts if sub.comparison.pairs else {}
    lines = [f"# Scenarios in {md.text(family)}/", "",
             f"Part of the [mask harness report]({first}): {len(names)} scenarios"
             + (" (" + ", ".join(f"{n} {v}" for v, n in sorted(tally.items())) + " comparisons)" if tally else "")
             + "."]
    if sub.comparison.pairs:
        lines += ["", f"![{md.text(family)}/: how many tolerances apart each pair of backends is; "
                      f"known divergences, errors and no values marked]({family_page(family).removesuffix('.md')}.svg)"]
    body = [matrix.render(sub), scenarios.render(sub)]
    return "\n".join(lines) + "\n\n" + "\n\n".join(s for s in body if s) + "\n"


def _stable_environment(data: ReportModel) -> str:
    runs = common.runs_in_order(data)
    keys = [k for k in environment.ENV_ROWS if k not in VOLATILE]
    rows = [[k] + [md.text(r.environment.get(k, "—")) for r in runs] for k in keys]
    return md.table(["", *(md.code(r.label, cell=True) for r in runs)], rows)


def _made(data: ReportModel) -> str:
    return "\n".join(["## How this report was made", "", "Reproduce:", "", md.fenced(data.reproduce, "sh"), "",
                      "The runs it compares. Run times, cache states, the git revision and the time of each "
                      f"run change from one run to the next, so they are on the [environment page]({ENVIRONMENT}), "
                      "and this page stays the same when the results do.", "", _stable_environment(data)])


def _environment(data: ReportModel) -> str:
    text = environment.render(data)
    slow = []
    for run in common.runs_in_order(data):
        durations = sorted(((r.duration_s, n) for n, r in run.records.items()), reverse=True)[:SLOWEST]
        slow.append(f"- {md.code(run.label)}: " + ", ".join(f"{md.text(n)} {s:.1f} s" for s, n in durations))
    return text + "\n\nThe slowest scenarios of each run:\n\n" + "\n".join(slow)


_IN_PAGE = re.compile(r"\]\(#([^)\s]+)\)")
_RELATIVE = re.compile(r"\]\((?!#|/|[A-Za-z][A-Za-z0-9+.-]*:)([^)\s]+)\)")  # no anchor, root or scheme


def relocate(pages: dict[str, str], first: str = FIRST) -> dict[str, str]:
    """Sections write links as if on the first page: an anchor (#...) or a path from the site's root.
    Point every anchor that is not on its page at the page that has it (the first page preferred,
    then the others in order), and make every path relative to the page it is on. Links to anchors
    found nowhere are left for the link test to report."""
    anchors = {path: set(slugs.anchors(text)) for path, text in pages.items() if path.endswith(".md")}
    order = [first] + [p for p in anchors if p != first]
    home = {}  # anchor -> the page that holds it, preferred page first
    for page in reversed(order):
        home.update(dict.fromkeys(anchors[page], page))
    out = {}
    for path, text in pages.items():
        if not path.endswith(".md"):
            out[path] = text
            continue
        here = anchors[path]

        def point(match: re.Match, path=path, here=here) -> str:
            anchor = match.group(1)
            if anchor in here:
                return match.group(0)
            target = home.get(anchor)
            if target is None:
                return match.group(0)
            return f"]({_relative(target, posixpath.dirname(path))}#{anchor})"

        folder = posixpath.dirname(path)
        if folder:  # a page below the root: its root-relative paths, first (anchors become paths next)
            text = _RELATIVE.sub(lambda m, folder=folder: f"]({_relative(m.group(1), folder)})", text)
        out[path] = _IN_PAGE.sub(point, text)
    return out


@functools.lru_cache(maxsize=1024)
def _relative(target: str, folder: str) -> str:
    return posixpath.relpath(target, folder or ".")


def write(folder: Path, files: dict[str, str], first: str = FIRST) -> list[Path]:
    """Write the site into folder and remove the files an older site left there (only names the
    site owns: its top-level pages and the families folder's .md and .svg files)."""
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        safety.atomic_write(path, text.encode("utf-8"))
        written.append(path)
    keep = {folder / rel for rel in files} | {folder / first}
    owned = [folder / name for name in OWNED_TOP]
    family_dir = folder / FAMILIES
    if family_dir.is_dir():
        owned += [p for p in family_dir.iterdir() if p.suffix in (".md", ".svg")]
    for path in owned:
        if path not in keep and (path.is_file() or path.is_symlink()):
            path.unlink()
    return written
