"""Issue 12's target: `harness check` of the seed model saved to a .keras file, against `harness run`
of the same model as a scenario (seed/rnn-model), per backend. Target: check within 1.3x of run.

    python benchmarks/check_bench.py                    # every installed backend, 3 rounds
    python benchmarks/check_bench.py --backend jax --rounds 5

Both commands are timed end to end as a user runs them (a supervisor and one worker process for
the backend; check also loads the archive and renders its report). The seed model is saved once,
under the first backend, with the seed's inputs in an .npz. Rounds alternate the order (run, check;
check, run; ...) and medians are compared: the machine is noisy. Output goes under --work.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.3
SAVE = """
import numpy as np
from scenarios.seed import CODES, NUM, build_seed_model
build_seed_model().save({model!r})
np.savez({inputs!r}, num=NUM, version=CODES, missing=CODES)
"""


def harness(*argv: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", *argv], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def arguments(description: str, work: str) -> tuple[argparse.Namespace, list[str]]:
    """The options both check benchmarks take, and the backends chosen; --work emptied and made."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", action="append", help="default: every installed backend")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(work))
    args = parser.parse_args()
    chosen = args.backend or [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b)]
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    return args, chosen


def main() -> int:
    args, chosen = arguments(__doc__.splitlines()[0], "/tmp/check-bench")
    model, inputs = args.work / "seed.keras", args.work / "seed.npz"
    subprocess.run([sys.executable, "-c", SAVE.format(model=str(model), inputs=str(inputs))], cwd=ROOT,
                   env={**os.environ, "KERAS_BACKEND": chosen[0], "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
                   check=True)
    print("| backend | harness run (median s) | harness check (median s) | check / run | target |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for backend in chosen:
        times: dict[str, list[float]] = {"run": [], "check": []}
        for index in range(args.rounds):
            commands = {
                "run": ("run", "--backend", backend, "--select", "seed/rnn-model", "-q",
                        "--results", str(args.work / f"run-{backend}")),
                "check": ("check", str(model), "--inputs", str(inputs), "--backend", backend, "-q",
                          "--out", str(args.work / f"check-{backend}")),
            }
            for name in ("run", "check") if index % 2 == 0 else ("check", "run"):
                times[name].append(harness(*commands[name]))
        run_s, check_s = statistics.median(times["run"]), statistics.median(times["check"])
        ratio = check_s / run_s
        worst = max(worst, ratio)
        print(f"| {backend} | {run_s:.2f} | {check_s:.2f} | {ratio:.2f}x | "
              f"{'met' if ratio <= TARGET else 'missed'} (<= {TARGET}x) |")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
