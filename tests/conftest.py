"""Shared builders for the backend-free tests: synthetic probes, records and artifacts in memory.

Nothing here imports keras or a backend. The builders make the same objects the run stage makes
(`harness.captured` / `harness.artifacts` dataclasses), so compare, claims, report and publish can
be exercised on arrays whose differences the test chose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import artifacts
from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

# run label -> backend, as the run stage names them (backend-device)
LABELS = {"tensorflow-cpu": "tensorflow", "jax-cpu": "jax", "torch-cpu": "torch"}
TF, JAX, TORCH = LABELS

# The seed's mask: timesteps 0,1,0,1,0 for every sequence.
SEED_MASK = np.array([[0, 1, 0, 1, 0], [0, 1, 0, 1, 0]], dtype=bool)


def make_probe(values: Any, mask: Any = None, dtype: str | None = None) -> Probe:
    """A probe from array-likes; `dtype` defaults to the array's own dtype name."""
    array = np.asarray(values)
    return Probe(values=array, mask=None if mask is None else np.asarray(mask, dtype=bool),
                 dtype=dtype or str(array.dtype))


def make_record(name: str, probes: Mapping[str, Probe] | None = None, *, status: str | None = None,
                error: tuple[str, str] | ErrorInfo | None = None,
                warnings: Iterable[tuple[str, str]] = (), duration_s: float = 0.25,
                **meta: Any) -> ScenarioRecord:
    """One scenario's record. An `error` (type, message) makes the status "error" unless given."""
    info = ErrorInfo(*error) if isinstance(error, tuple) else error
    if status is None:
        status = "ok" if info is None else "error"
    captured = Captured(scenario=name, backend="", probes=dict(probes or {}), error=info,
                        warnings=[WarningInfo(c, m) for c, m in warnings])
    full_meta = {"description": f"synthetic scenario {name}", "tags": [], "tolerances": {},
                 "expectations": [], **meta}
    return ScenarioRecord(name=name, status=status, duration_s=duration_s, captured=captured,
                          meta=full_meta)


def make_env(backend: str, **extra: Any) -> dict[str, Any]:
    return {"backend": backend, "backend_version": "1.2.3", "keras": "3.15.1", "numpy": "2.1.0",
            "python": "3.11.9", "platform": "Linux-x86_64", "device": "cpu", "floatx": "float32",
            "harness": "0.1.0", **extra}


def make_artifact(label: str, records: Iterable[ScenarioRecord], backend: str | None = None,
                  **env: Any) -> Artifact:
    backend = backend or LABELS.get(label, label.split("-")[0])
    return Artifact(label=label, environment=make_env(backend, **env),
                    records={r.name: r for r in records})


def expectation(name: str, claim: str | None, passed: bool, evidence: str = "") -> dict[str, Any]:
    """One expectation result as the run stage records it in `meta["expectations"]`."""
    return {"name": name, "claim": claim, "passed": passed, "evidence": evidence}


def seed_probes(shift: float = 0.0, masked_shift: float = 0.0,
                mask: np.ndarray = SEED_MASK) -> dict[str, Probe]:
    """A small seed-like model: an input with a mask, an RNN output, a dense output without one.

    `shift` moves one kept value of "gru_1"; `masked_shift` one masked value (timestep 0).
    """
    base = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3) / 10
    gru = base.copy()
    gru[1, 3, 2] += np.float32(shift)  # timestep 3 is kept
    gru[0, 0, 1] += np.float32(masked_shift)  # timestep 0 is masked
    return {
        "M_num": make_probe(base, mask),
        "gru_1": make_probe(gru, mask),
        "outputs": make_probe(np.array([[0.25], [0.75]], dtype=np.float32)),
    }


def three_runs(*records_per_label: Iterable[ScenarioRecord]) -> list[Artifact]:
    """Artifacts for tensorflow-cpu, jax-cpu, torch-cpu from one record list each."""
    return [make_artifact(label, records) for label, records in zip(LABELS, records_per_label)]


def write_runs(runs: Iterable[Artifact], folder: Path) -> Path:
    """Write artifacts with `harness.artifacts.write`; return the folder."""
    for run in runs:
        artifacts.write(run, folder)
    return folder


@pytest.fixture
def write_artifacts(tmp_path: Path):
    """`write_artifacts(runs, "results")` writes the runs under tmp_path and returns the folder."""

    def write(runs: Iterable[Artifact], name: str = "results") -> Path:
        return write_runs(runs, tmp_path / name)

    return write


@pytest.fixture
def no_known(tmp_path: Path) -> Path:
    """A path with no known-divergence registry (so the repo's own file is never read)."""
    return tmp_path / "no-known-divergences.toml"


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


# ---- a fixed synthetic artifact set: every verdict, claims, compiled probes, a known divergence ----

KNOWN_TOML = '''
[[divergence]]
id = "torch-gru-kernel"
scenario = "rnn/gru-known"
odd = "torch"
probes = "gru_*"
verdicts = ["differs"]
abs_range = [0.4, 0.6]
what = "GRU kept outputs differ by 0.5 on torch"
why = "synthetic: a documented kernel difference"
link = "https://github.com/keras-team/keras/issues/0"

[[divergence]]
id = "removed"
scenario = "removed/*"
odd = "jax"
probes = "*"
what = "a divergence that no longer happens"
why = "stale on purpose"
'''


def _mask_with(changed: tuple[int, int]) -> np.ndarray:
    mask = SEED_MASK.copy()
    mask[changed] = ~mask[changed]
    return mask


def _small(values: Any, dtype: Any = np.float32, mask: Any = None) -> Probe:
    return make_probe(np.asarray(values, dtype=dtype), mask)


def reference_records(label: str, baseline: bool = False) -> list[ScenarioRecord]:
    """The records one run (tensorflow-cpu, jax-cpu or torch-cpu) has in the fixed artifact set.

    `baseline=True` gives an earlier, deliberately different set: there rnn/gru-differs still
    matched, seed/masking-concat differed on torch, and torch's C4 check on the seed passed.
    """
    tf, jax, torch = (label == TF, label == JAX, label == TORCH)
    seed = seed_probes()
    exp = expectation
    records = [
        make_record("seed/masking-concat", {**(seed_probes(shift=0.5) if baseline and torch else seed),
                                            **({"jit/gru_1": seed["gru_1"]} if not torch else {})},
                    description="The seed model: Masking per input, Concatenate, GRU.",
                    expectations=[
                        exp("mask is 01010", "C2", True, "mask 01010 01010"),
                        exp("concat keeps the mask", "C5", True, ""),
                        exp("gru skips masked steps", "C4", baseline or not torch,
                            "masked steps repeat the previous output" if baseline or not torch else
                            "step 2 is 0.31, neither 0 nor the previous output"),
                    ],
                    deterministic=True,
                    compiled={"status": "unsupported", "detail": "torch.compile skipped"} if torch else
                    {"status": "ok", "detail": "jax.jit" if jax else "tf.function(jit_compile=True)"}),
        make_record("rnn/gru-differs", seed_probes(shift=0.5 if torch and not baseline else 0.0),
                    description="GRU output differs on one backend.", deterministic=True,
                    source='@scenario("rnn/gru-differs", description="...")\ndef build():\n'
                           '    x = keras.Input((5, 3), name="M_num")\n'
                           '    return keras.Model(x, keras.layers.GRU(3, name="gru_1")(x)), [X]'),
        make_record("rnn/masked-only", seed_probes(masked_shift=0.25 if jax else 0.0),
                    description="A difference at a masked timestep only.",
                    expectations=[exp("masked output is zero", "C4", not jax, "" if not jax else "0.25 at step 0")]),
        make_record("merge/mask-differs", seed_probes(mask=_mask_with((1, 4)) if torch else SEED_MASK),
                    description="Concatenate's mask differs."),
        make_record("shape/differs", {"dense": _small(np.zeros((2, 4 if jax else 3)))},
                    description="Output shape differs."),
        make_record("dtype/differs", {"ids": _small([1, 2, 3], np.int64 if tf else np.int32)},
                    description="Output dtype differs."),
        make_record("rnn/raises-on-tf", {} if tf else seed,
                    error=("ValueError", "GRU cannot take a mask of shape (2, 4)") if tf else None,
                    description="Raises on one backend."),
        make_record("rnn/raises-everywhere", error=("NotImplementedError", f"no masking support on {label}"),
                    description="Raises the same type everywhere.",
                    expectations=[exp("a layer without mask support raises", "C1", True, "NotImplementedError")]),
        make_record("seed/warns-on-tf", seed,
                    warnings=[("UserWarning", "Layer 'concat' does not support masking")] if tf else [],
                    description="A warning on one backend only."),
        make_record("rnn/nondeterministic", seed_probes(shift=0.125 if torch else 0.0),
                    description="Two eager calls disagree on torch.", deterministic=not torch),
        make_record("rnn/gru-known", seed_probes(shift=0.5 if torch else 0.0),
                    description="A known divergence."),
        make_record("tolerance/override", {
            "gru_1": _small([1.0, 2.0 + (0.05 if jax else 0.0)]),
            "dense": _small([1.0, 2.0 + (3e-6 if jax else 0.0)])},
            description="A loose override on gru_*, a float32-default dense.",
            tolerances={"gru_*": {"atol": 0.1, "rtol": 0.0, "reason": "reset_after rounding"}}),
        make_record("values/nonfinite", {"x": _small([np.nan, np.inf, 1.0, 2.0 + (1.0 if torch else 0.0)])},
                    description="NaN and Inf on every backend; torch differs in one finite value.",
                    expectations=[exp("embedding makes a mask", "C2", True, "mask 0110"),
                                  exp("second Masking redefines the mask", "C6", False, "mask unchanged")]),
    ]
    if not jax:
        records.append(make_record("gone/jax", seed, description="Not run by jax."))
    return records


def reference_runs(baseline: bool = False) -> list[Artifact]:
    """The fixed artifact set: three runs over the scenarios above (deterministic content)."""
    env = {TF: {"backend_version": "2.21.0"}, JAX: {"backend_version": "0.10.2"},
           TORCH: {"backend_version": "2.13.0", "device_name": "none (CPU only)"}}
    keras = {"keras": "3.14.0"} if baseline else {}
    return [make_artifact(label, reference_records(label, baseline), **env[label], **keras) for label in LABELS]


@pytest.fixture
def known_file(tmp_path: Path) -> Path:
    path = tmp_path / "known.toml"
    path.write_text(KNOWN_TOML, encoding="utf-8")
    return path


# Reports built from synthetic runs keep the default results folder, `reports/results` (relative), and
# the report reads Keras-version runs from its sibling `reports/versions`, where the published release
# runs are committed. Tests of other sections must not pick those up: only the tests that are about
# the published folders or the versions section read it.
READS_PUBLISHED_VERSIONS = {"test_versions", "test_readme"}


@pytest.fixture(autouse=True)
def _published_version_runs_stay_out(request, monkeypatch):
    if request.module.__name__.rsplit(".", 1)[-1] in READS_PUBLISHED_VERSIONS:
        return
    from harness.report import versions

    monkeypatch.setattr(versions, "VERSIONS_DIR", "versions-not-read-by-this-test")
