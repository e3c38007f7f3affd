"""Issue 23, the forced full run: before and after a change, side by side in one run, and bit for bit.

    python benchmarks/bench_forced.py compare DIR_A DIR_B
    python benchmarks/bench_forced.py suite --before /work/before [--backends tensorflow jax torch] [--repeat 2]
    python benchmarks/bench_forced.py nox --before /work/before [--repeat 2]

- compare: every artifact of DIR_A against the one of the same label in DIR_B: every array (values and
  masks: dtype, shape and bytes) and every manifest entry apart from timings (`duration_s`) and the
  reuse fingerprint (a hash of the harness's own code, so it differs whenever the code does); the
  environment keys that differ are listed. Exit 1 if any array or entry differs.
- suite: `harness run --backend B --no-reuse` from the before tree (4df21c3) and from this checkout,
  interleaved (before, after, after, before, ...), each with the same interpreter (--python-tf/-jax/
  -torch, default the before tree's nox venvs) and so the same warm compilation cache; wall seconds,
  CPU seconds and load per run, then `compare` on the last runs of each side. Each side's results
  folder starts with the published artifacts (reports/results), as a clean clone has them.
- nox: the whole main job, `HARNESS_NO_REUSE=1 nox -R -s tf jax torch`, in a clone of each side (their
  own .nox, built and warmed by one `nox -s tf jax torch` first), interleaved; the whole call and each
  backend's `run_wall_s`, then `compare` on the last runs.

Everything runs under /tmp/khb-forced (--work); nothing under this checkout's reports/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]
from bench_speed import _arrays, copy_checkout, load, timed  # noqa: E402  (the reuse benchmark's own reader)

BACKENDS = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
TIMINGS = {"duration_s", "fingerprint"}  # what may differ between two runs of the same arrays
ENVIRONMENT_PER_RUN = {"command", "time", "run_wall_s", "compilation_cache", "git_revision", "reused"}


def compare(first: Path, second: Path, pattern: str = "*") -> tuple[list[str], bool]:
    """Lines saying how two results folders' artifacts (those whose label matches `pattern`) agree, and
    whether they are the same apart from timings."""
    lines, same = [], True
    labels = sorted(p.stem for p in first.glob(f"{pattern}.json"))
    if not labels or labels != sorted(p.stem for p in second.glob(f"{pattern}.json")):
        return [f"different artifacts: {labels} vs {sorted(p.stem for p in second.glob(f'{pattern}.json'))}"], False
    for label in labels:
        arrays_a, _ = _arrays(first / f"{label}.json")
        arrays_b, _ = _arrays(second / f"{label}.json")
        equal = sum(1 for key, value in arrays_a.items() if arrays_b.get(key) == value)
        missing = sorted(set(arrays_a) ^ set(arrays_b))
        manifest_a, manifest_b = (json.loads((folder / f"{label}.json").read_text()) for folder in (first, second))
        entries_a, entries_b = (
            {e["name"]: {k: v for k, v in e.items() if k not in TIMINGS} for e in m["scenarios"]}
            for m in (manifest_a, manifest_b))
        differing = sorted(n for n in entries_a.keys() | entries_b.keys() if entries_a.get(n) != entries_b.get(n))
        environment = sorted(k for k in manifest_a["environment"].keys() | manifest_b["environment"].keys()
                             if manifest_a["environment"].get(k) != manifest_b["environment"].get(k))
        order = [e["name"] for e in manifest_a["scenarios"]] == [e["name"] for e in manifest_b["scenarios"]]
        ok = equal == len(arrays_a) == len(arrays_b) and not differing and order
        same = same and ok
        lines.append(f"{label}: {equal} of {len(arrays_a)} arrays bit-identical"
                     + (f" ({len(missing)} only on one side: {missing[:3]})" if missing else "")
                     + f"; {len(entries_a) - len(differing)} of {len(entries_a)} entries equal apart from timings"
                     + (f" (differ: {', '.join(differing[:6])}{' ...' if len(differing) > 6 else ''})" if differing else "")
                     + ("" if order else "; scenario order differs")
                     + f"; environment differs in: {', '.join(environment) or 'nothing'}"
                     + (" (all per-run)" if set(environment) <= ENVIRONMENT_PER_RUN else " (NOT only per-run keys)"))
    return lines, same


def part_compare(args: argparse.Namespace) -> int:
    lines, same = compare(args.first, args.second)
    print("\n".join(lines))
    print("same apart from timings" if same else "DIFFERENT")
    return 0 if same else 1


def _seeded(folder: Path, source: Path) -> Path:
    """A results folder holding the published artifacts, as a clean clone has them."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in (source / "reports" / "results").glob("*"):
        shutil.copy2(path, folder / path.name)
    return folder


def _run_wall(results: Path, backend: str) -> float | None:
    for path in results.glob(f"{backend}-*.json"):
        return json.loads(path.read_text())["environment"].get("run_wall_s")
    return None


def part_suite(args: argparse.Namespace) -> int:
    trees = {"before": args.before.resolve(), "after": ROOT}
    print("| backend | side | run | wall | CPU | run_wall_s | load before -> after |")
    print("|---|---|---|---|---|---|---|")
    same_all = True
    for backend in args.backends:
        python = getattr(args, f"python_{BACKENDS[backend]}") or str(args.before / ".nox" / BACKENDS[backend] / "bin" / "python")
        folders = {side: args.work / f"suite-{side}-{backend}" for side in trees}
        for side in trees:
            _seeded(folders[side], trees["before"])
        env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "HARNESS_NO_REUSE", "HARNESS_WORKERS")}
        figures: dict[str, list[float]] = {side: [] for side in trees}
        for repeat in range(args.repeat):
            for side in (("before", "after") if repeat % 2 == 0 else ("after", "before")):
                command = [python, "-m", "harness", "run", "--backend", backend, "--no-reuse", "-q",
                           "--results", str(folders[side])]
                start_load = load()
                wall, cpu, code, out = timed(command, trees[side], env,
                                             log=args.work / f"suite-{side}-{backend}-{repeat}.log")
                figures[side].append(wall)
                status = "" if code == 0 else f" FAILED ({code})"
                print(f"| {backend} | {side} | {repeat + 1} | {wall:.1f} s{status} | {cpu:.1f} s | "
                      f"{_run_wall(folders[side], backend)} s | {start_load} -> {load()} |", flush=True)
        lines, same = compare(folders["before"], folders["after"], f"{backend}-*")
        same_all = same_all and same
        ratio = min(figures["after"]) / min(figures["before"])
        print(f"\n{backend}: best after / best before = {ratio:.2f}x; " + "; ".join(lines) + "\n", flush=True)
    return 0 if same_all else 1


def _clone(side: str, before: Path, work: Path) -> Path:
    """A checkout of each side with its published artifacts: the before commit, or this checkout."""
    target = work / f"nox-{side}"
    if (target / "noxfile.py").is_file() and side == "before":
        return target
    if side == "before":
        revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=before, capture_output=True, text=True,
                                  check=True).stdout.strip()
        subprocess.run(["git", "clone", "--quiet", str(before), str(target)], check=True)
        subprocess.run(["git", "checkout", "--quiet", revision], cwd=target, check=True)
        return target
    nox_dir = target / ".nox"
    kept = work / "nox-after-venvs"
    if nox_dir.is_dir():  # keep the built venvs and their caches across copies of the checkout
        shutil.rmtree(kept, ignore_errors=True)
        nox_dir.rename(kept)
    copy_checkout(target)
    shutil.copytree(ROOT / "reports", target / "reports")
    if kept.is_dir():
        kept.rename(nox_dir)
    return target


def part_nox(args: argparse.Namespace) -> int:
    clones = {side: _clone(side, args.before.resolve(), args.work) for side in ("before", "after")}
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "HARNESS_NO_REUSE", "HARNESS_WORKERS")}
    for side, clone in clones.items():
        if not (clone / ".nox" / "tf" / "bin" / "python").exists() or args.rebuild:
            wall, _, code, _ = timed(["nox", "-s", "tf", "jax", "torch"], clone, env,
                                     log=args.work / f"nox-{side}-build.log")
            print(f"{side}: venvs built and caches filled in {wall:.1f} s (exit {code}), {load()}", flush=True)
    forced = {**env, "HARNESS_NO_REUSE": "1"}
    print("| side | run | whole `nox -R` | tf | jax | torch | load before -> after |")
    print("|---|---|---|---|---|---|---|")
    best: dict[str, float] = {}
    for repeat in range(args.repeat):
        for side in (("before", "after") if repeat % 2 == 0 else ("after", "before")):
            start_load = load()
            wall, _, code, _ = timed(["nox", "-R", "-s", "tf", "jax", "torch"], clones[side], forced,
                                     log=args.work / f"nox-{side}-{repeat}.log")
            results = clones[side] / "reports" / "results"
            suites = " | ".join(f"{_run_wall(results, b)} s" for b in BACKENDS)
            best[side] = min(best.get(side, wall), wall)
            print(f"| {side} | {repeat + 1} | {wall:.1f} s{'' if code == 0 else f' FAILED ({code})'} | {suites} | "
                  f"{start_load} -> {load()} |", flush=True)
    lines, same = compare(clones["before"] / "reports" / "results", clones["after"] / "reports" / "results")
    print(f"\nbest after / best before = {best['after'] / best['before']:.2f}x")
    print("\n".join(lines))
    return 0 if same else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/khb-forced"))
    parts = parser.add_subparsers(dest="part", required=True)
    pair = parts.add_parser("compare")
    pair.add_argument("first", type=Path)
    pair.add_argument("second", type=Path)
    suite = parts.add_parser("suite")
    suite.add_argument("--before", type=Path, required=True, help="a checkout of the commit before the change")
    suite.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    suite.add_argument("--repeat", type=int, default=2)
    for short in BACKENDS.values():
        suite.add_argument(f"--python-{short}", help=f"the interpreter for {short} (default: BEFORE/.nox/{short})")
    nox = parts.add_parser("nox")
    nox.add_argument("--before", type=Path, required=True)
    nox.add_argument("--repeat", type=int, default=2)
    nox.add_argument("--rebuild", action="store_true", help="run `nox -s tf jax torch` first even if built")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    code = {"compare": part_compare, "suite": part_suite, "nox": part_nox}[args.part](args)
    print(f"({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
