"""Masks as the harness captures them: when each layer produces them, and "unreadable" when this Keras
keeps them where the harness cannot read them (never "no mask", never a Keras divergence).

The backend tests run a model whose last layer clears its input's mask in place, the way
MultiHeadAttention does, under each installed backend in a subprocess (eager and compiled passes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.artifacts import Artifact, ScenarioRecord
from harness.compare import verdicts
from harness.compare.known import Fingerprint, KnownDivergence
from harness.define.captured import Captured, MaskUnreadable, Probe

ROOT = Path(__file__).resolve().parents[1]
MASK = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
VALUES = np.arange(6, dtype=np.float32).reshape(2, 3)


def record(name: str, probes: dict[str, Probe]) -> ScenarioRecord:
    return ScenarioRecord(name, "ok", 0.1, Captured(name, "", probes=probes),
                          {"description": "", "tags": [], "tolerances": {}, "expectations": []})


def test_an_unreadable_mask_is_neither_a_mask_nor_no_mask():
    captured = Captured("s", "jax", probes={"m": Probe(VALUES, None, "float32", mask_readable=False)})
    with pytest.raises(MaskUnreadable):
        captured.mask("m")  # an expectation asking for it fails; it never sees None ("no mask")


@pytest.mark.parametrize("other_mask", [MASK, None])
def test_an_unreadable_mask_is_never_a_mask_divergence(other_mask):
    readable = Probe(VALUES, other_mask, "float32")
    unreadable = Probe(VALUES, None, "float32", mask_readable=False)
    assert verdicts.compare_probe("m", readable, readable, {}).verdict == "match"
    assert verdicts.compare_probe("m", readable, unreadable, {}).verdict == "mask-unreadable"
    assert verdicts.compare_probe("m", unreadable, unreadable, {}).verdict == "mask-unreadable"
    shifted = Probe(VALUES + np.float32(1), None, "float32", mask_readable=False)
    assert verdicts.compare_probe("m", readable, shifted, {}).verdict == "differs"  # values still count


def test_a_known_divergence_never_absorbs_an_unreadable_mask():
    a = Artifact("jax-cpu", {"backend": "jax"}, {"s": record("s", {"m": Probe(VALUES, MASK, "float32")})})
    b = Artifact("torch-cpu", {"backend": "torch"},
                 {"s": record("s", {"m": Probe(VALUES, None, "float32", mask_readable=False)})})
    known = KnownDivergence(id="k", odd="torch", what="any change", why="a test",
                            fingerprints=(Fingerprint(scenario="s", probes=("*",)),))
    result = verdicts.compare([a, b], [known])
    assert result.get("s", "jax-cpu", "torch-cpu").verdict == "mask-unreadable"
    assert "mask-unreadable" not in verdicts.EXPECTED  # shown, as a failure of the harness


def test_the_artifact_keeps_unreadable_apart_from_no_mask(tmp_path):
    probes = {"unread": Probe(VALUES, None, "float32", mask_readable=False),
              "none": Probe(VALUES, None, "float32"), "masked": Probe(VALUES, MASK, "float32")}
    path = artifacts.write(Artifact("jax-cpu", {"backend": "jax"}, {"s": record("s", probes)}), tmp_path)
    back = artifacts.read(path).records["s"].captured.probes
    assert [back[k].mask_readable for k in ("unread", "none", "masked")] == [False, True, True]
    assert back["none"].mask is None and back["masked"].mask.tolist() == MASK.tolist()
    manifest = json.loads(path.read_text())["scenarios"][0]["probes"]
    assert [p.get("mask_unreadable", False) for p in manifest] == [True, False, False]


# ---- the real backends: a layer that clears its input's mask in place ---------------------------

CLEARING = r'''
import json, numpy as np, keras
from harness.define.registry import Scenario
from harness.run import capture, portability

def clear_mask(tensor):  # what MultiHeadAttention does to its query, value and key
    for where in portability.MASK_READERS:
        try:
            setter = getattr(__import__(where, fromlist=["x"]), "set_keras_mask")
        except ImportError:
            continue
        return setter(tensor, None)
    tensor._keras_mask = None

class ClearsInputMask(keras.layers.Layer):
    supports_masking = True
    def call(self, inputs, mask=None):
        clear_mask(inputs)
        return inputs * 2.0
    def compute_mask(self, inputs, mask=None):
        return None

def build():
    x = keras.Input((4, 2))
    masked = keras.layers.Masking(name="masking")(x)
    out = ClearsInputMask(name="clears")(masked)
    data = np.ones((2, 4, 2), dtype="float32")
    data[0, 2:] = 0.0
    return keras.Model(x, out), data

outcome = capture.run_scenario(Scenario(name="t/clears", build=build, description=""), keras.backend.backend())
assert outcome.status == "ok", outcome.captured.error
probes = outcome.captured.probes
print(json.dumps({k: None if p.mask is None else p.mask.astype(int).tolist() for k, p in probes.items()}))
'''


@pytest.mark.backend
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_a_mask_cleared_in_place_by_a_later_layer_is_captured_as_produced(backend, tmp_path):
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS",)}
    env.update(KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", CLEARING], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    masks = json.loads(done.stdout.strip().splitlines()[-1])
    produced = [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert masks["masking"] == produced  # after the pass the tensor has none: MHA's case
    assert masks["clears"] is None
    if backend != "torch":  # torch.compile only on request
        assert masks["jit/masking"] == produced


# ---- every runtime the version axis has built here: the reader finds the masks -------------------

def _cached_runtimes():
    from harness.versions import envs, runtimes

    root = envs.cache_root()
    found, newest_nightly = [], {}
    for env in sorted(root.glob("*")) if root.is_dir() else []:
        for runtime in _runtimes_named(env.name, runtimes):
            if not envs.is_cached(runtime):
                continue
            if "nightly" in env.name:
                # A bisect leaves a dozen nightly layers per backend here; the version axis runs the
                # newest (`--keras nightly`), and each import costs seconds: one per backend.
                backend = env.name.rsplit("-", 1)[1]
                if backend not in newest_nightly or _nightly_key(env.name) > _nightly_key(newest_nightly[backend][0]):
                    newest_nightly[backend] = (env.name, runtime)
                continue
            found.append(runtime)
    return found + [runtime for _, runtime in sorted(newest_nightly.values(), key=lambda pair: pair[0])]


def _nightly_key(name: str) -> int:
    """keras-nightly-3.16.0.dev2026102704-torch -> 2026102704 (builds are dated; later is newer)."""
    import re

    m = re.search(r"\.dev(\d+)-", name)
    return int(m.group(1)) if m else -1


def _runtimes_named(name: str, runtimes) -> list:
    import re

    m = re.fullmatch(r"(keras-nightly|keras|tf-keras)-([\w.]+)-(tensorflow|jax|torch)", name)
    if not m:
        return []
    flavour, version, backend = m.groups()
    if flavour == runtimes.KERAS2:
        return [runtimes.keras2()] if version == runtimes.KERAS2_VERSION else []
    return [runtimes.for_version(version, backend)]


READS_MASKS = ("from harness.run import portability as p, produced; import keras, numpy as np; "
               "reader = p.mask_reader(); x = np.array([[[1.0], [0.0], [2.0]]], 'float32'); "
               "m = keras.layers.Masking(name='m')(x); "
               "print(reader + '|' + str(np.asarray(p.to_numpy_values(p.get_mask(m), False)).astype(int).tolist()))")


@pytest.mark.backend
@pytest.mark.parametrize("runtime", _cached_runtimes() or [None], ids=lambda r: r.env_name if r else "none")
def test_masks_are_readable_on_every_cached_runtime_of_the_version_axis(runtime):
    """Releases and nightly builds in the version cache (built by `harness versions run`/`bisect`)."""
    if runtime is None:
        pytest.skip("no runtime in the versions cache (harness versions run builds them)")
    from harness.versions import runs

    done = subprocess.run([str(runs.python_for(runtime, log=lambda line: None)), "-c", READS_MASKS],
                          env={**runs._environ(runtime), "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-1500:]
    reader, mask = done.stdout.strip().splitlines()[-1].split("|", 1)  # "_keras_mask attribute|[[1, 0, 1]]"
    assert reader != "unreadable" and json.loads(mask) == [[1, 0, 1]], done.stdout
