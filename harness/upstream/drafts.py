"""The causes worth an upstream issue, as data: scenarios/upstream.toml, one [[cause]] each.

A cause with `repro = true` has a kept script, reports/upstream/<id>/repro.py, that prints the values
that matter and ends with one `RESULT: ...` line; `expected` is the line the correct behaviour prints.
A cause whose run prints anything else "shows the difference". A cause without a repro is only a line
in the index: already reported upstream, fixed, or not Keras's to fix (`status` says which).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from harness import safety
from harness.artifacts import ArtifactError

# Beside the other registries of the suite (compare/known.py finds known_divergences.toml the same way),
# so the command works from any folder and from an installed package, not only from the checkout.
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "scenarios" / "upstream.toml"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")
KINDS = ("known", "surprise", "finding", "next-keras")
STATUSES = ("not filed", "filed", "fixed", "upstream elsewhere", "not a bug")
MAX_DATA_BYTES = 1 << 20


class UpstreamError(ArtifactError):
    """Bad upstream input: printed by harness.__main__ as one `harness: error:` line, exit 2."""


@dataclass(frozen=True)
class Quote:
    """Lines of the installed Keras source: `file` under keras/src, from the line holding `anchor`."""

    file: str
    anchor: str
    lines: int = 6
    before: int = 0  # lines to show above the anchor


@dataclass(frozen=True)
class Related:
    url: str
    title: str
    how: str  # how the link was verified to be about this exact behaviour


@dataclass(frozen=True)
class Evidence:
    """How one run of the suite shows the cause: its odd backend's record of `scenario`."""

    scenario: str
    backend: str = "*"
    expectation_fails: str = ""  # glob on expectation names
    status_error: str = ""  # an error type, or "*" for any error
    mask_on: str = ""  # a probe key that carries a mask


@dataclass(frozen=True)
class Cause:
    id: str
    title: str
    kind: str
    status: str
    covers: tuple[str, ...]  # scenario globs of the known/surprise entries it explains
    entries: tuple[str, ...] = ()  # ids of the known_divergences.toml / surprises.toml entries it explains
    next_keras_groups: tuple[str, ...] = ()  # globs on "LayerClass/kind" of the report's next-Keras change groups
    repro: bool = True
    status_url: str = ""
    status_note: str = ""
    summary: str = ""  # the one-line difference
    problem: str = ""
    expected: str = ""  # the RESULT line of the correct behaviour
    expected_why: str = ""  # the reference that says so
    cause: str = ""
    fix: str = ""
    workaround: str = ""
    versions_note: str = ""
    quotes: tuple[Quote, ...] = ()
    related: tuple[Related, ...] = ()
    evidence: tuple[Evidence, ...] = field(default=())


def _fields(cls) -> set[str]:
    return set(cls.__dataclass_fields__)


def _build(cls, entry: dict, where: str):
    unknown = set(entry) - _fields(cls)
    if unknown:
        raise UpstreamError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        return cls(**entry)
    except TypeError as exc:
        raise UpstreamError(f"{where}: {exc}") from None


def _cause(entry: dict, index: int, path: Path) -> Cause:
    where = f"{path} cause {index + 1}"
    entry = dict(entry)
    entry["quotes"] = tuple(_build(Quote, q, where) for q in entry.get("quotes", ()))
    entry["related"] = tuple(_build(Related, r, where) for r in entry.get("related", ()))
    entry["evidence"] = tuple(_build(Evidence, e, where) for e in entry.get("evidence", ()))
    entry["covers"] = tuple(entry.get("covers", ()))
    entry["entries"] = tuple(entry.get("entries", ()))
    entry["next_keras_groups"] = tuple(entry.get("next_keras_groups", ()))
    cause = _build(Cause, entry, where)
    if not ID_RE.match(cause.id):
        raise UpstreamError(f"{where}: id {cause.id!r} must be lower-case letters, digits and hyphens")
    if cause.kind not in KINDS or cause.status not in STATUSES:
        raise UpstreamError(f"{where} ({cause.id}): kind must be one of {KINDS}, status one of {STATUSES}")
    if cause.repro and not cause.expected:
        raise UpstreamError(f"{where} ({cause.id}): a cause with a repro needs `expected` (its correct RESULT line)")
    if cause.status in ("filed", "fixed", "upstream elsewhere") and not cause.status_url.startswith("https://"):
        raise UpstreamError(f"{where} ({cause.id}): status {cause.status!r} needs status_url")
    return cause


def load(path: Path = DEFAULT_DATA) -> list[Cause]:
    try:
        data = tomllib.loads(safety.read_bounded(path, limit=MAX_DATA_BYTES).decode("utf-8"))
    except safety.RefusedFile as exc:
        raise UpstreamError(str(exc)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UpstreamError(f"{path}: cannot be read ({exc})") from None
    causes = [_cause(e, i, path) for i, e in enumerate(data.get("cause", []))]
    ids = [c.id for c in causes]
    if len(set(ids)) != len(ids):
        raise UpstreamError(f"{path}: duplicate cause ids")
    return causes


def select(causes: list[Cause], finding: str | None) -> list[Cause]:
    """All causes, or the one named by id or by a scenario it covers; an unknown name is bad input."""
    if finding is None:
        return causes
    chosen = [c for c in causes if c.id == finding] or [
        c for c in causes if any(fnmatch.fnmatchcase(finding, glob) for glob in c.covers)]
    if not chosen:
        raise UpstreamError(f"--finding {finding!r}: no such cause (known: {', '.join(c.id for c in causes)})")
    return chosen


@dataclass(frozen=True)
class DraftLink:
    """What the report needs to point a difference at its upstream draft: where, and its status."""

    id: str
    title: str
    status: str  # "not filed", "filed: URL", ...
    path: str  # relative to the reports/ folder: upstream/<id>/README.md, or the index for a cause without one


def link_for(causes: list[Cause], scenario: str = "", entry_id: str = "") -> DraftLink | None:
    """The cause that explains a report entry: the one naming the entry's id, else the one whose covered
    glob matches the entry's scenario most specifically (an exact name before `fit/*`)."""
    named = [c for c in causes if entry_id and entry_id in c.entries]
    scored = [((glob == scenario, len(glob.replace("*", ""))), c) for c in causes for glob in c.covers
              if scenario and fnmatch.fnmatchcase(scenario, glob)]
    cause = named[0] if named else max(scored, key=lambda x: x[0])[1] if scored else None
    if cause is None:
        return None
    status = f"{cause.status}: {cause.status_url}" if cause.status_url else cause.status
    path = f"upstream/{cause.id}/README.md" if cause.repro else "upstream/README.md"
    return DraftLink(cause.id, cause.title, status, path)
