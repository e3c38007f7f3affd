"""Fuzz throughput on new cases: generated cases per minute on all three backends, before and after.

    python benchmarks/fuzz_bench.py [--cases 15] [--warm 10] [--seed 1000] [--configs before,after] [--json FILE]

Each configuration starts one case worker per backend with an EMPTY compilation cache of its own,
runs `--warm` cases of another seed untimed (a campaign's steady state: the caches hold programs of
earlier, different cases), then times `--cases` generated cases of `--seed`, new to it, each on every
backend in parallel, compared with the suite's comparison. The configurations
run one after the other in the same process, on the same cases' indices, so their rates can be read
side by side (the machine's load is recorded before and after each):

  before   sizes drawn freely (generator buckets=False), JAX's caches cleared after every case, Keras's
           own initializers run for weights the harness overwrites: the fuzzer as it was
  after    shape buckets (one width for most cases' sizes), JAX's in-memory caches kept for 20 cases,
           placeholder initializers (numpy zeros, overwritten; harness/run/spec_build.py), the
           persistent compilation cache shared by the cases of the run

Reported per configuration: cases per minute, per backend the seconds per case inside the worker
(`run_scenario`'s duration), the slowest backend's share, the supervisor's own cost per case
(generate + protocol + arrays + compare), and the verdicts. Startup (the imports) is timed apart: a
campaign pays it once. Numbers from a shared machine are noisy; compare the ratio within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.generate import findings, generator, workers  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
CONFIGS = {
    "before": {"buckets": False, "clear_every": 1, "keras_initializers": True},
    "after": {"buckets": True, "clear_every": 20, "keras_initializers": False},
}


def load() -> float:
    return round(os.getloadavg()[0], 2)


def run_config(name: str, cases: int, seed: int, warm: int) -> dict:
    config = CONFIGS[name]
    per_backend: dict[str, list[float]] = {b: [] for b in BACKENDS}
    supervisor, walls, verdicts = [], [], {}
    with tempfile.TemporaryDirectory(prefix=f"fuzz-bench-{name}-") as cache:
        os.environ["HARNESS_CACHE_DIR"] = cache  # empty: every case is new to this configuration
        os.environ["HARNESS_JAX_CLEAR_EVERY"] = str(config["clear_every"])
        if config["keras_initializers"]:
            os.environ["HARNESS_KERAS_INITIALIZERS"] = "1"
        else:
            os.environ.pop("HARNESS_KERAS_INITIALIZERS", None)
        load_before = load()
        with workers.Pool(BACKENDS) as pool:
            started = time.perf_counter()
            pool.start()
            startup = time.perf_counter() - started
            for index in range(warm):  # other cases first: what the caches hold in a running campaign
                pool.run(generator.generate(seed + 1, index, buckets=config["buckets"]))
            load_timed = load()
            loop_started = time.perf_counter()
            for index in range(cases):
                t0 = time.perf_counter()
                spec = generator.generate(seed, index, buckets=config["buckets"])
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
    return {
        "config": name, **config, "cases": cases, "seed": seed, "startup_s": round(startup, 2),
        "loop_s": round(loop, 2), "cases_per_minute": round(60 * cases / loop, 2),
        "warm_cases": warm, "load_1min_start_timed_end": [load_before, load_timed, load()],
        "per_backend_s_per_case": {b: {"mean": round(statistics.mean(v), 3), "median": round(statistics.median(v), 3),
                                       "max": round(max(v), 3)} for b, v in per_backend.items()},
        "share_of_wall": {b: round(sum(v) / sum(walls), 3) for b, v in per_backend.items()},
        "supervisor_s_per_case": round(statistics.mean(supervisor), 4),
        "verdicts": verdicts,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--configs", default="before,after")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    runs = [run_config(name.strip(), args.cases, args.seed, args.warm) for name in args.configs.split(",") if name.strip()]
    rates = {r["config"]: r["cases_per_minute"] for r in runs}
    result = {"runs": runs, "cases_per_minute": rates, "cpus": os.cpu_count(),
              "note": "backends run in parallel per case; on a shared 2-core machine they compete for the cores"}
    if {"before", "after"} <= set(rates) and rates["before"]:
        result["after_over_before"] = round(rates["after"] / rates["before"], 2)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
