"""Issue 22's report-stage targets, measured side by side in one run and printed as one markdown table.

    python benchmarks/site_bench.py                                   # today's suite + 10,000 synthetic
    python benchmarks/site_bench.py --results reports/results --results /tmp/baseline/results \\
        --before /tmp/site/before-tree                                # ... and the report before the site

Parts:
  suite      `harness report` on each --results folder (the whole stage as the main job runs it: read the
             artifacts, compare, write every page), wall and CPU seconds, the median of --reps
             interleaved runs. With --before DIR (a checkout of the commit before issue 22, for example
             `git worktree add /tmp/site/before-tree 2430acb`) the same command runs in that checkout
             too, interleaved, so before and after are measured under the same load.
  phases     in one process, for the first --results folder: reading the artifacts, comparing (report.cli.
             build), rendering every page (site.build) and writing them (site.write).
  synthetic  report.cli.build + site.build + site.write on N synthetic scenarios x 3 backends, spread over
             20 families (benchmarks/bench.py's synthetic runs, renamed), for each --sizes N.

Targets (issue 22): every page for today's suite in under 3 s; 10,000 scenarios x 3 backends in under
10 s. Output goes under --work (default /tmp/site-bench), never under reports/.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FAMILIES = 20
SUITE_TARGET_S, SYNTHETIC_TARGET_S = 3.0, 10.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def harness_report(checkout: Path, results: Path, out: Path) -> tuple[float, float]:
    """One `python -m harness report` in a checkout: (wall s, CPU s)."""
    command = [sys.executable, "-m", "harness", "report", "--results", str(results),
               "--out", str(out / "report.md"), "--json", str(out / "summary.json")]
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"site_bench: {' '.join(command)} in {checkout} failed:\n{done.stderr[-2000:]}")
    return wall, children_cpu() - cpu


def met(wall: float, cpu: float, target: float) -> str:
    """The stage is one process on one core: on an idle machine its wall time is its CPU time, so on
    a shared machine (load above the core count) the CPU seconds are the figure to judge."""
    if wall < target:
        return "yes"
    busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    return f"yes by CPU ({cpu:.1f} s; wall under load {os.getloadavg()[0]:.0f})" if busy and cpu < target else "**no**"


def part_suite(args: argparse.Namespace, rows: list[list[str]]) -> None:
    checkouts = [("after", ROOT)] + ([("before", args.before)] if args.before else [])
    for results in args.results:
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in checkouts}
        for rep in range(args.reps):
            order = checkouts if rep % 2 == 0 else checkouts[::-1]  # interleaved: same load for both
            for name, checkout in order:
                out = args.work / "suite" / name / results.name
                times[name].append(harness_report(checkout, results.resolve(), out))
        pages = sorted((args.work / "suite" / "after" / results.name).rglob("*.md"))
        first = args.work / "suite" / "after" / results.name / "report.md"
        walls = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
        cpus = {name: statistics.median(c for _, c in t) for name, t in times.items()}
        values = "; ".join(f"{name} {walls[name]:.2f} s wall, {cpus[name]:.2f} s CPU" for name in walls)
        ratio = f"{walls['before'] / walls['after']:.1f}x faster (CPU {cpus['before'] / cpus['after']:.1f}x)" \
            if "before" in walls else "-"
        rows.append([f"`harness report` on {results} ({len(pages)} pages, first page "
                     f"{first.stat().st_size / 1024:.0f} KB)", values, ratio, f"< {SUITE_TARGET_S:g} s",
                     met(walls["after"], cpus["after"], SUITE_TARGET_S)])


def part_phases(args: argparse.Namespace, rows: list[list[str]]) -> None:
    from harness import artifacts
    from harness.compare.known import DEFAULT_KNOWN
    from harness.report import cli as report_cli
    from harness.report import site

    results = args.results[0]
    marks = [(time.perf_counter(), time.process_time())]
    runs = artifacts.read_all(results)
    marks.append((time.perf_counter(), time.process_time()))
    # the Keras-version runs beside the results are read with the comparison, as before
    data, _ = report_cli.build(runs, DEFAULT_KNOWN, results_dir=str(results), **report_cli.beside(results))
    marks.append((time.perf_counter(), time.process_time()))
    files = site.build(data)
    marks.append((time.perf_counter(), time.process_time()))
    site.write(args.work / "phases", files)
    marks.append((time.perf_counter(), time.process_time()))
    phases = ("read", "compare (and read the Keras-version runs)", "render", "write")
    rows.append([f"phases on {results}, in one process (wall / CPU)", ", ".join(
        f"{name} {b[0] - a[0]:.2f} / {b[1] - a[1]:.2f} s" for name, a, b in zip(phases, marks, marks[1:]))
        + f" ({len(files)} files)", "-", "-", "-"])


def spread(runs: list, families: int) -> list:
    """The synthetic runs with their scenarios spread over families, as a real suite is."""
    out = []
    for run in runs:
        records = {}
        for i, (name, record) in enumerate(run.records.items()):
            renamed = f"family{i % families:02d}/{name.split('/', 1)[1]}"
            records[renamed] = dataclasses.replace(record, name=renamed)
        out.append(dataclasses.replace(run, records=records))
    return out


def part_synthetic(args: argparse.Namespace, rows: list[list[str]]) -> None:
    from bench_report import synthetic_runs

    from harness.report import cli as report_cli
    from harness.report import site

    for n in args.sizes:
        runs = spread(synthetic_runs(n), FAMILIES)
        cpu, started = time.process_time(), time.perf_counter()
        # no known divergences and no Keras-version runs: the synthetic scenarios alone (the phases
        # part times the published Keras-version runs)
        data, _ = report_cli.build(runs, Path("/nonexistent/known_divergences.toml"),
                                   results_dir=str(args.work / "synthetic" / "no-results"))
        built = time.perf_counter()
        files = site.build(data)
        rendered = time.perf_counter()
        site.write(args.work / "synthetic" / str(n), files)
        written = time.perf_counter()
        total, cpu = written - started, time.process_time() - cpu
        first = len(files[site.FIRST].encode()) / 1024
        rows.append([f"{n:,} synthetic scenarios x 3 backends, {FAMILIES} families",
                     f"{total:.2f} s wall, {cpu:.2f} s CPU (compare {built - started:.2f} s, render "
                     f"{rendered - built:.2f} s, write {written - rendered:.2f} s; "
                     f"{len(files)} files, first page {first:.0f} KB)",
                     f"{n / total:,.0f} scenarios/s ({n / cpu:,.0f} a CPU second)",
                     f"< {SYNTHETIC_TARGET_S:g} s" if n == 10000 else "-",
                     met(total, cpu, SYNTHETIC_TARGET_S) if n == 10000 else "-"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART", help="suite, phases, synthetic (default: all)")
    parser.add_argument("--results", type=Path, action="append", help="artifact folders (default reports/results)")
    parser.add_argument("--before", type=Path, help="a checkout of the report before issue 22, timed alongside")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/site-bench"))
    args = parser.parse_args()
    args.results = args.results or [ROOT / "reports" / "results"]
    parts = {"suite": part_suite, "phases": part_phases, "synthetic": part_synthetic}
    if set(args.parts) - set(parts):
        parser.error(f"unknown part: {', '.join(sorted(set(args.parts) - set(parts)))}")
    if ROOT / "reports" in [args.work.resolve(), *args.work.resolve().parents]:
        raise SystemExit("site_bench: --work must not be under reports/")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    rows: list[list[str]] = []
    for part in args.parts or list(parts):
        parts[part](args, rows)
    print(f"load average {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} CPUs")
    print("| measure | values | rate or ratio | target | met? |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
