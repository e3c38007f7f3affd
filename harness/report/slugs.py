"""Heading anchors the way GitHub makes them, so links between the report's pages resolve there.

GitHub gives each heading of a rendered markdown file the id `slug(text)`, where text is the
heading's plain text (markup removed) and slug is github-slugger's: lower case; drop every character
in the Unicode categories of punctuation, symbols, other numbers, controls, formats and separators,
except "-", "_" (connector punctuation is kept) and the space; each space becomes "-". A slug already
used on the page gets "-1", "-2", ... (https://github.com/Flet/github-slugger, index.js and
script/generate-regex.mjs). tests/test_site_links.py checks this against that project's fixtures and
resolves every link of a built site with it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Categories github-slugger keeps: letters, marks, decimal and letter numbers, connector punctuation.
_KEPT = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "Pc"})


@functools.lru_cache(maxsize=16384)  # a site slugs every scenario name a few times
def slug(text: str) -> str:
    """The slug of one heading's plain text, before duplicate suffixes."""
    kept = [ch for ch in text.lower() if ch in "- " or unicodedata.category(ch) in _KEPT]
    return "".join(kept).replace(" ", "-")


class Slugger:
    """Slugs for the headings of one page, in order: a repeated slug gets -1, -2, ..."""

    def __init__(self) -> None:
        self._occurrences: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = result = slug(text)
        while result in self._occurrences:
            self._occurrences[base] += 1
            result = f"{base}-{self._occurrences[base]}"
        self._occurrences[result] = 0
        return result


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[((?:\\.|[^\]\\])*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(?<!\\)(\*\*|\*|__)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}


def plain(inline: str) -> str:
    """A heading's markdown as the text GitHub shows: code spans' content, link text, no emphasis,
    escapes and the entities the report writes resolved. Enough for the report's own headings; the
    link test checks the result against a real markdown parser."""
    spans: list[str] = []

    def keep(match: re.Match) -> str:  # code spans are literal: set them aside before unescaping
        spans.append(match.group(2).strip(" ") if match.group(2).strip(" ") else match.group(2))
        return f"\0{len(spans) - 1}\0"

    text = _CODE_SPAN.sub(keep, inline)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _EMPHASIS.sub("", text)
    text = _ESCAPE.sub(lambda m: m.group(1), text)
    for entity, ch in _ENTITIES.items():
        text = text.replace(entity, ch)
    return re.sub("\0(\\d+)\0", lambda m: spans[int(m.group(1))], text).strip()


def headings(markdown: str) -> list[str]:
    """The plain text of every ATX heading outside fenced code blocks, in order."""
    out, fence = [], ""
    for line in markdown.splitlines():
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) \
                    and not line.strip()[len(opened.group(1)):].strip():
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        match = _ATX.match(line)
        if match:
            out.append(plain(match.group(2) or ""))
    return out


def anchors(markdown: str) -> list[str]:
    """Every anchor GitHub gives the page's headings, duplicates suffixed."""
    slugger = Slugger()
    return [slugger.slug(text) for text in headings(markdown)]
