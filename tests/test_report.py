"""harness.report: the rendered markdown, read back through a real GFM renderer; the golden report."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from harness.compare import verdicts
from harness.report import cli as report_cli
from harness.report import common, render
from tests.helpers.factories import (
    JAX,
    LABELS,
    SEED_MASK,
    TF,
    TORCH,
    expectation,
    make_artifact,
    make_probe,
    make_record,
    seed_probes,
    three_runs,
)
from tests.helpers.golden import KNOWN_TOML, reference_runs
from tests.helpers.known_builders import entry as known_entry
from tests.helpers.markdown import (
    github_slug,
    heading_anchors,
    headings,
    inline_text,
    links,
    markdown_parser,
    render_html,
    rendered_tables,
    table_problems,
)

GOLDEN = Path(__file__).parent / "golden"


def render_report(runs, known_path: Path, **kw) -> str:
    data, _ = report_cli.build(runs, known_path, **kw)
    return render.render(data)


def all_text(src: str) -> str:
    """Everything a reader sees, one inline or code block per line."""
    out = []
    for token in markdown_parser().parse(src):
        if token.type == "inline":
            out.append(inline_text(token))
        elif token.type in ("fence", "code_block"):
            out.append(token.content)
    return "\n".join(out)


def section(src: str, title: str) -> str:
    """The text of one `## title` section."""
    start = src.index(f"\n## {title}\n")
    end = src.find("\n## ", start + 1)
    return src[start: end if end != -1 else len(src)]


def scenario_section(src: str, name_markdown: str) -> str:
    start = src.index(f"\n### {name_markdown}\n")
    end = src.find("\n### ", start + 1)
    return src[start: end if end != -1 else len(src)]


def scenario_headings(src: str) -> list[str]:
    """The h3 headings of the Scenarios section: one per scenario."""
    return [text for level, text in headings(section(src, "Scenarios")) if level == 3]


@pytest.fixture
def reference(known_file) -> str:
    return render_report(reference_runs(), known_file)


# ---- shape of the report ----------------------------------------------------------------------------

def test_sections_in_reading_order(reference):
    level2 = [text for level, text in headings(reference) if level == 2]
    # the answer first, then how to read the rest, then the evidence and the machinery
    assert level2 == ["What this means for you", "Findings", "How to read this report",
                      "Seed conclusions under Keras 3", "Summary", "Scenarios by backend pair",
                      "Compiled mode and determinism", "Known divergences",
                      "Seed conclusions: checks and evidence", "How this report was made", "Scenarios"]
    assert headings(reference)[0] == (1, "Keras mask harness report")


def test_every_table_is_well_formed(reference):
    assert table_problems(reference) == []
    tables = rendered_tables(reference)
    assert len(tables) >= 10
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table)


def test_every_internal_link_points_at_a_heading(reference):
    anchors = set(heading_anchors(reference))
    internal = [href for href, _ in links(reference) if href.startswith("#")]
    assert len(internal) > 20
    assert [h for h in internal if h[1:] not in anchors] == []


def test_every_scenario_has_a_section_and_a_matrix_row(reference, known_file):
    data, _ = report_cli.build(reference_runs(), known_file)
    names = data.comparison.scenarios
    assert sorted(scenario_headings(reference)) == sorted(names)
    matrix = rendered_tables(section(reference, "Scenarios by backend pair"))[0]
    assert matrix[0] == ["scenario", "tensorflow vs jax", "tensorflow vs torch", "jax vs torch"]
    assert [row[0] for row in matrix[1:]] == names


def test_matrix_cells_give_verdict_and_tolerances_apart(reference, known_file):
    data, _ = report_cli.build(reference_runs(), known_file)
    matrix = {row[0]: row[1:] for row in rendered_tables(section(reference, "Scenarios by backend pair"))[0][1:]}
    # gru_1 differs by 0.05 under its override atol 0.1 (half a tolerance); dense by 3e-6 under
    # float32's 1e-6 + 1e-5 * 2 (0.14): the larger, 0.5, is shown
    assert matrix["tolerance/override"] == ["match 0.5", "match 0", "match 0.5"]
    assert matrix["rnn/raises-everywhere"] == ["both-error"] * 3  # errors drawn as themselves
    assert matrix["rnn/gru-differs"][0] == "match 0"
    for name, cells in matrix.items():
        shown = [cell.split()[0].rstrip(":,") for cell in cells]
        assert shown == [data.comparison.get(name, a, b).verdict for a, b in data.comparison.pairs]
    # a real difference shows what differs and its largest absolute difference, not a count of
    # tolerances (0.5 at values near 1 is tens of thousands of float32 tolerances: meaningless)
    assert data.comparison.get("rnn/gru-differs", TF, TORCH).tolerances_apart > 1e4
    assert matrix["rnn/gru-differs"][1] == "differs, max abs 0.5"
    assert matrix["rnn/gru-known"][1:] == ["known: values, max abs 0.5"] * 2
    assert matrix["merge/mask-differs"][1] == "mask-differs"  # a mask difference has no value to show
    assert "**differs**" in section(reference, "Scenarios by backend pair")  # unexpected ones stand out


def test_matrix_ranks_bfloat16_rounding_below_a_float32_divergence(no_known):
    """The issue's case: bfloat16 rounding (3.9e-3, a match) must not outrank 4.1e-4 in float32."""
    def run(bf, f32):
        return [make_record("dtypes/bf16", {"y": make_probe(np.array([1.0, bf], np.float32), dtype="bfloat16")}),
                make_record("train/adam", {"step/w": make_probe(np.array([1.0, f32], np.float32))})]
    runs = three_runs(run(1.0, 1.0), run(1.0039, 1.00041), run(1.0, 1.0))
    data, _ = report_cli.build(runs, no_known)
    bf16 = data.comparison.get("dtypes/bf16", TF, JAX).tolerances_apart
    f32 = data.comparison.get("train/adam", TF, JAX).tolerances_apart
    assert 0.1 < bf16 < 1 < 10 < f32  # within its tolerance vs ~20 float32 tolerances apart
    assert data.comparison.get("dtypes/bf16", TF, JAX).verdict == "match"


def test_findings_list_exactly_the_unexpected_scenarios(reference, known_file):
    data, _ = report_cli.build(reference_runs(), known_file)
    unexpected = {s for s in data.comparison.scenarios if verdicts.scenario_verdict(data.comparison, s)
                  not in verdicts.EXPECTED}
    findings = section(reference, "Findings")
    listed = [text for href, text in links(findings)]
    assert set(listed) == unexpected
    assert listed[0] == "gone/jax"  # the most severe verdict (missing) comes first
    assert f"{len(unexpected)} scenarios diverge" in findings
    assert "rnn/gru-known" not in listed and "seed/masking-concat" not in listed


def test_no_findings_when_everything_matches(no_known):
    runs = three_runs(*([make_record("seed/a", seed_probes())] for _ in LABELS))
    out = render_report(runs, no_known)
    assert "No unexpected divergence between backends" in section(out, "Findings")
    assert "None recorded or matched." in section(out, "Known divergences")


def test_summary_counts_match_the_comparison(reference, known_file):
    data, _ = report_cli.build(reference_runs(), known_file)
    rows = rendered_tables(section(reference, "Summary"))[0]
    assert rows[0] == ["verdict", "count"]
    assert {v: int(n) for v, n in rows[1:]} == verdicts.counts(data.comparison)
    assert sum(int(n) for _, n in rows[1:]) == 3 * len(data.comparison.scenarios)
    # most severe first
    order = [v for v, _ in rows[1:]]
    assert order.index("missing") < order.index("differs") < order.index("match")


def test_claims_table_is_compact(reference):
    rows = rendered_tables(section(reference, "Seed conclusions under Keras 3"))[0]
    assert rows[0] == ["claim", "what the seed concluded (Keras 2)", "Keras 3", "details"]
    by_claim = {row[0]: row for row in rows[1:]}
    assert list(by_claim) == ["C1", "C2", "C3", "C4", "C5", "C6"]
    # one verdict when every backend agrees
    assert by_claim["C3"][2] == "untested"
    assert by_claim["C6"][2] == "does not hold"
    assert by_claim["C2"][2] == "holds"
    # per backend only where they differ, backends with the same verdict together
    assert by_claim["C4"][2] == "tensorflow: holds; jax, torch: partly: 1 of 2 checks pass"
    assert "Embedding(mask_zero=True)" in by_claim["C2"][1]
    assert all(row[3] == "checks and evidence" for row in rows[1:])
    assert ("#claim-c4", "checks and evidence") in links(section(reference, "Seed conclusions under Keras 3"))
    assert max(len(line) for line in section(reference, "Seed conclusions under Keras 3").splitlines()) < 200


def test_claim_evidence_section_has_every_check_in_full(reference):
    evidence = section(reference, "Seed conclusions: checks and evidence")
    c4 = evidence[evidence.index("### Claim C4"):evidence.index("### Claim C5")]
    rows = rendered_tables(c4)[0]
    assert rows[0] == ["check", "scenario", "tensorflow", "jax", "torch", "evidence"]
    by_check = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert by_check[("gru skips masked steps", "seed/masking-concat")][:3] == ["yes", "yes", "no"]
    assert by_check[("masked output is zero", "rnn/masked-only")][:3] == ["yes", "no", "yes"]
    # different evidence is given per backend; the same evidence once
    gru = by_check[("gru skips masked steps", "seed/masking-concat")][3]
    assert "torch: step 2 is 0.31, neither 0 nor the previous output" in gru
    assert "tensorflow: masked steps repeat the previous output" in gru
    c6 = evidence[evidence.index("### Claim C6"):]
    assert rendered_tables(c6)[0][1][2:] == ["no", "no", "no", "mask unchanged"]
    assert "No scenario checks this claim." in evidence[evidence.index("### Claim C3"):evidence.index("### Claim C4")]


def test_long_evidence_is_never_cut(no_known):
    long = "mask " + " ".join(f"{i:03d}" for i in range(400))  # 1,605 characters
    record = make_record("claims/long", seed_probes(), expectations=[expectation("long check", "C1", False, long)])
    out = render_report(three_runs([record], [record], [record]), no_known)
    assert "…" not in out
    assert long in all_text(section(out, "Seed conclusions: checks and evidence"))
    assert long in all_text(section(out, "Scenarios"))


def test_default_tolerances_are_said_once(reference):
    assert reference.count("float32 atol 1e-06, rtol 1e-05") == 1
    assert "float32 atol 1e-06, rtol 1e-05" in section(reference, "How to read this report")
    # a scenario with overrides still names them, with their reason
    assert "Tolerance overrides: `gru_*`: atol 0.1, rtol 0 (reset\\_after rounding)" in reference


def test_legend_explains_every_verdict_and_word(reference):
    legend = section(reference, "How to read this report")
    rows = {row[0]: row[1] for row in rendered_tables(legend)[0][1:]}
    assert set(rows) == set(verdicts.VERDICTS)
    assert all(len(meaning) > 20 for meaning in rows.values())
    assert "the backends agree, not that Keras is right" in rows["match"]
    text = all_text(legend)
    for word in ("1 = kept", "0 = masked", "jit/<probe>", "step/<layer>#<i>", "grad/<layer>#<i>", "Probe",
                 "Kept steps", "in tolerances"):
        assert word in text, word


def test_divergent_scenarios_come_first(reference, known_file):
    data, _ = report_cli.build(reference_runs(), known_file)
    order = scenario_headings(reference)
    found = [verdicts.scenario_verdict(data.comparison, name) for name in order]
    bad = [v not in verdicts.EXPECTED for v in found]
    assert bad == sorted(bad, reverse=True)  # every divergent one before every expected one
    ranks = [verdicts.SEVERITY.index(v) for v, b in zip(found, bad) if b]
    assert ranks == sorted(ranks)


def test_scenario_section_details(reference):
    gru = scenario_section(reference, "rnn/gru-differs")
    assert "Verdict: **differs**. tensorflow vs jax: match; tensorflow vs torch: differs" in gru
    assert "first at [1, 3, 2]: 2.6 vs 3.1" in gru
    assert "max abs 5.0e-01, max rel 1.6e-01, 2097152 ulp" in gru
    assert "tolerance atol 1e-06 rtol 1e-05 (float32 default)" in gru
    assert "Reproduction" in gru and "```python\n@scenario(\"rnn/gru-differs\"" in gru
    probe_rows = {row[0]: row for row in rendered_tables(gru)[0][1:]}
    assert probe_rows["gru_1"][1:4] == ["2×5×3", "float32", "01010 01010"]
    assert probe_rows["outputs"][3] == "no mask"

    masked = scenario_section(reference, "rnn/masked-only")
    assert "kept: 0/12 differ (0%)" in masked and "masked: 1/18 differ (6%)" in masked
    assert "first at [0, 0, 1]: 0.1 vs 0.35" in masked

    mask = scenario_section(reference, "merge/mask-differs")
    assert "masks `01010 01010` vs `01010 01011`" in mask
    assert "torch: `01010 01011`" in mask  # masks that differ are drawn per run

    err = scenario_section(reference, "rnn/raises-on-tf")
    assert "Status: tensorflow: error `ValueError: GRU cannot take a mask of shape (2, 4)`; jax: ok; torch: ok" in err

    warn = scenario_section(reference, "seed/warns-on-tf")
    assert "- `UserWarning` on tensorflow: Layer 'concat' does not support masking" in warn

    missing = scenario_section(reference, "gone/jax")
    assert "jax: not run" in missing


def test_matching_scenarios_have_no_reproduction(reference):
    assert "Reproduction" not in scenario_section(reference, "seed/masking-concat")


def test_known_divergences_section(reference):
    known = section(reference, "Known divergences")
    # one item per registry entry: what, the comparisons it covers (with their raw verdicts), why, link
    assert "- **GRU kept outputs differ by 0.5 on torch**" in known
    assert ("Covers: [rnn/gru-known](#rnngru-known) tensorflow vs torch: known: values, max abs 0.5; "
            "[rnn/gru-known](#rnngru-known) jax vs torch: known: values, max abs 0.5.") in known
    assert "(`torch-gru-kernel`: odd backend torch)" in known
    assert "Why: synthetic: a documented kernel difference" in known
    assert ("https://github.com/keras-team/keras/issues/0", "link") in links(known)
    assert "- `removed` (`removed/*` on jax): a divergence that no longer happens; its scenarios were not run." in known


def test_known_divergence_links_must_be_https(tmp_path):
    runs = three_runs([make_record("s", seed_probes())], [make_record("s", seed_probes())],
                      [make_record("s", seed_probes(shift=1.0))])
    path = tmp_path / "k.toml"
    path.write_text('[[divergence]]\nscenario = "s"\nodd = "torch"\nprobes = "*"\nwhat = "w"\nwhy = "y"\n'
                    'link = "javascript:alert(1)"\n')
    out = render_report(runs, path)
    assert "javascript" not in render_html(out)


def test_known_divergence_link_with_a_newline_keeps_the_table(tmp_path):
    runs = three_runs([make_record("s", seed_probes())], [make_record("s", seed_probes())],
                      [make_record("s", seed_probes(shift=1.0))])
    path = tmp_path / "k.toml"
    path.write_text('[[divergence]]\nscenario = "s"\nodd = "torch"\nprobes = "*"\nwhat = "w"\nwhy = "y"\n'
                    'link = "https://example.com/a\\n| injected | row |"\n')
    assert table_problems(render_report(runs, path)) == []


def test_compiled_section(reference):
    rows = {row[0]: row[1:] for row in rendered_tables(section(reference, "Compiled mode and determinism"))[0][1:]}
    assert rows[TF] == ["13 not run, 1 ok", "1 of 1 match", "14 of 14 bit-identical"]
    assert rows[TORCH][0] == "13 not run, 1 unsupported (torch.compile skipped)"
    assert rows[TORCH][2] == "13 of 14 bit-identical: not in rnn/nondeterministic"


def test_compiled_section_names_a_compiled_difference(no_known):
    probes = seed_probes()
    drift = {**probes, "jit/gru_1": seed_probes(shift=0.5)["gru_1"]}
    runs = three_runs([make_record("s", drift)], [make_record("s", probes)], [make_record("s", probes)])
    rows = rendered_tables(section(render_report(runs, no_known), "Compiled mode and determinism"))[0]
    assert rows[1][:3] == [TF, "1 not run", "0 of 1 match: differs in s"]


def test_environment_table(reference):
    rows = rendered_tables(section(reference, "How this report was made"))[0]
    assert rows[0] == ["", TF, JAX, TORCH]
    env = {row[0]: row[1:] for row in rows[1:]}
    assert env["backend_version"] == ["2.21.0", "0.10.2", "2.13.0"]
    assert env["keras"] == ["3.15.1"] * 3
    assert env["device_name"] == ["—", "—", "none (CPU only)"]


def test_figure_is_linked_when_given(known_file):
    out = render_report(reference_runs(), known_file, figure="heatmap.png")
    tokens = [c for t in markdown_parser().parse(out) for c in (t.children or []) if c.type == "image"]
    assert [t.attrs["src"] for t in tokens] == ["heatmap.png"]
    assert "![" not in render_report(reference_runs(), known_file)


# ---- draw_mask --------------------------------------------------------------------------------------

def test_draw_mask():
    assert common.draw_mask(None) == "no mask"
    assert common.draw_mask(SEED_MASK) == "`01010 01010`"
    assert common.draw_mask(np.array([True, False, True])) == "`101`"
    many = np.zeros((11, 3), bool)
    many[:, 0] = True
    assert common.draw_mask(many) == "`" + " ".join(["100"] * 8) + "` +3"


# ---- hostile data stays text ------------------------------------------------------------------------

H_NAME = "hostile/<script>alert(1)</script> [z](#w) *y* é"
H_ERROR = "ValueError: <img src=x onerror=alert(1)> `tick` *not bold*\nsecond line"
H_WARNING = "Layer <b>concat</b> | does not support `masking` *at all*"
H_VERSION = "3.15.1+<script>v</script>|dev`1`"
H_DESCRIPTION = "Description | with <i>html</i> and *stars*"
H_EXPECTATION = "mask <script>x</script> | kept"
H_EVIDENCE = "mask 01|10 <b>bold</b>"
H_WHAT = "what | <script>w</script>"
H_REASON = "reason | <script>r</script>"


def hostile_runs():
    def records(label):
        torch = label == TORCH
        probes = seed_probes(shift=0.5 if torch else 0.0)
        probes["tol_x"] = make_probe(np.array([1.0, 2.0 + (0.5 if torch else 0.0)], np.float32))
        return [
            make_record(H_NAME, probes, description=H_DESCRIPTION,
                        warnings=[("UserWarning", H_WARNING)] if label == TF else [],
                        tolerances={"tol_*": {"atol": 0.01, "rtol": 0.0, "reason": H_REASON}},
                        expectations=[expectation(H_EXPECTATION, "C5", not torch, H_EVIDENCE)]),
            make_record("hostile/error", seed_probes(),
                        error=(("Runtime<script>Error", H_ERROR) if label == JAX else None)),
        ]
    return [make_artifact(label, records(label), keras=H_VERSION) for label in LABELS]


@pytest.fixture
def hostile(tmp_path) -> str:
    path = tmp_path / "k.toml"
    path.write_text(f'[[divergence]]\nscenario = "hostile/error"\nodd = "jax"\nprobes = "*"\n'
                    f'what = {json.dumps(H_WHAT)}\nwhy = "why `x`"\n')
    return render_report(hostile_runs(), path)


def test_hostile_report_keeps_its_tables(hostile):
    assert table_problems(hostile) == []


def test_hostile_report_has_no_html_from_data(hostile):
    html = render_html(hostile)
    for tag in ("<script", "<img", "<b>", "<i>"):
        assert tag not in html
    assert "&lt;script&gt;" in html


def test_hostile_strings_survive_as_text(hostile):
    seen = all_text(hostile)
    for value in (H_NAME, H_WARNING, H_VERSION, H_DESCRIPTION, H_EXPECTATION, H_EVIDENCE, H_WHAT, H_REASON,
                  "ValueError: <img src=x onerror=alert(1)> `tick` *not bold* second line"):
        assert " ".join(value.split()) in seen, value


def test_hostile_scenario_name_is_the_heading_and_the_link_target(hostile):
    assert (3, H_NAME) in headings(hostile)
    anchors = set(heading_anchors(hostile))
    targets = [href for href, text in links(hostile) if text == H_NAME]
    assert len(targets) >= 3  # findings, claims, matrix
    assert all(href.startswith("#") and href[1:] in anchors for href in targets)


def test_hostile_claim_id_cannot_break_the_expectation_table(no_known):
    claim = "C5 | <script>c</script>"
    runs = three_runs(*([make_record("s", seed_probes(), expectations=[expectation("e", claim, True)])]
                        for _ in LABELS))
    out = render_report(runs, no_known)
    assert table_problems(out) == []
    assert "<script" not in render_html(out)


def test_hostile_dtype_is_escaped(no_known):
    def rec(dtype):
        return make_record("s", {"x": make_probe(np.zeros(2, np.float32), dtype=dtype)})
    runs = three_runs([rec("<script>d</script>|x")], [rec("float32")], [rec("float32")])
    out = render_report(runs, no_known)
    assert "<script" not in render_html(out)
    assert table_problems(out) == []


def test_error_message_with_a_pipe_survives_in_the_status_line(no_known):
    message = "expected mask | got None"
    runs = three_runs([make_record("s", error=("ValueError", message))], [make_record("s", seed_probes())],
                      [make_record("s", seed_probes())])
    status = [line for line in all_text(render_report(runs, no_known)).splitlines() if line.startswith("Status:")]
    assert f"ValueError: {message}" in status[0]


@pytest.mark.parametrize("name", [
    pytest.param("long/" + "x" * 400, id="longer-than-a-cell"),
    pytest.param("spaced/two  spaces", id="double-space"),
])
def test_links_to_odd_scenario_names_reach_their_heading(no_known, name):
    runs = three_runs([make_record(name, seed_probes())], [make_record(name, seed_probes())],
                      [make_record(name, seed_probes(shift=1.0))])
    out = render_report(runs, no_known)
    anchors = set(heading_anchors(out))
    internal = [href[1:] for href, _ in links(out) if href.startswith("#")]
    assert internal and all(a in anchors for a in internal)


def test_the_report_says_which_tolerance_made_a_match(reference):
    section = scenario_section(reference, "tolerance/override")
    assert "`gru_*`: atol 0.1, rtol 0 (reset\\_after rounding)" in section  # markdown-escaped underscore


def test_the_report_says_which_tolerance_applied_to_a_difference(hostile):
    assert "tolerance atol 0.01 rtol 0 (override 'tol_*': reason | <script>r</script>)" in all_text(hostile)


# ---- determinism ------------------------------------------------------------------------------------

def test_rendering_twice_gives_the_same_text(known_file):
    assert render_report(reference_runs(), known_file) == render_report(reference_runs(), known_file)


def test_run_order_does_not_change_the_report(known_file):
    runs = reference_runs()
    assert render_report(runs, known_file) == render_report(list(reversed(runs)), known_file)
    assert render_report(runs, known_file) == render_report([runs[1], runs[2], runs[0]], known_file)


def test_record_order_within_a_run_does_not_change_the_matrix(known_file):
    runs = reference_runs()
    shuffled = [make_artifact(r.label, list(reversed(list(r.records.values()))), **r.environment)
                for r in runs]
    first = render_report(runs, known_file)
    second = render_report(shuffled, known_file)
    for title in ("Findings", "Summary", "Scenarios by backend pair", "Known divergences"):
        assert section(first, title) == section(second, title)


def test_known_table_follows_the_pair_order(tmp_path):
    entry = known_entry("*", "torch")
    runs = three_runs([make_record("s", seed_probes())], [make_record("s", seed_probes())],
                      [make_record("s", seed_probes(shift=1.0))])
    comparison = verdicts.compare(runs, [entry])
    assert [k[1:] for k, p in comparison.results.items() if p.known] == [(TF, TORCH), (JAX, TORCH)]


# ---- golden ---------------------------------------------------------------------------------------

# The reader's fields of a known divergence and two surprises (one seen on every run, one not).
GOLDEN_READER_FIELDS = '''layer = "GRU"
situation = "on torch, always"
impact = "kept"
workaround = "compare kept steps only"
minimal = "rnn/gru-known"
'''
SURPRISES_TOML = '''
[[surprise]]
scenario = "values/*"
expectation = "second Masking*"
what = "A second Masking leaves the mask unchanged"
contradicts = "seed C6"
layer = "Masking"
situation = "after a Masking"
impact = "mask"
workaround = "pass the mask explicitly"
minimal = "seed/masking-concat"
link = "https://github.com/keras-team/keras/issues/1"

[[surprise]]
scenario = "seed/masking-concat"
expectation = "gru skips*"
what = "The GRU reads masked steps"
contradicts = "seed C4"
'''


def golden_outputs(tmp_path: Path) -> tuple[str, str]:
    known = tmp_path / "golden-known.toml"
    link = 'link = "https://github.com/keras-team/keras/issues/0"\n'
    known.write_text(KNOWN_TOML.replace(link, link + GOLDEN_READER_FIELDS, 1), encoding="utf-8")
    (tmp_path / "surprises.toml").write_text(SURPRISES_TOML, encoding="utf-8")
    data, summary = report_cli.build(reference_runs(), known, figure="heatmap.png",
                                  baseline_runs=reference_runs(baseline=True), baseline_name="reports/baseline")
    return render.render(data), json.dumps(summary, indent=1, sort_keys=True) + "\n"


def test_golden_report(tmp_path):
    """The fixed artifact set renders to tests/golden/report.md byte for byte.

    After an intended change to the report, regenerate with
    `UPDATE_GOLDEN=1 python -m pytest tests/test_report.py -k golden`, then read the diff.
    """
    text, summary = golden_outputs(tmp_path)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / "report.md").write_text(text, encoding="utf-8")
        (GOLDEN / "summary.json").write_text(summary, encoding="utf-8")
    assert text == (GOLDEN / "report.md").read_text(encoding="utf-8")
    assert summary == (GOLDEN / "summary.json").read_text(encoding="utf-8")


def test_golden_report_is_valid_markdown():
    text = (GOLDEN / "report.md").read_text(encoding="utf-8")
    assert table_problems(text) == []
    anchors = set(heading_anchors(text))
    assert all(href[1:] in anchors for href, _ in links(text) if href.startswith("#"))
    assert re.search(r"^## Changed since baseline$", text, re.M)


def test_github_slug_helper_matches_known_github_anchors():
    # anchors GitHub gives these headings (checked by hand against github.com rendering rules)
    assert github_slug("Seed conclusions under Keras 3") == "seed-conclusions-under-keras-3"
    assert github_slug("rnn/gru_v1-initial-state") == "rnngru_v1-initial-state"
    assert heading_anchors("# A\n\n# A\n\n# A\n") == ["a", "a-1", "a-2"]


def test_tolerances_apart_is_above_1_exactly_where_values_differ():
    tol = verdicts.Tolerance(1e-6, 1e-5, "float32 default")
    a = np.array([1.0, 2.0, 3.0], np.float32)
    within = verdicts.value_diff(a, a + np.float32(5e-6), tol)
    beyond = verdicts.value_diff(a, a + np.float32(1e-3), tol)
    assert within.n_diff == 0 and 0 < within.tolerances <= 1
    assert beyond.n_diff == 3 and beyond.tolerances == pytest.approx(1e-3 / (1e-6 + 1e-5 * 1.001), rel=1e-3)
    exact = verdicts.Tolerance(0.0, 0.0, "exact")
    ints = np.array([1, 2, 3])
    assert verdicts.value_diff(ints, ints, exact).tolerances == 0
    assert verdicts.value_diff(ints, ints + [0, 0, 1], exact).tolerances == np.inf
    nan = verdicts.value_diff(np.array([np.nan, 1.0]), np.array([1.0, 1.0]), tol)
    assert nan.tolerances == np.inf and nan.n_diff == 1
