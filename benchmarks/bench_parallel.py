"""Part 4: `--backend all` against the serial sum; `nox -R` against bare runs."""

from __future__ import annotations

import argparse
import math
import re
import shutil
import subprocess
from pathlib import Path

from bench_common import (
    BACKENDS,
    NOX_SESSION,
    PY,
    RAW,
    ROOT,
    SEED,
    fresh,
    harness_run,
    log,
    median,
    rotate,
    row,
    spread,
    timed,
)

# ---- 4. --backend all against the serial sum; nox -R against bare runs ---------------------------

def part_parallel(args: argparse.Namespace) -> None:
    select = [x for pattern in args.select for x in ("--select", pattern)]
    log(f"== parallel: --backend all vs serial sum, --select {' '.join(args.select)}, {args.reps_parallel} reps")
    variants = ["all", *args.backends]
    times: dict[str, list[float]] = {v: [] for v in variants}
    for rep in range(args.reps_parallel):
        for variant in rotate(variants, rep):
            folder = fresh(args.work / "parallel" / f"{variant}-{rep}")
            elapsed, code = timed(harness_run(variant, folder, "-q", *select), folder / "output.log")
            if variant == "all" and not code and len(list(folder.glob("*.json"))) != len(args.backends):
                code = 1
                log(f"    ! --backend all left {len(list(folder.glob('*.json')))} artifacts")
            times[variant].append(math.nan if code else elapsed)
            log(f"  rep {rep + 1} {variant:<10} {elapsed:6.2f} s")
    RAW["parallel"] = times
    serial = sum(median(times[b]) for b in args.backends)
    together = median(times["all"])
    parts = " + ".join(f"{b} {median(times[b]):.1f}" for b in args.backends)
    row(f"`harness run --backend all` vs serial sum (--select {' '.join(args.select)})",
        f"{together:.1f} s{spread(times['all'])} vs {serial:.1f} s ({parts})", f"{together / serial:.2f}x",
        "well under the serial sum (<= 0.75x)", together / serial <= 0.75)


def nox_clone(args: argparse.Namespace) -> Path | None:
    """The clone whose .nox venvs `nox -R` reuses: the cold part's, or one prepared here (untimed)."""
    clone = args.work / "cold-virtualenv"
    sessions = ("tf", "jax", "torch", "report")
    ready = all((clone / ".nox" / s / "bin" / "python").exists() for s in sessions)
    if ready:
        subprocess.run(["git", "fetch", "-q", str(ROOT), "HEAD"], cwd=clone, check=False)
        subprocess.run(["git", "reset", "-q", "--hard", "FETCH_HEAD"], cwd=clone, check=False)
        return clone
    log(f"  preparing {clone} (clone + nox venvs; not timed as part of the comparison)")
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    elapsed, code = timed([PY, "-m", "nox", "-s", "tf", "jax", "torch", "--", "--select", SEED],
                          args.work / "nox-prepare.log", cwd=clone)
    log(f"  prepared in {elapsed:.0f} s (exit {code})")
    return None if code else clone


def part_nox(args: argparse.Namespace) -> None:
    log(f"== nox: nox -R -s tf jax torch vs three bare runs, --select {' '.join(args.select)}, "
        f"{args.reps_parallel} reps")
    clone = nox_clone(args)
    if clone is None:
        row("`nox -R -s tf jax torch` vs three bare `harness run`s", "could not prepare the nox venvs",
            "-", "<= 1.3x", False)
        return
    select = [x for pattern in args.select for x in ("--select", pattern)]
    noxcmd = [PY, "-m", "nox", "-R", "-s", "tf", "jax", "torch", "--", *select]
    times: dict[str, list[float]] = {"nox": [], "report": [], "inside": [], **{b: [] for b in BACKENDS}}
    for rep in range(args.reps_parallel):
        for variant in rotate(["nox", "bare"], rep):
            if variant == "nox":
                log_path = args.work / "nox" / f"nox-{rep}.log"
                elapsed, code = timed(noxcmd, log_path, cwd=clone)
                times["nox"].append(math.nan if code else elapsed)
                runs = re.findall(r"scenarios \(.*\) in ([0-9.]+)s ->", log_path.read_text(errors="replace"))
                times["inside"].append(sum(map(float, runs)) if len(runs) == 3 and not code else math.nan)
                log(f"  rep {rep + 1} nox -R           {elapsed:6.2f} s")
                continue
            for backend in BACKENDS:
                python = str(clone / ".nox" / NOX_SESSION[backend] / "bin" / "python")
                folder = fresh(args.work / "nox" / f"bare-{backend}-{rep}")
                elapsed, code = timed(harness_run(backend, folder, *select, python=python),
                                      folder / "output.log", cwd=clone)
                times[backend].append(math.nan if code else elapsed)
                log(f"  rep {rep + 1} bare {backend:<10} {elapsed:6.2f} s")
            merged = _merge(args.work / "nox", rep)
            python = str(clone / ".nox" / "report" / "bin" / "python")
            report_cmd = [python, "-m", "harness", "report", "--results", str(merged),
                          "--out", str(merged / "report.md"), "--json", str(merged / "summary.json")]
            elapsed, code = timed(report_cmd, args.work / "nox" / f"report-{rep}.log", cwd=clone)
            times["report"].append(math.nan if code else elapsed)
            log(f"  rep {rep + 1} bare report      {elapsed:6.2f} s")
    RAW["nox"] = times
    bare = sum(median(times[b]) for b in BACKENDS)
    report_s = median(times["report"])
    noxed = median(times["nox"])
    parts = " + ".join(f"{b} {median(times[b]):.1f}" for b in BACKENDS)
    row(f"`nox -R -s tf jax torch` vs three bare `harness run`s (--select {' '.join(args.select)})",
        f"{noxed:.1f} s{spread(times['nox'])} vs {bare:.1f} s ({parts}); nox also runs the report "
        f"session: bare `harness report` {report_s:.1f} s; within the nox runs the three `harness run`s "
        f"reported {median(times['inside']):.1f} s", f"{noxed / bare:.2f}x ({noxed / (bare + report_s):.2f}x "
        f"with the report; {noxed / median(times['inside']):.2f}x the runs inside the same nox call)",
        "<= 1.3x", noxed / bare <= 1.3)


def _merge(folder: Path, rep: int) -> Path:
    """Gather one repetition's three bare artifacts for the bare `harness report`."""
    merged = fresh(folder / f"merged-{rep}")
    for backend in BACKENDS:
        for path in (folder / f"bare-{backend}-{rep}").glob("*.*"):
            if path.suffix in (".json", ".npz"):
                shutil.copy(path, merged / path.name)
    return merged


