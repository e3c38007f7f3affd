"""Part 3: the whole suite per backend."""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections import Counter

from bench_common import NOTES, RAW, SEED, artifact_durations, fresh, harness_run, log, median, row, timed

# ---- 3. the whole suite per backend --------------------------------------------------------------

def part_suite(args: argparse.Namespace) -> None:
    log("== suite: the whole suite per backend (+ one seed-only run for the fixed cost)")
    for backend in args.backends:
        earlier = [t for t in RAW.get("overhead", {}).get(f"{backend}|harness", []) if not math.isnan(t)]
        if earlier:  # the overhead part's default runs are exactly this: reuse them
            seed_dir = args.work / "overhead" / f"{backend}-harness-{len(earlier) - 1}"
            seed_wall, seed_code = median(earlier), 0
        else:
            seed_dir = fresh(args.work / "suite" / f"{backend}-seed-only")
            seed_wall, seed_code = timed(harness_run(backend, seed_dir, "--select", SEED, "-q"),
                                         seed_dir / "output.log")
        folder = fresh(args.work / "suite" / backend)
        extra = [x for pattern in args.suite_select for x in ("--select", pattern)]
        wall, code = timed(harness_run(backend, folder, "-q", *extra), folder / "output.log")
        log(f"  {backend}: seed-only {seed_wall:.1f} s, suite {wall:.1f} s")
        manifests = [json.loads(p.read_text()) for p in folder.glob("*.json")]
        if code or not manifests:
            row(f"suite {backend}", f"run failed (exit {code}, see {folder / 'output.log'})", "-", "-", False)
            continue
        scenarios = manifests[0]["scenarios"]
        durations = [float(s["duration_s"]) for s in scenarios]
        statuses = Counter(s["status"] for s in scenarios)
        slowest = max(scenarios, key=lambda s: s["duration_s"])
        n = len(durations)
        outside = wall - sum(durations)
        seed_outside = seed_wall - artifact_durations(seed_dir).get(SEED, math.nan)
        marginal = (wall - seed_wall) / (n - 1) if n > 1 else math.nan
        text = (folder / "output.log").read_text(errors="replace")
        in_output = text.lower().count("retrac")
        in_warnings = sum("retrac" in w["message"].lower() for s in scenarios for w in s.get("warnings", []))
        RAW[f"suite|{backend}"] = {"wall": wall, "seed_wall": seed_wall, "durations": durations}
        # A worker restarted (keras re-imported) per scenario would add seconds per scenario outside
        # duration_s; bookkeeping (journal, npz, source hash) adds milliseconds.
        bookkeeping = (outside - seed_outside) / (n - 1) if n > 1 else 0.0
        imports_once = not seed_code and bookkeeping < 0.1
        row(f"suite {backend}: {n} scenarios ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})",
            f"wall {wall:.1f} s; sum of duration_s {sum(durations):.1f} s (median {statistics.median(durations):.2f}"
            f" s, max {slowest['duration_s']:.2f} s {slowest['name']}); outside scenarios {outside:.1f} s vs "
            f"{seed_outside:.1f} s for the seed alone: {bookkeeping * 1e3:.0f} ms more per scenario",
            f"{wall / n:.2f} s/scenario (marginal {marginal:.2f} s)",
            "one import per run (< 0.1 s/scenario outside duration_s)", imports_once)
        row(f"suite {backend}: 'retracing' warnings", f"{in_output} in stdout/stderr, {in_warnings} in the "
            "artifact's warnings", "-", "0", in_output + in_warnings == 0)
    if "tensorflow" in args.backends:
        NOTES.append("The harness's worker sets the 'tensorflow' Python logger to ERROR, so TensorFlow's "
                     "retracing warning (a logging WARNING) could not reach the suite's output; the "
                     "predict part checks for it in-process with that logger at WARNING.")


