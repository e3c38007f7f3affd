"""The long-lived case worker: one process per backend, fed case specs, each import paid once.

    python -m harness.run.case_worker BACKEND WORKDIR [--compiled]

Protocol (one JSON object per line): the worker first answers {"event": "ready", "environment":
{...}}; then for each request {"id": N, "spec": {...}} on stdin it answers {"id": N, "entry": ENTRY,
"arrays": FILE | null} on its protocol stream, where ENTRY and the arrays (an .npz in WORKDIR) are the
artifact's own record encoding (artifacts.encode_record), or {"id": N, "error": "..."} for a spec it
cannot use. End of input ends the worker. The protocol stream is the process's original stdout; Python
and library prints go to stderr, so nothing a layer prints can corrupt an answer. The supervisor
(harness/generate/workers.py) restarts a worker that dies or runs past its time on a case.
"""

from __future__ import annotations

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


def answer(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message, default=_json_default) + "\n")
    out.flush()


def _json_default(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else str(value)


def run_case(spec: dict[str, Any], backend: str, compiled: bool) -> ScenarioRecord:
    from harness.run import capture

    scn = as_scenario(spec)
    # The second eager call only tells RNG-driven layers apart (Dropout, GaussianNoise in training mode);
    # elsewhere it would double the cost of a case for a check that cannot fail.
    repeat = bool(spec.get("training")) and any(la["op"] in RNG_OPS for la in spec["layers"])
    try:
        outcome = capture.run_scenario(scn, backend, repeat=repeat, compiled=compiled)
    except capture.ScenarioDefinitionError as exc:
        return ScenarioRecord(scn.name, "error", 0.0,
                              Captured(scn.name, backend, error=ErrorInfo("ScenarioDefinitionError", str(exc))),
                              {"definition_error": True})
    return ScenarioRecord(scn.name, outcome.status, outcome.duration_s, outcome.captured,
                          {"tolerances": {}, **outcome.meta})


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
    answer(protocol, {"event": "ready", "environment": backends.environment(backend, caches.state())})
    for line in sys.stdin:
        if not line.strip():
            continue
        case_id: Any = None
        try:
            request = json.loads(line)
            case_id = request["id"]
            spec = specs.validate(request["spec"])
        except (ValueError, KeyError, TypeError, specs.SpecError) as exc:
            answer(protocol, {"id": case_id, "error": f"bad request: {exc}"})
            continue
        record = run_case(spec, backend, compiled)
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
