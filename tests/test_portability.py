"""The Keras-version portability layer: routing `import keras` to tf-keras, reading masks the way
each Keras keeps them, and telling "this Keras lacks the API" from a real error.

The unit tests use fake `keras` / `tf_keras` packages in a subprocess (so this process's imports
are untouched); the backend tests run the real Keras that is installed (CI: keras 3.15.1) and, where
tf-keras is installed, Keras 2.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.run import portability

ROOT = Path(__file__).resolve().parents[1]


def python(code: str, tmp_path: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "KERAS_BACKEND")}
    environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**environ, **env}, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def fake_package(root: Path, name: str, version: str, mask_getter: bool) -> None:
    (root / name / "src").mkdir(parents=True)
    (root / name / "__init__.py").write_text(f"__version__ = {version!r}\nfrom . import layers\n")
    (root / name / "layers.py").write_text("class Dense: pass\n")
    (root / name / "src" / "__init__.py").write_text("")
    getter = "def get_keras_mask(t):\n    return ('table', t.name)\n" if mask_getter else ""
    (root / name / "src" / "backend.py").write_text(getter)


ROUTE = ("from harness.run import portability as p; p.route_keras(); import keras, keras.layers; "
         "from keras import layers; print(keras.__name__, layers.__name__, *p.keras_flavour())")


def test_legacy_flag_routes_keras_and_its_submodules_to_tf_keras(tmp_path):
    fake_package(tmp_path, "tf_keras", "2.21.0", mask_getter=False)
    fake_package(tmp_path, "keras", "3.15.1", mask_getter=True)
    assert python(ROUTE, tmp_path, TF_USE_LEGACY_KERAS="1") == "tf_keras tf_keras.layers tf-keras 2.21.0"
    assert python(ROUTE, tmp_path) == "keras keras.layers keras 3.15.1"  # no flag: Keras 3
    assert python(ROUTE, tmp_path, TF_USE_LEGACY_KERAS="0") == "keras keras.layers keras 3.15.1"


def test_legacy_flag_without_tf_keras_leaves_keras_alone(tmp_path):
    fake_package(tmp_path, "keras", "3.15.1", mask_getter=True)
    assert python(ROUTE, tmp_path, TF_USE_LEGACY_KERAS="1") == "keras keras.layers keras 3.15.1"


MASK = ("from harness.run import portability as p; import types; "
        "t = types.SimpleNamespace(name='x', _keras_mask='attribute'); print(p.get_mask(t)); "
        "print(p.get_mask(types.SimpleNamespace(name='y')))")


@pytest.mark.parametrize("version, mask_getter, expected", [
    ("3.15.1", True, "('table', 'x')\n('table', 'y')"),  # recent Keras 3: the mask side table
    ("3.3.3", False, "attribute\nNone"),  # older Keras 3: an attribute on the tensor
])
def test_masks_are_read_where_each_keras_keeps_them(tmp_path, version, mask_getter, expected):
    fake_package(tmp_path, "keras", version, mask_getter=mask_getter)
    assert python(MASK, tmp_path) == expected


def test_keras2_masks_are_the_tensor_attribute(tmp_path):
    fake_package(tmp_path, "tf_keras", "2.21.0", mask_getter=False)
    assert python("from harness.run import portability as p; p.route_keras(); " + MASK.split("; ", 1)[1],
                  tmp_path, TF_USE_LEGACY_KERAS="1") == "attribute\nNone"


def test_a_rejected_argument_the_scenario_expected_stays_an_error_a_missing_module_api_never_does(monkeypatch):
    monkeypatch.setattr(portability, "keras_flavour", lambda: ("tf-keras", "2.21.0"))
    rejected = "Dense.call() got an unexpected keyword argument 'mask'"
    assert portability.unsupported_reason("TypeError", rejected, expected=True) is None
    assert portability.unsupported_reason("TypeError", rejected, expected=False) is not None
    wrapped = 'Exception encountered when calling layer "x".\n\nmodule \'tf_keras\' has no attribute \'ops\''
    assert portability.unsupported_reason("AttributeError", wrapped, expected=True) is not None


@pytest.mark.parametrize("error, message, unsupported", [
    ("AttributeError", "module 'tf_keras' has no attribute 'ops'", True),
    ("AttributeError", "module 'keras.layers' has no attribute 'RMSNormalization'", True),
    ("ModuleNotFoundError", "No module named 'keras.src.backend.common'", True),
    ("TypeError", "MultiHeadAttention.call() got an unexpected keyword argument 'value_mask'", True),
    ("TypeError", "('Keyword argument not understood:', 'use_cudnn')", True),
    ("ValueError", "Invalid Reduction Key: mean. Expected keys are ...", True),
    ("ValueError", "Invalid value for argument `reduction`. Expected one of {'sum', 'none'}. Received: "
                   "reduction=mean", True),
    # Keras 2 wraps an error raised inside call(); the cause is on a later line
    ("AttributeError", 'Exception encountered when calling layer "under_test" (type MaskReader).\n\n'
                       "module 'tf_keras' has no attribute 'ops'\n\nCall arguments received", True),
    ("AttributeError", 'Exception encountered when calling layer "under_test" (type MaskReader).\n\nin user '
                       "code:\n\n    File \"claims.py\", line 119, in call  *\n        return keras.ops.cast(m)\n\n"
                       "    AttributeError: module 'tf_keras' has no attribute 'ops'\n\n\nCall arguments", True),
    # behaviour under test, not a missing API:
    ("TypeError", "Layer conv1d does not support masking, but was passed an input_mask", False),
    ("ValueError", "Dimension 0 in both shapes must be equal", False),
    ("AttributeError", "'NoneType' object has no attribute 'shape'", False),
])
def test_only_missing_api_errors_are_unsupported(monkeypatch, error, message, unsupported):
    monkeypatch.setattr(portability, "keras_flavour", lambda: ("tf-keras", "2.21.0"))
    reason = portability.unsupported_reason(error, message)
    assert (reason is not None) == unsupported
    if unsupported:
        assert reason.startswith("tf-keras 2.21.0 lacks an API the scenario uses")
        assert "Exception encountered" not in reason  # the line that says what is missing


# ---- the real Keras installed here ----------------------------------------------------------

def _run_seed(tmp_path: Path, backend: str, label: str, **env: str):
    from harness import artifacts

    environ = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS")}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "harness", "run", "--backend", backend, "--select", "seed/*",
                           "--results", str(tmp_path), "--label", label, "-q", "--no-compiled"],
                          cwd=ROOT, env={**environ, **env}, capture_output=True, text=True, timeout=400,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return artifacts.read(tmp_path / f"{label}.json")


@pytest.mark.backend
@pytest.mark.skipif(importlib.util.find_spec("torch") is None or importlib.util.find_spec("keras") is None,
                    reason="needs keras and torch")
def test_keras3_seed_masks_through_the_portability_layer(seed_run):
    """The session's seed run (tests/helpers/shared_runs.py): its torch run, label torch-cpu."""
    from harness import artifacts

    assert seed_run.done.returncode == 0, seed_run.done.stderr[-2000:]
    run = artifacts.read(seed_run.results / "torch-cpu.json")
    assert run.environment["keras_flavour"] == "keras"
    record = run.records["seed/rnn-model"]
    assert record.status == "ok"
    assert record.captured.mask("gru_1").astype(int).tolist() == [[0, 1, 0, 1, 0]]
    assert all(e["passed"] for e in record.meta["expectations"])


@pytest.mark.backend
@pytest.mark.skipif(importlib.util.find_spec("tf_keras") is None, reason="tf-keras (Keras 2) not installed")
def test_keras2_runs_the_seed_and_marks_what_it_cannot_express(tmp_path):
    run = _run_seed(tmp_path, "tensorflow", "tf-keras-2.21-cpu", TF_USE_LEGACY_KERAS="1")
    assert run.environment["keras_flavour"] == "tf-keras" and run.environment["keras"].startswith("2.")
    record = run.records["seed/rnn-model"]
    assert record.status == "ok", record.captured.error
    assert record.captured.mask("concate").astype(int).tolist() == [[0, 1, 0, 1, 0]]
    trained = run.records["seed/rnn-model-train"]  # the harness's training step uses keras.ops
    assert trained.status == "skipped" and trained.captured.error.type == portability.UNSUPPORTED
    assert json.dumps(trained.meta["expectations"]) == "[]"


# ---- where the mask reader lives: checked against a mask Keras itself set ---------------------

def fake_masking_keras(root: Path, layout: str) -> None:
    """A fake keras whose Masking layer masks its output in a side table (like Keras 3 on JAX) or as
    an attribute; `layout` says where its get_keras_mask lives (or 'none': nowhere the harness looks)."""
    pkg = root / "keras"
    for sub in ("", "src", "src/backend", "src/backend/common", "src/hidden"):
        (pkg / sub).mkdir(parents=True, exist_ok=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("__version__ = '3.16.0.dev2026102704'\nfrom . import layers\n")
    table = ("TABLE = {}\nclass Tensor:\n    __slots__ = ('__weakref__',)\n"
             "def get_keras_mask(t):\n    return TABLE.get(id(t))\n")
    (pkg / "src" / "hidden" / "table.py").write_text(table)
    (pkg / "layers.py").write_text(
        "from keras.src.hidden.table import TABLE, Tensor\n"
        "class Masking:\n    def __init__(self, mask_value=0.0, name=None): pass\n"
        "    def __call__(self, x):\n        t = Tensor(); TABLE[id(t)] = 'produced mask'; self.kept = t; return t\n")
    where = {"release": pkg / "src" / "backend" / "__init__.py",
             "nightly": pkg / "src" / "backend" / "common" / "masking.py"}.get(layout)
    if where is not None:
        where.write_text("from keras.src.hidden.table import get_keras_mask\n")


READER = ("from harness.run import portability as p; import keras; "
          "t = keras.layers.Masking()(None); print(p.mask_reader()); print(p.get_mask(t))")


@pytest.mark.parametrize("layout, reader, mask", [
    ("release", "keras.src.backend.get_keras_mask", "produced mask"),  # 3.x releases
    ("nightly", "keras.src.backend.common.masking.get_keras_mask", "produced mask"),  # 3.16 nightlies
    ("none", "unreadable", "UNREADABLE"),  # a Keras that keeps masks somewhere new: never "no mask"
])
def test_masks_are_read_wherever_the_installed_keras_keeps_them(tmp_path, layout, reader, mask):
    fake_masking_keras(tmp_path, layout)
    assert python(READER, tmp_path).splitlines() == [reader, mask]
