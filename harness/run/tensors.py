"""Backend tensor -> numpy, for the run stage."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from harness.run import portability


def to_numpy(tensor: Any) -> tuple[np.ndarray, str]:
    """The values and the dtype the backend produced.

    numpy has no bfloat16, so it is widened to float32 (exactly) and the original dtype kept.
    Warnings raised by the conversion itself (a numpy 2 deprecation on torch) belong to the
    harness, not to the scenario, so they are kept out of the scenario's recorded warnings.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dtype = portability.dtype_name(tensor.dtype)
        return np.array(portability.to_numpy_values(tensor, widen_bfloat16=dtype == "bfloat16")), dtype


def mask_to_numpy(mask: Any) -> np.ndarray | None:
    return None if mask is None else to_numpy(mask)[0].astype(bool)


def as_model_input(model: Any, arrays: list[Any]) -> Any:
    """Arrays (in `model.inputs` order) shaped like the structure the model was built with.

    A model built on one Input takes the array itself, one built on a list takes a list, one built
    on a dict takes a dict: anything else makes Keras warn that the structure does not match.
    """
    structure = model.input
    if isinstance(structure, dict):
        position = {id(tensor): i for i, tensor in enumerate(model.inputs)}
        return {key: arrays[position[id(tensor)]] for key, tensor in structure.items()}
    if isinstance(structure, (list, tuple)):
        return list(arrays)
    return arrays[0]
