"""What a campaign keeps of a divergence: signature, scenario file, repro script, findings.json entry.

A signature names the cause as the comparison sees it: the backend pairs that diverge, the verdict
kind, and the class of the first divergent layer (or the error types, when a backend raised). Two
cases with one signature are one finding. Everything here is numpy-only text and data.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import safety
from harness.artifacts import Artifact, ScenarioRecord
from harness.compare import verdicts
from harness.compare.known import KnownDivergence
from harness.define import spec as specs
from harness.generate import causes, fitmode

# Verdicts that are not findings: agreement, understood, and RNG-driven layers in training mode (two
# calls of one backend already disagree, so the backends cannot be expected to agree).
NOT_FINDINGS = verdicts.EXPECTED | {"nondeterministic"}
RNG_VERDICTS = ("differs", "differs-masked-only", "mask-differs", "nondeterministic")


@dataclass(frozen=True)
class Verdict:
    verdict: str  # the case's verdict over all pairs (compare's scenario verdict)
    signature: str | None  # None: nothing to keep
    pairs: tuple[str, ...] = ()
    layer: str = ""  # the first divergent probe's layer
    layer_class: str = ""
    detail: str = ""
    known: str = ""  # the known-divergence entry that explains it, if one does
    evidence: dict[str, Any] = field(default_factory=dict)
    cause: str = ""  # causes.cause: what one bug is, whichever layer class the generator reached it by


def judge(spec: dict[str, Any], records: dict[str, ScenarioRecord],
          known: list[KnownDivergence] = ()) -> Verdict:
    """Compare one case's records from each backend with the suite's own comparison."""
    name = judged_name(spec)
    if spec.get("fit"):  # the claims' results, where a scenario's record keeps them (known fingerprints read them)
        records = {b: replace(r, meta={**r.meta, "expectations": fitmode.expectation_results(spec, r.captured)})
                   for b, r in records.items()}
    runs = [Artifact(label=b, environment={"backend": b}, records={name: r}) for b, r in records.items()]
    comparison = verdicts.compare(runs, list(known))
    overall = verdicts.scenario_verdict(comparison, name)
    pairs = [comparison.get(name, a, b) for a, b in comparison.pairs]
    known_by = next((p.known.id for p in pairs if p.known), "")
    if len(records) > 1 and all(r.status in ("error", "crashed") and r.captured.error for r in records.values()):
        # Every backend refuses the case (a zero-length sequence into an RNN, ...): only the exception
        # types can differ, which is not a masking divergence. Counted, never kept.
        errors = sorted({f"{b}:{_error_type(r)}" for b, r in records.items()})
        return Verdict("all-raise", None, detail=",".join(errors), known=known_by)
    diverging = [p for p in pairs if p.verdict not in NOT_FINDINGS]
    if not diverging:
        # a pair a known entry explains is explained with its claims (a fingerprint may name them)
        unexplained = [(p.a, p.b) for p in pairs if not p.known]
        return _claims_split(spec, records, unexplained) or Verdict(overall, None, known=known_by)
    if all(_noise(p) for p in diverging):
        return Verdict("noise", None, detail=diverging[0].detail)
    if any(not r.meta.get("deterministic", True) for r in records.values()) and all(
            p.raw_verdict in RNG_VERDICTS for p in diverging):
        # Two calls of one backend already disagree (Dropout, GaussianNoise in training mode): a mask
        # computed from the values (custom.SetMask after Dropout) differs for the same reason.
        return Verdict("nondeterministic", None, detail="a backend gave different results on two calls")
    worst = min((p.raw_verdict for p in diverging), key=verdicts.SEVERITY.index)
    chosen = [p for p in diverging if p.raw_verdict == worst]
    first = chosen[0]
    ops = {la["name"]: causes.layer_class(spec, la) for la in spec["layers"]}
    if worst == "warnings-differ":  # named by the warning itself: no probe differs, no layer is first
        layer, evidence = "", {}
        layer_class = _warning_class(records, first)
    elif first.probes:
        probe = next((p for p in first.probes if p.verdict != "match"), first.probes[0])
        layer = probe.probe.removeprefix("jit/").split("[")[0]
        # a fit probe (fit/history/loss, fit/weights/l3#0) is named by its group: fit/history, fit/weights
        layer_class = "/".join(layer.split("/")[:2]) if layer.startswith("fit/") else ops.get(layer, layer)
        evidence = {"probe": probe.probe, "mask_a": _bits(probe.mask_a), "mask_b": _bits(probe.mask_b),
                    "max_abs_kept": probe.kept.max_abs, "max_abs_masked": probe.masked.max_abs,
                    "first_index": probe.kept.first_index or probe.masked.first_index,
                    "first_values": probe.kept.first_values or probe.masked.first_values}
    else:
        layer, evidence = "", {}
        errors = sorted({f"{b}:{_error_type(r)}" for b, r in records.items() if r.status != "ok"})
        layer_class = "error(" + ",".join(errors) + ")"
    labels = tuple(p.key for p in chosen)
    signature = f"{'+'.join(labels)}|{worst}|{layer_class}"
    return Verdict(overall, signature, labels, layer, layer_class, first.detail, known_by, evidence,
                   causes.cause(spec, signature, layer))


def judged_name(spec: dict[str, Any]) -> str:
    """The name a case is compared under: its own, except that a fit case is judged as a fit/ scenario
    whose name says what it uses (-adam, -weight), as the hand-written fit scenarios' names do, so the
    known entries for fit/ scenarios (JAX's training metrics, TensorFlow's Adam on repeated rows, the
    1D sample weight) apply to generated fit cases as to written ones."""
    fit = spec.get("fit")
    if not fit or spec["name"].startswith("fit/"):
        return spec["name"]
    uses = ["adam"] * (fit.get("optimizer") == "Adam") + ["weight"] * bool(fit.get("sample_weight_rank")
                                                                         or fit.get("class_weight"))
    return "fit/" + "-".join([spec["name"].rsplit("/", 1)[-1], *uses])


def _claims_split(spec: dict[str, Any], records: dict[str, ScenarioRecord], pairs: list) -> Verdict | None:
    """Fit mode: a training claim (T1..T5) that holds on one backend and not on another."""
    if not spec.get("fit") or any(r.status != "ok" for r in records.values()):
        return None
    results = {b: fitmode.claim_results(spec, r.captured) for b, r in records.items()}
    for name in next(iter(results.values()), {}):
        split = [(a, b) for a, b in pairs if a in results and b in results and results[a][name] != results[b][name]]
        if split:
            labels = tuple(f"{a}-vs-{b}" for a, b in split)
            claim = name.split(" ", 1)[0]
            signature = f"{'+'.join(labels)}|claim-differs|fit/{claim}"
            held = {b: r[name] for b, r in results.items()}
            return Verdict("claim-differs", signature, labels, "", f"fit/{claim}", f"{name}: {held}",
                           evidence={"claim": name, "holds": held}, cause=causes.cause(spec, signature))
    return None


# A value difference this small is float rounding (summation order, fused kernels), not a masking rule:
# counted as "noise", never kept. Masking divergences move values by the size of the values themselves.
NOISE_ABS = {"float32": 1e-3, "float16": 5e-2, "bfloat16": 1e-1}


def _noise(pair: Any) -> bool:
    if pair.raw_verdict not in ("differs", "differs-masked-only"):
        return False
    return all(p.verdict == "match" or (p.verdict in ("differs", "differs-masked-only")
                                        and p.max_abs <= NOISE_ABS.get(p.dtype_a or "", 0.0))
               for p in pair.probes)


_QUOTED = re.compile(r"(['\"`]).*?\1")
_TYPE = re.compile(r"\b(of type|type) \w+")


def warning_pattern(message: str) -> str:
    """A warning without what names one instance: quoted names, layer types and numbers."""
    text = _TYPE.sub(r"\1 *", _QUOTED.sub("*", message.splitlines()[0] if message else ""))
    return re.sub(r"\d+", "N", text)[:80]


def _warning_class(records: dict[str, ScenarioRecord], pair: Any) -> str:
    """'warning(UserWarning: Layer * (of type *) does not support masking...)': the first warning one side
    of the pair gives and the other does not."""
    sides = [{f"{w.category}: {warning_pattern(w.message)}" for w in records[x].captured.warnings}
             for x in (pair.a, pair.b) if x in records]
    only = sorted(sides[0] ^ sides[1]) if len(sides) == 2 else []
    return f"warning({only[0] if only else 'count'})"


def _error_type(record: ScenarioRecord) -> str:
    return record.captured.error.type if record.captured.error else record.status


def _bits(mask: Any) -> str:
    if mask is None:
        return "no mask"
    rows = mask.reshape(mask.shape[0], -1) if mask.ndim > 1 else mask.reshape(1, -1)
    return "|".join("".join("1" if m else "0" for m in row) for row in rows)


def slug(signature: str, cause: str = "") -> str:
    """A file and scenario name from a signature (and cause): readable, stable for the same finding.

    The digest covers the cause too: two causes reached through one layer class get two files."""
    pairs, verdict, layer_class = signature.split("|")
    backends = sorted({b for pair in pairs.split("+") for b in pair.split("-vs-")})
    odd = "-".join(_short(b) for b in backends)
    digest = specs.seed_for(signature, *([cause] if cause else [])) % 16**6
    text = f"{verdict}-{layer_class}-{odd}".lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:70] + f"-{digest:06x}"


def _short(backend: str) -> str:
    return {"tensorflow": "tf"}.get(backend, backend)


SCENARIO_TEMPLATE = '''"""Found by generation (harness fuzz): {verdict}, first at a {layer_class} layer.

Diverging pairs: {pairs}. Shrunk from {before} to {after} layers besides the inputs.
Standalone reproduction (keras + numpy only):
{repro}
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = {signature!r}  # noqa: E501
CAUSE = {cause!r}  # noqa: E501
SPEC = json.loads(r"""
{spec_json}
""")


@scenario(
    SPEC["name"],
    description={description!r},  # noqa: E501
    tags={tags!r},
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
'''


def scenario_source(spec: dict[str, Any], found: Verdict, before: int, repro: str, tags: list[str] = ()) -> str:
    description = (f"generated: {found.verdict} ({' '.join(found.pairs)}) first at {found.layer_class}; "
                   f"layers {' > '.join(specs.layer_classes(spec))}")
    return SCENARIO_TEMPLATE.format(
        verdict=found.verdict, pairs=", ".join(found.pairs), layer_class=found.layer_class, before=before,
        after=len(spec["layers"]), repro=repro, signature=found.signature, cause=found.cause,
        spec_json=json.dumps(spec, indent=1, sort_keys=True), description=description[:300],
        tags=("generated", "found", found.verdict, *tags))  # tags: causes.tags, the finding's features


MAX_FINDING_BYTES = 4 << 20  # a finding's scenario file is a few KB
SIGNATURE_RE = re.compile(r"^SIGNATURE = (['\"])(.*?)\1", re.MULTILINE)
SPEC_RE = re.compile(r'^SPEC = json\.loads\(r"""(.*?)"""\)', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Kept:
    """A finding already in the suite (scenarios/found): its file, signature and cause."""

    scenario: str  # the scenario name (found/<slug>)
    path: str
    signature: str
    cause: str


def kept_findings(folder: Path) -> list[Kept]:
    """The findings already kept in a folder (scenarios/found), with the cause of each.

    A file written before causes were recorded has its cause computed from its SPEC and SIGNATURE.
    """
    found = []
    for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
        try:  # bounded: a FIFO or a link to /dev/zero there is skipped with a warning, not read for ever
            text = safety.read_bounded(path, limit=MAX_FINDING_BYTES).decode("utf-8", errors="replace")
        except (OSError, safety.RefusedFile) as exc:
            print(f"harness: warning: skipping {safety.printable(path)}: {exc}", file=sys.stderr)
            continue
        signature, spec_text = SIGNATURE_RE.search(text), SPEC_RE.search(text)
        if not signature:
            continue
        try:
            spec = specs.loads(spec_text.group(1)) if spec_text else None
        except specs.SpecError:
            spec = None
        cause = causes.cause(spec, signature.group(2)) if spec else ""
        found.append(Kept(spec["name"] if spec else f"found/{path.stem}", str(path), signature.group(2), cause))
    return found


def known_signatures(folder: Path) -> dict[str, str]:
    """signature -> scenario file, for the findings already kept in a folder (scenarios/found)."""
    return {k.signature: k.path for k in kept_findings(folder)}


def write_json(path: Path, data: Any) -> None:
    safety.atomic_write(path, (json.dumps(data, indent=1, sort_keys=True, default=str) + "\n").encode())
