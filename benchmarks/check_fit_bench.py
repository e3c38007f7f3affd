"""Issue 24: what `check --targets --fit 3` costs on top of the forward check, per backend.

    python benchmarks/check_fit_bench.py                  # every installed backend, 3 rounds
    python benchmarks/check_fit_bench.py --backend jax --rounds 5

The model is docs/check.md's worked example (docs/examples/check_tagger.py: Embedding(mask_zero)
-> GRU -> Dense, compiled with a metric), saved once. Each backend is checked alone (`--backend B`),
forward only and with `--targets y.npz --fit 3`, timed end to end as a user runs it (supervisor,
one worker, keras import, report); rounds alternate the order and medians are compared. Also
shown: the worker's own time for the model's scenarios (what the backend spent, without process
start and imports), read from the artifact. Output goes under --work.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import arguments  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "check_tagger.py"


def check(work: Path, backend: str, fit: bool) -> tuple[float, float]:
    """(wall seconds of the command, seconds the worker spent on the model's scenarios)."""
    out = work / f"{backend}-{'fit' if fit else 'forward'}"
    argv = [sys.executable, "-m", "harness", "check", str(work / "tagger.keras"), "--inputs", str(work / "x.npz"),
            "--backend", backend, "--out", str(out), "-q"]
    if fit:
        argv += ["--targets", str(work / "y.npz"), "--fit", "3"]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    started = time.perf_counter()
    # exit 1 is expected: one backend alone is not a comparison (the check says so)
    subprocess.run(argv, cwd=ROOT, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"}, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    [artifact] = (out / "results").glob("*.json")
    worker = sum(s["duration_s"] for s in json.loads(artifact.read_text())["scenarios"])
    return wall, worker


def main() -> int:
    args, chosen = arguments(__doc__.splitlines()[0], "/tmp/check-fit-bench")
    subprocess.run([sys.executable, str(EXAMPLE), str(args.work)], check=True,
                   env={**os.environ, "KERAS_BACKEND": chosen[0], "TF_CPP_MIN_LOG_LEVEL": "3"},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"load before: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    print("| backend | forward check (median s) | check --fit 3 (median s) | fit / forward | "
          "worker: forward s | worker: with fit s |")
    print("|---|---|---|---|---|---|")
    for backend in chosen:
        times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for round_ in range(args.rounds):
            for fit in ((False, True) if round_ % 2 == 0 else (True, False)):
                times[fit].append(check(args.work, backend, fit))
        forward = statistics.median(w for w, _ in times[False])
        with_fit = statistics.median(w for w, _ in times[True])
        print(f"| {backend} | {forward:.1f} | {with_fit:.1f} | {with_fit / forward:.2f}x | "
              f"{statistics.median(k for _, k in times[False]):.1f} | "
              f"{statistics.median(k for _, k in times[True]):.1f} |", flush=True)
    print(f"load after: {os.getloadavg()[0]:.1f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
