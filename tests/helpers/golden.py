"""A fixed synthetic artifact set: every verdict, claims, compiled probes, a known divergence
(tests/golden/ holds the report rendered from it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Probe
from tests.helpers.factories import (
    JAX,
    LABELS,
    SEED_MASK,
    TF,
    TORCH,
    expectation,
    make_artifact,
    make_probe,
    make_record,
    seed_probes,
)

KNOWN_TOML = '''
[[divergence]]
id = "torch-gru-kernel"
scenario = "rnn/gru-known"
odd = "torch"
probes = "gru_*"
verdicts = ["differs"]
abs_range = [0.4, 0.6]
what = "GRU kept outputs differ by 0.5 on torch"
why = "synthetic: a documented kernel difference"
link = "https://github.com/keras-team/keras/issues/0"

[[divergence]]
id = "removed"
scenario = "removed/*"
odd = "jax"
probes = "*"
what = "a divergence that no longer happens"
why = "stale on purpose"
'''


def _mask_with(changed: tuple[int, int]) -> np.ndarray:
    mask = SEED_MASK.copy()
    mask[changed] = ~mask[changed]
    return mask


def _small(values: Any, dtype: Any = np.float32, mask: Any = None) -> Probe:
    return make_probe(np.asarray(values, dtype=dtype), mask)


def reference_records(label: str, baseline: bool = False) -> list[ScenarioRecord]:
    """The records one run (tensorflow-cpu, jax-cpu or torch-cpu) has in the fixed artifact set.

    `baseline=True` gives an earlier, deliberately different set: there rnn/gru-differs still
    matched, seed/masking-concat differed on torch, and torch's C4 check on the seed passed.
    """
    tf, jax, torch = (label == TF, label == JAX, label == TORCH)
    seed = seed_probes()
    exp = expectation
    records = [
        make_record("seed/masking-concat", {**(seed_probes(shift=0.5) if baseline and torch else seed),
                                            **({"jit/gru_1": seed["gru_1"]} if not torch else {})},
                    description="The seed model: Masking per input, Concatenate, GRU.",
                    expectations=[
                        exp("mask is 01010", "C2", True, "mask 01010 01010"),
                        exp("concat keeps the mask", "C5", True, ""),
                        exp("gru skips masked steps", "C4", baseline or not torch,
                            "masked steps repeat the previous output" if baseline or not torch else
                            "step 2 is 0.31, neither 0 nor the previous output"),
                    ],
                    deterministic=True,
                    compiled={"status": "unsupported", "detail": "torch.compile skipped"} if torch else
                    {"status": "ok", "detail": "jax.jit" if jax else "tf.function(jit_compile=True)"}),
        make_record("rnn/gru-differs", seed_probes(shift=0.5 if torch and not baseline else 0.0),
                    description="GRU output differs on one backend.", deterministic=True,
                    source='@scenario("rnn/gru-differs", description="...")\ndef build():\n'
                           '    x = keras.Input((5, 3), name="M_num")\n'
                           '    return keras.Model(x, keras.layers.GRU(3, name="gru_1")(x)), [X]'),
        make_record("rnn/masked-only", seed_probes(masked_shift=0.25 if jax else 0.0),
                    description="A difference at a masked timestep only.",
                    expectations=[exp("masked output is zero", "C4", not jax, "" if not jax else "0.25 at step 0")]),
        make_record("merge/mask-differs", seed_probes(mask=_mask_with((1, 4)) if torch else SEED_MASK),
                    description="Concatenate's mask differs."),
        make_record("shape/differs", {"dense": _small(np.zeros((2, 4 if jax else 3)))},
                    description="Output shape differs."),
        make_record("dtype/differs", {"ids": _small([1, 2, 3], np.int64 if tf else np.int32)},
                    description="Output dtype differs."),
        make_record("rnn/raises-on-tf", {} if tf else seed,
                    error=("ValueError", "GRU cannot take a mask of shape (2, 4)") if tf else None,
                    description="Raises on one backend."),
        make_record("rnn/raises-everywhere", error=("NotImplementedError", f"no masking support on {label}"),
                    description="Raises the same type everywhere.",
                    expectations=[exp("a layer without mask support raises", "C1", True, "NotImplementedError")]),
        make_record("seed/warns-on-tf", seed,
                    warnings=[("UserWarning", "Layer 'concat' does not support masking")] if tf else [],
                    description="A warning on one backend only."),
        make_record("rnn/nondeterministic", seed_probes(shift=0.125 if torch else 0.0),
                    description="Two eager calls disagree on torch.", deterministic=not torch),
        make_record("rnn/gru-known", seed_probes(shift=0.5 if torch else 0.0),
                    description="A known divergence."),
        make_record("tolerance/override", {
            "gru_1": _small([1.0, 2.0 + (0.05 if jax else 0.0)]),
            "dense": _small([1.0, 2.0 + (3e-6 if jax else 0.0)])},
            description="A loose override on gru_*, a float32-default dense.",
            tolerances={"gru_*": {"atol": 0.1, "rtol": 0.0, "reason": "reset_after rounding"}}),
        make_record("values/nonfinite", {"x": _small([np.nan, np.inf, 1.0, 2.0 + (1.0 if torch else 0.0)])},
                    description="NaN and Inf on every backend; torch differs in one finite value.",
                    expectations=[exp("embedding makes a mask", "C2", True, "mask 0110"),
                                  exp("second Masking redefines the mask", "C6", False, "mask unchanged")]),
    ]
    if not jax:
        records.append(make_record("gone/jax", seed, description="Not run by jax."))
    return records


def reference_runs(baseline: bool = False) -> list[Artifact]:
    """The fixed artifact set: three runs over the scenarios above (deterministic content)."""
    env = {TF: {"backend_version": "2.21.0"}, JAX: {"backend_version": "0.10.2"},
           TORCH: {"backend_version": "2.13.0", "device_name": "none (CPU only)"}}
    keras = {"keras": "3.14.0"} if baseline else {}
    return [make_artifact(label, reference_records(label, baseline), **env[label], **keras) for label in LABELS]
