"""Issue 7's performance targets, measured side by side in one run, printed as one markdown table.

    python benchmarks/bench.py all            # every part but the cold start (about 10-15 min, 2 cores)
    python benchmarks/bench.py all --cold     # ... and the cold start (fresh clone -> report)
    python benchmarks/bench.py overhead       # one part alone: overhead | predict | suite |
                                              #   parallel | nox | cold | report

Parts (all on the seed scenario "seed/rnn-model" unless said):
  overhead  `harness run` (a supervisor plus a worker process) against benchmarks/minimal_seed.py,
            the least a person would write for the same data. Judged on `--no-compiled` (the minimal
            script makes one forward pass); the default run (plus a compiled pass) is shown too.
  predict   in one process per backend, after the backend is imported: the harness's capture
            (run_scenario, no repeat, no compiled pass) against the seed note's method, an
            intermediate keras.Model plus `predict` per probed layer (masks by layer.compute_mask).
  suite     the whole suite per backend: wall time, per-scenario cost (the artifact's duration_s),
            imports once per run, and no "retracing" in the output or the artifact's warnings.
  parallel  `harness run --backend all` against the serial sum of the three single-backend runs.
  nox       `nox -R -s tf jax torch` (reused venvs, in a clone under the work folder) against the
            three bare `harness run`s with the same venvs' interpreters.
  cold      a fresh `git clone` to a finished report with `nox -s tf jax torch`, with virtualenv and,
            where uv is found, nox's uv backend; package caches off. Only with `cold` or `all --cold`.
  report    report.cli.build + render.render on 100, 1,000 and 10,000 synthetic scenarios x 3 backends.

Repetitions are interleaved (A B C, B C A, ...) and medians reported: the machine is noisy. Every
result folder lies under --work (default /tmp/khb), never under reports/. Run it with an interpreter
that has keras and the three backends (and nox) installed; the `report` part needs numpy only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench_cache import part_cache, profile_worker
from bench_cold import part_cold
from bench_common import BACKENDS, NOTES, RAW, ROOT, ROWS, SEED, git_revision, machine
from bench_mainjob import part_main
from bench_overhead import part_overhead
from bench_parallel import part_nox, part_parallel
from bench_predict import part_predict, predict_worker
from bench_report import heatmap_worker, part_report
from bench_suite import part_suite

# ---- main ----------------------------------------------------------------------------------------

PARTS = {"overhead": part_overhead, "predict": part_predict, "suite": part_suite,
         "parallel": part_parallel, "nox": part_nox, "cold": part_cold, "report": part_report,
         "cache": part_cache, "main": part_main}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=[*PARTS, "all", "_predict-worker", "_heatmap-worker", "_profile-worker"])
    parser.add_argument("--backend", "--backends", dest="backends", action="append", choices=BACKENDS,
                        help="limit to these backends (repeatable; default all three)")
    parser.add_argument("--reps", type=int, default=3, help="overhead repetitions (default 3)")
    parser.add_argument("--reps-inproc", type=int, default=3, help="in-process repetitions (predict; default 3)")
    parser.add_argument("--reps-parallel", type=int, default=2, help="parallel and nox repetitions (default 2)")
    parser.add_argument("--select", action="append", metavar="GLOB",
                        help=f"selection for parallel, nox and cold (default {SEED!r})")
    parser.add_argument("--suite-select", action="append", default=[], metavar="GLOB",
                        help="limit the suite part (default: the whole suite)")
    parser.add_argument("--cold-select", action="append", default=[], metavar="GLOB",
                        help="limit the cold start (default: the whole suite, as a new user runs it)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000],
                        help="synthetic suite sizes for the report part")
    parser.add_argument("--heatmap", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the report's heatmap at 1,000 and 10,000 scenarios (info)")
    parser.add_argument("--heatmap-timeout", type=float, default=30)
    parser.add_argument("--cold", action="store_true", help="`all` also runs the cold-start part")
    parser.add_argument("--uv", metavar="PATH", help="the uv binary for the cold start's uv backend")
    parser.add_argument("--work", type=Path, default=Path("/tmp/khb"), help="results folder (default /tmp/khb)")
    parser.add_argument("--json", type=Path, help="also write the rows and raw timings here")
    parser.add_argument("--n", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.backends = tuple(b for b in BACKENDS if b in (args.backends or BACKENDS))
    args.select = args.select or [SEED]
    if args.part == "_predict-worker":
        return predict_worker(args.backends[0], args.reps_inproc)
    if args.part == "_heatmap-worker":
        return heatmap_worker(args.n, args.out)
    if args.part == "_profile-worker":
        return profile_worker(args.backends[0], args.suite_select, args.out)
    if ROOT.resolve() in args.work.resolve().parents or args.work.resolve() == ROOT.resolve():
        parser.error("--work must lie outside the repository (results never go under reports/)")
    args.work.mkdir(parents=True, exist_ok=True)

    chosen = [args.part] if args.part != "all" else [
        p for p in ("report", "overhead", "predict", "parallel", "cold", "nox", "suite")
        if p != "cold" or args.cold]
    started, load_before = time.perf_counter(), os.getloadavg()
    for part in chosen:
        PARTS[part](args)
    load_after = os.getloadavg()
    print(f"\nMachine: {machine()}")
    print(f"Code: {git_revision()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"{time.perf_counter() - started:.0f} s in all\n")
    print("| measure | value(s) | ratio | target | met? |")
    print("|---|---|---|---|---|")
    for r in ROWS:
        print(f"| {r.measure} | {r.values} | {r.ratio} | {r.target} | {r.met} |")
    for note in NOTES:
        print(f"\n{note}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": [asdict(r) for r in ROWS],
                                         "notes": NOTES, "raw": RAW}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
