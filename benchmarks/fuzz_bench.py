"""Fuzz throughput with warm workers: generated cases per minute on all three backends, cost per backend.

    python benchmarks/fuzz_bench.py [--cases 30] [--seed 0] [--json FILE]

Starts one case worker per backend (the startup, i.e. the imports, is timed apart: a campaign pays it
once), then runs `--cases` generated cases, each on every backend in parallel, and compares them with
the suite's comparison. Reported: cases per minute (target >= 30), and per backend the seconds per case
inside the worker (build, set weights, two eager calls, capture: `run_scenario`'s duration), the slowest
backend's share of the wall time (the backends run in parallel, so the slowest one sets the pace), and
the supervisor's own cost per case (generate + protocol + arrays + compare). Numbers from a shared
machine are noisy; compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.generate import findings, generator, workers  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    per_backend: dict[str, list[float]] = {b: [] for b in BACKENDS}
    supervisor, walls, verdicts = [], [], {}
    with workers.Pool(BACKENDS) as pool:
        started = time.perf_counter()
        pool.start()
        startup = time.perf_counter() - started
        loop_started = time.perf_counter()
        for index in range(args.cases):
            t0 = time.perf_counter()
            spec = generator.generate(args.seed, index)
            t1 = time.perf_counter()
            records = pool.run(spec)
            t2 = time.perf_counter()
            verdict = findings.judge(spec, records)
            t3 = time.perf_counter()
            for backend, record in records.items():
                per_backend[backend].append(record.duration_s)
            slowest = max(r.duration_s for r in records.values())
            walls.append(t3 - t0)
            supervisor.append((t1 - t0) + (t3 - t2) + max(0.0, (t2 - t1) - slowest))
            verdicts[verdict.verdict] = verdicts.get(verdict.verdict, 0) + 1
        loop = time.perf_counter() - loop_started
    result = {
        "cases": args.cases, "seed": args.seed, "startup_s": round(startup, 2), "loop_s": round(loop, 2),
        "cases_per_minute": round(60 * args.cases / loop, 2),
        "per_backend_s_per_case": {b: {"mean": round(statistics.mean(v), 3), "median": round(statistics.median(v), 3),
                                       "max": round(max(v), 3)} for b, v in per_backend.items()},
        "share_of_wall": {b: round(sum(v) / sum(walls), 3) for b, v in per_backend.items()},
        "supervisor_s_per_case": round(statistics.mean(supervisor), 4),
        "verdicts": verdicts,
        "note": "backends run in parallel per case; on a shared 2-core machine they compete for the cores",
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
