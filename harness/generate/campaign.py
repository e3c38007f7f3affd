"""A fuzz campaign: generate (or mutate) cases, run them on every backend, keep and shrink divergences.

Never imports keras: the backends run in the case workers (workers.Pool). Cases are a pure function of
(seed, index), and shard I/N takes the indices i with i % N == I, so shards of one seed never overlap
and any case can be regenerated alone. Every finding is written as soon as it is shrunk (atomically),
so an interrupted campaign keeps what it found.

Output folder:
    findings.json        one entry per finding (signature, pairs, verdict, layer, sizes, paths, known)
    found/<slug>.py      the shrunk case as a scenario file (copy into scenarios/found/ to keep it)
    repro/<slug>.py      a standalone keras + numpy script
    cases/<slug>.json    the original and the shrunk spec
    campaign.json        counts per verdict, throughput, per-backend seconds, coverage
"""

from __future__ import annotations

import fnmatch
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import safety
from harness.artifacts import ScenarioRecord
from harness.compare.known import KnownDivergence
from harness.define import spec as specs
from harness.define.spec import SpecError
from harness.generate import causes, coverage, findings, generator, guide, mutate, repro, shrink
from harness.generate.findings import Verdict

Runner = Callable[[dict[str, Any]], dict[str, ScenarioRecord]]


@dataclass
class Budget:
    seconds: float | None = None
    cases: int | None = None

    def spent(self, started: float, cases: int) -> bool:
        if self.cases is not None:
            return cases >= self.cases
        return time.monotonic() - started >= (self.seconds or 0.0)


@dataclass
class Options:
    out: Path
    budget: Budget
    seed: int = 0
    shard: tuple[int, int] = (0, 1)
    mutate: bool = False
    known: list[KnownDivergence] = field(default_factory=list)
    kept: list[findings.Kept] = field(default_factory=list)  # findings already in the suite (scenarios/found)
    shrink_tries: int = 80
    shrink_seconds: float = 240.0
    max_layers: int = 6
    variants: bool = False  # also shrink a found or kept cause reached through a new signature (layer class)
    guided: bool = True  # aim half the cases at combinations not yet exercised (guide.py); --unguided: off
    keras: list[str] = field(default_factory=list)  # the Keras version(s) the workers run: findings' tags
    log: Callable[[str], None] = print
    judge: Callable[..., Verdict] = findings.judge  # versions mode: per axis (harness/generate/versions.py)
    ends_at: float | None = None  # monotonic time a timed budget runs out (set by run)


def case_at(options: Options, index: int, cover: coverage.Coverage | None = None) -> dict[str, Any]:
    """Case `index`: a mutant, a case aimed at what `cover` has not exercised yet, or a random one."""
    if options.mutate:
        return mutate.mutant(options.seed, index)
    if options.guided and cover is not None and guide.guided(index):
        spec, aimed = guide.generate(options.seed, index, cover.uncovered(), shard=options.shard)
        cover.features["guided cases"] += 1
        cover.features["combinations aimed at"] += len(aimed)
        return spec
    return generator.generate(options.seed, index, max_layers=options.max_layers)


def run(options: Options, runner: Runner, cases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The campaign loop; returns the campaign summary (also written to campaign.json).

    `cases`: run exactly these specs (--spec) instead of generating until the budget is spent.
    """
    out = options.out
    for sub in ("found", "repro", "cases"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if options.budget.seconds is not None:
        options.ends_at = started + options.budget.seconds
    shard, shards = options.shard
    tally: Counter[str] = Counter()
    seen: dict[str, dict[str, Any]] = {}  # cause -> what it counts against (shared by a finding's causes)
    signatures: Counter[str] = Counter()
    entries: list[dict[str, Any]] = []
    cover = coverage.Coverage()
    given = list(cases) if cases is not None else None
    index, cases = shard, 0
    summary: dict[str, Any] = {}
    while (cases < len(given)) if given is not None else not options.budget.spent(started, cases):
        spec = given[cases] if given is not None else case_at(options, index, cover)
        index += shards
        cases += 1
        cover.add(spec)
        verdict = options.judge(spec, runner(spec), options.known)
        tally[verdict.verdict if verdict.signature is None else "finding"] += 1
        if verdict.signature is not None:
            tally[f"finding:{verdict.verdict}"] += 1
            signatures[verdict.signature] += 1
            hit = seen.get(verdict.cause) or _kept_hit(options, verdict.cause, seen, spec["name"], verdict.signature)
            if hit is None:
                options.log(f"  case {spec['name']}: {verdict.signature} -> shrinking")
                found = shrink_finding(spec, verdict, options, runner)
                # Shrinking drops the facts the divergence does not need: the shrunk cause may be one
                # already found or kept, and then this is that finding again, not a new one.
                cause = found.final.cause or verdict.cause
                hit = seen.get(cause) or _kept_hit(options, cause, seen, spec["name"], verdict.signature)
                if hit is None:
                    entry = keep(found, verdict, options, runner)
                    hit = seen[cause] = {"cause": cause, "home": verdict.signature, "cases": 0, "entry": entry,
                                         "signatures": []}
                    entries.append(entry)
                    findings.write_json(out / "findings.json", entries)
                else:
                    before, after = len(spec["layers"]), len(found.spec["layers"])
                    options.log(f"  case {spec['name']}: shrunk to {cause} ({before} -> {after} layers), "
                                "found before")
                    # what shrinking showed, whichever cause it matched: every shrunk case is accounted for
                    hit.setdefault("shrunk", []).append({"case": spec["name"], "signature": verdict.signature,
                                                         "cause_before": verdict.cause, "layers": [before, after],
                                                         "layer_classes": specs.layer_classes(found.spec)})
                    if options.variants and verdict.signature != hit["home"]:  # already shrunk: its reach
                        hit.setdefault("variants", []).append(_variant(spec, verdict, options, runner, found))
                        hit["signatures"].append(verdict.signature)
                seen[verdict.cause] = hit
            hit["cases"] += 1
            if verdict.signature not in hit["signatures"]:
                hit["signatures"].append(verdict.signature)
                if options.variants and verdict.signature != hit["home"]:
                    hit.setdefault("variants", []).append(_variant(spec, verdict, options, runner))
        if cases % 10 == 0:
            options.log(f"  {cases} cases, {len(entries)} new finding(s), {time.monotonic() - started:.0f}s")
        summary = _summary(options, cases, started, tally, seen, signatures, cover)
        findings.write_json(out / "campaign.json", summary)
    findings.write_json(out / "findings.json", entries)
    return summary


def _variant(spec: dict[str, Any], verdict: Verdict, options: Options, runner: Runner,
             found: Shrunk | None = None) -> dict[str, Any]:
    """One cause reached through another layer class (--variants): shrunk and written, not a new finding."""
    if found is None:
        options.log(f"  case {spec['name']}: {verdict.signature}, a variant of {verdict.cause} -> shrinking")
        found = shrink_finding(spec, verdict, options, runner)
    slug = "variant-" + findings.slug(verdict.signature, verdict.cause)
    paths = {"spec": str(options.out / "cases" / f"{slug}.json"), "repro": str(options.out / "repro" / f"{slug}.py")}
    findings.write_json(Path(paths["spec"]), {"original": spec, "shrunk": found.spec, "signature": verdict.signature,
                                              "cause": found.final.cause})
    _write_text(Path(paths["repro"]), repro.script(found.spec, f"harness fuzz: {verdict.signature}"))
    return {"signature": verdict.signature, "case": spec["name"], "cause_after_shrinking": found.final.cause,
            "layer_classes": specs.layer_classes(found.spec), "size_before": specs.size(spec),
            "size_after": specs.size(found.spec), "shrink_tries": found.tries, "paths": paths}


def _kept_hit(options: Options, cause: str, seen: dict[str, dict[str, Any]], case: str,
              signature: str = "") -> dict[str, Any] | None:
    """A finding already kept in the suite with this cause: what this case counts against."""
    same = [k for k in options.kept if k.cause == cause]  # the one kept with this very signature first
    kept = next((k for k in same if k.signature == signature), same[0] if same else None)
    if kept is None:
        return None
    hit = seen[cause] = {"cause": kept.cause, "home": kept.signature, "cases": 0, "kept": kept.scenario, "known": _known_for(options, kept),
                         "signatures": []}
    options.log(f"  case {case}: {cause} (counted against {kept.scenario}{', known' if hit['known'] else ''})")
    return hit


def _known_for(options: Options, kept: findings.Kept) -> str | None:
    """The known-divergence entry that names a kept finding's scenario, if one does."""
    return next((e.id for e in options.known
                 if any(fnmatch.fnmatchcase(kept.scenario, f.scenario) for f in e.fingerprints)), None)


def _summary(options: Options, cases: int, started: float, tally: Counter, seen: dict, signatures: Counter,
             cover: Any) -> dict:
    wall = time.monotonic() - started
    return {"seed": options.seed, "shard": f"{options.shard[0]}/{options.shard[1]}", "mutate": options.mutate,
            "cases": cases, "wall_s": round(wall, 1),
            "cases_per_minute": round(60 * cases / wall, 2) if wall else None,
            "verdicts": dict(sorted(tally.items())),
            "signatures": dict(sorted(signatures.items())),
            # one entry per cause: how many cases hit it, by which signatures, and what it counts against
            "causes": {v["cause"]: {"cases": v["cases"], "signatures": v["signatures"],
                                    **({"kept": v["kept"], "known": v["known"]} if "kept" in v else
                                       {"finding": v["entry"]["name"]}),
                                    **({"variants": v["variants"]} if v.get("variants") else {}),
                                    **({"shrunk": v["shrunk"]} if v.get("shrunk") else {})}
                       for v in {id(v): v for v in seen.values()}.values()},
            "coverage": cover.report()}


@dataclass
class Shrunk:
    original: dict[str, Any]
    spec: dict[str, Any]  # the smallest variant that kept the signature
    final: Verdict  # its verdict (the cause after shrinking: the facts the divergence needs)
    tries: int


def shrink_finding(spec: dict[str, Any], verdict: Verdict, options: Options, runner: Runner) -> Shrunk:
    """Shrink a diverging case, keeping its signature, within the campaign's try and time budget."""
    start = {**spec, "weight_seed": specs.weight_seed(spec)}  # its weights, whatever it is renamed to later

    def keeps(candidate: dict[str, Any]) -> bool:
        return options.judge(candidate, runner(candidate), options.known).signature == verdict.signature

    deadline = time.monotonic() + options.shrink_seconds
    if options.ends_at is not None:  # a timed campaign ends on time: shrinking gets what is left (>= 60 s)
        deadline = min(deadline, max(options.ends_at, time.monotonic() + 60.0))
    shrunk, tries = shrink.shrink(start, keeps, max_tries=options.shrink_tries, deadline=deadline)
    return Shrunk(spec, shrunk, options.judge(shrunk, runner(shrunk), options.known), tries)


def keep(found: Shrunk, verdict: Verdict, options: Options, runner: Runner) -> dict[str, Any]:
    """Rename the shrunk case to its finding's name, write its files; the findings.json entry.

    The weights are seeded by weight_seed, which the rename keeps, so the renamed case is the same model
    with the same weights; it is run once more under its new name to show the divergence survived.
    """
    cause = found.final.cause or verdict.cause
    # a fit case is kept as a fit/ scenario (its file lives in scenarios/found/ with the other findings)
    name = ("fit/found-" if found.spec.get("fit") else "found/") + findings.slug(verdict.signature, cause)
    spec, shrunk = found.original, {**found.spec, "name": name}
    final = options.judge(shrunk, runner(shrunk), options.known)
    reproduced = final.signature == verdict.signature  # False: it did not show again (judge it by hand)
    final = final if reproduced else found.final
    slug = name.split("/", 1)[1]
    out = options.out
    paths = {"spec": str(out / "cases" / f"{slug}.json"), "repro": str(out / "repro" / f"{slug}.py")}
    findings.write_json(Path(paths["spec"]), {"original": spec, "shrunk": shrunk, "signature": verdict.signature,
                                              "cause": cause})
    header = (f"harness fuzz finding {slug}: {final.verdict} between {', '.join(final.pairs)}, first at "
              f"{final.layer_class} ({final.layer}).")
    _write_text(Path(paths["repro"]), repro.script(shrunk, header))
    paths["scenario"] = str(out / "found" / f"{slug}.py")
    features = causes.features(shrunk, final.layer_class or verdict.signature.split("|")[2], options.keras)
    source = findings.scenario_source(shrunk, final, len(spec["layers"]), f"scenarios/found/repro/{slug}.py",
                                      causes.tags(features))
    _write_text(Path(paths["scenario"]), source)
    entry = {
        "name": name, "signature": verdict.signature, "pairs": list(verdict.pairs), "verdict": verdict.verdict,
        "first_divergent_layer": final.layer, "first_divergent_class": final.layer_class,
        "layer_classes": specs.layer_classes(shrunk), "detail": final.detail, "evidence": final.evidence,
        "size_before": specs.size(spec), "size_after": specs.size(shrunk), "shrink_tries": found.tries,
        "found_in_case": spec["name"], "reproduced_under_name": reproduced, "cause": cause,
        "covered_by_known": final.known or None, "features": features, "paths": paths,
    }
    options.log(f"  kept {name}: {entry['size_before']['layers']} -> {entry['size_after']['layers']} layers "
                f"in {found.tries} tries")
    return entry


def _write_text(path: Path, text: str) -> None:
    safety.atomic_write(path, text.encode("utf-8"))


def check_spec(spec: Any) -> dict[str, Any]:
    """A user-supplied spec (--spec FILE): validated against the grammar, SpecError otherwise."""
    from harness.generate import grammar

    if not isinstance(spec, dict):
        raise SpecError("a spec is a JSON object")
    return grammar.check(spec)
