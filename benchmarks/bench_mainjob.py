"""Part 8: the main job, `nox -R -s tf jax torch`, the whole suite."""

from __future__ import annotations

import argparse
import math
import re
from typing import Any

from bench_common import PY, RAW, log, row, timed
from bench_parallel import nox_clone

# ---- 8. the main job: nox -R -s tf jax torch, the whole suite --------------------------------------

def part_main(args: argparse.Namespace) -> None:
    """`nox -R -s tf jax torch` on the whole suite, twice: caches filled, then warm (the target)."""
    scope = f"--select {' '.join(args.suite_select)}" if args.suite_select else "whole suite"
    log(f"== main: nox -R -s tf jax torch, {scope}, reused venvs; run 1 fills the caches, run 2 is timed")
    clone = nox_clone(args)
    if clone is None:
        row("main job `nox -R -s tf jax torch`", "could not prepare the nox venvs", "-", "<= 60 s", False)
        return
    extra = [x for g in args.suite_select for x in ("--select", g)]
    command = [PY, "-m", "nox", "-R", "-s", "tf", "jax", "torch", *(["--", *extra] if extra else [])]
    outcome: dict[str, Any] = {}
    for attempt in ("fill", "warm"):
        log_path = args.work / "main" / f"nox-{attempt}.log"
        elapsed, code = timed(command, log_path, cwd=clone)
        text = log_path.read_text(errors="replace")
        suites = {m[0]: float(m[1]) for m in re.findall(r"^([\w-]+): \d+ scenarios \(.*\) in ([0-9.]+)s ->",
                                                           text, re.M)}
        sessions = {m[0]: float(m[1]) for m in re.findall(r"Session (\w+) was successful in ([0-9.]+) second",
                                                           text)}
        outcome[attempt] = {"wall": elapsed, "code": code, "suites": suites, "sessions": sessions}
        log(f"  {attempt}: {elapsed:.1f} s (exit {code}); suites {suites}")
    RAW["main"] = outcome
    warm = outcome["warm"]
    if warm["code"] or len(warm["suites"]) != 3:
        row("main job `nox -R -s tf jax torch`", f"failed (exit {warm['code']}, see {args.work / 'main'})",
            "-", "<= 60 s", False)
        return
    label = {"tensorflow": "tensorflow-cpu", "jax": "jax-cpu", "torch": "torch-cpu"}
    targets = {"tensorflow": 15.0, "jax": 20.0, "torch": None}
    scope = f" (--select {' '.join(args.suite_select)})" if args.suite_select else " (whole suite)"
    row(f"main job, warm: `nox -R -s tf jax torch`{scope}",
        f"{warm['wall']:.1f} s (the run before, filling the caches: {outcome['fill']['wall']:.1f} s)",
        f"{warm['wall'] / outcome['fill']['wall']:.2f}x", "<= 60 s", warm["wall"] <= 60)
    for backend, target in targets.items():
        seconds = warm["suites"].get(label[backend], math.nan)
        row(f"main job, warm: {backend} suite (`harness run` inside nox)", f"{seconds:.1f} s",
            "-", f"<= {target:g} s" if target else "as now (info)", None if target is None else seconds <= target)
    around = warm["wall"] - sum(warm["suites"].values())
    row("main job, warm: nox around the suites (start-up, reuse checks, the report session)",
        f"{around:.1f} s (report session {warm['sessions'].get('report', math.nan):.0f} s as nox rounds it)",
        "-", "<= 15 s", around <= 15)


