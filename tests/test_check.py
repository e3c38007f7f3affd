"""`python -m harness check MODEL.keras`: archive and input checks (no backend), and a saved model
checked under every backend with a deliberately backend-dependent layer that must be named as the
first divergent layer (backend tests, a few, small)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.__main__ import main
from harness.compare.check_model import first_divergent
from harness.define import registry
from harness.define.spec import PATTERNS, row_mask
from harness.run import saved_model
from harness.run.check import scenario_name
from harness.run.saved_model import SavedModelError, inspect_archive, parse_inputs, random_inputs, read_npz

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CUSTOM = FIXTURES / "check_custom.py"


def archive(path: Path, config: dict, *, weights: bool = True) -> Path:
    """A .keras archive as Keras writes one, minus real weights: enough for the checks before loading."""
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        out.writestr("config.json", json.dumps(config))
        if weights:
            out.writestr("model.weights.h5", b"")
    return path


def layer(class_name: str, name: str, module: str | None = "keras.layers", **config) -> dict:
    return {"module": module, "class_name": class_name, "config": {"name": name, **config},
            "registered_name": None if module and module.startswith("keras") else f"Custom>{class_name}"}


def functional(*layers: dict) -> dict:
    return {"module": "keras", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "m", "layers": [layer("InputLayer", "x"), *layers]}}


LAMBDA = layer("Lambda", "double", function={"class_name": "__lambda__", "config": {"code": "..."}})


def usage_error(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("harness: error: ")
    return err


# ---- the archive ------------------------------------------------------------------------------

def test_plain_keras_archive_passes_and_returns_its_config(tmp_path):
    config = functional(layer("Dense", "d"))
    assert inspect_archive(archive(tmp_path / "m.keras", config), unsafe=False, custom_objects=None) == config


def test_lambda_layer_is_refused_naming_unsafe_and_allowed_with_it(tmp_path):
    path = archive(tmp_path / "m.keras", functional(LAMBDA))
    with pytest.raises(SavedModelError, match=r"Lambda layer\(s\) double .*--unsafe"):
        inspect_archive(path, unsafe=False, custom_objects=None)
    inspect_archive(path, unsafe=True, custom_objects=None)


def test_custom_object_is_refused_naming_custom_objects_and_allowed_with_a_file(tmp_path):
    path = archive(tmp_path / "m.keras", functional(layer("Skew", "s", module="my_layers")))
    with pytest.raises(SavedModelError, match=r"Custom>Skew .*--custom-objects FILE"):
        inspect_archive(path, unsafe=False, custom_objects=None)
    inspect_archive(path, unsafe=False, custom_objects=CUSTOM)


def test_custom_object_nested_deep_in_the_config_is_found(tmp_path):
    wrapper = layer("Bidirectional", "bi", layer=layer("Skew", "s", module="my_layers"))
    with pytest.raises(SavedModelError, match="Skew"):
        inspect_archive(archive(tmp_path / "m.keras", functional(wrapper)), unsafe=True, custom_objects=None)


def test_not_a_keras_archive(tmp_path):
    text = tmp_path / "m.keras"
    text.write_text("not a zip")
    with pytest.raises(SavedModelError, match="not a Keras archive"):
        inspect_archive(text, unsafe=False, custom_objects=None)
    no_weights = archive(tmp_path / "w.keras", functional(), weights=False)
    with pytest.raises(SavedModelError, match="not a Keras 3 archive"):
        inspect_archive(no_weights, unsafe=False, custom_objects=None)
    with pytest.raises(SavedModelError, match="file not found"):
        inspect_archive(tmp_path / "absent.keras", unsafe=False, custom_objects=None)


def test_config_that_is_not_json(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("config.json", "{not json")
        out.writestr("model.weights.h5", b"")
    with pytest.raises(SavedModelError, match="not valid JSON"):
        inspect_archive(path, unsafe=False, custom_objects=None)


# ---- the inputs -------------------------------------------------------------------------------

def test_npz_keeps_names_and_order(tmp_path):
    np.savez(tmp_path / "in.npz", b=np.ones(2), a=np.zeros(3, "int32"))
    arrays = read_npz(tmp_path / "in.npz")
    assert list(arrays) == ["b", "a"] and arrays["a"].dtype == np.int32


def test_npz_that_needs_pickle_is_refused(tmp_path):
    np.savez(tmp_path / "in.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(SavedModelError, match="pickle"):
        read_npz(tmp_path / "in.npz")


def test_npz_bounds_and_bad_files(tmp_path, monkeypatch):
    np.savez(tmp_path / "big.npz", x=np.zeros(1000))
    monkeypatch.setattr(saved_model, "MAX_INPUT_BYTES", 4000)  # the file is smaller, its array is not
    with pytest.raises(SavedModelError, match="larger than"):
        read_npz(tmp_path / "big.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(SavedModelError, match="not a numpy .npz"):
        read_npz(tmp_path / "text.npz")
    np.savez(tmp_path / "str.npz", x=np.array(["a"]))
    with pytest.raises(SavedModelError, match="dtype <U1"):
        read_npz(tmp_path / "str.npz")
    np.savez(tmp_path / "empty.npz")
    with pytest.raises(SavedModelError, match="no arrays"):
        read_npz(tmp_path / "empty.npz")


def test_inputs_flag():
    assert parse_inputs("random:7") == 7
    assert parse_inputs("in.npz") == Path("in.npz")
    for bad in ("random:", "random:-1", "random:x"):
        with pytest.raises(SavedModelError, match="random:SEED"):
            parse_inputs(bad)


def fake_model(*inputs: tuple[str, tuple, str], vocabulary: int = 7) -> SimpleNamespace:
    tensors = [SimpleNamespace(name=n, shape=s, dtype=d) for n, s, d in inputs]
    return SimpleNamespace(input={t.name: t for t in tensors}, inputs=tensors,
                           _flatten_layers=lambda: [SimpleNamespace(input_dim=vocabulary)])


def test_random_inputs_draw_every_padding_pattern_of_the_fuzzer_and_pad_tokens_and_masks_alike():
    model = fake_model(("token_ids", (None, None), "int32"), ("padding_mask", (None, None), "int32"),
                       ("segment_ids", (None, None), "int32"), ("x", (None, None, 3), "float32"))
    arrays = random_inputs(model, 3)
    ids, mask = arrays["token_ids"], arrays["padding_mask"]
    assert ids.shape == (len(PATTERNS), saved_model.RANDOM_LENGTH)
    assert ids.max() < 7 and np.array_equal(ids != 0, mask.astype(bool))  # 0 exactly where padded
    # one row per pattern, as the fuzzer draws them: right, left, interior, fully padded, none
    patterns = saved_model.random_patterns(3)
    assert sorted(patterns) == sorted(PATTERNS)
    for row, pattern in enumerate(patterns):
        assert np.array_equal(mask[row].astype(bool), row_mask(pattern, saved_model.RANDOM_LENGTH)), pattern
    kept = mask.astype(bool)
    assert (~kept).all(axis=1).sum() == 1 and kept.all(axis=1).sum() == 1  # a fully padded row, a full one
    assert any(not r[0] and r[-1] for r in kept)  # left-padded
    assert any(r[0] and r[-1] and not r.all() for r in kept)  # interior hole
    assert not arrays["segment_ids"].any()
    assert arrays["x"].dtype == np.float32 and np.array_equal(arrays["x"].any(-1), kept)
    assert all(np.array_equal(arrays[k], random_inputs(model, 3)[k]) for k in arrays)  # seeded
    assert not np.array_equal(random_inputs(model, 4)["token_ids"], ids)


def test_random_inputs_are_written_for_the_user(tmp_path):
    arrays = {"ids": np.arange(6).reshape(2, 3)}
    saved_model.write_inputs(tmp_path / "inputs.npz", arrays)
    assert np.array_equal(read_npz(tmp_path / "inputs.npz")["ids"], arrays["ids"])
    assert [p.name for p in tmp_path.iterdir()] == ["inputs.npz"]  # no temporary file left


def test_scenario_name_is_the_file_name():
    assert scenario_name(Path("/a/my model.keras")) == "my_model.keras"
    assert registry.NAME_RE.fullmatch(scenario_name(Path("x/ü&.keras")))


def test_models_family_is_loaded_from_the_subpackage():
    names = {s.name for s in registry.load(["scenarios"])}
    assert {"models/bert-classifier", "models/gpt2", "models/text-classifier",
            "models/seq2seq-attention"} <= names


# ---- the command line -------------------------------------------------------------------------

def test_check_refusals_are_one_line(capsys, tmp_path):
    assert "file not found" in usage_error(capsys, "check", str(tmp_path / "no.keras"), "--inputs", "random:0")
    lam = archive(tmp_path / "lam.keras", functional(LAMBDA))
    assert "--unsafe" in usage_error(capsys, "check", str(lam), "--inputs", "random:0",
                                     "--out", str(tmp_path / "o"))
    custom = archive(tmp_path / "c.keras", functional(layer("Skew", "s", module="my_layers")))
    assert "--custom-objects" in usage_error(capsys, "check", str(custom), "--inputs", "random:0",
                                             "--out", str(tmp_path / "o"))
    plain = archive(tmp_path / "p.keras", functional())
    np.savez(tmp_path / "obj.npz", x=np.array([None], dtype=object))
    assert "pickle" in usage_error(capsys, "check", str(plain), "--inputs", str(tmp_path / "obj.npz"),
                                   "--out", str(tmp_path / "o"))
    assert "not a .py file" in usage_error(capsys, "check", str(plain), "--inputs", "random:0",
                                           "--custom-objects", str(tmp_path / "obj.npz"))
    assert "unknown backend" in usage_error(capsys, "check", str(plain), "--inputs", "random:0",
                                            "--backend", "mxnet")
    assert "required" in usage_error(capsys, "check", str(plain))


def test_first_divergent_is_the_first_probe_in_model_order_not_the_worst():
    probe = lambda name, verdict: SimpleNamespace(probe=name, verdict=verdict)  # noqa: E731
    pair = SimpleNamespace(key="a-vs-b", probes=(probe("in", "match"), probe("skew", "differs-masked-only"),
                                                 probe("out", "differs"), probe("jit/in", "differs")))
    same = SimpleNamespace(key="a-vs-c", probes=(probe("in", "match"), probe("jit/in", "differs")))
    assert first_divergent(pair) == "skew" and first_divergent(same) is None


# ---- real backends ----------------------------------------------------------------------------

BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
SAVE = """
import sys
sys.path.insert(0, {fixtures!r})
import keras
from check_custom import BackendSkew
ids = keras.Input((None,), dtype="int32", name="ids")
encoder = keras.Sequential([keras.layers.Embedding(7, 4, mask_zero=True, name="emb"),
                            keras.layers.Dense(3, name="proj")], name="encoder")
x = BackendSkew(name="skewed")(encoder(ids))
x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
keras.Model(ids, keras.layers.Dense(2, name="after")(x)).save({path!r})
"""


def installed(backend: str) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in ("keras", BACKEND_PACKAGES[backend]))


def harness(*argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def skewed_model(tmp_path_factory) -> Path:
    """Saved under JAX: a nested Sequential (mask_zero Embedding, Dense), the skewed layer, a head."""
    if not installed("jax"):
        pytest.skip("jax is not installed here (`nox -s tests` installs it)")
    path = tmp_path_factory.mktemp("check") / "skewed.keras"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    subprocess.run([sys.executable, "-c", SAVE.format(fixtures=str(FIXTURES), path=str(path))],
                   env=env, check=True, timeout=300, capture_output=True)
    return path


@pytest.mark.backend
def test_model_saved_under_one_backend_is_checked_under_all_and_localized(skewed_model, tmp_path):
    if not all(installed(b) for b in BACKEND_PACKAGES):
        pytest.skip("needs all three backends (`nox -s tests` installs them)")
    out = tmp_path / "out"
    done = harness("check", str(skewed_model), "--inputs", "random:1", "--custom-objects", str(CUSTOM),
                   "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    first = {p["pair"]: p["first_divergent_layer"] for p in summary["paths"] if p["part"] == "forward"}
    assert first == {"tensorflow-cpu-vs-jax-cpu": None, "tensorflow-cpu-vs-torch-cpu": "skewed",
                     "jax-cpu-vs-torch-cpu": "skewed"}
    assert summary["model"] == "skewed.keras" and summary["compared"]
    inputs = read_npz(out / "inputs.npz")  # random:1, written for the user to rerun or edit
    assert list(inputs) == ["ids"] and len(inputs["ids"]) == len(saved_model.random_patterns(1))
    record = json.loads((out / "results" / "torch-cpu.json").read_text())["scenarios"][0]
    probes = {p["key"]: p for p in record["probes"]}
    # the nested model's own layers are captured, with the mask the Embedding made
    assert probes["encoder/emb"]["has_mask"] and probes["encoder/proj"]["has_mask"]
    report = (out / "report.md").read_text()
    assert "- First divergent layer: `skewed`" in report and "New: please report" in report


@pytest.mark.backend
def test_inputs_that_do_not_fit_are_one_line(skewed_model, tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((2, 3), "int32"), b=np.ones((2, 3), "int32"))
    done = harness("check", str(skewed_model), "--inputs", str(tmp_path / "two.npz"), "--backend", "jax",
                   "--custom-objects", str(CUSTOM), "--out", str(tmp_path / "out"), "-q")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [done.stderr.strip()] and "Traceback" not in done.stderr
    assert "2 array(s)" in done.stderr and "['ids']" in done.stderr


# ---- nox: keras-hub without its declared dependencies, each backend alone ----------------------

class NoxSession:
    """The part of nox.Session that install_models and the check session use."""

    def __init__(self, posargs: list[str]) -> None:
        self.posargs, self.python = posargs, None
        self.installed: list[tuple[str, ...]] = []
        self.ran: list[tuple[str, ...]] = []

    def install(self, *args: str) -> None:
        self.installed.append(args)

    def run(self, *args: str, **kwargs) -> str:
        self.ran.append(args)
        return f"{sys.version_info[0]}.{sys.version_info[1]}\n"  # check_python asks for the version

    def error(self, message: str) -> None:
        raise AssertionError(message)

    def log(self, message: str) -> None:
        pass


@pytest.fixture(scope="module")
def noxfile():
    nox_registry = pytest.importorskip("nox.registry")
    # Loading the noxfile registers its sessions in nox's one registry; tests/test_noxfile.py loads it
    # too, and a name registered twice warns (an error in later nox). Leave the registry as found.
    saved = nox_registry.get()
    nox_registry.reset()
    spec = importlib.util.spec_from_file_location("harness_noxfile_check", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        nox_registry.reset()
        nox_registry._REGISTRY.update(saved)
        sys.modules.pop(spec.name, None)


def test_nox_check_reuses_the_main_jobs_environments_and_builds_only_a_missing_one(noxfile, monkeypatch, tmp_path):
    if f"{sys.version_info[0]}.{sys.version_info[1]}" not in noxfile.SUPPORTED_PYTHONS:
        pytest.skip("check_python refuses this interpreter")
    for name in ("tf", "jax"):  # the main job built these two
        (tmp_path / ".nox" / name / "bin").mkdir(parents=True)
        (tmp_path / ".nox" / name / "bin" / "python").write_text("")
    monkeypatch.setattr(noxfile, "NOX_ENVS", tmp_path / ".nox")
    monkeypatch.setattr(noxfile, "install_project", lambda session, *requirements: session.install(*requirements))
    session = NoxSession(["m.keras", "--inputs", "random:0"])
    session.invoked_from = str(tmp_path)
    session.chdir = lambda folder: contextlib.nullcontext()
    noxfile.check(session)
    main = tmp_path / ".nox"
    built = main / "check-torch" / "bin" / "python"
    assert session.ran[-1] == ("keras-mask-harness", "check", "m.keras", "--inputs", "random:0",
                               "--python", f"tensorflow={main / 'tf' / 'bin' / 'python'}",
                               "--python", f"jax={main / 'jax' / 'bin' / 'python'}",
                               "--python", f"torch={built}")
    installs = [args for args in session.ran if args[:1] == (str(built),)]
    assert installs, "the missing torch environment is built"
    assert not any(str(main / "tf") in " ".join(args[:1]) or str(main / "jax") in " ".join(args[:1])
                   for args in session.ran if "install" in args)  # nothing installed into the main job's
    requirements = [r for args in installs for r in args]
    assert ("--no-deps" in requirements and any(r.startswith("keras-hub") for r in requirements)
            and any(r.startswith("torch") for r in requirements))
    assert not any(r.startswith(("tensorflow", "jax")) for r in requirements), requirements
