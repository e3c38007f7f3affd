"""Compilation caches for the run stage: pay for XLA compilation once, not on every run.

Most of a TensorFlow or JAX suite's time is XLA compiling the same programs again on every run
(TF's compiled pass, `tf.function(jit_compile=True)`; JAX's `jax.jit` and its eager ops). Both
libraries can keep the compiled executables in a folder and load them on the next run instead:

- JAX: its persistent compilation cache (JAX_COMPILATION_CACHE_DIR), for every compilation however
  short (the eager ops of a Keras call are small jitted programs too);
- TensorFlow: XLA's persistent cache (TF_XLA_FLAGS=--tf_xla_persistent_cache_directory);
- PyTorch: nothing compiles unless HARNESS_TORCH_COMPILE=1; then inductor's cache folder.

A cached executable is the one the compiler made for the same program on the same library
version, so the arrays are the same bit for bit (benchmarks/bench.py `cache` checks that).

Where: under the running virtual environment (a nox session's own venv) when there is one, else
the user's cache directory; HARNESS_CACHE_DIR overrides both. One subfolder per backend library
and version, so an upgrade starts a fresh cache. Off: `harness run --no-cache` or
HARNESS_NO_CACHE=1. The folder is kept under HARNESS_CACHE_MAX_MB (default 2048): the oldest files
go first. `configure` runs in the worker before the backend is imported; what it did is recorded in
the artifact's environment ("compilation_cache") and shown in the report's environment table.

Imports no backend.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.run import backends

ENV_OFF = "HARNESS_NO_CACHE"
ENV_DIR = "HARNESS_CACHE_DIR"
ENV_MAX_MB = "HARNESS_CACHE_MAX_MB"
DEFAULT_MAX_MB = 2048

_state = "off"  # what `configure` did in this process: the environment table's "compilation_cache"


def disabled() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


def root() -> tuple[Path, str]:
    """The cache's top folder, and where it is in words (no machine-specific path in the report)."""
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit), f"in ${ENV_DIR}"
    if sys.prefix != sys.base_prefix:  # a virtual environment: a nox session's, or the user's own
        return Path(sys.prefix) / "harness-cache", "in the virtual environment"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "keras-mask-harness", "in the user cache directory"


def configure(backend: str) -> str:
    """Point the backend's compilation cache at our folder (before the backend is imported)."""
    global _state
    if disabled():
        _state = f"off ({ENV_OFF}=1 or --no-cache)"
        return _state
    top, where = root()
    folder = top / f"{backend}-{backends.distribution_version(backends.BACKENDS[backend][1])}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files, size = _prune(folder, _max_bytes())
    except OSError as exc:  # a read-only venv, a full disk: run uncached rather than fail
        _state = f"off (cache folder unusable: {exc.strerror or exc})"
        return _state
    if backend == "jax":
        os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder)
        # Cache every compilation: a Keras call in eager JAX is many small jitted ops, each well
        # under JAX's default 1 s threshold, and together most of the suite's time.
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    elif backend == "tensorflow":
        flags = os.environ.get("TF_XLA_FLAGS", "")
        if "tf_xla_persistent_cache_directory" not in flags:  # the user's own choice wins
            os.environ["TF_XLA_FLAGS"] = f"{flags} --tf_xla_persistent_cache_directory={folder}".strip()
    else:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
    warmth = f"{files} entries, {size / 2**20:.0f} MB at start" if files else "empty at start"
    _state = f"on ({where}; {warmth}{bytecode(top)})"
    return _state


def bytecode(top: Path) -> str:
    """Where PYTHONDONTWRITEBYTECODE is set, keep Python's compiled modules in the cache folder.

    With that variable Python compiles every module it imports from source, in every process: for a
    worker, keras and its backend, 4-7 s of CPU (docs/speed.md), paid again by each worker of each
    run. The variable asks for no `__pycache__` beside the sources; the harness's own folder
    (`<cache>/python-bytecode`, mirroring the sources' paths) keeps that promise and the compiled
    modules too. Python still checks each one against its source. Left alone otherwise: Python then
    keeps them beside the sources itself. Returns what the state line says about it."""
    if not sys.dont_write_bytecode or sys.pycache_prefix:  # Python caches them already, or the user chose where
        return ""
    folder = top / "python-bytecode"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _prune(folder, _max_bytes())
    except OSError:
        return ""
    sys.pycache_prefix = str(folder)  # read by importlib at each import, so it applies from here on
    sys.dont_write_bytecode = False
    return "; Python bytecode too"


def state() -> str:
    return _state


def _max_bytes() -> int:
    try:
        return max(0, int(os.environ.get(ENV_MAX_MB, DEFAULT_MAX_MB))) * 2**20
    except ValueError:
        return DEFAULT_MAX_MB * 2**20


def _prune(folder: Path, limit: int) -> tuple[int, int]:
    """Keep the folder under `limit` bytes, oldest files out first; return (files, bytes) kept."""
    entries = []
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                info = path.stat()
                entries.append((info.st_mtime, info.st_size, path))
        except OSError:  # removed meanwhile by a parallel run: fine
            continue
    total = sum(size for _, size, _ in entries)
    entries.sort()
    while entries and total > limit:
        _, size, path = entries.pop(0)
        path.unlink(missing_ok=True)
        total -= size
    return len(entries), total
