"""What differs between Keras versions, for the run stage: masks, dtypes, policies, missing APIs.

The harness runs one suite on Keras 2 (tf-keras) and on every Keras 3 release. Scenarios are
written once, against today's Keras 3; this module is where the run stage adapts to the Keras it
finds, so capture, tensors and the artifact stay version-free:

- Keras 2 is asked for the way TensorFlow documents it, `TF_USE_LEGACY_KERAS=1` with tf-keras
  installed. `route_keras()` then makes `import keras` (in the harness and in scenarios) resolve
  to `tf_keras`, lazily, so nothing heavy is imported before a scenario needs it.
- Masks: Keras 3 keeps them in a side table read by a `get_keras_mask` whose module moves
  between releases (`keras.src.backend` in 3.x releases, only `keras.src.backend.common.masking`
  in the 3.16 nightlies); older 3.x and Keras 2 keep them as a `_keras_mask` attribute on the
  tensor. The reader is chosen once per process by checking each known location against a mask
  Keras itself set; when none reads it, every mask is UNREADABLE, never "no mask".
- A scenario that uses an API this Keras lacks (`keras.ops` on Keras 2, a layer argument added in
  a later release) is recorded as unsupported with the reason, not as a failure of the claim.

Importing this module imports no keras; the functions below import it when called.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
from typing import Any

LEGACY_FLAG = "TF_USE_LEGACY_KERAS"  # TensorFlow's own switch: tf.keras is Keras 2 (tf-keras)
UNSUPPORTED = "Unsupported"  # ErrorInfo.type of a scenario this Keras cannot express


def keras2_requested() -> bool:
    return os.environ.get(LEGACY_FLAG, "").lower() in ("1", "true", "yes")


class _Keras2Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves `keras` and `keras.<sub>` to `tf_keras` and `tf_keras.<sub>`, on first import."""

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        if name != "keras" and not name.startswith("keras."):
            return None
        real = "tf_keras" + name[len("keras"):]
        try:
            if importlib.util.find_spec(real) is None:
                return None
        except ModuleNotFoundError:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec):
        return importlib.import_module("tf_keras" + spec.name[len("keras"):])

    def exec_module(self, module: Any) -> None:  # already executed under its own name
        return None


def route_keras() -> None:
    """Under TF_USE_LEGACY_KERAS=1 with tf-keras installed, `import keras` gives tf-keras."""
    if not keras2_requested() or importlib.util.find_spec("tf_keras") is None:
        return
    if any(isinstance(f, _Keras2Finder) for f in sys.meta_path):
        return
    if "keras" in sys.modules and not sys.modules["keras"].__name__.startswith("tf_keras"):
        raise RuntimeError("Keras 3 was imported before the Keras 2 route was set up")
    sys.meta_path.insert(0, _Keras2Finder())


def keras_flavour() -> tuple[str, str]:
    """("keras", "3.15.1") or ("tf-keras", "2.21.0"): which Keras this process runs."""
    import keras

    version = keras.__version__
    return ("tf-keras" if keras.__name__.startswith("tf_keras") or version.startswith("2.") else "keras",
            version)


def is_keras2() -> bool:
    return keras_flavour()[0] == "tf-keras"


# Where each Keras keeps its mask reader, most recent first; the tensor attribute comes last.
MASK_READERS = ("keras.src.backend", "keras.src.backend.common.masking", "keras.src.backend.common")
ATTRIBUTE_READER = "_keras_mask attribute"


class _Unreadable:
    """The mask of a tensor this Keras's masks cannot be read from: not None, which says "no mask"."""

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE = _Unreadable()


def _mask_readers() -> list[tuple[str, Any]]:
    readers = []
    for module in MASK_READERS:
        try:
            reader = getattr(importlib.import_module(module), "get_keras_mask", None)
        except ImportError:
            continue
        if callable(reader):
            readers.append((f"{module}.get_keras_mask", reader))
    readers.append((ATTRIBUTE_READER, lambda tensor: getattr(tensor, "_keras_mask", None)))
    return readers


def _masked_sample() -> Any:
    """A tensor Keras itself gave a mask (a Masking layer's eager output), or None when this Keras
    cannot make one here. Named, so that it takes no number from the scenario layers' auto-names."""
    try:
        import keras
        import numpy as np

        layer = keras.layers.Masking(mask_value=0.0, name="harness_mask_reader_check")
        return layer(np.array([[[1.0], [0.0]]], dtype="float32"))
    except Exception:  # a fake or broken keras: the readers cannot be checked
        return None


def choose_mask_reader() -> tuple[str, Any]:
    """(where, reader): the first known location that reads the mask of a tensor Keras masked.

    Returns ("unreadable", None) when Keras masks a tensor and no location reads it. When the check
    cannot run at all, the first location that imports is used unchecked (as before this check).
    """
    readers = _mask_readers()
    sample = _masked_sample()
    if sample is None:
        return readers[0]
    for where, reader in readers:
        try:
            if reader(sample) is not None:
                return where, reader
        except Exception:  # a reader from another Keras layout: try the next one
            continue
    return "unreadable", None


_READER: tuple[str, Any] | None = None


def mask_reader() -> str:
    """Where this process reads masks from (recorded in the artifact's environment)."""
    global _READER
    if _READER is None:
        _READER = choose_mask_reader()
    return _READER[0]


def get_mask(tensor: Any) -> Any:
    """The Keras mask attached to a layer's output, None (no mask), or UNREADABLE."""
    mask_reader()
    reader = _READER[1]
    return UNREADABLE if reader is None else reader(tensor)


def dtype_name(dtype: Any) -> str:
    """A dtype (backend object or string) as Keras 3 names it: 'float32', 'bfloat16', ..."""
    import keras

    standardize = getattr(keras.backend, "standardize_dtype", None)
    if standardize is not None:
        return standardize(dtype)
    import tensorflow as tf  # Keras 2 runs on TensorFlow only

    return tf.as_dtype(dtype).name


def to_numpy_values(tensor: Any, widen_bfloat16: bool) -> Any:
    """A backend tensor as a numpy array; bfloat16 widened to float32 first when asked."""
    import keras

    ops = getattr(keras, "ops", None)
    if ops is None:  # Keras 2: an eager tf.Tensor or tf.Variable
        import tensorflow as tf

        if widen_bfloat16:
            tensor = tf.cast(tensor, tf.float32)
        return tensor.numpy() if hasattr(tensor, "numpy") else tensor
    if widen_bfloat16:
        tensor = ops.cast(tensor, "float32")
    return ops.convert_to_numpy(tensor)


def dtype_policy() -> Any:
    import keras

    config = getattr(keras, "config", None)
    if config is not None and hasattr(config, "dtype_policy"):
        return config.dtype_policy()
    return keras.mixed_precision.global_policy()


def set_dtype_policy(policy: Any) -> None:
    import keras

    config = getattr(keras, "config", None)
    if config is not None and hasattr(config, "set_dtype_policy"):
        config.set_dtype_policy(policy)
    else:
        keras.mixed_precision.set_global_policy(policy)


# An error means "this Keras lacks the API the scenario uses" only in these shapes; anything else
# (a TypeError saying a layer does not support masking, say) is behaviour under test and stays an
# error. Patterns are checked against "Type: message". A missing module or module attribute is
# never what a scenario tests; a rejected argument may be (a scenario can expect Dense(mask=...) to
# raise TypeError), so those count only when the scenario's expectations did not all hold.
_MISSING_MODULE_API = (
    re.compile(r"^AttributeError: module '(keras|tf_keras)[\w.]*' has no attribute '(\w+)'"),
    re.compile(r"^(ModuleNotFoundError|ImportError): .*(keras|tf_keras)"),
)
_MISSING_API = (
    *_MISSING_MODULE_API,
    re.compile(r"^TypeError: .*(unexpected keyword argument|Keyword argument not understood)"),
    re.compile(r"^ValueError: Invalid Reduction Key"),  # Keras 2 losses lack "mean" reductions
    re.compile(r"^ValueError: Invalid value for argument `reduction`"),  # nor do Keras 3 before 3.9
    # Keras 3 graph internals the harness's fit/nested-model code reads; tf-keras names them otherwise
    re.compile(r"^AttributeError: '(Node|KerasHistory)' object has no attribute 'operation'"),
)


def unsupported_reason(error_type: str, message: str, expected: bool = False) -> str | None:
    """The reason a scenario cannot run on this Keras, or None when the error is a real result.

    `message` is the exception's whole text: Keras 2 wraps an error raised inside a layer's call
    ("Exception encountered when calling layer ...") and puts the original message below.
    `expected`: the scenario's expectations all held with this error (it may have asked for it).
    """
    patterns = _MISSING_MODULE_API if expected else _MISSING_API
    for line in message.splitlines() or [""]:
        # a wrapped traceback quotes the cause as "AttributeError: module ..." on its own line
        for text in (f"{error_type}: {line.strip()}", line.strip()):
            if any(p.search(text) for p in patterns):
                flavour, version = keras_flavour()
                return f"{flavour} {version} lacks an API the scenario uses ({text[:300]})"
    return None
