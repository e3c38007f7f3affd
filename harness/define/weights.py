"""Deterministic, backend-independent numbers: weights and generated inputs (numpy only).

Keras initializers draw from each backend's own RNG, so the same model starts from different weights
on TensorFlow, JAX and PyTorch. The harness overwrites every trainable float variable with values
seeded by the scenario name and the variable's key, identical on every backend.
"""

from __future__ import annotations

import hashlib

import numpy as np


def seed_for(*parts: str) -> int:
    """A stable 64-bit seed from strings (Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def weight_values(scenario: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform in [-0.5, 0.5): large enough to exercise the layers, small enough not to saturate."""
    rng = np.random.default_rng(seed_for(scenario, key))
    return rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)


def random_inputs(seed: str, shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Float inputs for scenarios that need more than a literal array."""
    rng = np.random.default_rng(seed_for("inputs", seed))
    return rng.uniform(low, high, size=shape).astype(np.float32)
