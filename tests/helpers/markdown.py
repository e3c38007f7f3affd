"""Reading markdown as a reader would: GitHub's anchors, a CommonMark + GFM-tables renderer, tables,
headings and links of a rendered report."""

from __future__ import annotations

import re


def github_slug(text: str) -> str:
    """GitHub's heading anchor from the heading's rendered text (github-slugger, without dedup)."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


# ---- a real CommonMark + GFM-tables renderer, to check what a reader would see --------------------
# markdown-it-py's "commonmark" preset renders raw HTML (like GitHub before its sanitizer), so any
# unescaped tag in the output shows up in the HTML here; tables and strikethrough are GFM extensions.

def markdown_parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def render_html(src: str) -> str:
    return markdown_parser().render(src)


def inline_text(token) -> str:
    """What a reader sees of one inline token: text, code spans and line breaks as spaces."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def split_row(line: str) -> list[str]:
    """A GFM table row's cells, split like markdown-it does (a pipe after a backslash is escaped)."""
    cells, current, escaped = [], "", False
    for ch in line.strip():
        if ch == "|" and not escaped:
            cells.append(current)
            current = ""
        else:
            current += ch
        escaped = ch == "\\"
    cells.append(current)
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def table_problems(src: str) -> list[str]:
    """Rows whose cell count is not the header's, and pipe lines that no table swallowed."""
    lines = src.splitlines()
    problems, covered = [], set()
    for token in markdown_parser().parse(src):
        if token.type != "table_open":
            continue
        start, end = token.map
        covered.update(range(start, end))
        width = len(split_row(lines[start]))
        for number in range(start + 2, end):
            count = len(split_row(lines[number]))
            if count != width:
                problems.append(f"line {number + 1}: {count} cells, header has {width}: {lines[number][:120]}")
    for number, line in enumerate(lines):
        if line.startswith("|") and number not in covered:
            problems.append(f"line {number + 1}: a table row outside any table: {line[:120]}")
    return problems


def rendered_tables(src: str) -> list[list[list[str]]]:
    """Each table as rows of cell texts (header row first), as the renderer understood them."""
    tables: list[list[list[str]]] = []
    cell_open = False
    for token in markdown_parser().parse(src):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            tables[-1].append([])
        elif token.type in ("th_open", "td_open"):
            cell_open = True
        elif token.type in ("th_close", "td_close"):
            cell_open = False
        elif token.type == "inline" and cell_open:
            tables[-1][-1].append(inline_text(token))
    return tables


def headings(src: str) -> list[tuple[int, str]]:
    """(level, rendered text) of every heading."""
    tokens = markdown_parser().parse(src)
    return [(int(tok.tag[1]), inline_text(tokens[i + 1])) for i, tok in enumerate(tokens)
            if tok.type == "heading_open"]


def heading_anchors(src: str) -> list[str]:
    """The anchors GitHub gives the headings, with its -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    anchors = []
    for _, text in headings(src):
        slug = github_slug(text)
        anchor = slug if slug not in seen else f"{slug}-{seen[slug]}"
        seen[slug] = seen.get(slug, 0) + 1
        anchors.append(anchor)
    return anchors


def links(src: str) -> list[tuple[str, str]]:
    """(href, link text) of every link; the href percent-decoded, as a browser matches fragments."""
    from urllib.parse import unquote

    out: list[tuple[str, str]] = []
    for token in markdown_parser().parse(src):
        href, text = None, []
        for child in token.children or []:
            if child.type == "link_open":
                href, text = unquote(str(child.attrs.get("href", ""))), []
            elif child.type == "link_close" and href is not None:
                out.append((str(href), "".join(text)))
                href = None
            elif href is not None and child.type in ("text", "code_inline"):
                text.append(child.content)
    return out
