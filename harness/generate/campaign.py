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

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import artifacts
from harness.artifacts import ScenarioRecord
from harness.compare.known import KnownDivergence
from harness.define import spec as specs
from harness.define.spec import SpecError
from harness.generate import coverage, findings, generator, mutate, repro, shrink
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
    kept: dict[str, str] = field(default_factory=dict)  # signature -> scenario already in the suite
    shrink_tries: int = 80
    shrink_seconds: float = 240.0
    max_layers: int = 6
    log: Callable[[str], None] = print
    ends_at: float | None = None  # monotonic time a timed budget runs out (set by run)


def case_at(options: Options, index: int) -> dict[str, Any]:
    if options.mutate:
        return mutate.mutant(options.seed, index)
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
    seen: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    cover = coverage.Coverage()
    given = list(cases) if cases is not None else None
    index, cases = shard, 0
    summary: dict[str, Any] = {}
    while (cases < len(given)) if given is not None else not options.budget.spent(started, cases):
        spec = given[cases] if given is not None else case_at(options, index)
        index += shards
        cases += 1
        cover.add(spec)
        verdict = findings.judge(spec, runner(spec), options.known)
        tally[verdict.verdict if verdict.signature is None else "finding"] += 1
        if verdict.signature is not None:
            tally[f"finding:{verdict.verdict}"] += 1
            if verdict.signature in seen:
                seen[verdict.signature]["cases"] += 1
            elif verdict.signature in options.kept:
                seen[verdict.signature] = {"cases": 1, "kept": options.kept[verdict.signature]}
                options.log(f"  case {spec['name']}: {verdict.signature} "
                            f"(already in {options.kept[verdict.signature]})")
            else:
                options.log(f"  case {spec['name']}: {verdict.signature} -> shrinking")
                entry = keep(spec, verdict, options, runner)
                seen[verdict.signature] = {"cases": 1, "entry": entry}
                entries.append(entry)
                findings.write_json(out / "findings.json", entries)
        if cases % 10 == 0:
            options.log(f"  {cases} cases, {len(entries)} new finding(s), {time.monotonic() - started:.0f}s")
        summary = _summary(options, cases, started, tally, seen, cover)
        findings.write_json(out / "campaign.json", summary)
    findings.write_json(out / "findings.json", entries)
    return summary


def _summary(options: Options, cases: int, started: float, tally: Counter, seen: dict, cover: Any) -> dict:
    wall = time.monotonic() - started
    return {"seed": options.seed, "shard": f"{options.shard[0]}/{options.shard[1]}", "mutate": options.mutate,
            "cases": cases, "wall_s": round(wall, 1),
            "cases_per_minute": round(60 * cases / wall, 2) if wall else None,
            "verdicts": dict(sorted(tally.items())),
            "signatures": {s: {"cases": v["cases"], **({"kept": v["kept"]} if "kept" in v else {})}
                           for s, v in sorted(seen.items())},
            "coverage": cover.report()}


def keep(spec: dict[str, Any], verdict: Verdict, options: Options, runner: Runner) -> dict[str, Any]:
    """Rename the case to its finding's name, shrink it, write its files; the findings.json entry."""
    name = "found/" + findings.slug(verdict.signature)
    renamed = {**spec, "name": name}
    reproduced = findings.judge(renamed, runner(renamed), options.known).signature == verdict.signature
    start = renamed if reproduced else spec  # weights are seeded by name: a rename can lose a divergence

    def keeps(candidate: dict[str, Any]) -> bool:
        return findings.judge(candidate, runner(candidate), options.known).signature == verdict.signature

    deadline = time.monotonic() + options.shrink_seconds
    if options.ends_at is not None:  # a timed campaign ends on time: shrinking gets what is left (>= 60 s)
        deadline = min(deadline, max(options.ends_at, time.monotonic() + 60.0))
    shrunk, tries = shrink.shrink(start, keeps, max_tries=options.shrink_tries, deadline=deadline)
    final = findings.judge(shrunk, runner(shrunk), options.known)
    slug = name.split("/", 1)[1]
    out = options.out
    paths = {"spec": str(out / "cases" / f"{slug}.json"), "repro": str(out / "repro" / f"{slug}.py")}
    findings.write_json(Path(paths["spec"]), {"original": spec, "shrunk": shrunk, "signature": verdict.signature})
    header = (f"harness fuzz finding {slug}: {final.verdict} between {', '.join(final.pairs)}, first at "
              f"{final.layer_class} ({final.layer}).")
    _write_text(Path(paths["repro"]), repro.script(shrunk, header))
    if reproduced:  # the scenario runs under its own name: only then does the suite see the same weights
        paths["scenario"] = str(out / "found" / f"{slug}.py")
        source = findings.scenario_source(shrunk, final, len(spec["layers"]),
                                          f"scenarios/found/repro/{slug}.py")
        _write_text(Path(paths["scenario"]), source)
    entry = {
        "name": name, "signature": verdict.signature, "pairs": list(verdict.pairs), "verdict": verdict.verdict,
        "first_divergent_layer": final.layer, "first_divergent_class": final.layer_class,
        "layer_classes": specs.layer_classes(shrunk), "detail": final.detail, "evidence": final.evidence,
        "size_before": specs.size(spec), "size_after": specs.size(shrunk), "shrink_tries": tries,
        "found_in_case": spec["name"], "reproduced_under_name": reproduced,
        "covered_by_known": final.known or None, "paths": paths,
    }
    options.log(f"  kept {name}: {entry['size_before']['layers']} -> {entry['size_after']['layers']} layers "
                f"in {tries} tries")
    return entry


def _write_text(path: Path, text: str) -> None:
    artifacts.atomic_write(path, text.encode("utf-8"))


def check_spec(spec: Any) -> dict[str, Any]:
    """A user-supplied spec (--spec FILE): validated against the grammar, SpecError otherwise."""
    from harness.generate import grammar

    if not isinstance(spec, dict):
        raise SpecError("a spec is a JSON object")
    return grammar.check(spec)
