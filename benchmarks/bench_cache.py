"""Part 7: where a suite's time goes, and what the compilation caches save."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_common import BENCH, NOTES, PY, RAW, fresh, log, row, run_env, slug, timed

# ---- 7. where a suite's time goes, and what the compilation caches save --------------------------

# Phases of the worker's scenario loop, each timed around the function that does it (the outermost
# timed call only: the compiled pass's own numpy conversion counts as the compiled pass).
PHASES = (
    ("build", "harness.run.capture", "_build"),
    ("set_weights", "harness.run.capture", "set_weights"),
    ("eager calls (x2: capture + determinism)", "harness.run.capture", "_call"),
    ("to numpy", "harness.run.capture", "_probes"),
    ("compiled pass (trace + XLA compile + run)", "harness.run.capture", "_capture_compiled"),
    ("training step (autodiff)", "harness.run.autodiff", "train_step"),
    ("Keras training API (fit scenarios)", "harness.run.fit", "run_fit"),
    ("clear_session", "keras.backend", "clear_session"),
    ("expectations", "harness.run.capture", "evaluate_expectations"),
    ("artifact encode + npz write", "harness.artifacts", "encode_record"),
    ("artifact encode + npz write", "numpy", "savez"),
    ("journal", "harness.run.runner", "_journal"),
    ("gc.freeze", "gc", "freeze"),
)
CACHE_VARIANTS = ("no cache", "cold cache", "warm cache")


def part_cache(args: argparse.Namespace) -> None:
    """Per backend: the worker's loop phase by phase, without the caches, cold, then warm."""
    log("== cache: the suite per backend, in the worker's own loop, phases timed: no cache, cold, warm")
    profiles: dict[str, dict[str, Any]] = {}
    for backend in args.backends:
        cache_dir = fresh(args.work / "cache" / f"{backend}-cache-folder")
        found: dict[str, dict[str, Any]] = {}
        for variant in CACHE_VARIANTS:  # in this order: the cold run fills what the warm run reads
            folder = fresh(args.work / "cache" / f"{backend}-{slug(variant)}")
            extra = {"HARNESS_CACHE_DIR": str(cache_dir)}
            if variant == "no cache":
                extra["HARNESS_NO_CACHE"] = "1"
            command = [PY, str(BENCH), "_profile-worker", "--backend", backend,
                       "--out", str(folder), *[x for g in args.suite_select for x in ("--suite-select", g)]]
            elapsed, code = timed(command, folder / "output.log", env=run_env(**extra))
            if code or not (folder / "profile.json").is_file():
                row(f"cache {backend}: {variant}", f"failed (exit {code}, see {folder / 'output.log'})",
                    "-", "-", False)
                break
            found[variant] = {**json.loads((folder / "profile.json").read_text()), "process_s": elapsed,
                              "folder": folder}
            log(f"  {backend:<10} {variant:<11} {elapsed:6.1f} s ({found[variant]['cache']})")
        if len(found) < len(CACHE_VARIANTS):
            continue
        profiles[backend] = found
        plain, cold, warm = (found[v] for v in CACHE_VARIANTS)
        same_cold = same_arrays(plain["folder"], cold["folder"])
        same_warm = same_arrays(plain["folder"], warm["folder"])
        n = plain["scenarios"]
        row(f"cache {backend}: {n} scenarios in one worker, no cache / cold cache / warm cache",
            f"{plain['process_s']:.1f} / {cold['process_s']:.1f} / {warm['process_s']:.1f} s; arrays: "
            f"no cache vs cold {same_cold}; no cache vs warm {same_warm}",
            f"{warm['process_s'] / plain['process_s']:.2f}x warm", "results unchanged (bit-identical)",
            same_warm.startswith("bit-identical") and same_cold.startswith("bit-identical"))
        row(f"cost per added scenario, {backend} (the loop's time / scenarios; imports are paid once)",
            f"warm cache {warm['loop_s'] / n * 1e3:.0f} ms; no cache {plain['loop_s'] / n * 1e3:.0f} ms",
            "-", "stated (info)", None)
        RAW[f"cache|{backend}"] = {v: {k: x for k, x in found[v].items() if k != "folder"} for v in found}
    if profiles:
        NOTES.append(phase_table(profiles))


def same_arrays(first: Path, second: Path) -> str:
    """Every array of two runs (their journals' npz files), compared bit for bit."""
    import numpy as np

    def load(folder: Path) -> dict[str, Any]:
        arrays: dict[str, Any] = {}
        for path in sorted(folder.glob("journal/*.npz")):
            with np.load(path) as npz:
                arrays.update({k: npz[k] for k in npz.files})
        return arrays

    def definitions(folder: Path) -> dict[str, str]:
        found = {}
        for path in folder.glob("journal/*.jsonl"):
            for line in path.read_text().splitlines():
                event = json.loads(line)
                if event.get("event") == "done":
                    found[event["entry"]["name"]] = event["entry"].get("definition_hash", "")
        return found

    # The runs follow one another for many minutes in a tree others may be editing: compare the
    # scenarios whose definition (source hash) is the same in both runs, and say how many were not.
    hashes_a, hashes_b = definitions(first), definitions(second)
    same = {n for n in hashes_a if hashes_b.get(n) == hashes_a[n]}
    a = {k: v for k, v in load(first).items() if k.split("::", 1)[0] in same}
    b = {k: v for k, v in load(second).items() if k.split("::", 1)[0] in same}
    left_out = len(hashes_a.keys() | hashes_b.keys()) - len(same)
    note = f"; {left_out} scenarios left out: added, removed or edited between the runs" if left_out else ""
    if a.keys() != b.keys():
        return f"DIFFERENT keys ({len(a.keys() ^ b.keys())} not in both){note}"
    differing = [k for k in a if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape
                 or a[k].tobytes() != b[k].tobytes()]
    if not differing:
        return f"bit-identical ({len(a):,} arrays of {len(same)} scenarios{note})"
    from harness.compare.verdicts import DEFAULT_TOLERANCES

    def close(k: str) -> bool:
        atol, rtol = DEFAULT_TOLERANCES.get(str(a[k].dtype), (0.0, 0.0))
        return a[k].shape == b[k].shape and bool(np.allclose(a[k], b[k], atol=atol, rtol=rtol, equal_nan=True))

    within = sum(close(k) for k in differing)
    return (f"{len(differing)} of {len(a):,} arrays differ ({within} within the default tolerance), "
            f"first {differing[0]}")


def phase_table(profiles: dict[str, dict[str, Any]]) -> str:
    """Where the time goes: one column per backend and cache state, one row per phase."""
    columns = [(b, v) for b in profiles for v in ("no cache", "warm cache")]
    names = list(dict.fromkeys(["imports (keras + backend)", "registry + harness imports",
                                *(p for p, _, _ in PHASES), "other (loop bookkeeping)",
                                "scenario loop", "worker process (wall)"]))
    rows = []
    for name in names:
        cells = []
        for b, v in columns:
            prof = profiles[b][v]
            value = {"imports (keras + backend)": prof["import_s"],
                     "registry + harness imports": prof["harness_import_s"],
                     "other (loop bookkeeping)": prof["loop_s"] - sum(prof["phases"].values()),
                     "scenario loop": prof["loop_s"], "worker process (wall)": prof["process_s"],
                     }.get(name, prof["phases"].get(name))
            cells.append("-" if value is None else f"{value:.2f}")
        if any(c not in ("-", "0.00") for c in cells):
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    header = "| phase (s) | " + " | ".join(f"{b} {v}" for b, v in columns) + " |"
    return "\n".join(["Where the suite's time goes (one worker process per column, phases timed around "
                      "the harness's own functions):", "", header,
                      "|---|" + "---|" * len(columns), *rows])


def profile_worker(backend: str, suite_select: list[str], out: Path) -> int:
    """The worker's own loop (runner.worker_main) with its phases timed; arrays kept in out/journal."""
    import gc
    import importlib

    started = time.perf_counter()
    from harness.run import backends, caches

    backends.prepare_process(backend)
    caches.configure(backend)
    import keras  # noqa: F401  (the backend's import, timed on its own)

    imported = time.perf_counter()
    from harness.define import registry
    from harness.run import runner

    chosen = registry.select(registry.load(list(registry.DEFAULT_SOURCES)), suite_select or None)
    harness_imported = time.perf_counter()
    spent: Counter[str] = Counter()
    depth = [0]

    def timing(phase: str, function: Any) -> Any:
        def timed_call(*a: Any, **k: Any) -> Any:
            depth[0] += 1
            begun = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[phase] += time.perf_counter() - begun
        return timed_call

    for phase, module, name in PHASES:
        try:
            owner = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(owner, name):
            setattr(owner, name, timing(phase, getattr(owner, name)))
    journal = out / "journal" / "journal-1.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    begun = time.perf_counter()
    runner.worker_main(backend, list(registry.DEFAULT_SOURCES), [s.name for s in chosen], journal, True)
    loop = time.perf_counter() - begun
    gc.collect()
    out.joinpath("profile.json").write_text(json.dumps({
        "backend": backend, "scenarios": len(chosen), "cache": caches.state(),
        "import_s": imported - started, "harness_import_s": harness_imported - imported,
        "loop_s": loop, "phases": dict(spent)}))
    return 0


