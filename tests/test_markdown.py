"""harness.markdown: escaping checked against a real CommonMark/GFM renderer (markdown-it-py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.report import markdown as md
from tests.helpers.markdown import (
    github_slug,
    inline_text,
    markdown_parser,
    render_html,
    rendered_tables,
    table_problems,
)

HOSTILE = [
    "a | b",
    "pipe at end |",
    "`tick` and ``double`` ticks",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "&lt;already escaped&gt; &amp; &#x3C;script&#x3E;",
    "*bold* _it_ __strong__ ~~gone~~ [link](http://x) ![img](y.png) <http://auto>",
    "# not a heading",
    "back\\slash \\| escaped pipe \\",
    "line one\nline two\r\n\tindented",
    "non-ASCII: é ü 日本語 🙂 — “quotes”",
    "$math$ {braces} (parens) +plus+ !bang",
    "ValueError: Shapes (2, 5) and (2, 4) | mask=[True False]",
]


def cell_texts(cell_markdown: list[str]) -> list[str]:
    """Render one table row whose cells are the given (escaped) markdown; the cells as read."""
    src = md.table([f"h{i}" for i in range(len(cell_markdown))], [cell_markdown])
    assert table_problems(src) == []
    tables = rendered_tables(src)
    assert len(tables) == 1 and len(tables[0]) == 2
    return tables[0][1]


def paragraph_text(src: str) -> str:
    tokens = markdown_parser().parse(src)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], src
    return inline_text(tokens[1])


def normalized(value: str) -> str:
    return " ".join(value.split())


# ---- text -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE)
def test_text_in_a_table_cell_reads_as_the_original(value):
    assert cell_texts(["x", md.text(value), "y"]) == ["x", normalized(value), "y"]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_as_a_paragraph_reads_as_the_original(value):
    assert paragraph_text(md.text(value)) == normalized(value)


def test_text_never_emits_html():
    html = render_html(md.table(["a"], [[md.text("<script>alert(1)</script><b>x</b>")]]))
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_text_is_one_line():
    assert "\n" not in md.text("a\nb\r\nc") and "\t" not in md.text("a\tb")
    assert md.text("a\n\n  b") == "a b"


def test_text_truncates_long_values():
    value = "x" * 1000
    out = md.text(value)
    assert out == "x" * (md.MAX_CELL - 1) + "…"
    assert md.text(value, limit=10) == "x" * 9 + "…"
    assert md.text("short", limit=10) == "short"
    assert md.text("y" * 10, limit=10) == "y" * 10  # exactly at the limit: untouched


def test_truncation_happens_before_escaping():
    # cutting after escaping could split "&amp;" or leave a lone backslash before the ellipsis
    out = md.text("&" * 20, limit=5)
    assert out == "&amp;" * 4 + "…"
    assert paragraph_text(md.text("|" * 20, limit=5)) == "||||…"


def test_text_keeps_non_ascii():
    assert md.text("é 日本 🙂") == "é 日本 🙂"


@pytest.mark.parametrize("value", ["+ a list?", "* a list?", "> quote", "# heading?", "```fence?", "~~~ fence?",
                                   "<div>html block?</div>", "[ref]: http://x", "=== setext?"])
def test_text_at_line_start_stays_a_paragraph_for_escaped_markers(value):
    assert paragraph_text(md.text(value)) == value


@pytest.mark.parametrize("value", ["- a list?", "1. an ordered list?", "---"])
def test_text_at_line_start_stays_a_paragraph(value):
    assert paragraph_text(md.text(value)) == value


printable = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn")), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(printable)
def test_text_in_a_cell_round_trips(value):
    if not value.split():
        return
    assert cell_texts([md.text(value)]) == [normalized(value)]


# ---- code --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE + ["`", "``", "`starts", "ends`", "a ` b `` c ``` d"])
def test_code_in_a_table_cell_reads_as_the_original(value):
    out = md.code(value, cell=True)
    assert "\n" not in out
    tokens = markdown_parser().parse(md.table(["h"], [[out]]))
    inline = next(t for t in tokens if t.type == "inline" and t.content != "h")
    assert [c.type for c in inline.children] == ["code_inline"]
    assert inline.children[0].content == normalized(value)


def test_code_never_emits_html():
    html = render_html(md.code("<script>alert(1)</script>"))
    assert "<script" not in html and "&lt;script&gt;" in html


def test_code_fence_is_longer_than_any_backtick_run():
    assert md.code("a ``` b") == "````a ``` b````"
    assert md.code("`x`") == "`` `x` ``"


def test_code_truncates():
    assert md.code("z" * 50, limit=10) == "`" + "z" * 9 + "…`"


@pytest.mark.parametrize("value", ["a|b", "ValueError: x | y"])
def test_code_outside_a_table_reads_as_the_original(value):
    assert paragraph_text("Status: " + md.code(value)) == "Status: " + value


@settings(max_examples=300, deadline=None)
@given(printable)
def test_code_in_a_cell_round_trips(value):
    if not value.split():
        return
    tokens = markdown_parser().parse(md.table(["h"], [[md.code(value, cell=True)]]))
    inline = [t for t in tokens if t.type == "inline"][1]
    assert [c.type for c in inline.children] == ["code_inline"]
    assert inline.children[0].content == normalized(value)


# ---- fenced -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "def build():\n    return model, inputs",
    "x = '```'\n```\nnot the end\n````\nstill not",
    "<script>alert(1)</script>\n| a | b |",
])
def test_fenced_block_holds_the_body_verbatim(body):
    src = md.fenced(body, "python")
    tokens = markdown_parser().parse(src)
    assert [t.type for t in tokens] == ["fence"]
    assert tokens[0].info == "python"
    assert tokens[0].content == body.rstrip() + "\n"
    assert "<script" not in render_html(src)


def test_fenced_without_info():
    tokens = markdown_parser().parse(md.fenced("echo hi\n\n"))
    assert (tokens[0].type, tokens[0].info, tokens[0].content) == ("fence", "", "echo hi\n")


# ---- table ------------------------------------------------------------------------------------------

def test_table_layout():
    out = md.table(["a", "b"], [["1", "2"], ["3", "4"]])
    assert out == "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |"
    assert rendered_tables(out) == [[["a", "b"], ["1", "2"], ["3", "4"]]]


def test_table_with_escaped_hostile_cells_keeps_its_shape():
    rows = [[md.text(v), md.code(v, cell=True)] for v in HOSTILE]
    src = md.table(["text", "code"], rows)
    assert table_problems(src) == []
    parsed = rendered_tables(src)[0]
    assert len(parsed) == len(HOSTILE) + 1
    assert [row[0] for row in parsed[1:]] == [normalized(v) for v in HOSTILE]
    assert [row[1] for row in parsed[1:]] == [normalized(v) for v in HOSTILE]


def test_table_problems_detects_a_broken_row():
    """The checker itself: an unescaped pipe or newline in a cell is caught."""
    assert table_problems(md.table(["a", "b"], [["x|y", "z"]]))
    assert table_problems(md.table(["a", "b"], [["x\n| y", "z"]]))


def test_empty_table_has_header_only():
    assert rendered_tables(md.table(["a", "b"], [])) == [[["a", "b"]]]


# ---- slug -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("heading,anchor", [
    ("Findings", "findings"),
    ("Seed conclusions under Keras 3", "seed-conclusions-under-keras-3"),
    ("seed/gru-after-concat", "seedgru-after-concat"),
    ("rnn/gru_v1-initial-state", "rnngru_v1-initial-state"),
    ("Rnn/GRU (reset_after=True)", "rnngru-reset_aftertrue"),
    ("merge/concat é", "mergeconcat-é"),
])
def test_slug(heading, anchor):
    assert md.slug(heading) == anchor
    assert github_slug(heading) == anchor


def test_slug_of_an_escaped_heading_matches_its_rendered_text():
    name = "rnn/gru (reset_after) <x> & `y` | z"
    rendered = paragraph_text(md.text(name))
    assert rendered == name
    assert md.slug(name) == github_slug(rendered)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://x", "https://x/a b", "https://x/\n| row |", ""])
def test_link_refuses_anything_but_a_plain_https_url(url):
    assert md.link(url) == "—"


def test_link_percent_encodes_what_could_end_it():
    out = md.link("https://x/(a)[b]<c>`d`|e")
    assert out == "[link](https://x/%28a%29%5Bb%5D%3Cc%3E%60d%60%7Ce)"
    assert md.link("https://github.com/keras-team/keras/issues/1", "keras#1") == \
        "[keras#1](https://github.com/keras-team/keras/issues/1)"
