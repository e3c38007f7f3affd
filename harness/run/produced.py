"""Masks as each layer produces them, not as they are after the whole forward pass.

A layer may change the mask of a tensor it receives, in place: MultiHeadAttention clears the masks
of its query, value and key (`set_keras_mask(query, None)` in its call), so the layer that fed it
ends the pass with "no mask" although it produced one. Reading probe masks after the pass then
reports a mask absent that was there.

`masks_at_production(layers)` records, while active, the mask of every output of the given layers at
the moment the layer's `__call__` returns (eager, or inside a jit trace, where the recorded masks
are traced values the compiled function returns). The record is keyed by (layer, output tensor):
a layer that returns its input unchanged (Dropout at inference) produces the same tensor object as
the layer before it, with a mask of its own. `mask_of(layer, tensor)` answers from the record and
falls back to the tensor's mask now, for a tensor the layer did not produce itself (nothing recorded).

How: each probed layer's class is swapped, for the duration, for a subclass whose `__call__` records
after calling the original. Keras offers no hook after a layer's call on every version (Keras 2,
3.0 to the nightlies); a class of the layer's own type keeps isinstance checks and serialization
names, and is undone on exit. The same capture serves scenarios, generated cases and checked models,
which all run through capture.run_scenario.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from harness.run import portability

_ACTIVE: list[dict[tuple[int, int], tuple[Any, Any]]] = []  # the innermost record is last
_RECORDING_CLASSES: dict[type, type] = {}


def _flat(structure: Any) -> list[Any]:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flat(item)]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure, key=str) for leaf in _flat(structure[key])]
    return [structure]


def _recording_class(cls: type) -> type:
    """cls with a __call__ that records the mask of each output as it is produced."""
    made = _RECORDING_CLASSES.get(cls)
    if made is not None:
        return made

    def __call__(self, *args, **kwargs):
        outputs = super(made, self).__call__(*args, **kwargs)
        if _ACTIVE:
            record = _ACTIVE[-1]
            for tensor in _flat(outputs):
                if tensor is not None:  # the tensor is kept too, so its id stays its own during the pass
                    record[(id(self), id(tensor))] = (tensor, portability.get_mask(tensor))
        return outputs

    made = type(cls.__name__, (cls,), {"__call__": __call__, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__})
    _RECORDING_CLASSES[cls] = made
    return made


@contextlib.contextmanager
def masks_at_production(layers: list[Any]) -> Iterator[dict[tuple[int, int], tuple[Any, Any]]]:
    """While active, the given layers record their outputs' masks when they produce them."""
    swapped: list[tuple[Any, type]] = []
    record: dict[tuple[int, int], tuple[Any, Any]] = {}
    try:
        for layer in {id(layer): layer for layer in layers}.values():
            original = type(layer)
            if original in _RECORDING_CLASSES.values():
                continue
            # object.__setattr__: Keras's and torch's __setattr__ track attributes; __class__ is not one
            object.__setattr__(layer, "__class__", _recording_class(original))
            swapped.append((layer, original))
        _ACTIVE.append(record)
        yield record
    finally:
        if _ACTIVE and _ACTIVE[-1] is record:
            _ACTIVE.pop()
        for layer, original in swapped:
            object.__setattr__(layer, "__class__", original)


def current() -> dict[tuple[int, int], tuple[Any, Any]] | None:
    """The innermost active record, or None outside masks_at_production."""
    return _ACTIVE[-1] if _ACTIVE else None


def mask_of(record: dict[tuple[int, int], tuple[Any, Any]], layer: Any, tensor: Any) -> Any:
    """The mask `layer` gave `tensor` when it produced it; the tensor's mask now if not recorded."""
    found = record.get((id(layer), id(tensor)))
    if found is not None and found[0] is tensor:
        return found[1]
    return portability.get_mask(tensor)
