"""Issue 11's bisect targets: one scenario over Keras 3.0-3.15 on torch, cold cache vs every env cached.

    python benchmarks/bisect_bench.py                         # cold (a fresh env cache) then warm
    python benchmarks/bisect_bench.py --cache DIR --warm-only # only the cached run, on an existing cache

Targets: cold under 300 s, warm (every environment cached, nothing installed) under 60 s.
"Cold" means a fresh harness env cache (HARNESS_ENV_CACHE): the torch base layer and every release's
layer are built; pip's own download cache is left as it is (the torch wheel is a local file here,
and a user who has installed keras once has the same). Each run's last line must be the same
`first changed in keras X.Y.Z`, and the warm run must build nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"cold": 300.0, "warm": 60.0}


def bisect(cache: Path, select: str, backend: str, good: str, bad: str) -> tuple[float, list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS")}
    env["HARNESS_ENV_CACHE"] = str(cache)
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness", "bisect", "--select", select, "--backend", backend,
                           "--good", good, "--bad", bad], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=3600, check=False)
    wall = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0:
        raise SystemExit(f"bisect failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return wall, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--select", default="claims/c5-concat-different-masks")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--good", default="3.0.0")
    parser.add_argument("--bad", default="3.15.1")
    parser.add_argument("--cache", type=Path, help="env cache to use (default: a fresh temporary one)")
    parser.add_argument("--warm-only", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="harness-bisect-bench-")) / "envs"
    runs = {}
    for kind in (["warm"] if args.warm_only else ["cold", "warm"]):
        wall, lines = bisect(cache, args.select, args.backend, args.good, args.bad)
        built = [line.strip() for line in lines if line.strip().startswith("building ")]
        runs[kind] = {"wall_s": round(wall, 1), "verdict": lines[-1], "built": len(built),
                      "ran": next((line for line in lines if line.startswith("ran ")), "")}
        print(f"{kind}: {wall:.1f} s, built {len(built)} env layer(s); {lines[-1]}", flush=True)
    if "cold" in runs and runs["cold"]["verdict"] != runs["warm"]["verdict"]:
        raise SystemExit("the cold and warm bisects disagree")
    if runs["warm"]["built"]:
        raise SystemExit("the warm bisect built environments: the cache was not reused")
    print(f"\nbisect of {args.select} on {args.backend}, keras {args.good}..{args.bad} "
          f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()})\n")
    print("| run | wall | target | env layers built | releases run |")
    print("|---|---|---|---|---|")
    for kind, run in runs.items():
        verdict = "met" if run["wall_s"] < TARGETS[kind] else "MISSED"
        print(f"| {kind} | {run['wall_s']} s | < {TARGETS[kind]:g} s ({verdict}) | {run['built']} | "
              f"{run['ran'].split(' (')[0].removeprefix('ran ')} |")
    if args.json:
        args.json.write_text(json.dumps({"select": args.select, "backend": args.backend, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
