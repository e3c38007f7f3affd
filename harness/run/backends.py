"""Backend names, availability checks and environment facts. Imports no backend at module level."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform

from harness.run import portability

# canonical name -> (package to import, distribution names for the version, nox session)
BACKENDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "tensorflow": ("tensorflow", ("tensorflow-cpu", "tensorflow"), "tf"),
    "jax": ("jax", ("jax",), "jax"),
    "torch": ("torch", ("torch",), "torch"),
}
ALIASES = {"tf": "tensorflow", "tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
           "pytorch": "torch"}
ORDER = tuple(BACKENDS)


class BackendError(Exception):
    """The requested backend cannot run here; one line for the user."""


def canonical(name: str) -> str:
    try:
        return ALIASES[name.lower()]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}: choose one of tensorflow (tf), jax, torch") from None


def check_runnable(backend: str) -> None:
    """Refuse before importing anything heavy: wrong KERAS_BACKEND, or missing packages."""
    session = BACKENDS[backend][2]
    preset = os.environ.get("KERAS_BACKEND")
    if preset and ALIASES.get(preset.lower(), preset) != backend:
        raise BackendError(f"KERAS_BACKEND is set to {preset!r} but --backend is {backend!r}; "
                           f"unset it or pass --backend {preset}")
    for package in ("keras", BACKENDS[backend][0]):
        if importlib.util.find_spec(package) is None:
            raise BackendError(f"backend {backend!r} needs {package!r}, which is not installed here; "
                               f"`nox -s {session}` installs it")


def prepare_process(backend: str) -> None:
    """Choose the backend and quiet TensorFlow before keras is first imported."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums: noisier diffs
    portability.route_keras()  # TF_USE_LEGACY_KERAS=1: `import keras` is tf-keras (Keras 2)


def silence_tensorflow() -> None:
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def distribution_version(distributions: tuple[str, ...]) -> str:
    for dist in distributions:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def device(backend: str) -> str:
    """'cpu', 'cuda' or 'gpu', as the backend sees it (after keras is imported)."""
    if backend == "torch":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return {"gpu": "cuda"}.get(jax.default_backend(), jax.default_backend())
    import tensorflow as tf

    return "cuda" if tf.config.list_physical_devices("GPU") else "cpu"


def device_name(backend: str) -> str:
    """A human description of the accelerator, or the CPU's machine type."""
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
        elif backend == "jax":
            import jax

            dev = jax.devices()[0]
            if dev.platform != "cpu":
                return str(getattr(dev, "device_kind", dev))
        else:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    except Exception:  # a description is nice to have; never fail a run for it
        pass
    return f"CPU ({platform.machine()})"


def environment(backend: str, compilation_cache: str) -> dict[str, str]:
    """What an artifact records of the process that ran it; `compilation_cache` is caches.state()."""
    import keras
    import numpy

    from harness import __version__

    flavour, keras_version = portability.keras_flavour()
    return {
        "backend": backend,
        "backend_library": BACKENDS[backend][0],
        "backend_version": distribution_version(BACKENDS[backend][1]),
        "keras": keras_version,
        "keras_flavour": flavour,  # "keras" (Keras 3) or "tf-keras" (Keras 2)
        "mask_reader": portability.mask_reader(),  # where this Keras's masks were read ("unreadable")
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "device": device(backend),
        "device_name": device_name(backend),
        "floatx": keras.backend.floatx(),
        "harness": __version__,
        "git_revision": _git_revision(),
        "compilation_cache": compilation_cache,  # on/off and how warm: what a run's time depends on
    }


def _git_revision() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
