"""harness.run.caches: where the compilation caches go, how they are turned off, how they are bounded.

The unit tests import no backend: `configure` only sets environment variables the backend reads
when it is imported. One backend test runs a scenario twice on JAX with a fresh cache folder and
checks that the second run found the cache warm and produced the same arrays, bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.run import caches

ROOT = Path(__file__).resolve().parents[1]
CACHE_VARIABLES = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                   "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "TF_XLA_FLAGS", "TORCHINDUCTOR_CACHE_DIR",
                   caches.ENV_OFF, caches.ENV_DIR, caches.ENV_MAX_MB)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No cache settings inherited from the caller; configure's own changes undone afterwards."""
    for name in CACHE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(caches.ENV_DIR, str(tmp_path / "cache"))
    # configure may move this process's bytecode cache (bytecode()): put it back afterwards
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return tmp_path / "cache"


def test_jax_cache_points_at_a_versioned_folder_and_caches_every_compilation(clean_env: Path) -> None:
    state = caches.configure("jax")
    folder = Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    assert folder.parent == clean_env and folder.name.startswith("jax-") and folder.is_dir()
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert state == caches.state() and state.startswith("on (") and "empty at start" in state


def test_tensorflow_cache_keeps_the_users_xla_flags(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=0")
    caches.configure("tensorflow")
    flags = os.environ["TF_XLA_FLAGS"].split()
    assert flags[0] == "--tf_xla_auto_jit=0"
    assert flags[1] == f"--tf_xla_persistent_cache_directory={clean_env / flags[1].rsplit('/', 1)[-1]}"
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/mine")
    caches.configure("tensorflow")
    assert os.environ["TF_XLA_FLAGS"] == "--tf_xla_persistent_cache_directory=/mine"


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_switched_off_sets_nothing(clean_env: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(caches.ENV_OFF, value)
    assert caches.configure("jax").startswith("off")
    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ and not clean_env.exists()


def test_without_bytecode_writes_the_compiled_modules_go_to_the_cache_folder(clean_env: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE=1
    assert caches.configure("torch").endswith("; Python bytecode too)")
    assert sys.pycache_prefix == str(clean_env / "python-bytecode") and not sys.dont_write_bytecode
    module = tmp_path / "src" / "bytecode_probe_module.py"
    module.parent.mkdir()
    module.write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(module.parent))
    import bytecode_probe_module  # noqa: F401  (compiled into the prefix, nothing beside the source)

    assert list(clean_env.glob("python-bytecode/**/bytecode_probe_module.*.pyc"))
    assert not (module.parent / "__pycache__").exists()


def test_bytecode_is_left_alone_when_python_writes_it_or_the_user_chose_a_folder(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "bytecode" not in caches.configure("torch") and sys.pycache_prefix is None
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "pycache_prefix", "/users/own")
    assert "bytecode" not in caches.configure("torch")
    assert (sys.pycache_prefix, sys.dont_write_bytecode) == ("/users/own", True)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    monkeypatch.setenv(caches.ENV_OFF, "1")
    caches.configure("torch")
    assert (sys.pycache_prefix, sys.dont_write_bytecode) == (None, True), "no cache means none of them"


def test_warm_cache_is_reported_with_its_size(clean_env: Path) -> None:
    caches.configure("torch")
    folder = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    (folder / "entry").write_bytes(b"x" * 3 * 2**20)
    assert "1 entries, 3 MB at start" in caches.configure("torch")


def test_prune_drops_the_oldest_files_first(tmp_path: Path) -> None:
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age * 1000, 1_000_000 - age * 1000))
    assert caches._prune(tmp_path, 250) == (2, 200)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle", "newest"]


def test_default_folder_is_the_virtual_environment_or_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(caches.ENV_DIR, raising=False)
    monkeypatch.setattr(sys, "prefix", "/venv")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert caches.root() == (Path("/venv/harness-cache"), "in the virtual environment")
    monkeypatch.setattr(sys, "prefix", "/usr")
    monkeypatch.setenv("XDG_CACHE_HOME", "/home/u/.cache")
    assert caches.root() == (Path("/home/u/.cache/keras-mask-harness"), "in the user cache directory")


def test_an_unusable_folder_runs_uncached(clean_env: Path) -> None:
    clean_env.write_text("a file where the folder should be")
    assert caches.configure("jax").startswith("off (cache folder unusable")
    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ


@pytest.mark.backend
def test_jax_second_run_is_warm_and_bit_identical(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CACHE_VARIABLES and k != "KERAS_BACKEND"}
    env[caches.ENV_DIR] = str(tmp_path / "cache")
    arrays, states = [], []
    for run in ("cold", "warm"):
        results = tmp_path / run
        subprocess.run([sys.executable, "-m", "harness", "run", "--backend", "jax", "--select", "seed/rnn-model",
                        "--results", str(results), "-q"], cwd=ROOT, env=env, check=True, timeout=600)
        states.append(json.loads(next(results.glob("*.json")).read_text())["environment"]["compilation_cache"])
        with np.load(next(results.glob("*.npz"))) as npz:
            arrays.append({k: npz[k] for k in npz.files})
    assert "empty at start" in states[0] and "entries" in states[1]
    assert arrays[0].keys() == arrays[1].keys() and arrays[0]
    assert all(arrays[0][k].tobytes() == arrays[1][k].tobytes() for k in arrays[0])
