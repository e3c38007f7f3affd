"""The long-lived case worker: one process per backend, fed case specs, each import paid once.

    python -m harness.run.case_worker BACKEND WORKDIR [--compiled]

Protocol (one JSON object per line): the worker first answers {"event": "ready", "environment":
{...}, "jax_modes": [...]}; then for each request {"id": N, "spec": {...}, "jax_mode": MODE} on stdin
(MODE optional, see JAX_MODES) it answers {"id": N, "entry": ENTRY,
"arrays": FILE | null} on its protocol stream, where ENTRY and the arrays (an .npz in WORKDIR) are the
artifact's own record encoding (artifacts.encode_record), or {"id": N, "error": "..."} for a spec it
cannot use. End of input ends the worker. The protocol stream is the process's original stdout; Python
and library prints go to stderr, so nothing a layer prints can corrupt an answer. The supervisor
(harness/generate/workers.py) restarts a worker that dies or runs past its time on a case.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from harness import artifacts
from harness.artifacts import ScenarioRecord
from harness.define import spec as specs
from harness.define.captured import Captured, ErrorInfo
from harness.run import backends, caches
from harness.run.spec_scenario import as_scenario

RNG_OPS = ("Dropout", "GaussianNoise")
# How the JAX worker runs a case's forward pass. "eager": as Keras users run it, and as the suite does:
# every op of the call is its own small XLA program, compiled for each new shape (30-120 compilations
# for a new case: ~70 % of its time). "jit": the whole probe model's forward pass as ONE jax.jit
# program (the suite's compiled pass, capture.compile_forward; masks read inside the trace), 2-3x
# cheaper to compile for a new case. A screening mode only: the supervisor (harness/generate/workers.py)
# runs a case again eagerly whenever "jit" gave anything but an agreement of every backend, so every
# finding, shrink step and kept case is judged on the eager records users get.
JAX_MODES = ("eager", "jit")


def answer(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, default=_json_default) + "\n")
    out.flush()


def _json_default(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else str(value)


def run_case(spec: dict[str, Any], backend: str, compiled: bool, jax_mode: str = "eager") -> ScenarioRecord:
    from harness.run import capture

    scn = as_scenario(spec)
    # The second eager call only tells RNG-driven layers apart (Dropout, GaussianNoise in training mode);
    # elsewhere it would double the cost of a case for a check that cannot fail.
    repeat = bool(spec.get("training")) and any(la["op"] in RNG_OPS for la in spec["layers"])
    mode = jax_mode if backend == "jax" and not (compiled or spec.get("fit") or repeat) else "eager"  # (1)
    try:
        with _jax_mode(mode):
            outcome = capture.run_scenario(scn, backend, repeat=repeat, compiled=compiled)
    except capture.ScenarioDefinitionError as exc:
        return ScenarioRecord(scn.name, "error", 0.0,
                              Captured(scn.name, backend, error=ErrorInfo("ScenarioDefinitionError", str(exc))),
                              {"definition_error": True, "jax_mode": mode})
    return ScenarioRecord(scn.name, outcome.status, outcome.duration_s, outcome.captured,
                          {"tolerances": {}, **outcome.meta, "jax_mode": mode})
# (1) eager where jit would not be the same call: a fit case (Keras's own trainer), an RNG-driven case
# run twice to tell randomness apart, and the suite's --compiled pass (which runs both already).


@contextlib.contextmanager
def _jax_mode(mode: str) -> Any:
    """In "jit" mode capture's one forward call is the compiled forward pass, probes named as eager ones."""
    if mode != "jit":
        yield
        return
    from harness.run import capture, portability, produced

    def jitted(probe_model: Any, layers: list[Any], inputs: list[Any], training: bool = False):
        forward = capture.compile_forward(probe_model, training, layers)
        with produced.masks_at_production(capture._layer_objects(layers)):  # active while the trace runs
            results, masks = forward(inputs)
        if portability.mask_reader() == "unreadable":  # None stood for UNREADABLE inside the trace
            masks = [portability.UNREADABLE] * len(masks)
        return list(results), list(masks)

    eager, capture._call = capture._call, jitted
    try:
        yield
    finally:
        capture._call = eager


def main(argv: list[str]) -> int:
    backend, workdir = backends.canonical(argv[0]), Path(argv[1])
    compiled = "--compiled" in argv[2:]
    # JAX's in-memory compilation caches grow ~14 MiB a case and are never freed; clearing them after
    # every case also throws away the eager ops the next case would reuse. Cleared every N cases.
    try:
        clear_every = max(1, int(os.environ.get("HARNESS_JAX_CLEAR_EVERY", "20")))
    except ValueError:
        clear_every = 20
    done = 0
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything printed from here on lands on stderr
    sys.stdout = sys.stderr
    backends.prepare_process(backend)
    caches.configure(backend)  # JAX's and XLA's persistent compilation caches, as `harness run` uses them
    import keras  # noqa: F401  (paid once, before "ready")

    if backend == "tensorflow":
        backends.silence_tensorflow()
    from harness.run import capture  # noqa: F401

    gc.collect()
    gc.freeze()  # as the suite's worker: clear_session's gc.collect skips import-time objects
    answer(protocol, {"event": "ready", "environment": backends.environment(backend, caches.state()),
                      "jax_modes": list(JAX_MODES) if backend == "jax" else []})
    for line in sys.stdin:
        if not line.strip():
            continue
        case_id: Any = None
        try:
            request = json.loads(line)
            case_id = request["id"]
            spec = specs.validate(request["spec"])
            jax_mode = request.get("jax_mode", "eager")
            if jax_mode not in JAX_MODES:
                raise ValueError(f"jax_mode {jax_mode!r} is not one of {JAX_MODES}")
        except (ValueError, KeyError, TypeError, specs.SpecError) as exc:
            answer(protocol, {"id": case_id, "error": f"bad request: {exc}"})
            continue
        record = run_case(spec, backend, compiled, jax_mode)
        entry, arrays = artifacts.encode_record(record)
        name = None
        if arrays:
            name = f"{backend}-{os.getpid()}-{case_id}.npz"  # two workers of one backend (versions)
            np.savez(workdir / name, **arrays)
        answer(protocol, {"id": case_id, "entry": entry, "arrays": name})
        done += 1
        if backend == "jax" and done % clear_every == 0:
            import jax

            jax.clear_caches()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
