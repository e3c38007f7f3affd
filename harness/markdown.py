"""Escaping for GitHub-flavoured markdown: text from data must not break a table or inject HTML."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~$])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
MAX_CELL = 300


def text(value: object, limit: int = MAX_CELL) -> str:
    """Escape a string for a table cell or a line of prose: one line, no markup, no HTML."""
    raw = " ".join(str(value).split())  # newlines and tabs would end a table row
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    raw = "".join(_HTML.get(ch, ch) for ch in raw)
    return _PUNCTUATION.sub(r"\\\1", raw)


def code(value: object, limit: int = MAX_CELL) -> str:
    """An inline code span that survives backticks and pipes in the text (pipes still end cells)."""
    raw = " ".join(str(value).split())
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
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
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    lowered = heading.strip().lower()
    kept = re.sub(r"[^\w\- ]", "", lowered)
    return kept.replace(" ", "-")


def table(header: list[str], rows: list[list[str]]) -> str:
    """Cells must already be escaped; this only lays them out."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
