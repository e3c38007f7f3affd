"""Backend tensor -> numpy, for the run stage."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np


def to_numpy(tensor: Any) -> tuple[np.ndarray, str]:
    """The values and the dtype the backend produced.

    numpy has no bfloat16, so it is widened to float32 (exactly) and the original dtype kept.
    Warnings raised by the conversion itself (a numpy 2 deprecation on torch) belong to the
    harness, not to the scenario, so they are kept out of the scenario's recorded warnings.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dtype = keras.backend.standardize_dtype(tensor.dtype)
        if dtype == "bfloat16":
            tensor = keras.ops.cast(tensor, "float32")
        return np.array(keras.ops.convert_to_numpy(tensor)), dtype


def mask_to_numpy(mask: Any) -> np.ndarray | None:
    return None if mask is None else to_numpy(mask)[0].astype(bool)


def as_model_input(arrays: list[Any]) -> Any:
    """A single-input model takes the array itself: a one-item list makes Keras warn about structure."""
    return arrays[0] if len(arrays) == 1 else list(arrays)
