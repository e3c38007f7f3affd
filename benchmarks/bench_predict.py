"""Part 2: the harness's capture against the seed note's method, in one process per backend."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench_common import BENCH, MARK, PY, RAW, SEED, fresh, log, median, rotate, row, spread, timed

# ---- 2. against the seed's own method, in-process ------------------------------------------------

def part_predict(args: argparse.Namespace) -> None:
    log(f"== predict: harness capture vs per-layer Model+predict, in-process, {args.reps_inproc} reps")
    for backend in args.backends:
        folder = fresh(args.work / "predict" / backend)
        command = [PY, str(BENCH), "_predict-worker", "--backend", backend,
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


