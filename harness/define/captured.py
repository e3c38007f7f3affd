"""What one backend captured for one scenario, as plain numpy: the input to expectations and compare.

A probe is one named array: a layer's output ("gru_1", or "gru_1[1]" for its second output) with the
Keras mask that came with it, or a training quantity ("loss", "grad/input/num", "grad/gru_1#0",
"step/gru_1#0") with no mask. A missing mask is `None`: "no mask" is a result, not a failure.
A mask the harness could not read (a Keras that keeps masks where the harness does not look) is
`mask_readable=False`: never "no mask", and an expectation that asks for it fails with MaskUnreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    message: str
    traceback: tuple[str, ...] = ()  # the last frames, "file:line in function"
    # The exceptions it was raised from ("Type: first line"), outermost first: a Keras wrapper
    # ("TypeError: Could not deserialize ...") often hides the cause four exceptions down.
    causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarningInfo:
    category: str
    message: str  # normalized: no memory addresses or file paths


@dataclass(frozen=True)
class Probe:
    values: np.ndarray
    mask: np.ndarray | None
    dtype: str  # the dtype the backend produced (bfloat16 is stored widened to float32)
    mask_readable: bool = True  # False: the harness could not read this Keras's masks (mask is None)


class MaskUnreadable(LookupError):
    """The probe's mask could not be read on this Keras: neither a mask nor "no mask"."""


@dataclass
class Captured:
    scenario: str
    backend: str
    probes: dict[str, Probe] = field(default_factory=dict)
    error: ErrorInfo | None = None
    warnings: list[WarningInfo] = field(default_factory=list)

    def output(self, probe: str) -> np.ndarray:
        return self._probe(probe).values

    def mask(self, probe: str) -> np.ndarray | None:
        found = self._probe(probe)
        if not found.mask_readable:
            raise MaskUnreadable(f"the mask of probe {probe!r} could not be read on this Keras")
        return found.mask

    def _probe(self, probe: str) -> Probe:
        if probe not in self.probes:
            known = ", ".join(sorted(self.probes)) or "none"
            raise KeyError(f"no probe {probe!r} was captured (captured: {known})")
        return self.probes[probe]

    def raised(self, type_name: str | None = None) -> bool:
        return self.error is not None and (type_name is None or self.error.type == type_name)

    def warned(self, text: str) -> bool:
        return any(text in w.message for w in self.warnings)
