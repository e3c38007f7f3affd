"""What every part of benchmarks/bench.py shares: the result rows, logging, timed processes, the machine."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().with_name("bench.py")  # the command; workers are its hidden parts
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `harness` and `scenarios` when run as benchmarks/bench.py

PY = sys.executable
BACKENDS = ("tensorflow", "jax", "torch")
NOX_SESSION = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
SEED = "seed/rnn-model"
MARK = "BENCH-RESULT "  # the line a worker process prints its JSON result on


@dataclass
class Row:
    measure: str
    values: str
    ratio: str
    target: str
    met: str


ROWS: list[Row] = []
NOTES: list[str] = []
RAW: dict[str, Any] = {}


def row(measure: str, values: str, ratio: str, target: str, met: bool | str | None) -> None:
    verdict = met if isinstance(met, str) else "n/a" if met is None else "yes" if met else "**no**"
    ROWS.append(Row(measure, values, ratio, target, verdict))
    print(f"| {measure} | {values} | {ratio} | {target} | {verdict} |", file=sys.stderr, flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- helpers -------------------------------------------------------------------------------------

def run_env(**extra: str) -> dict[str, str]:
    """The environment for every timed process: no KERAS_BACKEND, TensorFlow as the harness sets it."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # the harness's worker sets both: same kernels
    env.update(extra)
    return env


def timed(command: list[str], log_path: Path, *, cwd: Path = ROOT, env: dict[str, str] | None = None,
          timeout: float = 1800) -> tuple[float, int]:
    """Wall seconds and exit status of one process, its output kept in log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        started = time.perf_counter()
        try:
            code = subprocess.run(command, cwd=cwd, env=env or run_env(), stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = 124
        elapsed = time.perf_counter() - started
    if code:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        log(f"    ! exit {code}: {' '.join(command)}\n      {' | '.join(tail)}")
    return elapsed, code


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def rotate(items: list[Any], k: int) -> list[Any]:
    k %= len(items)
    return items[k:] + items[:k]


def median(values: list[float]) -> float:
    good = [v for v in values if not math.isnan(v)]
    return statistics.median(good) if good else math.nan


def spread(values: list[float]) -> str:
    good = [v for v in values if not math.isnan(v)]
    if len(good) < 2:
        return ""
    return f" ({min(good):.2f}-{max(good):.2f})"


def harness_run(backend: str, results: Path, *extra: str, python: str = PY) -> list[str]:
    return [python, "-m", "harness", "run", "--backend", backend, "--results", str(results), *extra]


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


def versions() -> str:
    found = []
    for dist in ("keras", "tensorflow-cpu", "tensorflow", "jax", "torch", "numpy", "nox"):
        try:
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def machine() -> str:
    return (f"{os.cpu_count()}-core {platform.machine()}, {platform.system()}, "
            f"Python {platform.python_version()}; {versions()}")


def git_revision() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "harness", "scenarios"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    return out.stdout.strip() + (" (+ uncommitted changes in harness/ or scenarios/)" if dirty else "")


def artifact_durations(folder: Path) -> dict[str, float]:
    for path in folder.glob("*.json"):
        manifest = json.loads(path.read_text())
        return {s["name"]: float(s["duration_s"]) for s in manifest.get("scenarios", [])}
    return {}
