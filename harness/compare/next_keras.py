"""What changes in the next Keras: the newest nightly build against the newest release, per backend,
grouped by cause. numpy only; the report renders it (report/sections/next_keras.py), summary.json carries it.

A change is one scenario on one backend whose comparison (release -> nightly) is not a match, or whose
expectations flip. Its cause is the first probe that differs, in layer order: the class of the layer
that made it (from the run's `layer_classes`) and the kind of change (mask dropped, mask added, mask
changed, values, training values, errors, warnings, expectations). Changes with the same cause form a
group; each group says what it means for a user in one line, which scenarios and backends it touches,
which claims' verdicts move with it, and, where `harness bisect --record` was run for one of its
scenarios, the nightly build that introduced it and the source hunk (stored as data, not rerun).

A probe whose mask the harness could not read is a failure of the harness, never a change in Keras:
such scenarios are listed apart ("unreadable").
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from harness.artifacts import Artifact, ScenarioRecord
from harness.compare import claims, verdicts

TRAINING_PREFIXES = ("loss", "grad/", "step/", "fit/", "evaluate/", "train_on_batch/", "test_on_batch/",
                     "predict/", "metric")
UNCHANGED = ("match", "both-error")
KIND_ORDER = ("mask dropped", "mask added", "mask changed", "values", "training values", "errors",
              "warnings", "expectations")

# What a kind of change means for someone whose model has that layer; {layer} is the layer class.
IMPACT = {
    "mask dropped": "{layer} layers stop passing the mask on: the layers after them read padded steps, and a "
                    "masked loss or metric after them counts those steps",
    "mask added": "{layer} layers now pass on a mask they did not: the layers after them skip steps they used to read",
    "mask changed": "the mask after {layer} layers marks different steps: the layers after them skip other steps",
    "values": "{layer} outputs change at kept (unmasked) steps",
    "training values": "training changes (losses, gradients, weights or logged metrics) in models with {layer} layers",
    "errors": "code that ran now raises, or code that raised now runs ({layer})",
    "warnings": "{layer} layers warn differently; values and masks are unchanged",
    "expectations": "a documented masking behaviour of {layer} layers no longer holds (or now holds)",
}


# Said better for a cause that was investigated (docs/versions.md): (layer class, kind, a scenario the
# group must contain) -> the user-level line. A new group with the same class and kind but other
# scenarios gets the generic line above.
INVESTIGATED = {
    ("Attention", "values", "attn/attention-layer"):
        "a query whose keys are all masked now gets zero attention weights and a zero output (before: "
        "uniform weights over the masked keys); other rows are unchanged",
    ("Model", "errors", "fit/regression-steps-per-execution"):
        "compile(steps_per_execution=2) now trains on PyTorch; the release raises ValueError there",
}


@dataclass(frozen=True)
class Change:
    """One scenario on one backend, from the release to the nightly."""

    scenario: str
    backend: str
    kind: str
    layer_class: str
    probe: str
    detail: str  # one line: the verdict and where, or the expectations that flipped
    flips: tuple[tuple[str, str, bool, bool], ...] = ()  # (claim, check, before, after) of claim checks


@dataclass(frozen=True)
class ClaimMove:
    claim: str
    backend: str
    before: str
    after: str
    scenarios: tuple[str, ...]  # the scenarios whose checks of this claim flipped


@dataclass
class Group:
    layer_class: str
    kind: str
    changes: list[Change] = field(default_factory=list)
    claims: list[ClaimMove] = field(default_factory=list)
    bisect: dict[str, Any] | None = None  # a `harness bisect --record` result for one of its scenarios

    @property
    def key(self) -> str:
        return f"{self.layer_class}: {self.kind}"

    @property
    def backends(self) -> list[str]:
        order = ("tensorflow", "jax", "torch")
        return sorted({c.backend for c in self.changes}, key=lambda b: (order.index(b) if b in order else 9, b))

    @property
    def scenarios(self) -> list[str]:
        return sorted({c.scenario for c in self.changes})

    @property
    def claim_checks(self) -> list[tuple[str, str, bool, bool, int]]:
        """The seed-claim checks that flip in this group: (claim, check, before, after, how many runs)."""
        counted: dict[tuple[str, str, bool, bool], int] = {}
        for change in self.changes:
            for flip in change.flips:
                counted[flip] = counted.get(flip, 0) + 1
        return sorted((*k, n) for k, n in counted.items())

    @property
    def impact(self) -> str:
        for (layer, kind, scenario), line in INVESTIGATED.items():
            if (layer, kind) == (self.layer_class, self.kind) and scenario in self.scenarios:
                return line
        return IMPACT.get(self.kind, "{layer} changes").format(layer=self.layer_class or "layer")


@dataclass
class NextKeras:
    release: dict[str, str]  # backend -> the release run's Keras version
    nightly: dict[str, str]  # backend -> the nightly build
    groups: list[Group]
    claims: list[ClaimMove]
    unreadable: list[tuple[str, str]]  # (backend, scenario): masks the harness could not read
    compared: dict[str, int]  # backend -> scenarios compared
    nightly_matrix: dict[str, dict[str, int]]  # "a vs b" -> verdict counts among the nightly runs
    backends_split: list[tuple[str, str, str, str]]  # (scenario, pair, release verdict, nightly verdict)
    untested: list[tuple[str, str, str]] = field(default_factory=list)  # (backend, scenario, why) skipped


def is_nightly(run: Artifact) -> bool:
    return ".dev" in str(run.environment.get("keras", ""))


def _version_key(version: str) -> tuple:
    found = re.fullmatch(r"(\d+(?:\.\d+)*)(?:\.dev(\d+))?", version)
    if not found:
        return ((), 0, 0)
    release = tuple(int(p) for p in found.group(1).split("."))
    release += (0,) * (4 - len(release))
    return (release, 0, int(found.group(2))) if found.group(2) else (release, 1, 0)


def newest(runs: list[Artifact], backend: str, nightly: bool) -> Artifact | None:
    """The newest Keras 3 run on this backend: a nightly build, or a release (never Keras 2)."""
    chosen = [r for r in runs if r.environment.get("backend", r.backend) == backend and is_nightly(r) == nightly
              and r.environment.get("keras_flavour", "keras") == "keras" and not r.environment.get("cannot_run")]
    return max(chosen, key=lambda r: _version_key(str(r.environment.get("keras", ""))), default=None)


def _base_probe(probe: str) -> str:
    probe = probe.removeprefix("jit/")
    for prefix in ("grad/", "step/"):
        probe = probe.removeprefix(prefix)
    return re.sub(r"#\d+$", "", probe.split("[", 1)[0])


def layer_class(record: ScenarioRecord | None, probe: str) -> str:
    """The Keras class that made a probe: recorded by the run, else guessed from the name (gru_1 -> GRU)."""
    base = _base_probe(probe)
    classes = (record.meta.get("layer_classes") or {}) if record is not None else {}
    if base in classes:
        return str(classes[base])
    if not base or probe.startswith(TRAINING_PREFIXES) and "/" not in probe[len("grad/"):]:
        return "Model"
    leaf = re.sub(r"_\d+$", "", base.rsplit("/", 1)[-1])
    return {"gru": "GRU", "lstm": "LSTM", "simple_rnn": "SimpleRNN"}.get(
        leaf, "".join(part.capitalize() for part in leaf.split("_")))


def _flips(ra: ScenarioRecord, rb: ScenarioRecord) -> list[tuple[str, str | None, bool, bool]]:
    before = {e["name"]: e for e in ra.meta.get("expectations", [])}
    after = {e["name"]: e for e in rb.meta.get("expectations", [])}
    return [(n, before[n].get("claim"), bool(before[n]["passed"]), bool(after[n]["passed"]))
            for n in before if n in after and bool(before[n]["passed"]) != bool(after[n]["passed"])]


# Keras's own words when a layer drops a mask it was given: the strongest evidence of which layer did
_DESTROYS_MASK = re.compile(r"\(of type (\w+)\) was passed an input with a mask attached to it\. However, "
                            r"this layer does not support masking")


def _mask_dropper(ra: ScenarioRecord, rb: ScenarioRecord) -> str:
    """The class of the first layer the nightly newly warns drops its mask ('' if none)."""
    before = {w.message for w in ra.captured.warnings}
    for warning in rb.captured.warnings:
        found = _DESTROYS_MASK.search(warning.message)
        if found and warning.message not in before:
            return found.group(1)
    return ""


def classify(ra: ScenarioRecord, rb: ScenarioRecord, backend: str, a: str, b: str) -> Change | None:
    """The scenario's change from release (a) to nightly (b), or None when it did not change.

    The cause is the first probe that differs; when the nightly newly warns that a layer drops the
    mask it was given, that layer is the cause (a probed layer after it only shows the consequence)."""
    change = _classify(ra, rb, backend, a, b)
    if change is None:
        return None
    claimed = tuple((c, n, x, y) for n, c, x, y in _flips(ra, rb) if c)
    return dataclasses.replace(change, flips=claimed)


def _classify(ra: ScenarioRecord, rb: ScenarioRecord, backend: str, a: str, b: str) -> Change | None:
    pair = verdicts.compare_records(ra, rb, ra.name, a, b)
    flips = _flips(ra, rb)
    flipped = "; ".join(f"'{n}' {'holds' if x else 'fails'} → {'holds' if y else 'fails'}" for n, _, x, y in flips)
    if pair.verdict in UNCHANGED and not flips:
        return None
    if pair.verdict == "error-differs":
        return Change(ra.name, backend, "errors", _error_layer(ra, rb), "", _error_detail(ra, rb, pair.detail))
    changed = [p for p in pair.probes if p.verdict not in ("match", "mask-unreadable")]
    first = next((p for p in changed if not p.probe.startswith("jit/")), changed[0] if changed else None)
    dropper = _mask_dropper(ra, rb)
    if first is None:
        kind = "warnings" if pair.verdict == "warnings-differ" else "expectations"
        return Change(ra.name, backend, kind, dropper or _first_class(rb), "", flipped or pair.detail)
    if first.verdict == "mask-differs":
        kind = ("mask added" if first.mask_a is None else "mask dropped" if first.mask_b is None
                else "mask changed")
    elif first.probe.startswith(TRAINING_PREFIXES):
        kind = "training values"
    else:
        kind = "values"
    detail = f"{first.verdict} at {first.probe}" + (f"; {flipped}" if flipped else "")
    cause = dropper if dropper and kind.startswith("mask") or dropper and kind == "training values" else ""
    return Change(ra.name, backend, kind, cause or layer_class(rb, first.probe), first.probe, detail)


def _first_class(record: ScenarioRecord) -> str:
    classes = record.meta.get("layer_classes") or {}
    return str(next(iter(classes.values()), "Model"))


def _error_layer(ra: ScenarioRecord, rb: ScenarioRecord) -> str:
    """The layer class an error names ("... GRU.call()"), else "Model" (compile, fit, a whole-model call)."""
    for record in (rb, ra):
        error = record.captured.error
        found = error and re.search(r"\b([A-Z][A-Za-z0-9]+)\.(?:call|build|compute_mask)\b", error.message)
        if found:
            return found.group(1)
    return "Model"


def _error_detail(ra: ScenarioRecord, rb: ScenarioRecord, fallback: str) -> str:
    def said(record: ScenarioRecord) -> str:
        error = record.captured.error
        return "runs" if error is None else f"raises {error.type}: {error.message[:160]}"

    return f"the release {said(ra)}; the nightly {said(rb)}" if (ra.captured.error or rb.captured.error) else fallback


def _skip_reason(record: ScenarioRecord) -> str:
    error = record.captured.error
    return error.message if error else "skipped"


def _unreadable(record: ScenarioRecord) -> bool:
    return any(not p.mask_readable for p in record.captured.probes.values())


def build(runs: list[Artifact], versions: list[Artifact], bisects: list[dict[str, Any]] = ()) -> NextKeras | None:
    """The next-Keras facts from the main runs, the version runs and stored bisect results; None when
    no nightly run is present."""
    pool = [*runs, *versions]
    release, nightly, changes, moves, unreadable, compared, untested = {}, {}, [], [], [], {}, []
    pairs: dict[str, tuple[Artifact, Artifact]] = {}
    for backend in ("tensorflow", "jax", "torch"):
        old, new = newest(pool, backend, nightly=False), newest(pool, backend, nightly=True)
        if old is None or new is None:
            continue
        pairs[backend] = (old, new)
        release[backend], nightly[backend] = str(old.environment.get("keras")), str(new.environment.get("keras"))
        common = [n for n in old.records if n in new.records]
        compared[backend] = len(common)
        for name in common:
            ra, rb = old.records[name], new.records[name]
            if _unreadable(ra) or _unreadable(rb):
                unreadable.append((backend, name))
                continue
            if "skipped" in (ra.status, rb.status):  # untested on one side (a package the env lacks)
                untested.append((backend, name, _skip_reason(ra if ra.status == "skipped" else rb)))
                continue
            change = classify(ra, rb, backend, old.label, new.label)
            if change is not None:
                changes.append(change)
        judged_old, judged_new = claims.judge(old), claims.judge(new)
        for claim in claims.CLAIMS:
            before, after = judged_old[claim].verdict, judged_new[claim].verdict
            if before != after:
                flipped = tuple(sorted({n for n in common
                                        for _, c, x, y in _flips(old.records[n], new.records[n]) if c == claim}))
                moves.append(ClaimMove(claim, backend, before, after, flipped))
    if not pairs:
        return None
    groups: dict[tuple[str, str], Group] = {}
    for change in changes:
        key = (change.layer_class, change.kind)
        groups.setdefault(key, Group(*key)).changes.append(change)
    for group in groups.values():
        touched = set(group.scenarios)
        group.claims = [m for m in moves if touched & set(m.scenarios)
                        and m.backend in group.backends]
        group.bisect = _bisect_for(group, bisects)
    ordered = sorted(groups.values(), key=lambda g: (-len(g.scenarios), KIND_ORDER.index(g.kind)
                                                     if g.kind in KIND_ORDER else 99, g.layer_class))
    matrix, split = _nightly_matrix(pool, pairs)
    return NextKeras(release, nightly, ordered, moves, unreadable, compared, matrix, split, untested)


def _bisect_for(group: Group, bisects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A stored bisect in which one of this group's scenarios changed at the named build, with this
    group's layer as its first divergent layer; its source change ranked for that layer."""
    scenarios = set(group.scenarios)
    for record in bisects:
        if not record.get("first") or record.get("backend") not in group.backends:
            continue
        found = record.get("divergences") or ([record["divergence"]] if record.get("divergence") else [])
        if any(d.get("scenario") in scenarios and d.get("layer_class") == group.layer_class for d in found):
            source = (record.get("sources") or {}).get(group.layer_class) or record.get("source")
            return {**record, "source": source}
    return None


def _nightly_matrix(pool: list[Artifact], pairs: dict[str, tuple[Artifact, Artifact]]):
    """The nightly runs compared across backends (verdict counts per pair), and the scenarios whose
    cross-backend verdict differs from the release's (backends that agreed and no longer do, or the reverse)."""
    if len(pairs) < 2:
        return {}, []
    release = verdicts.compare([old for old, _ in pairs.values()])
    nightly = verdicts.compare([new for _, new in pairs.values()])
    matrix = {}
    for a, b in nightly.pairs:
        tally: dict[str, int] = {}
        for name in nightly.scenarios:
            verdict = nightly.get(name, a, b).raw_verdict
            tally[verdict] = tally.get(verdict, 0) + 1
        matrix[f"{_backend(nightly, a)} vs {_backend(nightly, b)}"] = tally
    split = []
    by_backend = {_backend(release, label): label for label in release.labels}
    for a, b in nightly.pairs:
        ba, bb = _backend(nightly, a), _backend(nightly, b)
        ra, rb = by_backend.get(ba), by_backend.get(bb)
        for name in nightly.scenarios:
            now = nightly.get(name, a, b).raw_verdict
            try:
                then = release.get(name, ra, rb).raw_verdict
            except KeyError:
                continue
            if "missing" in (then, now):  # a scenario one side did not run: nothing to say about agreement
                continue
            if (then in UNCHANGED) != (now in UNCHANGED):
                split.append((name, f"{ba} vs {bb}", then, now))
    return matrix, split


def _backend(comparison: verdicts.Comparison, label: str) -> str:
    for backend in ("tensorflow", "jax", "torch"):
        if f"-{backend}-" in f"-{label}-" or label.startswith(backend):
            return backend
    return label


def as_data(facts: NextKeras) -> dict[str, Any]:
    """summary.json's `next_keras`: the same facts the section shows."""
    return {
        "release": facts.release, "nightly": facts.nightly, "compared": facts.compared,
        "groups": [{"layer_class": g.layer_class, "kind": g.kind, "impact": g.impact, "backends": g.backends,
                    "scenarios": g.scenarios,
                    "changes": [{"scenario": c.scenario, "backend": c.backend, "probe": c.probe, "detail": c.detail}
                                for c in g.changes],
                    "claims": [{"claim": m.claim, "backend": m.backend, "before": m.before, "after": m.after}
                               for m in g.claims],
                    "claim_checks": [{"claim": c, "check": n, "before": "holds" if x else "fails",
                                      "after": "holds" if y else "fails", "runs": k}
                                     for c, n, x, y, k in g.claim_checks],
                    "introduced_in": (g.bisect or {}).get("first"),
                    "last_good": (g.bisect or {}).get("last_same"),
                    "source": _source_summary(g.bisect)}
                   for g in facts.groups],
        "claims": [{"claim": m.claim, "backend": m.backend, "before": m.before, "after": m.after,
                    "scenarios": list(m.scenarios)} for m in facts.claims],
        "unreadable": [{"backend": b, "scenario": s} for b, s in facts.unreadable],
        "untested": [{"backend": b, "scenario": s, "why": w} for b, s, w in facts.untested],
        "nightly_matrix": facts.nightly_matrix,
        "backends_split": [{"scenario": s, "pair": p, "release": r, "nightly": n}
                           for s, p, r, n in facts.backends_split],
    }


def _source_summary(record: dict[str, Any] | None) -> dict[str, Any] | None:
    source = (record or {}).get("source")
    if not source or not source.get("files"):
        return None
    top = source["files"][0]
    return {"file": top["path"], "hunk": source.get("hunk", ""), "files_changed": len(source["files"]),
            "wheels": [source.get("old"), source.get("new")], "command": (record or {}).get("command", "")}
