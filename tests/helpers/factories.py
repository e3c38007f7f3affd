"""Builders for the backend-free tests: synthetic probes, records and artifacts in memory.

Nothing here imports keras or a backend. The builders make the same objects the run stage makes
(`harness.define.captured` / `harness.artifacts` dataclasses), so compare, claims and the report can
be exercised on arrays whose differences the test chose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness import artifacts
from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

# run label -> backend, as the run stage names them (backend-device)
LABELS = {"tensorflow-cpu": "tensorflow", "jax-cpu": "jax", "torch-cpu": "torch"}
TF, JAX, TORCH = LABELS

# The seed's mask: timesteps 0,1,0,1,0 for every sequence.
SEED_MASK = np.array([[0, 1, 0, 1, 0], [0, 1, 0, 1, 0]], dtype=bool)


def make_probe(values: Any, mask: Any = None, dtype: str | None = None) -> Probe:
    """A probe from array-likes; `dtype` defaults to the array's own dtype name."""
    array = np.asarray(values)
    return Probe(values=array, mask=None if mask is None else np.asarray(mask, dtype=bool),
                 dtype=dtype or str(array.dtype))


def make_record(name: str, probes: Mapping[str, Probe] | None = None, *, status: str | None = None,
                error: tuple[str, str] | ErrorInfo | None = None,
                warnings: Iterable[tuple[str, str]] = (), duration_s: float = 0.25,
                **meta: Any) -> ScenarioRecord:
    """One scenario's record. An `error` (type, message) makes the status "error" unless given."""
    info = ErrorInfo(*error) if isinstance(error, tuple) else error
    if status is None:
        status = "ok" if info is None else "error"
    captured = Captured(scenario=name, backend="", probes=dict(probes or {}), error=info,
                        warnings=[WarningInfo(c, m) for c, m in warnings])
    full_meta = {"description": f"synthetic scenario {name}", "tags": [], "tolerances": {},
                 "expectations": [], **meta}
    return ScenarioRecord(name=name, status=status, duration_s=duration_s, captured=captured,
                          meta=full_meta)


def make_env(backend: str, **extra: Any) -> dict[str, Any]:
    return {"backend": backend, "backend_version": "1.2.3", "keras": "3.15.1", "numpy": "2.1.0",
            "python": "3.11.9", "platform": "Linux-x86_64", "device": "cpu", "floatx": "float32",
            "harness": "0.1.0", **extra}


def make_artifact(label: str, records: Iterable[ScenarioRecord], backend: str | None = None,
                  **env: Any) -> Artifact:
    backend = backend or LABELS.get(label, label.split("-")[0])
    return Artifact(label=label, environment=make_env(backend, **env),
                    records={r.name: r for r in records})


def expectation(name: str, claim: str | None, passed: bool, evidence: str = "") -> dict[str, Any]:
    """One expectation result as the run stage records it in `meta["expectations"]`."""
    return {"name": name, "claim": claim, "passed": passed, "evidence": evidence}


def seed_probes(shift: float = 0.0, masked_shift: float = 0.0,
                mask: np.ndarray = SEED_MASK) -> dict[str, Probe]:
    """A small seed-like model: an input with a mask, an RNN output, a dense output without one.

    `shift` moves one kept value of "gru_1"; `masked_shift` one masked value (timestep 0).
    """
    base = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3) / 10
    gru = base.copy()
    gru[1, 3, 2] += np.float32(shift)  # timestep 3 is kept
    gru[0, 0, 1] += np.float32(masked_shift)  # timestep 0 is masked
    return {
        "M_num": make_probe(base, mask),
        "gru_1": make_probe(gru, mask),
        "outputs": make_probe(np.array([[0.25], [0.75]], dtype=np.float32)),
    }


def three_runs(*records_per_label: Iterable[ScenarioRecord]) -> list[Artifact]:
    """Artifacts for tensorflow-cpu, jax-cpu, torch-cpu from one record list each."""
    return [make_artifact(label, records) for label, records in zip(LABELS, records_per_label)]


def write_runs(runs: Iterable[Artifact], folder: Path) -> Path:
    """Write artifacts with `harness.artifacts.write`; return the folder."""
    for run in runs:
        artifacts.write(run, folder)
    return folder
