"""Part 6: the report stage on synthetic artifacts (and its heatmap)."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import time
from pathlib import Path
from typing import Any

from bench_common import BENCH, NOTES, PY, RAW, fresh, log, median, row, timed

# ---- 6. the report stage on synthetic artifacts --------------------------------------------------

BENCH_BACKENDS = (("tensorflow-cpu", "tensorflow"), ("jax-cpu", "jax"), ("torch-cpu", "torch"))
REPORT_TARGET_S = 2.0  # issue 15 (issue 7 had 5 s)


def synthetic_runs(n: int) -> list[Any]:
    """n scenarios x 3 backends, 3 probes of (2, 5, 3) float32 with a (2, 5) mask each.

    Most pairs match; every 10th scenario differs on torch at a kept position, every 20th (offset)
    at a masked position only, and every 100th fails on jax: every comparison path is exercised.
    """
    import numpy as np

    from harness.artifacts import Artifact, ScenarioRecord
    from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

    rng = np.random.default_rng(7)
    base = rng.standard_normal((n, 3, 2, 5, 3)).astype(np.float32)
    mask = np.array([[False, True, False, True, False], [True, True, True, False, False]])
    runs = []
    for label, backend in BENCH_BACKENDS:
        records = {}
        for i in range(n):
            name = f"synthetic/s{i:05d}"
            probes = {}
            for p in range(3):
                values = base[i, p].copy()
                if backend == "torch" and i % 10 == 1 and p == 2:
                    values[0, 1, 0] += 1e-3  # a kept position: "differs"
                if backend == "torch" and i % 20 == 3 and p == 1:
                    values[0, 0, 0] += 1e-3  # a masked position only: "differs-masked-only"
                probes[f"layer_{p}"] = Probe(values, mask.copy(), "float32")
            status, error, warned = "ok", None, []
            if backend == "jax" and i % 100 == 7:
                status, error, probes = "error", ErrorInfo("ValueError", "synthetic failure", ("x.py:1 in f",)), {}
            if i % 50 == 5:
                warned = [WarningInfo("UserWarning", f"synthetic warning on {backend}")]
            meta = {"description": f"synthetic scenario {i}", "tags": ["synthetic"],
                    "definition_hash": f"{i:016x}", "source": "def build():\n    return model, inputs",
                    "tolerances": {}, "dtype_policy": None, "deterministic": True,
                    "expectations": [{"name": "mask kept", "claim": "C2", "passed": True,
                                      "evidence": "layer_0 mask 01010"}]}
            records[name] = ScenarioRecord(name, status, 0.1, Captured(name, backend, probes, error, warned), meta)
        environment = {"backend": backend, "backend_version": "0", "keras": "3", "device": "cpu"}
        runs.append(Artifact(label, environment, records))
    return runs


CPU_S: list[float] = []  # CPU seconds of each time_report call: on a shared machine, the steadier figure


def time_report(runs: list[Any]) -> tuple[float, float, int]:
    from harness.report import cli as report_cli
    from harness.report import render

    missing_known = Path("/nonexistent/known_divergences.toml")  # no known divergences
    cpu, started = time.process_time(), time.perf_counter()
    data, _facts = report_cli.build(runs, missing_known)
    built = time.perf_counter()
    text = render.render(data)
    CPU_S.append(time.process_time() - cpu)
    return built - started, time.perf_counter() - built, len(text)


def part_report(args: argparse.Namespace) -> None:
    log(f"== report: report.cli.build + render.render on synthetic artifacts, sizes {args.sizes}")
    per_scenario: dict[int, float] = {}
    totals: dict[int, float] = {}
    detail: dict[int, str] = {}
    cpu: dict[int, float] = {}
    for n in args.sizes:
        runs = synthetic_runs(n)
        reps = 3 if n <= 1000 else 1
        CPU_S.clear()
        measured = [time_report(runs) for _ in range(reps)]
        cpu[n] = median(CPU_S)
        total = median([b + r for b, r, _ in measured])
        build_s, render_s = median([b for b, _, _ in measured]), median([r for _, r, _ in measured])
        totals[n], per_scenario[n] = total, total / n
        detail[n] = (f"{n:,}: {total:.2f} s (build {build_s:.2f} + render {render_s:.2f}; "
                     f"{measured[0][2] / 1e6:.1f} MB); CPU {cpu[n]:.2f} s")
        log(f"  {detail[n]}")
        if n == max(args.sizes) and total > REPORT_TARGET_S:
            profile(runs, args.work / "report-profile.txt")
    largest, smallest = max(args.sizes), min(args.sizes)
    RAW["report"] = totals
    row(f"report stage: {largest:,} synthetic scenarios x 3 backends (build + render)",
        detail[largest], "-", f"< {REPORT_TARGET_S:g} s (wall; CPU shown for a shared machine)",
        totals[largest] < REPORT_TARGET_S)
    growth = per_scenario[largest] / per_scenario[smallest]
    mid = sorted(args.sizes)[-2] if len(args.sizes) > 1 else largest
    row("report stage: linear growth", "; ".join(
        f"{n:,}: {per_scenario[n] * 1e3:.3f} ms/scenario" for n in sorted(args.sizes)),
        f"{growth:.2f}x per scenario ({largest:,} vs {smallest:,}); "
        f"{per_scenario[largest] / per_scenario[mid]:.2f}x ({largest:,} vs {mid:,})",
        "linear (per-scenario cost <= 1.5x)", growth <= 1.5 and per_scenario[largest] / per_scenario[mid] <= 1.5)
    if args.heatmap:
        part_heatmap(args)


def part_heatmap(args: argparse.Namespace) -> None:
    """`harness report` also draws a heatmap with one row per scenario (not in the 5 s target)."""
    for n in (1000, 10000):
        folder = fresh(args.work / "heatmap" / str(n))
        command = [PY, str(BENCH), "_heatmap-worker", "--n", str(n), "--out", str(folder)]
        elapsed, code = timed(command, folder / "output.log", timeout=args.heatmap_timeout)
        text = (folder / "output.log").read_text(errors="replace")
        drawn = re.findall(r"heatmap drawn in ([0-9.]+) s", text)
        tail = text.strip().splitlines()[-1:]
        outcome = (f"{float(drawn[-1]):.1f} s to draw" if drawn and not code else
                   f"not drawn within {args.heatmap_timeout:g} s" if code == 124 else
                   f"failed: {' '.join(tail)[:160]}")
        row(f"info: heatmap.draw with {n:,} scenarios (part of `harness report`)",
            f"{outcome} ({elapsed:.1f} s with making and comparing the data)", "-", "info",
            None if not code else False)


def heatmap_worker(n: int, out: Path) -> int:
    from harness.report import cli as report_cli
    from harness.report import heatmap

    data, _ = report_cli.build(synthetic_runs(n), Path("/nonexistent/known.toml"))
    started = time.perf_counter()
    drawn = heatmap.draw(data, out / "heatmap.png")
    print(f"heatmap {'drawn' if drawn else 'skipped (no matplotlib)'} in {time.perf_counter() - started:.1f} s")
    return 0


def profile(runs: list[Any], path: Path) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    time_report(runs)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).sort_stats("tottime")
    stats.print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    path.write_text(buffer.getvalue())
    top = pstats.Stats(profiler).sort_stats("tottime")
    hot = sorted(top.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]  # type: ignore[attr-defined]
    NOTES.append("Report-stage hot spots (cProfile, own time): " + "; ".join(
        f"{Path(f).name}:{line} {fn} {tt:.2f} s ({nc} calls)" for (f, line, fn), (_cc, nc, tt, _ct, _callers)
        in hot) + f". Full profile: {path}")


