"""Part 5: cold start, a fresh clone to a finished report."""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from bench_common import PY, RAW, ROOT, log, row, run_env, timed

# ---- 5. cold start -------------------------------------------------------------------------------

def find_uv(args: argparse.Namespace) -> str | None:
    if args.uv:
        return args.uv
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # the `uv` package installed next to this interpreter

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


def uv_env(uv: str) -> tuple[dict[str, str], str | None]:
    """uv does not read pip's configuration: hand it pip's find-links and index URLs."""
    config = subprocess.run([PY, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            check=False).stdout
    settings: dict[str, str] = {}
    for line in config.splitlines():
        key, _, value = line.partition("=")
        settings.setdefault(key.split(".", 1)[-1], value.strip().strip("'\""))
    env = run_env(UV_PYTHON_DOWNLOADS="never", UV_NO_CACHE="1")
    env["PATH"] = str(Path(uv).parent) + os.pathsep + env.get("PATH", "")
    if settings.get("find-links") and "UV_FIND_LINKS" not in env:
        env["UV_FIND_LINKS"] = settings["find-links"]
    indexes = ([settings["index-url"]] if settings.get("index-url") else []) + settings.get(
        "extra-index-url", "").split()
    if indexes and "UV_INDEX_URL" not in env and "UV_DEFAULT_INDEX" not in env:
        env["UV_INDEX_URL"] = indexes[0]
        if len(indexes) > 1:
            env["UV_EXTRA_INDEX_URL"] = " ".join(indexes[1:])
    # torch must come as the CPU build; a CUDA build is gigabytes, not what this measures
    check = subprocess.run([uv, "pip", "compile", "-", "--python-version", "3.11", "-q", "--no-header"],
                           input="torch==2.13.0\n", capture_output=True, text=True, env=env, check=False)
    if check.returncode:
        return env, f"uv cannot resolve torch here: {check.stderr.strip().splitlines()[-1:]}"
    if "nvidia" in check.stdout or "+cpu" not in check.stdout:
        return env, "uv would install a CUDA build of torch (gigabytes) from these indexes"
    return env, None


def part_cold(args: argparse.Namespace) -> None:
    scope = f"--select {' '.join(args.cold_select)}" if args.cold_select else "the whole suite"
    log(f"== cold: fresh clone -> report with nox -s tf jax torch, {scope}")
    select = ["--", *[x for pattern in args.cold_select for x in ("--select", pattern)]] if args.cold_select else []
    results: dict[str, float] = {}
    for venv_backend in ("virtualenv", "uv"):
        env = run_env(PIP_NO_CACHE_DIR="1")
        if venv_backend == "uv":
            uv = find_uv(args)
            why = "uv not found (pip install uv, or --uv PATH)" if uv is None else None
            if uv is not None:
                env, why = uv_env(uv)
            if why:
                row("cold start, nox uv backend", f"not measured: {why}", "-", "report both", None)
                continue
        clone = args.work / f"cold-{venv_backend}"
        shutil.rmtree(clone, ignore_errors=True)
        started = time.perf_counter()
        cloned = subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=False).returncode
        clone_s = time.perf_counter() - started
        command = [PY, "-m", "nox", "-db", venv_backend, "-s", "tf", "jax", "torch", *select]
        nox_s, code = timed(command, args.work / f"cold-{venv_backend}.log", cwd=clone, env=env,
                            timeout=3600) if not cloned else (math.nan, 1)
        total = time.perf_counter() - started
        done = not code and (clone / "reports" / "report.md").is_file()
        results[venv_backend] = total if done else math.nan
        log(f"  {venv_backend}: {total:.0f} s (exit {code})")
        ratio = f"{total / results['virtualenv']:.2f}x of virtualenv" if venv_backend == "uv" and \
            not math.isnan(results.get("virtualenv", math.nan)) else "-"
        log_text = (args.work / f"cold-{venv_backend}.log").read_text(errors="replace")
        sessions = "; ".join(re.findall(r"\* (\w+: \w+, took [^\n]+)", log_text))
        row(f"cold start, nox {venv_backend} backend ({scope}, no package cache)",
            f"{total:.0f} s (clone {clone_s:.1f} s + nox {nox_s:.0f} s: {sessions})", ratio,
            "<= 150 s with virtualenv; uv reported too", done and (venv_backend == "uv" or total <= 150))
    RAW["cold"] = results


