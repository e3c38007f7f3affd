"""Coverage by generation alone (no backend): how many cases guided and unguided campaigns need.

    python benchmarks/coverage_sim.py [--cases 1500] [--seeds 0,1,2] [--shards 1] [--json FILE]

A campaign's coverage depends only on the specs it generates, never on a backend's answer, so the
campaign's own case sequence (campaign.case_at: the boundary share, the fit share, the random share and,
guided, the cases aimed at what is not exercised yet) replayed through coverage.Coverage is exactly what
a campaign of that many cases reports. Both modes run side by side on the same seeds. Reported per seed
and mode: the cases needed to reach 50/75/90/95 % of the reachable combinations, the coverage after
300/600/900 cases (a 30-minute campaign at 10/20/30 cases per minute), layers per case (what a case
costs a backend), and the generator's own milliseconds per case. With --shards N the N shards of one
seed run interleaved and their coverage is the union (as `harness fuzz-merge` reports it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.generate import campaign, coverage  # noqa: E402

LEVELS = (0.5, 0.75, 0.9, 0.95)
CHECKPOINTS = (300, 600, 900)


def simulate(seed: int, cases: int, guided: bool, shards: int = 1) -> dict:
    options = [campaign.Options(out=Path("."), budget=campaign.Budget(cases=cases), seed=seed, shard=(i, shards),
                                guided=guided) for i in range(shards)]
    covers = [coverage.Coverage() for _ in range(shards)]
    reachable = len(coverage.reachable_combos())
    reached: dict[float, int | None] = dict.fromkeys(LEVELS)
    at: dict[int, float] = {}
    layers, spent = [], 0.0
    for n in range(1, cases + 1):
        shard = (n - 1) % shards
        index = shard + shards * ((n - 1) // shards)
        started = time.perf_counter()
        spec = campaign.case_at(options[shard], index, covers[shard])
        spent += time.perf_counter() - started
        covers[shard].add(spec)
        layers.append(len(spec["layers"]))
        share = len(set().union(*(c.exercised() for c in covers))) / reachable
        for level in LEVELS:
            if reached[level] is None and share >= level:
                reached[level] = n
        if n in CHECKPOINTS:
            at[n] = round(share, 3)
    return {"seed": seed, "guided": guided, "shards": shards, "cases": cases, "final": round(share, 3),
            "cases_to": {f"{level:.0%}": reached[level] for level in LEVELS}, "coverage_at": at,
            "layers_per_case": round(statistics.mean(layers), 1), "ms_per_case": round(1000 * spent / cases, 1),
            "reachable": reachable}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1500)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    print(f"load {os.getloadavg()[0]:.1f}; reachable combinations: {len(coverage.reachable_combos())}")
    print("| seed | mode | " + " | ".join(f"cases to {level:.0%}" for level in LEVELS) + " | "
          + " | ".join(f"at {n}" for n in CHECKPOINTS if n < args.cases)
          + f" | at {args.cases} | layers/case | gen ms/case |")
    print("|---" * (5 + len(LEVELS) + sum(n < args.cases for n in CHECKPOINTS)) + "|")
    for seed in (int(s) for s in args.seeds.split(",")):
        for guided in (False, True):
            row = simulate(seed, args.cases, guided, args.shards)
            rows.append(row)
            print(f"| {seed} | {'guided' if guided else 'unguided'} | "
                  + " | ".join(str(row["cases_to"][f"{level:.0%}"] or f"> {args.cases}") for level in LEVELS) + " | "
                  + " | ".join(f"{row['coverage_at'].get(n, 0):.1%}" for n in CHECKPOINTS if n < args.cases)
                  + f" | {row['final']:.1%} | {row['layers_per_case']} | {row['ms_per_case']} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
