"""Part 1: `harness run` against benchmarks/minimal_seed.py (the harness's overhead)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from bench_common import (
    PY,
    RAW,
    ROOT,
    SEED,
    artifact_durations,
    fresh,
    harness_run,
    log,
    median,
    rotate,
    row,
    slug,
    spread,
    timed,
)

# ---- 1. harness overhead against a minimal script ------------------------------------------------

def part_overhead(args: argparse.Namespace) -> None:
    log(f"== overhead: harness run --select {SEED} vs benchmarks/minimal_seed.py, {args.reps} reps")
    variants = {
        "minimal": lambda b, d: [PY, str(ROOT / "benchmarks" / "minimal_seed.py"), b, str(d / "minimal.npz")],
        "minimal + gc.freeze": lambda b, d: [PY, str(ROOT / "benchmarks" / "minimal_seed.py"), b,
                                             str(d / "minimal.npz"), "--freeze-at-exit"],
        "harness --no-compiled": lambda b, d: harness_run(b, d, "--select", SEED, "--no-compiled"),
        "harness": lambda b, d: harness_run(b, d, "--select", SEED),
    }
    times: dict[tuple[str, str], list[float]] = {(b, v): [] for b in args.backends for v in variants}
    inside: dict[str, list[float]] = {b: [] for b in args.backends}  # the scenario's own duration_s
    startup: list[float] = []  # a process that loads the harness and the registry: the supervisor's share
    for rep in range(args.reps):
        elapsed, code = timed([PY, "-m", "harness", "list", "--select", SEED],
                              args.work / "overhead" / f"list-{rep}.log")
        startup.append(math.nan if code else elapsed)
        for b_index, backend in enumerate(args.backends):
            for variant in rotate(list(variants), rep + b_index):
                folder = fresh(args.work / "overhead" / f"{backend}-{slug(variant)}-{rep}")
                elapsed, code = timed(variants[variant](backend, folder), folder / "output.log")
                times[(backend, variant)].append(math.nan if code else elapsed)
                if variant == "harness --no-compiled" and not code:
                    inside[backend].append(artifact_durations(folder).get(SEED, math.nan))
                log(f"  rep {rep + 1} {backend:<10} {variant:<22} {elapsed:6.2f} s")
    RAW["overhead"] = {f"{b}|{v}": t for (b, v), t in times.items()}
    for backend in args.backends:
        minimal = median(times[(backend, "minimal")])
        bare = median(times[(backend, "harness --no-compiled")])
        full = median(times[(backend, "harness")])
        last = args.reps - 1
        same = _same_as_minimal(args.work / "overhead" / f"{backend}-{slug('harness --no-compiled')}-{last}",
                                args.work / "overhead" / f"{backend}-minimal-{last}")
        ratio = bare / minimal
        row(f"overhead {backend}: `harness run --no-compiled` vs minimal script",
            f"{bare:.2f} s{spread(times[(backend, 'harness --no-compiled')])} vs {minimal:.2f} s"
            f"{spread(times[(backend, 'minimal')])}; scenario itself {median(inside[backend]):.2f} s; "
            f"{same}", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)
        frozen = median(times[(backend, "minimal + gc.freeze")])
        row(f"info {backend}: `harness run --no-compiled` vs minimal script ending in gc.freeze()",
            f"{bare:.2f} s vs {frozen:.2f} s{spread(times[(backend, 'minimal + gc.freeze')])} (the worker "
            "freezes after its imports, which also spares it collecting them at exit)",
            f"{bare / frozen:.2f}x", "info (stricter baseline)", None)
        row(f"info {backend}: where the harness's extra time goes",
            f"{bare - minimal:+.2f} s vs minimal, {bare - frozen:+.2f} s vs minimal + gc.freeze; a "
            f"supervisor-like process (`harness list`) {median(startup):.2f} s; the rest: a second eager "
            "call (determinism), clear_session's "
            "gc.collect(), environment facts, journal and artifact writes", "-", "info", None)
        row(f"overhead {backend}: `harness run` (default: + compiled pass) vs minimal script",
            f"{full:.2f} s{spread(times[(backend, 'harness')])} vs {minimal:.2f} s", f"{full / minimal:.2f}x",
            "info (target judged on --no-compiled)", None)


def _same_as_minimal(harness_dir: Path, minimal_dir: Path) -> str:
    """Do the harness's arrays equal the minimal script's? (the same work, checked once)"""
    import numpy as np

    try:
        npz_path = next(harness_dir.glob("*.npz"))
        with np.load(npz_path) as art, np.load(minimal_dir / "minimal.npz") as mini:
            keys = [k[: -len(".values")] for k in mini.files if k.endswith(".values")]
            worst, masks_same = 0.0, True
            for layer in keys:
                ours = art[f"{SEED}::{layer}::values"]
                worst = max(worst, float(np.max(np.abs(ours.astype(np.float64) - mini[f"{layer}.values"]))))
                has = f"{SEED}::{layer}::mask" in art.files
                if has != (f"{layer}.mask" in mini.files) or (
                        has and not np.array_equal(art[f"{SEED}::{layer}::mask"], mini[f"{layer}.mask"])):
                    masks_same = False
        return (f"same data: {len(keys)} probes, max abs diff {worst:.1g}, "
                f"masks {'equal' if masks_same else 'DIFFER'}")
    except (StopIteration, OSError, KeyError, ValueError) as exc:
        return f"same data: not checked ({type(exc).__name__}: {exc})"


