"""Escaping for GitHub-flavoured markdown: text from data must not break a table or inject HTML."""

from __future__ import annotations

import functools
import re

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~$])")
_HTML_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
MAX_CELL = 300


# What would open a list item, a thematic break or a setext underline at the start of a line.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^(-)(?=\s|$|-+\s*$)|^(=)(?==*\s*$)")


def clip(value: object, limit: int = MAX_CELL) -> str:
    """One line (newlines and tabs would end a table row), at most `limit` characters."""
    raw = " ".join(str(value).split())
    return raw[: limit - 1] + "…" if len(raw) > limit else raw


def text(value: object, limit: int = MAX_CELL) -> str:
    """Escape a string for a table cell or a line of prose: one line, no markup, no HTML."""
    return _text(str(value), limit)


@functools.lru_cache(maxsize=8192)  # reports repeat the same names, labels and verdicts many times
def _text(value: str, limit: int) -> str:
    raw = clip(value, limit).translate(_HTML_TABLE)
    raw = _PUNCTUATION.sub(r"\\\1", raw)
    # A leading "1." / "1)" / "-" / "=" would start a list, a rule or a setext heading.
    return _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1)
                            else "\\" + (m.group(3) or m.group(4)), raw, count=1)


def code(value: object, limit: int = MAX_CELL, *, cell: bool = False) -> str:
    """An inline code span that survives backticks in the text; in a table `cell`, pipes too."""
    return _code(str(value), limit, cell)


@functools.lru_cache(maxsize=8192)
def _code(value: str, limit: int, cell: bool) -> str:
    raw = clip(value, limit)
    if cell:  # GFM splits cells on | even inside code spans; elsewhere \| would show its backslash
        raw = raw.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", raw)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") or not raw.strip() else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def fenced(body: str, info: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{info}\n{body.rstrip()}\n{fence}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading made with `text(heading)`: lower case, punctuation dropped,
    spaces to hyphens, computed from the same clipped text the heading shows."""
    lowered = clip(heading).strip().lower()
    kept = re.sub(r"[^\w\- ]", "", lowered)
    return kept.replace(" ", "-")


def table(header: list[str], rows: list[list[str]]) -> str:
    """Cells must already be escaped; this only lays them out."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


_URL_SAFE = ":/?#&=%.-_~+,;@!$*"  # no ( ) [ ] < > ` | \ ' " : they could break the link or the table


def link(url: str, label: str = "link") -> str:
    """A markdown link to an https URL (else "—"); characters that could end or restyle it are
    percent-encoded. `label` must already be escaped."""
    if not url.startswith("https://") or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "—"
    from urllib.parse import quote

    return f"[{label}]({quote(url, safe=_URL_SAFE)})"
