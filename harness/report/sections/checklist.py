"""The per-path answer as a checklist: one row per feature a masked model uses, one column per path.

A user reads it against their own model: find the features it uses, read across to the backend it
moves to. A row's scenarios are those whose tags name the feature (FEATURES, the one table that maps
features to tags); a cell says "same" when every such scenario matches or fails the same way on that
path, else what differs in a few words, linked to the numbered difference and its fix (or to the
scenario, for a divergence nobody has explained). Families beyond the core suite (a theme such as
saving/ or ragged/) get a row each from the data, so a new family needs no edit here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.compare.verdicts import PairComparison
from harness.report import markdown as md
from harness.report.model import ReportModel
from harness.report.sections import guidance

HEADING = "Is my model affected? Feature by feature"


@dataclass(frozen=True)
class Feature:
    """A feature of a masked model; a scenario has it when its tags hold every tag of any one group."""

    name: str
    groups: tuple[frozenset[str], ...]


def _feature(name: str, *groups: str) -> Feature:
    # "adam embedding" is one group (both tags needed); tags compare with "-" and "_" alike
    return Feature(name, tuple(frozenset(_norm(t) for t in g.split()) for g in groups))


def _norm(tag: str) -> str:
    return tag.lower().replace("-", "_")


FEATURES: tuple[Feature, ...] = (
    _feature("Embedding(mask_zero=True)", "embedding"),
    _feature("Masking", "masking"),
    _feature("LSTM / GRU / SimpleRNN", "lstm", "gru", "gru_v1", "simple_rnn", "rnn"),
    _feature("Bidirectional", "bidirectional"),
    _feature("RNN initial_state", "initial_state"),
    _feature("go_backwards / unroll", "go_backwards", "unroll"),
    _feature("return_state", "return_state"),
    _feature("Attention masks and causal masks", "attention", "mha", "attention_mask", "causal"),
    _feature("Pooling", "pooling", "global_average_pooling", "global_max_pooling", "global_max_pool",
             "max_pooling1d"),
    _feature("Merges (Concatenate, Add, ...)", "merge", "concatenate", "add", "average", "maximum", "multiply"),
    _feature("Custom layers (compute_mask, Lambda)", "custom", "compute_mask", "custom_mask_arg", "lambda"),
    _feature("Mixed precision", "mixed_float16", "mixed_bfloat16"),
    _feature("fit / evaluate metrics", "fit", "metrics"),
    _feature("sample_weight / class_weight", "sample_weight", "class_weight", "mean_with_sample_weight"),
    _feature("Adam / SGD on embeddings", "adam embedding", "sgd embedding", "optimizer embedding"),
    _feature("steps_per_execution", "steps_per_execution"),
    _feature("jit_compile", "jit_compile"),
)

# Families the rows above already cover; any other family present (a theme) gets a row of its own.
CORE_FAMILIES = frozenset({"claims", "rnn", "attn", "merge", "pool", "layers", "explicit", "train", "fit",
                           "dtypes", "seed", "models", "found"})

SHORT_IMPACT = {  # a difference in a few words (IMPACTS keys of scenarios/known_divergences.toml)
    "error": "raises an error",
    "metrics": "logged metrics only",
    "kept": "values at kept steps",
    "masked": "values at masked steps",
    "mask": "the mask",
    "training": "training",
    "warnings": "warnings only",
}


@dataclass(frozen=True)
class Column:
    """One path: a title and, for a scenario, its comparison on that path (None: not compared); or,
    for a path judged another way (the next Keras), the whole cell from a row's scenarios."""

    title: str
    pair: Callable[[str], PairComparison | None] = lambda name: None
    unavailable: str = ""  # what a cell says when the path was not run at all
    describe: Callable[[list[str]], str] | None = None


def family(name: str) -> str:
    return name.split("/", 1)[0] if "/" in name else ""


def tags_by_scenario(data: ReportModel) -> dict[str, frozenset[str]]:
    """Each scenario's tags (normalized) as its runs recorded them, plus its family."""
    out: dict[str, set[str]] = {}
    for run in data.runs:
        for name, record in run.records.items():
            out.setdefault(name, {_norm(family(name))}).update(_norm(str(t)) for t in record.meta.get("tags", []))
    return {name: frozenset(tags) for name, tags in out.items()}


def rows(data: ReportModel) -> list[tuple[str, list[str]]]:
    """(row title, scenarios) for every feature, then every theme family present."""
    names = list(data.comparison.scenarios)
    compared = set(names)
    having: dict[str, set[str]] = {}  # tag -> the scenarios that carry it
    for name, tags in tags_by_scenario(data).items():
        if name in compared:
            for tag in tags:
                having.setdefault(tag, set()).add(name)

    def carrying(*groups: frozenset[str]) -> list[str]:
        found = set().union(*(set.intersection(*(having.get(t, set()) for t in g)) for g in groups))
        return [n for n in names if n in found]

    out = [(f.name, carrying(*f.groups)) for f in FEATURES]
    themes = sorted({family(n) for n in names} - CORE_FAMILIES - {""})
    return out + [(f"{theme}/ scenarios", carrying(frozenset({_norm(theme)}))) for theme in themes]


def columns(data: ReportModel) -> list[Column]:
    cmp = data.comparison
    cols = [Column(path.title, lambda name, a=path.a, b=path.b: cmp.results.get((name, a, b)))
            for path in data.migration_paths]
    cols.append(next_keras_column(data))
    return cols


NEXT_KERAS_ANCHOR = "what-changes-in-the-next-keras"  # sections/next_keras.py's heading


def next_keras_column(data: ReportModel) -> Column:
    """This Keras against the newest keras-nightly (compare/next_keras.py's facts): per row, how many of
    its scenarios change on some backend and the kinds of change; "not run" without a nightly run."""
    found = data.next_keras
    if found is None:
        return Column("This Keras → next Keras", unavailable="not run")
    changed: dict[str, list[str]] = {}  # scenario -> kinds of change, in the section's order
    for group in found.groups:
        for change in group.changes:
            kinds = changed.setdefault(change.scenario, [])
            if group.kind not in kinds:
                kinds.append(group.kind)
    skipped: dict[str, set[str]] = {}  # scenario -> backends where one side skipped it
    for backend, scenario, _ in found.untested:
        skipped.setdefault(scenario, set()).add(backend)
    untested = {s for s, where in skipped.items() if len(where) >= len(found.compared)}

    def describe(names: list[str]) -> str:
        compared = [n for n in names if n not in untested]
        if not compared:
            return "not compared"
        changes = [n for n in compared if n in changed]
        if not changes:
            return "same"
        kinds = list(dict.fromkeys(k for n in changes for k in changed[n]))
        return (f"{len(changes)} of {len(compared)} change: "
                f"[{md.text(', '.join(kinds))}](#{NEXT_KERAS_ANCHOR})")

    return Column("This Keras → next Keras", describe=describe)


def cell(scenarios: Iterable[str], column: Column, numbered: list, scenario_link: Callable[[str], str]) -> str:
    names = list(scenarios)
    if not names:
        return "no scenario"
    if column.describe is not None:
        return column.describe(names)
    pairs = [(n, column.pair(n)) for n in names]
    compared = [(n, p) for n, p in pairs if p is not None]
    if not compared:
        return column.unavailable or "not compared"
    differing = [(n, p) for n, p in compared if p.verdict not in ("match", "both-error")]
    if not differing:
        return "same"
    # what differs in a few words -> links to the numbered differences (or the scenarios) behind it
    parts: dict[str, list[tuple[int, str]]] = {}  # words -> (difference number, link), in number order
    for n, p in differing:
        # a pair two causes explain together (TensorFlow's Adam step and JAX's training metrics) names both
        for entry in (p.explained_by if p.verdict == "known" else ()) or (None,):
            if entry is not None:
                number = next((i for i, e in enumerate(numbered, 1) if e is entry), 0)
                words = SHORT_IMPACT.get(entry.impact, p.raw_verdict.replace("-", " "))
                link = (f"[{number}](#{guidance.difference_anchor(number, entry)})" if number
                        else "[known](#known-divergences)")
            else:
                words, number, link = f"**{p.verdict}, not understood**", 0, scenario_link(n)
            if (number, link) not in parts.setdefault(words, []):
                parts[words].append((number, link))
    return f"{len(differing)} of {len(compared)} differ: " + "; ".join(
        f"{words} ({', '.join(link for _, link in sorted(links))})" for words, links in parts.items())


def render(data: ReportModel) -> str:
    """The checklist."""
    cmp = data.comparison
    if not cmp.pairs:
        return ""
    numbered = data.differences
    cols = columns(data)

    def link(name: str) -> str:
        return f"[{md.text(name)}](#{md.slug(name)})"

    table = [[md.text(title), *(cell(names, c, numbered, link) for c in cols)] for title, names in rows(data)]
    return "\n".join([
        f"## {HEADING}", "",
        "Find the features your model uses, then read across to the backend you move to. \"same\": every "
        "scenario using the feature gives the same masks and values (within tolerance) or fails the same "
        "way on that path; otherwise how many differ and what, linked to the difference and what to do. "
        "A feature is found from the scenarios' tags; \"no scenario\" means none tests it; \"not run\": the "
        "report holds no runs for that path.", "",
        md.table(["feature", *(md.text(c.title) for c in cols)], table)])
