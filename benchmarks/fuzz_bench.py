"""Fuzz throughput on new cases: generated cases per minute on all three backends, two codes side by side.

    python benchmarks/fuzz_bench.py [--cases 15] [--warm 10] [--seed 1000] [--rounds 1] [--repeat]
                                    [--before-tree DIR] [--configs before,after] [--venvs DIR] [--json FILE]

A configuration is the case workers' code and how the supervisor drives them:

  before   the workers of another checkout (--before-tree, e.g. `git worktree add /tmp/fz-before 4df21c3`),
           driven as that code was: every case on JAX as users run it (eager: every op compiled for its shapes)
  after    this checkout's workers as a campaign runs them by default
  opt0     as after, with XLA_FLAGS=--xla_backend_optimization_level=0 (cheaper XLA CPU compiles)
  jit      as after, JAX screening each case as one jax.jit program and running again eagerly whatever
           the screening does not settle (HARNESS_FUZZ_JAX_MODE=jit; harness/generate/workers.py)

Each configuration starts one worker per backend with an EMPTY compilation cache of its own, runs
`--warm` cases of another seed untimed (a campaign's steady state: the caches hold programs of earlier,
different cases), then times `--cases` generated cases of `--seed`, new to it, each on every backend
in parallel, judged with the suite's comparison; `--repeat` then times the same cases once more (cases
seen before). Every configuration runs the same specs (made by this checkout's generator), so their
verdicts must agree: the result says whether they do, case by case. `--rounds 2` runs the
configurations interleaved twice (before, after, before, after) to spread a shared machine's load over
both; the load average is recorded at the start, timed start and end of each.

Reported per configuration and round: cases per minute (new, and repeated), per backend the seconds per
case inside the worker (`run_scenario`'s duration; a screened case run again counts both runs), the
cases run again on JAX, the supervisor's own cost per case (generate + protocol + arrays + compare),
and the verdicts. Startup (the imports) is timed apart: a campaign pays it once.
`--venvs DIR`: run each backend's worker with DIR/{tf,jax,torch}/bin/python (the nox session venvs)
instead of this interpreter.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.generate import findings, generator, workers  # noqa: E402

BACKENDS = ("tensorflow", "jax", "torch")
VENV_NAMES = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
# The worker of a given checkout: its harness first on the path, whatever the interpreter has installed.
BOOT = ("import sys; sys.path.insert(0, {tree!r}); from harness.run import case_worker; "
        "sys.exit(case_worker.main(sys.argv[1:]))")


def load() -> float:
    return round(os.getloadavg()[0], 2)


def command_for(tree: Path, venvs: Path | None, workdir: Path):
    def command(backend: str) -> list[str]:
        python = str(venvs / VENV_NAMES[backend] / "bin" / "python") if venvs else sys.executable
        return [python, "-c", BOOT.format(tree=str(tree)), backend, str(workdir)]
    return command


def timed(pool: workers.Pool, specs: list[dict]) -> dict:
    per_backend: dict[str, list[float]] = {b: [] for b in BACKENDS}
    supervisor, walls, verdicts, rechecks = [], [], [], pool.rechecks
    started = time.perf_counter()
    for spec in specs:
        t0 = time.perf_counter()
        records = pool.run(spec)
        t1 = time.perf_counter()
        verdict = findings.judge(spec, records)
        t2 = time.perf_counter()
        for backend, record in records.items():
            per_backend[backend].append(record.duration_s)
        walls.append(t2 - t0)
        supervisor.append((t2 - t1) + max(0.0, (t1 - t0) - max(r.duration_s for r in records.values())))
        verdicts.append(verdict.signature or verdict.verdict)
    loop = time.perf_counter() - started
    return {
        "loop_s": round(loop, 2), "cases_per_minute": round(60 * len(specs) / loop, 2),
        "per_backend_s_per_case": {b: {"mean": round(statistics.mean(v), 3), "median": round(statistics.median(v), 3),
                                       "max": round(max(v), 3)} for b, v in per_backend.items()},
        "share_of_wall": {b: round(sum(v) / sum(walls), 3) for b, v in per_backend.items()},
        "supervisor_s_per_case": round(statistics.mean(supervisor), 4),
        "jax_run_again": pool.rechecks - rechecks, "verdicts": verdicts,
    }


def run_config(name: str, tree: Path, specs: list[dict], warm: list[dict], venvs: Path | None,
               repeat: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"fuzz-bench-{name}-") as tmp:
        os.environ["HARNESS_CACHE_DIR"] = str(Path(tmp) / "cache")  # empty: every case is new to it
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        load_start = load()
        with workers.Pool(BACKENDS, workdir=workdir, command_for=command_for(tree, venvs, workdir),
                          screen=name == "jit") as pool:
            started = time.perf_counter()
            pool.start()
            startup = time.perf_counter() - started
            for spec in warm:  # other cases first: what the caches hold in a running campaign
                pool.run(spec)
            load_timed = load()
            new = timed(pool, specs)
            again = timed(pool, specs) if repeat else None
    result = {"config": name, "tree": str(tree), "startup_s": round(startup, 2), "cases": len(specs),
              "warm_cases": len(warm), "load_1min_start_timed_end": [load_start, load_timed, load()], "new": new}
    if again:
        result["repeated"] = again
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--repeat", action="store_true", help="time the same cases again (seen before)")
    parser.add_argument("--configs", default="before,after")
    parser.add_argument("--before-tree", type=Path, default=Path("/tmp/fz-before"))
    parser.add_argument("--venvs", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = set(names) - {"before", "after", "opt0", "jit"}
    if unknown or args.cases < 1 or args.warm < 0 or args.rounds < 1:
        parser.error(f"unknown configuration(s) {sorted(unknown)}" if unknown
                     else "--cases and --rounds >= 1, --warm >= 0")
    if "before" in names and not (args.before_tree / "harness" / "run" / "case_worker.py").is_file():
        parser.error(f"--before-tree {args.before_tree}: no checkout there "
                     f"(git worktree add {args.before_tree} <commit>)")
    specs = [generator.generate(args.seed, i) for i in range(args.cases)]
    warm = [generator.generate(args.seed + 1, i) for i in range(args.warm)]
    runs = []
    for _ in range(args.rounds):
        for name in names:
            os.environ.pop("XLA_FLAGS", None)
            if name == "opt0":
                os.environ["XLA_FLAGS"] = "--xla_backend_optimization_level=0"
            runs.append(run_config(name, args.before_tree if name == "before" else ROOT, specs, warm,
                                   args.venvs, args.repeat))
            print(f"{name}: {runs[-1]['new']['cases_per_minute']} new cases/min, load "
                  f"{runs[-1]['load_1min_start_timed_end']}", file=sys.stderr, flush=True)
    rates = {n: [r["new"]["cases_per_minute"] for r in runs if r["config"] == n] for n in names}
    first = runs[0]["new"]["verdicts"]
    result = {"runs": runs, "new_cases_per_minute": rates, "cpus": os.cpu_count(),
              "same_verdicts": all(r["new"]["verdicts"] == first for r in runs),
              "verdict_differences": [
                  {"case": i, **{f"{r['config']}#{k}": r["new"]["verdicts"][i] for k, r in enumerate(runs)}}
                  for i in range(len(specs)) if len({r["new"]["verdicts"][i] for r in runs}) > 1],
              "note": "backends run in parallel per case; on a shared 2-core machine they compete for the cores"}
    for name in set(rates) - {"before"} if "before" in rates else ():
        result[f"{name}_over_before"] = round(statistics.mean(rates[name]) / statistics.mean(rates["before"]), 2)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
