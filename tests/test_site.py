"""The report as a site: GitHub's anchors, every link between pages, the checklist, stable reruns."""

from __future__ import annotations

import dataclasses
import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from harness.report import cli as report_cli
from harness.report import readme, site, slugs
from harness.report.sections import checklist
from tests.helpers.factories import JAX, LABELS, TF, TORCH, make_record, seed_probes, three_runs
from tests.helpers.golden import reference_runs

ROOT = Path(__file__).resolve().parents[1]

# github-slugger's own fixtures (https://github.com/Flet/github-slugger, test/fixtures.json), in their
# order: one slugger over the whole list, so the duplicate suffixes are checked too.
GITHUB_SLUGGER_FIXTURES = [
    ("alpha", "alpha"), ("alpha", "alpha-1"), ("bravoCharlieDelta", "bravocharliedelta"),
    ("__proto__", "__proto__"), ("__proto__", "__proto__-1"), ("hasOwnProperty", "hasownproperty"),
    ("echo", "echo"), ("echo", "echo-1"), ("echo 1", "echo-1-1"), ("echo-1", "echo-1-2"), ("echo", "echo-2"),
    ("foxtrot-1", "foxtrot-1"), ("foxtrot", "foxtrot"), ("foxtrot", "foxtrot-2"),
    ("heading with a - dash", "heading-with-a---dash"),
    ("heading with an _ underscore", "heading-with-an-_-underscore"),
    ("heading with a period.txt", "heading-with-a-periodtxt"),
    ("exchange.bind_headers(exchange, routing [, bindCallback])", "exchangebind_headersexchange-routing--bindcallback"),
    (" ", "-"), (" a", "-a"), ("a ", "a-"), (" a ", "-a-"), ("-a-", "-a--1"),
    ("apostrophe’s should be trimmed", "apostrophes-should-be-trimmed"),
    ("golf", "golf"), ("golf", "golf-1"), ("golf", "golf-2"),
    ("I ♥ unicode", "i--unicode"), ("dash-dash", "dash-dash"), ("en–dash", "endash"), ("em–dash", "emdash"),
    ("😄 unicode emoji", "-unicode-emoji"), ("😄-😄 unicode emoji", "--unicode-emoji"),
    ("😄_😄 unicode emoji", "_-unicode-emoji"), ("😄 - an emoji", "---an-emoji"),
    (":smile: - a gemoji", "smile---a-gemoji"), ("Привет", "привет"),
    ("Профили пользователей", "профили-пользователей"), ("Привет non-latin 你好", "привет-non-latin-你好"),
    (":ok: No underscore", "ok-no-underscore"), (":ok_hand: Single", "ok_hand-single"),
    ("a\u2028b", "ab"),
]


def test_slugger_matches_github_slugger_fixtures():
    slugger = slugs.Slugger()
    got = [(text, slugger.slug(text)) for text, _ in GITHUB_SLUGGER_FIXTURES]
    assert got == GITHUB_SLUGGER_FIXTURES


# ---- the link resolver: markdown-it reads each page as GitHub would --------------------------------

def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _heading_texts(tokens) -> list[str]:
    out, inside = [], False
    for token in tokens:
        if token.type == "heading_open":
            inside = True
        elif token.type == "heading_close":
            inside = False
        elif token.type == "inline" and inside:
            out.append("".join(c.content for c in token.children or [] if c.type in ("text", "code_inline")))
    return out


def _targets(tokens) -> list[str]:
    out = []
    for token in tokens:
        for child in [token, *(token.children or [])]:
            if child.type == "link_open":
                out.append(child.attrs["href"])
            elif child.type == "image":
                out.append(child.attrs["src"])
    return out


def resolve(folder: Path, pages: list[Path]) -> tuple[int, list[str]]:
    """Resolve every relative link and anchor of the pages the way GitHub would: (links checked, problems)."""
    parser = _parser()
    anchors: dict[Path, set[str]] = {}

    def anchors_of(path: Path) -> set[str]:
        if path not in anchors:
            slugger = slugs.Slugger()
            texts = _heading_texts(parser.parse(path.read_text(encoding="utf-8")))
            anchors[path] = {slugger.slug(t) for t in texts}
        return anchors[path]

    checked, problems = 0, []
    for page in pages:
        for href in _targets(parser.parse(page.read_text(encoding="utf-8"))):
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                continue  # external: not this site's business
            checked += 1
            target = page if not parts.path else Path(posixpath.normpath(
                posixpath.join(page.parent.as_posix(), unquote(parts.path))))
            where = f"{page.relative_to(folder)}: {href}"
            if not target.is_file():
                problems.append(f"{where}: no such file")
            elif parts.fragment and target.suffix == ".md" and unquote(parts.fragment) not in anchors_of(target):
                problems.append(f"{where}: no heading with that anchor in {target.name}")
    return checked, problems


def site_pages(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.md"), *folder.glob(f"{site.FAMILIES}/*.md")])


def build_site(folder: Path, runs, known: Path) -> dict[str, str]:
    data, _ = report_cli.build(runs, known)
    files = site.build(data)
    site.write(folder, files)
    return files


def test_every_link_of_a_synthetic_site_resolves(tmp_path, known_file):
    files = build_site(tmp_path, reference_runs(), known_file)
    pages = site_pages(tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in pages} == {f for f in files if f.endswith(".md")}
    checked, problems = resolve(tmp_path, pages)
    assert problems == []
    assert checked > 50  # the first page links into every family page and to the differences


def test_every_link_of_the_published_site_resolves():
    folder = ROOT / "reports"
    checked, problems = resolve(folder, site_pages(folder))
    assert problems == []
    assert checked > 0


def test_the_resolver_reports_a_broken_anchor_and_a_missing_page(tmp_path):
    (tmp_path / "report.md").write_text("# Top\n\n## A `code` heading\n\n[ok](#a-code-heading) [ok](#top) "
                                        "[bad](#nowhere) [gone](families/none.md) [ext](https://x.y/z#q)\n")
    checked, problems = resolve(tmp_path, [tmp_path / "report.md"])
    assert checked == 4
    assert problems == ["report.md: #nowhere: no heading with that anchor in report.md",
                        "report.md: families/none.md: no such file"]


def test_headings_are_read_as_a_markdown_parser_reads_them(tmp_path, known_file):
    """The site writer finds anchors without a markdown parser; it must agree with one."""
    for text in build_site(tmp_path, reference_runs(), known_file).values():
        if text.startswith("<svg"):
            continue
        assert slugs.headings(text) == _heading_texts(_parser().parse(text))


def test_links_to_another_page_point_at_it(tmp_path, known_file):
    files = build_site(tmp_path, reference_runs(), known_file)
    first = files[site.FIRST]
    # a scenario's section is on its family's page; the first page links there, and back
    assert "(families/rnn.md#rnngru-known)" in first
    assert f"(../{site.FIRST}#known-divergences)" in files["families/rnn.md"]
    assert "### rnn/gru-known" in files["families/rnn.md"] and "### rnn/gru-known" not in first


def test_sections_write_links_from_the_root_and_each_page_gets_them_relative_to_itself():
    pages = {"report.md": "# A\n\n[d](upstream/d.md) [f](families/f.md#f)\n",
             "families/f.md": "# F\n\n[d](upstream/d.md) [a](#a) [f](#f) [e](https://x.y/z) ![i](families/f.svg)\n"}
    out = site.relocate(pages)
    assert out["report.md"] == pages["report.md"]
    assert out["families/f.md"] == ("# F\n\n[d](../upstream/d.md) [a](../report.md#a) [f](#f) [e](https://x.y/z) "
                                    "![i](f.svg)\n")


# ---- pages: one per family, stale pages removed ------------------------------------------------------

def test_one_page_and_one_heatmap_per_family_present_new_families_included(tmp_path, no_known):
    names = ["rnn/a", "saving/keras-file", "ragged/b"]
    runs = three_runs(*([make_record(n, seed_probes(), tags=["gru"]) for n in names] for _ in LABELS))
    files = build_site(tmp_path, runs, no_known)
    assert {f for f in files if f.startswith("families/")} == {
        f"families/{f}.{ext}" for f in ("rnn", "saving", "ragged") for ext in ("md", "svg")}
    assert "[saving/](families/saving.md)" in files[site.FIRST]


def test_rebuilding_removes_stale_pages_it_owns_and_nothing_else(tmp_path, no_known):
    (tmp_path / "families").mkdir()
    for stale in ("families/gone.md", "families/gone.svg", "heatmap.png"):
        (tmp_path / stale).write_text("old site")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "jax-cpu.json").write_text("{}")
    (tmp_path / "notes.md").write_text("mine")
    runs = three_runs(*([make_record("seed/a", seed_probes())] for _ in LABELS))
    build_site(tmp_path, runs, no_known)
    assert not (tmp_path / "families" / "gone.md").exists() and not (tmp_path / "families" / "gone.svg").exists()
    assert not (tmp_path / "heatmap.png").exists()
    assert (tmp_path / "notes.md").read_text() == "mine" and (tmp_path / "results" / "jax-cpu.json").exists()
    assert (tmp_path / "families" / "seed.md").is_file()


def test_two_families_whose_names_clean_to_the_same_file_keep_their_own_pages():
    pages = {site.family_page(f) for f in ("a.b", "a_b", "a b", "a/b")}
    assert len(pages) == 4 and site.family_page("rnn") == "families/rnn.md"
    assert all(p.startswith("families/") and "/" not in p.removeprefix("families/") for p in pages)


def test_a_long_section_is_digested_on_the_first_page():
    section = ("## What changes\n\nThe intro,\non two lines.\n\n- **A**: one.\n  - Scenarios: x.\n    ```diff\n"
               "- removed\n    ```\n- **B**: two.\n\n### Details\n\n- not this\n")
    assert site.digest(section, "More: [page](p.md).") == (
        "## What changes\n\nThe intro,\non two lines.\n\n- **A**: one.\n- **B**: two.\n\nMore: [page](p.md).")
    short = "## Nothing\n\nNothing changes."
    assert site.digest(short, "More.") == short


# ---- reruns: nothing on the first page or in README changes unless a result does ---------------------

def _rerun(runs, **env):
    """The same results as another run would record them: other times, caches, revision, durations."""
    return [dataclasses.replace(run, environment={**run.environment, **env},
                                records={n: dataclasses.replace(r, duration_s=r.duration_s * 3 + 1)
                                         for n, r in run.records.items()}) for run in runs]


def test_a_rerun_with_the_same_results_leaves_first_page_and_readme_block_unchanged(known_file):
    runs = reference_runs()
    first = [runs, _rerun(runs, run_wall_s=1234.5, time="2031-01-01T00:00:00+00:00", git_revision="abc1234",
                          compilation_cache="on (99 entries, 15 MB at start)")]
    pages, blocks = [], []
    for r in first:
        data, summary = report_cli.build(r, known_file)
        pages.append(site.build(data))
        blocks.append(readme.block(summary))
    assert pages[0][site.FIRST] == pages[1][site.FIRST]
    assert blocks[0] == blocks[1]
    assert pages[0][site.ENVIRONMENT] != pages[1][site.ENVIRONMENT]  # the times are there instead
    assert "1234.5" in pages[1][site.ENVIRONMENT]
    # and the family pages too: a scenario's section shows no duration
    assert {k: v for k, v in pages[0].items() if k != site.ENVIRONMENT} == \
        {k: v for k, v in pages[1].items() if k != site.ENVIRONMENT}


def test_a_changed_result_changes_the_first_page(known_file):
    runs = reference_runs()
    changed = [dataclasses.replace(run, records={**run.records, "seed/new": make_record(
        "seed/new", seed_probes(shift=0.5 if run.label == TORCH else 0.0))}) for run in runs]
    before, _ = report_cli.build(runs, known_file)
    after, _ = report_cli.build(changed, known_file)
    assert site.build(before)[site.FIRST] != site.build(after)[site.FIRST]


# ---- the checklist: rows from tags, cells from verdicts -------------------------------------------

KNOWN_GRU = '''
[[divergence]]
scenario = "rnn/gru-known"
odd = "torch"
probes = "gru_*"
what = "GRU kept outputs differ on torch"
why = "synthetic"
impact = "kept"
'''


def _checklist(tmp_path, runs, known_text=""):
    known = tmp_path / "known.toml"
    known.write_text(known_text)
    data, _ = report_cli.build(runs, known)
    cols = checklist.columns(data)
    numbered = data.differences
    table = {title: [checklist.cell(names, c, numbered, lambda n: f"[{n}](#x)") for c in cols]
             for title, names in checklist.rows(data)}
    return [c.title for c in cols], table


def test_checklist_cells_say_same_or_what_differs_per_path(tmp_path):
    records = {
        TF: [make_record("rnn/gru-known", seed_probes(), tags=["gru", "masking"]),
             make_record("rnn/lstm-odd", seed_probes(), tags=["lstm"]),
             make_record("saving/file", seed_probes(), tags=[])],
        JAX: [make_record("rnn/gru-known", seed_probes(), tags=["gru", "masking"]),
              make_record("rnn/lstm-odd", seed_probes(shift=0.5), tags=["lstm"]),
              make_record("saving/file", seed_probes(), tags=[])],
        TORCH: [make_record("rnn/gru-known", seed_probes(shift=0.5), tags=["gru", "masking"]),
                make_record("rnn/lstm-odd", seed_probes(), tags=["lstm"]),
                make_record("saving/file", seed_probes(), tags=[])],
    }
    titles, table = _checklist(tmp_path, three_runs(records[TF], records[JAX], records[TORCH]), KNOWN_GRU)
    assert titles == ["TensorFlow → JAX", "TensorFlow → PyTorch", "JAX ↔ PyTorch", "This Keras → next Keras"]
    rnn = table["LSTM / GRU / SimpleRNN"]
    assert rnn[0] == "1 of 2 differ: **differs, not understood** ([rnn/lstm-odd](#x))"
    assert rnn[1] == ("1 of 2 differ: values at kept steps "
                      "([1](#difference-1-forward-values-at-kept-steps))")
    assert rnn[2].startswith("2 of 2 differ: ")
    assert rnn[3] == "not run"
    assert table["Masking"][0] == "same"  # only rnn/gru-known is masked, and TF and JAX agree on it
    assert table["Bidirectional"] == ["no scenario"] * 4
    assert table["saving/ scenarios"][:3] == ["same"] * 3  # a theme family: a row with no edit


def test_checklist_has_a_row_per_feature_of_the_issue(tmp_path):
    _, table = _checklist(tmp_path, three_runs(*([make_record("seed/a", seed_probes())] for _ in LABELS)))
    assert list(table)[:len(checklist.FEATURES)] == [f.name for f in checklist.FEATURES]
    assert len(checklist.FEATURES) == 17


@pytest.mark.parametrize("tags, feature, has", [
    (["adam", "embedding"], "Adam / SGD on embeddings", True),
    (["adam"], "Adam / SGD on embeddings", False),  # both tags of a group are needed
    (["initial-state"], "RNN initial_state", True),  # "-" and "_" alike
    (["mixed_bfloat16"], "Mixed precision", True),
])
def test_features_come_from_tags(tmp_path, tags, feature, has):
    runs = three_runs(*([make_record("x/a", seed_probes(), tags=tags)] for _ in LABELS))
    _, table = _checklist(tmp_path, runs)
    assert (table[feature][0] == "same") is has


def test_the_next_keras_column_reads_the_nightly_runs_beside_the_results(tmp_path):
    from test_next_keras import runs_for

    from harness import artifacts
    from harness.versions import runs as version_runs

    folder = tmp_path / version_runs.RELEASES_DIR  # the folder beside results
    for backend in ("tensorflow", "jax", "torch"):
        artifacts.write(runs_for(backend, True), folder)
    runs = [runs_for(b, False) for b in ("tensorflow", "jax", "torch")]
    results = tmp_path / "results"
    data, _ = report_cli.build(runs, tmp_path / "no-known.toml", results_dir=str(results),
                               **report_cli.beside(results))
    column = checklist.next_keras_column(data)
    assert column.describe(["rnn/gru", "layers/same"]) == \
        "1 of 2 change: [mask dropped](#what-changes-in-the-next-keras)"
    assert column.describe(["layers/same"]) == "same"
    assert column.describe(["models/hub"]) == "not compared"  # skipped by the nightly on every backend
    files = site.build(data)
    site.write(tmp_path / "site", files)
    assert resolve(tmp_path / "site", site_pages(tmp_path / "site"))[1] == []


def test_without_a_nightly_run_the_next_keras_column_says_not_run(tmp_path, no_known):
    runs = three_runs(*([make_record("rnn/a", seed_probes(), tags=["gru"])] for _ in LABELS))
    data, _ = report_cli.build(runs, no_known)
    column = checklist.next_keras_column(data)
    assert checklist.cell(["rnn/a"], column, [], str) == "not run"
