"""Issue 7's performance targets, measured side by side in one run, printed as one markdown table.

    python benchmarks/bench.py all            # every part but the cold start (about 10-15 min, 2 cores)
    python benchmarks/bench.py all --cold     # ... and the cold start (fresh clone -> report)
    python benchmarks/bench.py overhead       # one part alone: overhead | predict | suite |
                                              #   parallel | nox | cold | report

Parts (all on the seed scenario "seed/rnn-model" unless said):
  overhead  `harness run` (a supervisor plus a worker process) against benchmarks/minimal_seed.py,
            the least a person would write for the same data. Judged on `--no-compiled` (the minimal
            script makes one forward pass); the default run (plus a compiled pass) is shown too.
  predict   in one process per backend, after the backend is imported: the harness's capture
            (run_scenario, no repeat, no compiled pass) against the seed note's method, an
            intermediate keras.Model plus `predict` per probed layer (masks by layer.compute_mask).
  suite     the whole suite per backend: wall time, per-scenario cost (the artifact's duration_s),
            imports once per run, and no "retracing" in the output or the artifact's warnings.
  parallel  `harness run --backend all` against the serial sum of the three single-backend runs.
  nox       `nox -R -s tf jax torch` (reused venvs, in a clone under the work folder) against the
            three bare `harness run`s with the same venvs' interpreters.
  cold      a fresh `git clone` to a finished report with `nox -s tf jax torch`, with virtualenv and,
            where uv is found, nox's uv backend; package caches off. Only with `cold` or `all --cold`.
  report    publish.build + render.render on 100, 1,000 and 10,000 synthetic scenarios x 3 backends.

Repetitions are interleaved (A B C, B C A, ...) and medians reported: the machine is noisy. Every
result folder lies under --work (default /tmp/khb), never under reports/. Run it with an interpreter
that has keras and the three backends (and nox) installed; the `report` part needs numpy only.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import io
import json
import math
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
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


# ---- 1. harness overhead against a minimal script ------------------------------------------------

def part_overhead(args: argparse.Namespace) -> None:
    log(f"== overhead: harness run --select {SEED} vs benchmarks/minimal_seed.py, {args.reps} reps")
    variants = {
        "minimal": lambda b, d: [PY, str(ROOT / "benchmarks" / "minimal_seed.py"), b, str(d / "minimal.npz")],
        "minimal + gc.freeze": lambda b, d: [PY, str(ROOT / "benchmarks" / "minimal_seed.py"), b,
                                             str(d / "minimal.npz"), "--freeze-at-exit"],
        "harness --no-compiled": lambda b, d: harness_run(b, d, "--select", SEED, "--no-compiled"),
        "harness": lambda b, d: harness_run(b, d, "--select", SEED),
    }
    times: dict[tuple[str, str], list[float]] = {(b, v): [] for b in args.backends for v in variants}
    inside: dict[str, list[float]] = {b: [] for b in args.backends}  # the scenario's own duration_s
    startup: list[float] = []  # a process that loads the harness and the registry: the supervisor's share
    for rep in range(args.reps):
        elapsed, code = timed([PY, "-m", "harness", "list", "--select", SEED],
                              args.work / "overhead" / f"list-{rep}.log")
        startup.append(math.nan if code else elapsed)
        for b_index, backend in enumerate(args.backends):
            for variant in rotate(list(variants), rep + b_index):
                folder = fresh(args.work / "overhead" / f"{backend}-{slug(variant)}-{rep}")
                elapsed, code = timed(variants[variant](backend, folder), folder / "output.log")
                times[(backend, variant)].append(math.nan if code else elapsed)
                if variant == "harness --no-compiled" and not code:
                    inside[backend].append(_artifact_durations(folder).get(SEED, math.nan))
                log(f"  rep {rep + 1} {backend:<10} {variant:<22} {elapsed:6.2f} s")
    RAW["overhead"] = {f"{b}|{v}": t for (b, v), t in times.items()}
    for backend in args.backends:
        minimal = median(times[(backend, "minimal")])
        bare = median(times[(backend, "harness --no-compiled")])
        full = median(times[(backend, "harness")])
        last = args.reps - 1
        same = _same_as_minimal(args.work / "overhead" / f"{backend}-{slug('harness --no-compiled')}-{last}",
                                args.work / "overhead" / f"{backend}-minimal-{last}")
        ratio = bare / minimal
        row(f"overhead {backend}: `harness run --no-compiled` vs minimal script",
            f"{bare:.2f} s{spread(times[(backend, 'harness --no-compiled')])} vs {minimal:.2f} s"
            f"{spread(times[(backend, 'minimal')])}; scenario itself {median(inside[backend]):.2f} s; "
            f"{same}", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)
        frozen = median(times[(backend, "minimal + gc.freeze")])
        row(f"info {backend}: `harness run --no-compiled` vs minimal script ending in gc.freeze()",
            f"{bare:.2f} s vs {frozen:.2f} s{spread(times[(backend, 'minimal + gc.freeze')])} (the worker "
            "freezes after its imports, which also spares it collecting them at exit)",
            f"{bare / frozen:.2f}x", "info (stricter baseline)", None)
        row(f"info {backend}: where the harness's extra time goes",
            f"{bare - minimal:+.2f} s vs minimal, {bare - frozen:+.2f} s vs minimal + gc.freeze; a "
            f"supervisor-like process (`harness list`) {median(startup):.2f} s; the rest: a second eager "
            "call (determinism), clear_session's "
            "gc.collect(), environment facts, journal and artifact writes", "-", "info", None)
        row(f"overhead {backend}: `harness run` (default: + compiled pass) vs minimal script",
            f"{full:.2f} s{spread(times[(backend, 'harness')])} vs {minimal:.2f} s", f"{full / minimal:.2f}x",
            "info (target judged on --no-compiled)", None)


def _artifact_durations(folder: Path) -> dict[str, float]:
    for path in folder.glob("*.json"):
        manifest = json.loads(path.read_text())
        return {s["name"]: float(s["duration_s"]) for s in manifest.get("scenarios", [])}
    return {}


def _same_as_minimal(harness_dir: Path, minimal_dir: Path) -> str:
    """Do the harness's arrays equal the minimal script's? (the same work, checked once)"""
    import numpy as np

    try:
        npz_path = next(harness_dir.glob("*.npz"))
        with np.load(npz_path) as art, np.load(minimal_dir / "minimal.npz") as mini:
            keys = [k[: -len(".values")] for k in mini.files if k.endswith(".values")]
            worst, masks_same = 0.0, True
            for layer in keys:
                ours = art[f"{SEED}::{layer}::values"]
                worst = max(worst, float(np.max(np.abs(ours.astype(np.float64) - mini[f"{layer}.values"]))))
                has = f"{SEED}::{layer}::mask" in art.files
                if has != (f"{layer}.mask" in mini.files) or (
                        has and not np.array_equal(art[f"{SEED}::{layer}::mask"], mini[f"{layer}.mask"])):
                    masks_same = False
        return (f"same data: {len(keys)} probes, max abs diff {worst:.1g}, "
                f"masks {'equal' if masks_same else 'DIFFER'}")
    except (StopIteration, OSError, KeyError, ValueError) as exc:
        return f"same data: not checked ({type(exc).__name__}: {exc})"


# ---- 2. against the seed's own method, in-process ------------------------------------------------

def part_predict(args: argparse.Namespace) -> None:
    log(f"== predict: harness capture vs per-layer Model+predict, in-process, {args.reps_inproc} reps")
    for backend in args.backends:
        folder = fresh(args.work / "predict" / backend)
        command = [PY, str(Path(__file__).resolve()), "_predict-worker", "--backend", backend,
                   "--reps", str(args.reps_inproc)]
        elapsed, code = timed(command, folder / "output.log")
        output = (folder / "output.log").read_text(errors="replace")
        found = [line[len(MARK):] for line in output.splitlines() if line.startswith(MARK)]
        if code or not found:
            row(f"seed method {backend}: per-layer predict vs harness capture", "worker failed (see "
                f"{folder / 'output.log'})", "-", ">= 3x", False)
            continue
        result = json.loads(found[-1])
        RAW[f"predict|{backend}"] = result
        harness_s, seed_s = median(result["harness"]), median(result["seed"])
        ratio = seed_s / harness_s
        log(f"  {backend}: harness {harness_s:.3f} s, seed method {seed_s:.3f} s ({elapsed:.0f} s in all)")
        row(f"seed method {backend}: per-layer Model+predict (no clear_session) vs harness capture, in-process",
            f"{seed_s:.3f} s{spread(result['seed'])} vs {harness_s:.3f} s{spread(result['harness'])}; "
            f"{result['same']}; " + ("gc.freeze() after imports, as the worker does" if result["worker_freezes"]
                                     else "no gc.freeze() (the worker does none)"),
            f"{ratio:.1f}x faster", ">= 3x", ratio >= 3)
        no_gc = median(result["harness_no_gc"])
        row(f"info {backend}: harness capture if clear_session skipped its gc.collect()",
            f"{no_gc:.3f} s{spread(result['harness_no_gc'])} (one gc.collect() here: "
            f"{median(result['gc_collect']):.3f} s)", f"{seed_s / no_gc:.1f}x faster than the seed method",
            "info (what-if, harness unchanged)", None)
        frozen = median(result["harness_frozen"])
        if result["harness_frozen"]:
            row(f"info {backend}: harness capture after gc.freeze() (what-if: one call in the worker after imports)",
                f"{frozen:.3f} s{spread(result['harness_frozen'])} (gc.collect() then "
                f"{median(result['gc_collect_frozen']):.3f} s)", f"{seed_s / frozen:.1f}x faster than the seed method",
                "info (what-if, harness unchanged)", None)
        build = median(result["build"])
        row(f"info {backend}: capture alone, without the build + set_weights both methods share",
            f"shared {build:.3f} s; seed method {seed_s - build:.3f} s vs harness {harness_s - build:.3f} s "
            f"({no_gc - build:.3f} s without the gc.collect())",
            f"{(seed_s - build) / (harness_s - build):.1f}x ({(seed_s - build) / max(no_gc - build, 1e-3):.1f}x)",
            "info", None)
        row(f"retracing {backend}: in one process (Python warnings; TF logger at WARNING)",
            f"seed method {result['retrace_seed']}, harness capture {result['retrace_harness']}, "
            f"{result['compiled_reps']} harness captures with the compiled pass {result['retrace_compiled']}",
            "-", "0", result["retrace_seed"] + result["retrace_harness"] + result["retrace_compiled"] == 0)


def predict_worker(backend: str, reps: int) -> int:
    """One backend, one process: time run_scenario against the seed's per-layer predict."""
    import logging
    import warnings

    from harness.run import backends

    backends.prepare_process(backend)

    class Retraces(logging.Handler):
        count = 0

        def emit(self, record: logging.LogRecord) -> None:
            if "retrac" in record.getMessage().lower():
                Retraces.count += 1

    tf_logger = logging.getLogger("tensorflow")
    tf_logger.addHandler(Retraces())
    tf_logger.setLevel(logging.WARNING)  # the harness's worker silences these; here we want them seen

    from harness.define import registry
    from harness.run import capture

    scn = next(s for s in registry.load(["scenarios.seed"]) if s.name == SEED)
    import functools
    import gc
    import inspect

    import keras
    import numpy as np

    from harness.run import runner

    # Time run_scenario in the state the worker runs it in: if the worker freezes the objects its
    # imports made (so clear_session's gc.collect() skips them), do the same here.
    worker_freezes = "gc.freeze()" in inspect.getsource(runner.worker_main)
    if worker_freezes:
        gc.collect()
        gc.freeze()

    def harness_once() -> Any:
        return capture.run_scenario(scn, backend, repeat=False, compiled=False)

    def harness_no_gc() -> Any:  # what-if: clear_session without its full gc.collect()
        clear = keras.backend.clear_session
        keras.backend.clear_session = functools.partial(clear, free_memory=False)
        try:
            return harness_once()
        finally:
            keras.backend.clear_session = clear

    def seed_once() -> Any:
        return seed_method(scn)

    def warning_retraces(caught: list[Any]) -> int:
        return sum("retrac" in str(w.message).lower() for w in caught)

    outcome, (values, masks) = harness_once(), seed_once()  # warm-up, and the data to compare
    probes = outcome.captured.probes
    worst, masks_same, missing = 0.0, True, []
    for name, array in values.items():
        if name not in probes:
            missing.append(name)
            continue
        worst = max(worst, float(np.max(np.abs(probes[name].values.astype(np.float64) - array))))
        ours = probes[name].mask
        if (ours is None) != (masks[name] is None) or (ours is not None and not np.array_equal(ours, masks[name])):
            masks_same = False
    same = (f"same data: {len(values) - len(missing)} probes, max abs diff {worst:.1g}, masks "
            f"{'equal' if masks_same else 'DIFFER'}" + (f", missing {missing}" if missing else ""))

    def build_only() -> Any:  # the part both methods share: build the model, set its weights
        model, _ = scn.build()
        capture.set_weights(model, scn.name)
        return model

    variants = {"harness": harness_once, "seed": seed_once, "harness_no_gc": harness_no_gc,
                "build": build_only}
    timings: dict[str, list[float]] = {v: [] for v in variants}
    retraces = dict.fromkeys(variants, 0)
    for rep in range(reps):
        for which in rotate(list(variants), rep):
            before = Retraces.count
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                started = time.perf_counter()
                variants[which]()
                timings[which].append(time.perf_counter() - started)
            retraces[which] += Retraces.count - before + warning_retraces(caught)
    def collect_times() -> list[float]:
        spent = []
        for _ in range(3):
            started = time.perf_counter()
            gc.collect()
            spent.append(time.perf_counter() - started)
        return spent

    gc_times = collect_times()
    frozen_gc, frozen = [], []
    if not worker_freezes:
        gc.freeze()  # what-if: the worker freezes what the imports made; full collections skip it
        frozen_gc = collect_times()
        for _ in range(reps):
            started = time.perf_counter()
            harness_once()
            frozen.append(time.perf_counter() - started)
        gc.unfreeze()
    compiled_reps, before = 6, Retraces.count  # TF warns after 5 retraces of one function
    compiled_warnings = 0
    for _ in range(compiled_reps):
        result = capture.run_scenario(scn, backend, repeat=True, compiled=True)
        compiled_warnings += sum("retrac" in w.message.lower() for w in result.captured.warnings)
    print(MARK + json.dumps({
        "harness": timings["harness"], "seed": timings["seed"], "same": same,
        "harness_no_gc": timings["harness_no_gc"], "gc_collect": gc_times, "build": timings["build"],
        "harness_frozen": frozen, "gc_collect_frozen": frozen_gc, "worker_freezes": worker_freezes,
        "retrace_harness": retraces["harness"], "retrace_seed": retraces["seed"],
        "compiled_reps": compiled_reps, "retrace_compiled": Retraces.count - before + compiled_warnings,
    }), flush=True)
    return 0


def seed_method(scn: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed note's way: an intermediate keras.Model and `predict` for each probed layer.

    `predict` returns no masks, so each layer's mask is recomputed with layer.compute_mask from its
    inputs' predicted values and masks (in the model's topological order): the cheapest way a user of
    the public API has to the same masks, and no extra predict calls. No clear_session: the seed
    never called it.
    """
    import keras
    import numpy as np

    from harness.run import capture

    model, inputs = scn.build()
    capture.set_weights(model, scn.name)
    layers = capture.probe_layers(model, scn)
    values: dict[str, Any] = {}
    for layer in layers:
        values[layer.name] = keras.Model(model.inputs, layer.output).predict(inputs, verbose=0)
    known = {t._keras_history[0].name: (x, None) for t, x in zip(model.inputs, inputs)}
    masks: dict[str, Any] = {}
    for layer in layers:
        args = layer._inbound_nodes[0].arguments.args
        parents = [known.get(t._keras_history[0].name) for t in keras.tree.flatten(args)]
        if any(p is None for p in parents):  # a parent that is not probed: its values are unknown
            masks[layer.name] = None
            continue
        several = isinstance(args[0], (list, tuple))
        x = [p[0] for p in parents] if several else parents[0][0]
        m = [p[1] for p in parents] if several else parents[0][1]
        mask = layer.compute_mask(x, m)
        masks[layer.name] = None if mask is None else np.asarray(keras.ops.convert_to_numpy(mask)).astype(bool)
        known[layer.name] = (values[layer.name], masks[layer.name])
    return values, masks


# ---- 3. the whole suite per backend --------------------------------------------------------------

def part_suite(args: argparse.Namespace) -> None:
    log("== suite: the whole suite per backend (+ one seed-only run for the fixed cost)")
    for backend in args.backends:
        earlier = [t for t in RAW.get("overhead", {}).get(f"{backend}|harness", []) if not math.isnan(t)]
        if earlier:  # the overhead part's default runs are exactly this: reuse them
            seed_dir = args.work / "overhead" / f"{backend}-harness-{len(earlier) - 1}"
            seed_wall, seed_code = median(earlier), 0
        else:
            seed_dir = fresh(args.work / "suite" / f"{backend}-seed-only")
            seed_wall, seed_code = timed(harness_run(backend, seed_dir, "--select", SEED, "-q"),
                                         seed_dir / "output.log")
        folder = fresh(args.work / "suite" / backend)
        extra = [x for pattern in args.suite_select for x in ("--select", pattern)]
        wall, code = timed(harness_run(backend, folder, "-q", *extra), folder / "output.log")
        log(f"  {backend}: seed-only {seed_wall:.1f} s, suite {wall:.1f} s")
        manifests = [json.loads(p.read_text()) for p in folder.glob("*.json")]
        if code or not manifests:
            row(f"suite {backend}", f"run failed (exit {code}, see {folder / 'output.log'})", "-", "-", False)
            continue
        scenarios = manifests[0]["scenarios"]
        durations = [float(s["duration_s"]) for s in scenarios]
        statuses = Counter(s["status"] for s in scenarios)
        slowest = max(scenarios, key=lambda s: s["duration_s"])
        n = len(durations)
        outside = wall - sum(durations)
        seed_outside = seed_wall - _artifact_durations(seed_dir).get(SEED, math.nan)
        marginal = (wall - seed_wall) / (n - 1) if n > 1 else math.nan
        text = (folder / "output.log").read_text(errors="replace")
        in_output = text.lower().count("retrac")
        in_warnings = sum("retrac" in w["message"].lower() for s in scenarios for w in s.get("warnings", []))
        RAW[f"suite|{backend}"] = {"wall": wall, "seed_wall": seed_wall, "durations": durations}
        # A worker restarted (keras re-imported) per scenario would add seconds per scenario outside
        # duration_s; bookkeeping (journal, npz, source hash) adds milliseconds.
        bookkeeping = (outside - seed_outside) / (n - 1) if n > 1 else 0.0
        imports_once = not seed_code and bookkeeping < 0.1
        row(f"suite {backend}: {n} scenarios ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})",
            f"wall {wall:.1f} s; sum of duration_s {sum(durations):.1f} s (median {statistics.median(durations):.2f}"
            f" s, max {slowest['duration_s']:.2f} s {slowest['name']}); outside scenarios {outside:.1f} s vs "
            f"{seed_outside:.1f} s for the seed alone: {bookkeeping * 1e3:.0f} ms more per scenario",
            f"{wall / n:.2f} s/scenario (marginal {marginal:.2f} s)",
            "one import per run (< 0.1 s/scenario outside duration_s)", imports_once)
        row(f"suite {backend}: 'retracing' warnings", f"{in_output} in stdout/stderr, {in_warnings} in the "
            "artifact's warnings", "-", "0", in_output + in_warnings == 0)
    if "tensorflow" in args.backends:
        NOTES.append("The harness's worker sets the 'tensorflow' Python logger to ERROR, so TensorFlow's "
                     "retracing warning (a logging WARNING) could not reach the suite's output; the "
                     "predict part checks for it in-process with that logger at WARNING.")


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


# ---- 6. the report stage on synthetic artifacts --------------------------------------------------

BENCH_BACKENDS = (("tensorflow-cpu", "tensorflow"), ("jax-cpu", "jax"), ("torch-cpu", "torch"))
REPORT_TARGET_S = 2.0  # issue 15 (issue 7 had 5 s)


def synthetic_runs(n: int) -> list[Any]:
    """n scenarios x 3 backends, 3 probes of (2, 5, 3) float32 with a (2, 5) mask each.

    Most pairs match; every 10th scenario differs on torch at a kept position, every 20th (offset)
    at a masked position only, and every 100th fails on jax: every comparison path is exercised.
    """
    import numpy as np

    from harness.artifacts import Artifact, ScenarioRecord
    from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

    rng = np.random.default_rng(7)
    base = rng.standard_normal((n, 3, 2, 5, 3)).astype(np.float32)
    mask = np.array([[False, True, False, True, False], [True, True, True, False, False]])
    runs = []
    for label, backend in BENCH_BACKENDS:
        records = {}
        for i in range(n):
            name = f"synthetic/s{i:05d}"
            probes = {}
            for p in range(3):
                values = base[i, p].copy()
                if backend == "torch" and i % 10 == 1 and p == 2:
                    values[0, 1, 0] += 1e-3  # a kept position: "differs"
                if backend == "torch" and i % 20 == 3 and p == 1:
                    values[0, 0, 0] += 1e-3  # a masked position only: "differs-masked-only"
                probes[f"layer_{p}"] = Probe(values, mask.copy(), "float32")
            status, error, warned = "ok", None, []
            if backend == "jax" and i % 100 == 7:
                status, error, probes = "error", ErrorInfo("ValueError", "synthetic failure", ("x.py:1 in f",)), {}
            if i % 50 == 5:
                warned = [WarningInfo("UserWarning", f"synthetic warning on {backend}")]
            meta = {"description": f"synthetic scenario {i}", "tags": ["synthetic"],
                    "definition_hash": f"{i:016x}", "source": "def build():\n    return model, inputs",
                    "tolerances": {}, "dtype_policy": None, "deterministic": True,
                    "expectations": [{"name": "mask kept", "claim": "C2", "passed": True,
                                      "evidence": "layer_0 mask 01010"}]}
            records[name] = ScenarioRecord(name, status, 0.1, Captured(name, backend, probes, error, warned), meta)
        environment = {"backend": backend, "backend_version": "0", "keras": "3", "device": "cpu"}
        runs.append(Artifact(label, environment, records))
    return runs


CPU_S: list[float] = []  # CPU seconds of each time_report call: on a shared machine, the steadier figure


def time_report(runs: list[Any]) -> tuple[float, float, int]:
    from harness.report import publish, render

    missing_known = Path("/nonexistent/known_divergences.toml")  # no known divergences
    cpu, started = time.process_time(), time.perf_counter()
    data, _facts = publish.build(runs, missing_known)
    built = time.perf_counter()
    text = render.render(data)
    CPU_S.append(time.process_time() - cpu)
    return built - started, time.perf_counter() - built, len(text)


def part_report(args: argparse.Namespace) -> None:
    log(f"== report: publish.build + render.render on synthetic artifacts, sizes {args.sizes}")
    per_scenario: dict[int, float] = {}
    totals: dict[int, float] = {}
    detail: dict[int, str] = {}
    cpu: dict[int, float] = {}
    for n in args.sizes:
        runs = synthetic_runs(n)
        reps = 3 if n <= 1000 else 1
        CPU_S.clear()
        measured = [time_report(runs) for _ in range(reps)]
        cpu[n] = median(CPU_S)
        total = median([b + r for b, r, _ in measured])
        build_s, render_s = median([b for b, _, _ in measured]), median([r for _, r, _ in measured])
        totals[n], per_scenario[n] = total, total / n
        detail[n] = (f"{n:,}: {total:.2f} s (build {build_s:.2f} + render {render_s:.2f}; "
                     f"{measured[0][2] / 1e6:.1f} MB); CPU {cpu[n]:.2f} s")
        log(f"  {detail[n]}")
        if n == max(args.sizes) and total > REPORT_TARGET_S:
            profile(runs, args.work / "report-profile.txt")
    largest, smallest = max(args.sizes), min(args.sizes)
    RAW["report"] = totals
    row(f"report stage: {largest:,} synthetic scenarios x 3 backends (build + render)",
        detail[largest], "-", f"< {REPORT_TARGET_S:g} s (wall; CPU shown for a shared machine)",
        totals[largest] < REPORT_TARGET_S)
    growth = per_scenario[largest] / per_scenario[smallest]
    mid = sorted(args.sizes)[-2] if len(args.sizes) > 1 else largest
    row("report stage: linear growth", "; ".join(
        f"{n:,}: {per_scenario[n] * 1e3:.3f} ms/scenario" for n in sorted(args.sizes)),
        f"{growth:.2f}x per scenario ({largest:,} vs {smallest:,}); "
        f"{per_scenario[largest] / per_scenario[mid]:.2f}x ({largest:,} vs {mid:,})",
        "linear (per-scenario cost <= 1.5x)", growth <= 1.5 and per_scenario[largest] / per_scenario[mid] <= 1.5)
    if args.heatmap:
        part_heatmap(args)


def part_heatmap(args: argparse.Namespace) -> None:
    """`harness report` also draws a heatmap with one row per scenario (not in the 5 s target)."""
    for n in (1000, 10000):
        folder = fresh(args.work / "heatmap" / str(n))
        command = [PY, str(Path(__file__).resolve()), "_heatmap-worker", "--n", str(n), "--out", str(folder)]
        elapsed, code = timed(command, folder / "output.log", timeout=args.heatmap_timeout)
        text = (folder / "output.log").read_text(errors="replace")
        drawn = re.findall(r"heatmap drawn in ([0-9.]+) s", text)
        tail = text.strip().splitlines()[-1:]
        outcome = (f"{float(drawn[-1]):.1f} s to draw" if drawn and not code else
                   f"not drawn within {args.heatmap_timeout:g} s" if code == 124 else
                   f"failed: {' '.join(tail)[:160]}")
        row(f"info: publish.heatmap with {n:,} scenarios (part of `harness report`)",
            f"{outcome} ({elapsed:.1f} s with making and comparing the data)", "-", "info",
            None if not code else False)


def heatmap_worker(n: int, out: Path) -> int:
    from harness.report import publish

    data, _ = publish.build(synthetic_runs(n), Path("/nonexistent/known.toml"))
    started = time.perf_counter()
    drawn = publish.heatmap(data, out / "heatmap.png")
    print(f"heatmap {'drawn' if drawn else 'skipped (no matplotlib)'} in {time.perf_counter() - started:.1f} s")
    return 0


def profile(runs: list[Any], path: Path) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    time_report(runs)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).sort_stats("tottime")
    stats.print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    path.write_text(buffer.getvalue())
    top = pstats.Stats(profiler).sort_stats("tottime")
    hot = sorted(top.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]  # type: ignore[attr-defined]
    NOTES.append("Report-stage hot spots (cProfile, own time): " + "; ".join(
        f"{Path(f).name}:{line} {fn} {tt:.2f} s ({nc} calls)" for (f, line, fn), (_cc, nc, tt, _ct, _callers)
        in hot) + f". Full profile: {path}")


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
            command = [PY, str(Path(__file__).resolve()), "_profile-worker", "--backend", backend,
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


# ---- main ----------------------------------------------------------------------------------------

PARTS = {"overhead": part_overhead, "predict": part_predict, "suite": part_suite,
         "parallel": part_parallel, "nox": part_nox, "cold": part_cold, "report": part_report,
         "cache": part_cache, "main": part_main}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=[*PARTS, "all", "_predict-worker", "_heatmap-worker", "_profile-worker"])
    parser.add_argument("--backend", "--backends", dest="backends", action="append", choices=BACKENDS,
                        help="limit to these backends (repeatable; default all three)")
    parser.add_argument("--reps", type=int, default=3, help="overhead repetitions (default 3)")
    parser.add_argument("--reps-inproc", type=int, default=3, help="in-process repetitions (predict; default 3)")
    parser.add_argument("--reps-parallel", type=int, default=2, help="parallel and nox repetitions (default 2)")
    parser.add_argument("--select", action="append", metavar="GLOB",
                        help=f"selection for parallel, nox and cold (default {SEED!r})")
    parser.add_argument("--suite-select", action="append", default=[], metavar="GLOB",
                        help="limit the suite part (default: the whole suite)")
    parser.add_argument("--cold-select", action="append", default=[], metavar="GLOB",
                        help="limit the cold start (default: the whole suite, as a new user runs it)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000],
                        help="synthetic suite sizes for the report part")
    parser.add_argument("--heatmap", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the report's heatmap at 1,000 and 10,000 scenarios (info)")
    parser.add_argument("--heatmap-timeout", type=float, default=30)
    parser.add_argument("--cold", action="store_true", help="`all` also runs the cold-start part")
    parser.add_argument("--uv", metavar="PATH", help="the uv binary for the cold start's uv backend")
    parser.add_argument("--work", type=Path, default=Path("/tmp/khb"), help="results folder (default /tmp/khb)")
    parser.add_argument("--json", type=Path, help="also write the rows and raw timings here")
    parser.add_argument("--n", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.backends = tuple(b for b in BACKENDS if b in (args.backends or BACKENDS))
    args.select = args.select or [SEED]
    if args.part == "_predict-worker":
        return predict_worker(args.backends[0], args.reps_inproc)
    if args.part == "_heatmap-worker":
        return heatmap_worker(args.n, args.out)
    if args.part == "_profile-worker":
        return profile_worker(args.backends[0], args.suite_select, args.out)
    if ROOT.resolve() in args.work.resolve().parents or args.work.resolve() == ROOT.resolve():
        parser.error("--work must lie outside the repository (results never go under reports/)")
    args.work.mkdir(parents=True, exist_ok=True)

    chosen = [args.part] if args.part != "all" else [
        p for p in ("report", "overhead", "predict", "parallel", "cold", "nox", "suite")
        if p != "cold" or args.cold]
    started, load_before = time.perf_counter(), os.getloadavg()
    for part in chosen:
        PARTS[part](args)
    load_after = os.getloadavg()
    print(f"\nMachine: {machine()}")
    print(f"Code: {git_revision()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"{time.perf_counter() - started:.0f} s in all\n")
    print("| measure | value(s) | ratio | target | met? |")
    print("|---|---|---|---|---|")
    for r in ROWS:
        print(f"| {r.measure} | {r.values} | {r.ratio} | {r.target} | {r.met} |")
    for note in NOTES:
        print(f"\n{note}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": [asdict(r) for r in ROWS],
                                         "notes": NOTES, "raw": RAW}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
