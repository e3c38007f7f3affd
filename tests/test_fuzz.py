"""Property-based fuzzing (hypothesis) of the two places that read untrusted data.

1. The artifact loader, fed random bytes, damaged copies of a real artifact (JSON and NPZ) and random
   manifests: every read either succeeds or raises ArtifactError (one line, naming the file), and
   nothing is ever unpickled.
2. The renderer, fed hostile strings (pipes, backticks, HTML, newlines, markdown, very long and
   non-ASCII text) wherever the report shows text that came from data: the markdown stays
   well-formed (every table row has its header's cell count, no injected HTML, no injected
   headings) and each hostile string's text is shown rather than interpreted.

The default profile runs FUZZ_EXAMPLES cases in all (at least 1,000), derandomized: the same cases on
every run, so CI is reproducible. Set HARNESS_FUZZ_SCALE=N to run N times as many fresh random cases
(e.g. 10 for a nightly job). Examples are not stored (database=None): the suite leaves no files behind.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.rules_block.table import escapedSplit

from harness import artifacts
from harness.artifacts import Artifact, ArtifactError, ScenarioRecord
from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo
from harness.report import cli as report_cli
from harness.report import markdown as md
from harness.report import render

SCALE = max(1, int(os.environ.get("HARNESS_FUZZ_SCALE", "1")))
EXPLORE = "HARNESS_FUZZ_SCALE" in os.environ  # random cases instead of the fixed default ones
EXAMPLES = {  # per test; their sum is the number of generated cases in the default profile
    "random_bytes": 120,
    "json_damage": 150,
    "npz_damage": 200,
    "random_manifest": 150,
    "report": 250,
    "table_cells": 150,
}
FUZZ_EXAMPLES = sum(EXAMPLES.values()) * SCALE
assert FUZZ_EXAMPLES >= 1000


def fuzz(name: str):
    return settings(max_examples=EXAMPLES[name] * SCALE, deadline=None, database=None, derandomize=not EXPLORE,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


WORK = Path(tempfile.mkdtemp(prefix="harness-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
MARKER = WORK / "UNPICKLED"  # created if anything is ever unpickled


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(dir=WORK) as folder:
        yield Path(folder)


# ---- artifacts -----------------------------------------------------------------------------------


class PickleBomb:
    def __reduce__(self):
        return (os.mkdir, (str(MARKER),))


def base_artifact() -> Artifact:
    values = np.linspace(-2, 2, 30, dtype=np.float32).reshape(2, 5, 3)
    mask = np.array([[False, True, False, True, False], [True] * 5])
    captured = Captured("seed/a", "jax-cpu", probes={
        "masking": Probe(values, mask, "float32"),
        "dense": Probe(values[..., :2].copy(), None, "float32"),
        "ids": Probe(np.arange(4, dtype=np.int32), None, "int32"),
    }, warnings=[WarningInfo("UserWarning", "careful")])
    failed = Captured("seed/b", "jax-cpu", error=ErrorInfo("ValueError", "no", ("x.py:1 in f",)))
    records = {"seed/a": ScenarioRecord("seed/a", "ok", 0.5, captured, {"description": "a"}),
               "seed/b": ScenarioRecord("seed/b", "error", 0.1, failed, {"description": "b"})}
    return Artifact("jax-cpu", {"backend": "jax"}, records)


@cache
def base_bytes() -> tuple[bytes, bytes]:
    """(manifest, npz) of a real artifact."""
    with workspace() as folder:
        path = artifacts.write(base_artifact(), folder)
        return path.read_bytes(), path.with_suffix(".npz").read_bytes()


@cache
def bomb_npz() -> bytes:
    """A real artifact's arrays plus an object array whose unpickling would create MARKER."""
    bomb = np.empty(1, dtype=object)
    bomb[0] = PickleBomb()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base_bytes()[1])) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        member = io.BytesIO()
        np.save(member, bomb, allow_pickle=True)
        out.writestr("seed/a::bomb::values.npy", member.getvalue())
    return buffer.getvalue()


def with_checksum(manifest: bytes, npz: bytes) -> bytes:
    data = json.loads(manifest)
    data["npz_sha256"] = hashlib.sha256(npz).hexdigest()
    return json.dumps(data).encode()


def check_read(manifest: bytes, npz: bytes | None, tolerate=lambda exc: False) -> Artifact | None:
    """Write the pair, read it: success or a one-line ArtifactError naming the file, nothing else."""
    with workspace() as folder:
        path = folder / "fuzzed-run.json"
        path.write_bytes(manifest)
        if npz is not None:
            path.with_suffix(".npz").write_bytes(npz)
        try:
            result = artifacts.read(path)
        except ArtifactError as exc:
            message = str(exc)
            assert "fuzzed-run" in message and "\n" not in message, message
            result = None
        except Exception as exc:
            if not tolerate(exc):
                raise
            result = None
    assert not MARKER.exists(), "an artifact was unpickled"
    return result


def damage(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for op, where, byte in edits:
        if not out:
            break
        at = where % len(out)
        if op == "flip":
            out[at] ^= 1 << (byte % 8)
        elif op == "set":
            out[at] = byte
        elif op == "delete":
            del out[at: at + 1 + byte % 16]
        elif op == "insert":
            out[at:at] = bytes([byte]) * (1 + byte % 7)
        elif op == "truncate":
            del out[at:]
    return bytes(out)


EDITS = st.lists(st.tuples(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]),
                           st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=6)


@fuzz("random_bytes")
@given(manifest=st.one_of(st.binary(max_size=2048),
                          st.text(max_size=300).map(str.encode),
                          st.from_regex(r"\A[\[\]{}\",:0-9a-z ]{0,200}\Z").map(str.encode)),
       npz=st.one_of(st.none(), st.just(b""), st.binary(max_size=512)))
@example(manifest=b"", npz=None)
@example(manifest=b"\xef\xbb\xbf{}", npz=None)
@example(manifest=b'{"schema_version": 1}', npz=b"")
def test_random_bytes_are_refused_cleanly(manifest, npz):
    assert check_read(manifest, npz) is None


@fuzz("json_damage")
@given(edits=EDITS)
def test_damaged_manifest_reads_or_is_refused(edits):
    manifest, npz = base_bytes()
    check_read(damage(manifest, edits), npz)


@fuzz("npz_damage")
@given(edits=EDITS, bomb=st.booleans(), repair_checksum=st.booleans())
@example(edits=[("truncate", 100, 0)], bomb=False, repair_checksum=True)
@example(edits=[("set", 0, 0)], bomb=True, repair_checksum=True)
def test_damaged_npz_reads_or_is_refused_and_never_unpickles(edits, bomb, repair_checksum):
    manifest, npz = base_bytes()
    if bomb:
        npz = bomb_npz()
    npz = damage(npz, edits)
    if repair_checksum or bomb:  # past the pairing check, into the NPZ reader itself
        manifest = with_checksum(manifest, npz)
    result = check_read(manifest, npz)
    if result is not None:
        assert not bomb or "bomb" not in str(result.records)
        for record in result.records.values():
            for probe in record.captured.probes.values():
                assert probe.values.dtype.kind in "biuf"


def test_the_bomb_would_go_off_if_unpickled():
    """The payload used above is live: np.load with pickle allowed runs it."""
    with np.load(io.BytesIO(bomb_npz()), allow_pickle=True) as npz:
        npz["seed/a::bomb::values"]
    assert MARKER.exists()
    MARKER.rmdir()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
KEYS = ["masking", "dense", "ids", "ghost"]
PROBE_SPEC = st.fixed_dictionaries(
    {"key": st.sampled_from(KEYS) | JSON,
     "dtype": st.sampled_from(["float32", "int32"]) | JSON,
     "shape": st.sampled_from([[2, 5, 3], [2, 5, 2], [4], [], [2, 5]]) | JSON,
     "has_mask": st.booleans() | JSON},
    optional={"extra": JSON})
SCENARIO_ENTRY = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"name": st.sampled_from(["seed/a", "seed/b", "other"]) | JSON,
         "status": st.sampled_from(["ok", "error", "crashed", "timeout"]) | JSON,
         "duration_s": st.floats() | JSON,
         "probes": st.lists(PROBE_SPEC, max_size=4) | JSON,
         "warnings": st.lists(st.fixed_dictionaries({"category": JSON, "message": JSON}), max_size=2) | JSON,
         "error": st.none() | st.fixed_dictionaries({"type": JSON, "message": JSON},
                                                    optional={"traceback": JSON}) | JSON},
        optional={"description": JSON, "expectations": JSON, "compiled": JSON}))


@fuzz("random_manifest")
@given(label=st.sampled_from(["jax-cpu", "tf", "../evil", "a/b", "x\n"]) | JSON,
       environment=st.dictionaries(st.text(max_size=10), JSON, max_size=4) | JSON,
       scenarios=st.lists(SCENARIO_ENTRY, max_size=4) | JSON,
       drop=st.sets(st.sampled_from(["label", "environment", "scenarios", "npz_sha256"]), max_size=1))
def test_random_manifests_read_or_are_refused(label, environment, scenarios, drop):
    npz = base_bytes()[1]
    manifest = {"schema_version": 1, "label": label, "environment": environment, "scenarios": scenarios,
                "npz_sha256": hashlib.sha256(npz).hexdigest()}
    for key in drop:
        del manifest[key]
    result = check_read(json.dumps(manifest).encode(), npz)
    if result is not None:
        assert artifacts.LABEL_RE.match(result.label)
        assert "/" not in result.label and not result.label.startswith(".")


# ---- the renderer --------------------------------------------------------------------------------

SNIPPETS = [
    "|", "||", "\\|", "a | b", "`", "``", "```", "````python", "~~~", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "<!-- comment -->", "</td></tr></table>", "<br>", "<b>bold</b>",
    "\n", "\r\n", "\r", "\t", "\n\n# Injected heading\n\n", "\n| a | b |\n|---|---|\n| c | d |\n",
    "*em*", "**strong**", "_u_", "__dunder__", "~~strike~~", "[link](javascript:alert(1))",
    "![img](http://x/y.png)", "<http://example.com>", "&amp;", "&lt;script&gt;", "&#60;b&#62;", "\\",
    "\\\\", "#", "## h2", "> quote", "- item", "1. item", "---", "===", "$x^2$", "{{x}}", "@user",
    ":smile:", "héllo wörld", "日本語のテキスト", "🙂🚀", "\u202eevil", "\u00a0nbsp", "\u2028",
    "\u200bzero-width", "\x00nul", "\x1b[31mred", "' OR 1=1 --", "%s%n", "${jndi:x}", "\ufeffbom",
]
HOSTILE = st.one_of(
    st.sampled_from(SNIPPETS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.lists(st.sampled_from(SNIPPETS) | st.text(st.characters(exclude_categories=("Cs",)), max_size=6),
             min_size=1, max_size=8).map("".join),
    st.tuples(st.sampled_from(SNIPPETS), st.integers(20, 120)).map(lambda t: t[0] * t[1]),  # very long
)
CLAIM_IDS = st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C6", None])


def shown(value: str) -> str:
    """What a reader should see of a string rendered on one line: whitespace collapsed."""
    return " ".join(value.split()).replace("\x00", "\ufffd")


def truncated(value: str, limit: int = md.MAX_CELL) -> str:
    text = shown(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


@st.composite
def report_cases(draw):
    names = draw(st.lists(HOSTILE, min_size=1, max_size=3, unique=True))
    field = lambda: draw(HOSTILE)  # noqa: E731
    return {
        "names": names,
        "description": field(), "source": field(), "error_type": field(), "error_message": field(),
        "warning_category": field(), "warning_message": field(), "probe": field(),
        "expectation": field(), "evidence": field(), "claim": draw(CLAIM_IDS),
        "compiled_detail": field(), "tolerance_glob": field(), "tolerance_reason": field(),
        "known_what": field(), "known_why": field(),
        "known_link": "https://" + field(),
        "stale_scenario": field(),
        "environment": {key: field() for key in ("backend_version", "keras", "numpy", "python", "platform",
                                                 "device", "device_name", "floatx", "harness",
                                                 "git_revision", "time")},
    }


def synthetic_runs(case: dict) -> list[Artifact]:
    """Three runs: tensorflow ok, jax failing, torch with a different mask (error- and mask-differs)."""
    values = np.linspace(-1, 1, 10, dtype=np.float32).reshape(1, 5, 2)
    runs = []
    for backend, label in (("tensorflow", "tensorflow-cpu"), ("jax", "jax-cpu"), ("torch", "torch-cpu")):
        records = {}
        for name in case["names"]:
            mask = np.array([[False, True, False, True, backend == "torch"]])
            probes = {case["probe"]: Probe(values + (backend == "torch"), mask, "float32"),
                      "dense": Probe(values[0], None, "float32")}
            meta = {
                "description": case["description"], "source": case["source"], "tags": [],
                "expectations": [{"name": case["expectation"], "claim": case["claim"],
                                  "passed": backend != "jax", "evidence": case["evidence"]}],
                "compiled": {"status": "unsupported" if backend == "torch" else "ok",
                             "detail": case["compiled_detail"]},
                "tolerances": {case["tolerance_glob"]: {"atol": 1e-6, "rtol": 1e-5,
                                                        "reason": case["tolerance_reason"]}},
                "deterministic": True,
            }
            error = None
            if backend == "jax":
                probes = {}
                error = ErrorInfo(case["error_type"], case["error_message"], (case["error_message"],))
            warnings = [] if backend == "tensorflow" else [WarningInfo(case["warning_category"],
                                                                       case["warning_message"])]
            captured = Captured(name, label, probes, error, warnings)
            records[name] = ScenarioRecord(name, "error" if error else "ok", 0.25, captured, meta)
        environment = {"backend": backend, **case["environment"]}
        runs.append(Artifact(label, environment, records))
    return runs


def known_file(folder: Path, case: dict) -> Path:
    path = folder / "known.toml"
    path.write_text(
        "[[divergence]]\nscenario = \"*\"\nodd = \"torch\"\nprobes = \"*\"\n"
        f"what = {toml_string(case['known_what'])}\nwhy = {toml_string(case['known_why'])}\n"
        f"link = {toml_string(case['known_link'])}\n\n"
        f"[[divergence]]\nid = \"stale\"\nscenario = {toml_string(case['stale_scenario'])}\nodd = \"jax\"\nprobes = \"*\"\n"
        f"what = {toml_string(case['known_what'])}\nwhy = \"stale\"\n", encoding="utf-8")
    return path


PARSER = MarkdownIt("commonmark").enable("table")
ALLOWED_HTML = {"<br>"}
SECTIONS = {"What this means for you", "Findings", "How to read this report", "Seed conclusions under Keras 3",
            "Summary", "Scenarios by backend pair", "Compiled mode and determinism", "Known divergences",
            "Seed conclusions: checks and evidence", "How this report was made", "Scenarios",
            "Changed since baseline"}


def cell_count(line: str) -> int:
    cells = escapedSplit(line.strip())
    if cells and cells[0] == "":
        cells.pop(0)
    if cells and cells[-1] == "":
        cells.pop()
    return len(cells)


def inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak") or (child.type == "html_inline" and child.content == "<br>"):
            parts.append("\n")
    return "".join(parts)


def check_well_formed(markdown: str) -> tuple[str, list[str], list]:
    """Structure checks; return the visible text, the h3 texts and the tokens."""
    tokens = PARSER.parse(markdown)
    lines = re.split(r"\r\n?|\n", markdown)  # markdown-it's own line breaks
    in_table, in_code = set(), set()
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map:
            in_code.update(range(*token.map))
    for index, token in enumerate(tokens):
        assert token.type != "html_block", f"raw HTML block: {token.content[:200]!r}"
        for child in token.children or []:
            assert child.type != "html_inline" or child.content in ALLOWED_HTML, f"raw HTML: {child.content!r}"
            assert child.type not in ("link_open", "image") or (child.attrGet("href") or "").startswith(
                ("#", "https://", "heatmap")), f"injected link {child.attrs}"
        if token.type == "table_open":
            start, end = token.map
            in_table.update(range(start, end))
            width = cell_count(lines[start])
            for row in range(start + 2, end):
                assert cell_count(lines[row]) == width, f"row {row} breaks its table: {lines[row][:300]!r}"
            rows = 0
            for inner in tokens[index + 1:]:
                if inner.type == "table_close":
                    break
                rows += inner.type == "tr_open"
            assert rows == end - start - 1
    for number, line in enumerate(lines):
        if line.startswith("|") and number not in in_code:
            assert number in in_table, f"a table row outside any table: {line[:300]!r}"
    headings, section = {}, ""
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            text = inline_text(tokens[index + 1])
            section = text if token.tag == "h2" else section
            if token.tag != "h3" or section == "Scenarios":  # the h3s returned: scenario headings
                headings.setdefault(token.tag, []).append(text)
    assert headings.get("h1") == ["Keras mask harness report"]
    assert set(headings.get("h2", [])) <= SECTIONS and len(headings["h2"]) == len(set(headings["h2"]))
    assert set(headings) <= {"h1", "h2", "h3"}, headings
    rendered = PARSER.renderer.render(tokens, PARSER.options, {}).lower()
    for tag in ("<script", "<img", "<iframe", "<table><tr", "javascript:alert(1)\""):
        assert tag not in rendered
    visible = "\n".join(inline_text(t) if t.type == "inline" else t.content for t in tokens
                        if t.type in ("inline", "fence", "code_block"))
    return visible, headings.get("h3", []), tokens


def assert_shown(visible: str, value: str, limit: int = 40) -> None:
    expected = shown(value)[:limit]
    assert expected in visible, f"{expected!r} is not shown"


@fuzz("report")
@given(case=report_cases())
@example(case={**{k: "<script>alert(1)</script>|`x`" for k in (
    "description", "source", "error_type", "error_message", "warning_category", "warning_message", "probe",
    "expectation", "evidence", "compiled_detail", "tolerance_glob", "tolerance_reason", "known_what",
    "known_why", "stale_scenario")}, "names": ["a|b\n| c |", "<b>x</b>"], "claim": "C5",
    "known_link": "https://x/(<script>", "environment": {"keras": "3|\n<img src=x>", "numpy": "`2`"}})
def test_hostile_strings_keep_the_report_well_formed(case):
    runs = synthetic_runs(case)
    with workspace() as folder:
        data, facts = report_cli.build(runs, known_file(folder, case))
    markdown = render.render(data)
    assert render.render(data) == markdown, "deterministic"
    json.dumps(facts)  # the summary is plain JSON whatever the strings
    visible, h3, _ = check_well_formed(markdown)
    assert sorted(h3) == sorted(truncated(name) for name in case["names"])
    for name in case["names"]:
        assert_shown(visible, name)
    assert_shown(visible, case["description"])
    assert_shown(visible, case["error_type"] + ": " + case["error_message"])
    assert_shown(visible, case["warning_category"])
    for key in ("warning_message", "expectation", "evidence", "compiled_detail", "known_what"):
        assert_shown(visible, case[key])
    assert_shown(visible, case["probe"])
    for value in case["environment"].values():
        assert_shown(visible, value)
    source = case["source"].rstrip()
    if source.strip():
        expected = source.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
        assert expected in visible, "the reproduction is shown verbatim"


def cell_code(value: str) -> str:
    """A code span for a table cell (markdown.code grew a `cell` flag for the pipe escaping)."""
    try:
        return md.code(value, cell=True)
    except TypeError:
        return md.code(value)


@fuzz("table_cells")
@given(header=st.lists(HOSTILE, min_size=1, max_size=4),
       rows=st.lists(st.lists(st.tuples(HOSTILE, st.booleans()), min_size=1, max_size=4), max_size=4))
def test_escaped_cells_never_break_a_table(header, rows):
    width = len(header)
    cells = [[(row[i % len(row)]) for i in range(width)] for row in rows]
    rendered = [[cell_code(v) if as_code else md.text(v) for v, as_code in row] for row in cells]
    table = md.table([md.text(h) for h in header], rendered)
    tokens = PARSER.parse(table)
    assert [t.type for t in tokens].count("table_open") == 1
    texts = [inline_text(t).strip(" ") for t in tokens if t.type == "inline"]  # an empty code span is "  "
    expected = [truncated(h) for h in header] + [truncated(v) for row in cells for v, _ in row]
    assert texts == expected
    assert not any(c.type == "html_inline" for t in tokens for c in t.children or [])


# ---- renderer bugs: data from an artifact file reaches the markdown unescaped --------------------------


def artifact_through_a_file(tmp_path: Path, edit) -> list[Artifact]:
    """Two real artifacts written to disk, both edited as a hostile machine could, then read back."""
    a = base_artifact()
    b = base_artifact()
    b.label, b.environment = "torch-cpu", {"backend": "torch"}
    b.records["seed/a"].captured.probes["masking"] = Probe(
        b.records["seed/a"].captured.probes["masking"].values + 1, None, "float32")
    for path in (artifacts.write(a, tmp_path), artifacts.write(b, tmp_path)):
        manifest = json.loads(path.read_text())
        edit(manifest["scenarios"][0])
        path.write_text(json.dumps(manifest))
    return artifacts.read_all(tmp_path)


INJECTION = "x | <img src=x onerror=alert(1)>"


def rendered_from_file(tmp_path: Path, edit) -> str:
    runs = artifact_through_a_file(tmp_path, edit)
    data, _ = report_cli.build(runs, tmp_path / "none.toml")
    markdown = render.render(data)
    check_well_formed(markdown)
    return markdown


def test_status_from_a_file_cannot_inject_html(tmp_path):
    # A status outside the known set is refused on read, so it never reaches the renderer.
    with pytest.raises(ArtifactError, match="unknown status") as info:
        rendered_from_file(tmp_path, lambda s: s.update(status=INJECTION))
    assert "\n" not in str(info.value)


def test_compiled_status_from_a_file_cannot_break_its_table(tmp_path):
    rendered_from_file(tmp_path, lambda s: s.update(compiled={"status": INJECTION, "detail": "d"}))


def test_expectation_claim_from_a_file_cannot_break_its_table(tmp_path):
    rendered_from_file(tmp_path, lambda s: s.update(expectations=[
        {"name": "e", "claim": INJECTION, "passed": True, "evidence": "fine"}]))


def test_probe_dtype_from_a_file_cannot_break_its_table(tmp_path):
    rendered_from_file(tmp_path, lambda s: s["probes"][0].update(dtype=INJECTION))


def test_hostile_strings_through_a_real_file_stay_escaped(tmp_path):
    """The escaped fields, end to end: written by artifacts.write, read back, rendered."""
    with pytest.raises(ArtifactError):  # renaming a scenario orphans its arrays: refused, not rendered
        artifact_through_a_file(tmp_path / "renamed", lambda s: s.update(name="seed/a | <script>x</script>"))
    markdown = rendered_from_file(tmp_path, lambda s: s.update(
        description="*not bold* <b>|</b>", warnings=[{"category": "User`Warning", "message": "line\nbreak | <i>"}],
        error={"type": "Value|Error", "message": "<script>alert(1)</script>\n| x |", "traceback": []}))
    visible, _, _ = check_well_formed(markdown)
    for text in ("*not bold* <b>|</b>", "line break | <i>", "User`Warning",
                 "Value|Error: <script>alert(1)</script> | x |"):
        assert text in visible


@pytest.mark.parametrize("link", [
    "https://x/(<script>alert(1)</script>", "https://![img](http://x/y.png)", "https://x/[a](javascript:alert(1))",
    "https://x/`code`<b>", "https://x/a b|c)d", "javascript:alert(1)", "https://x/\\|<!--",
])
def test_known_divergence_link_cannot_inject_markup(tmp_path, link):
    (tmp_path / "known.toml").write_text(
        f'[[divergence]]\nscenario = "*"\nodd = "torch"\nprobes = "*"\nwhat = "w"\nwhy = "y"\nlink = {toml_string(link)}\n')
    runs = artifact_through_a_file(tmp_path / "results", lambda s: None)
    data, _ = report_cli.build(runs, tmp_path / "known.toml")
    check_well_formed(render.render(data))


@pytest.mark.parametrize("description", ["- starts like a list", "1. starts like a list", "3) also", "---",
                                         "=== setext", "+ plus", "* star", "> quote", "# hash"])
def test_description_starting_like_block_markup_is_shown_as_text(description):
    tokens = PARSER.parse("### s\n\n" + md.text(description) + "\n")
    assert [t.type for t in tokens] == ["heading_open", "inline", "heading_close", "paragraph_open", "inline",
                                        "paragraph_close"]
    assert inline_text(tokens[4]) == description


def test_code_span_outside_a_table_shows_pipes_without_backslashes():
    tokens = PARSER.parse("Status: jax: error " + md.code("ValueError: a|b") + "\n")
    assert inline_text(tokens[1]) == "Status: jax: error ValueError: a|b"
