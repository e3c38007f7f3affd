"""The next Keras on the version axis: nightly builds in PEP 440 order, bisect over a fake index of
releases and nightlies, the source diff of two small fake wheels, and bad input.

No Keras and no network: the package index and the runs are fakes; the wheels are built here.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from harness import artifacts
from harness.__main__ import main
from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Captured, Probe
from harness.versions import bisect, cli, envs, runs, runtimes, wheeldiff

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ["3.14.0", "3.14.1", "3.15.0", "3.15.1"]
NIGHTLIES = [f"3.16.0.dev202610{day:02d}04" for day in range(1, 28)]
INDEX = {"keras": ", ".join(reversed(RELEASES)), "keras-nightly": ", ".join(reversed(
    ["3.15.0.dev2026062405", "3.14.0.dev2026040604", *NIGHTLIES]))}


# ---- versions in PEP 440 order ------------------------------------------------------------------

versions = st.one_of(
    st.tuples(st.integers(3, 4), st.integers(0, 20), st.integers(0, 3)).map(lambda t: "%d.%d.%d" % t),
    st.tuples(st.integers(3, 4), st.integers(0, 20), st.integers(0, 3),
              st.integers(2024010100, 2026123123)).map(lambda t: "%d.%d.%d.dev%d" % t),
)


@given(st.lists(versions, min_size=2, max_size=30, unique=True))
def test_releases_and_nightlies_sort_as_pep440_says(found):
    assert sorted(found, key=runtimes.order_key) == sorted(found, key=Version)


def test_a_nightly_runtime_pins_its_exact_build_and_names_it_everywhere():
    runtime = runtimes.nightly("3.16.0.dev2026102704", "torch")
    assert runtime.pins() == ("keras-nightly==3.16.0.dev2026102704",)
    assert runtime.label() == "keras-nightly-3.16.0.dev2026102704-torch-cpu"
    assert artifacts.check_label(runtime.label())
    assert runtimes.from_label(runtime.label()) == runtime
    assert runtimes.from_label("keras-3.15.1-torch-cpu") == runtimes.keras3("3.15.1", "torch")
    with pytest.raises(ValueError):
        runtimes.nightly("3.16.0", "torch")


def test_span_mixes_releases_and_nightlies_only_when_an_end_is_a_nightly():
    span = cli.span_of("3.15.1", NIGHTLIES[-1], RELEASES, NIGHTLIES)
    assert span == ["3.15.1", *NIGHTLIES]
    assert cli.span_of("3.14.0", "3.15.1", RELEASES, NIGHTLIES) == RELEASES
    with pytest.raises(cli.VersionsError, match="must be an older release or build"):
        cli.span_of(NIGHTLIES[3], NIGHTLIES[1], RELEASES, NIGHTLIES)


# ---- a fake index and fake runs: bisect end to end ------------------------------------------------

def fake_index(monkeypatch, folder: Path) -> None:
    monkeypatch.setenv("HARNESS_ENV_CACHE", str(folder / "envs"))
    monkeypatch.setattr(envs, "_index_versions",
                        lambda package, timeout_s, pre=False: [v.strip() for v in INDEX[package].split(",")])
    monkeypatch.chdir(ROOT)


@pytest.fixture
def index(monkeypatch, tmp_path):
    fake_index(monkeypatch, tmp_path)


def fake_runs(monkeypatch, first_changed: str, cannot_run: set[str]) -> list[str]:
    """runs.run writes a one-scenario artifact whose GRU mask drops from `first_changed` on."""
    ran = []

    def run(runtime, selects, results, **kw):
        ran.append(runtime.version)
        if runtime.version in cannot_run:
            raise bisect.CannotRun("pip could not install keras-nightly (fake)")
        changed = runtimes.order_key(runtime.version) >= runtimes.order_key(first_changed)
        mask = None if changed else np.array([[True, False, True]])
        probe = Probe(np.ones((1, 3), np.float32), mask, "float32")
        record = ScenarioRecord("seed/rnn-model", "ok", 0.1, Captured("seed/rnn-model", runtime.backend,
                                                                      {"gru_1": probe}),
                                {"expectations": [], "tolerances": {}, "layer_classes": {"gru_1": "GRU"}})
        return artifacts.write(Artifact(runtime.label(), {"backend": runtime.backend}, {record.name: record}),
                               results)

    monkeypatch.setattr(runs, "run", run)
    return ran


@settings(max_examples=25, deadline=None)
@given(st.integers(1, len(NIGHTLIES) - 1), st.sets(st.integers(0, len(NIGHTLIES) - 2), max_size=6))
def test_bisect_over_nightlies_names_the_build(change, skips):
    first = NIGHTLIES[change]
    cannot = {NIGHTLIES[i] for i in skips}
    with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as folder:
        fake_index(monkeypatch, Path(folder))
        ran = fake_runs(monkeypatch, first, cannot)
        record = Path(folder) / "bisect.json"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = main(["bisect", "--select", "seed/rnn-model", "--backend", "torch", "--good", "3.15.1",
                         "--bad", "nightly", "--no-source", "--keep", str(Path(folder) / "runs"),
                         "--record", str(record)])
        data = json.loads(record.read_text())
    out = printed.getvalue().strip().splitlines()
    assert code == 0
    # the true first build is the one named, or one that could not run just before it (git bisect skip)
    assert first in [data["first"], *data["ambiguous"]]
    assert data["first"] not in cannot and all(v in cannot for v in data["ambiguous"])
    assert out[-1].startswith(f"first changed in keras-nightly {data['first']}")
    assert len(ran) == len(set(ran)) and len(ran) <= 2 + 5 + len(skips)  # log2(27) steps, plus skips
    assert data["divergence"] == {"scenario": "seed/rnn-model", "probe": "gru_1", "layer_class": "GRU",
                                  "verdict": "mask-differs"}
    assert all(any(f"keras-nightly {v}: cannot run" in line for line in out) for v in data["skipped"])


def test_bisect_from_a_release_to_the_newest_nightly_can_end_on_the_release(index, monkeypatch, tmp_path, capsys):
    fake_runs(monkeypatch, NIGHTLIES[0], set())
    assert main(["bisect", "--select", "seed/rnn-model", "--backend", "torch", "--good", "3.15.0",
                 "--bad", NIGHTLIES[5], "--no-source", "--keep", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"first changed in keras-nightly {NIGHTLIES[0]}"


@pytest.mark.parametrize("argv, message", [
    (["versions", "run", "--keras", "3.16.0.dev2099010100", "--backend", "torch"],
     "--keras 3.16.0.dev2099010100: not a keras-nightly build on the package index"),
    (["bisect", "--select", "seed/*", "--backend", "torch", "--good", "3.15.1", "--bad", "3.16.0.dev2099010100"],
     "--bad 3.16.0.dev2099010100: not a keras-nightly build"),
    (["bisect", "--select", "seed/*", "--backend", "torch", "--good", NIGHTLIES[4], "--bad", NIGHTLIES[2]],
     "must be an older release or build than"),
    (["versions", "list", "--limit", "-1"], "--limit -1"),
])
def test_bad_nightly_input_is_one_line_and_exit_2(index, argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: error: ") and message in err, err


def test_no_network_for_the_nightly_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HARNESS_ENV_CACHE", str(tmp_path / "envs"))

    def offline(command, **kw):
        raise subprocess.TimeoutExpired(command, 60)

    monkeypatch.setattr(envs.subprocess, "run", offline)
    monkeypatch.chdir(ROOT)
    assert main(["versions", "run", "--keras", "nightly", "--backend", "jax", "--select", "seed/*"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "keras-nightly" in err and "no network" in err, err


def test_versions_list_shows_the_newest_nightlies_first_with_a_limit(index, capsys):
    assert main(["versions", "list", "--backend", "jax", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown = [line.split()[1] for line in lines if line.startswith("keras-nightly 3.")]
    assert shown == NIGHTLIES[::-1][:3]
    assert [line.split()[1] for line in lines if line.startswith("keras 3.")] == RELEASES


# ---- the source change: two small wheels built here ----------------------------------------------

def wheel(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


GRU_OLD = "class GRU(RNN):\n    def call(self, inputs, mask=None):\n        return self.cell(inputs, mask=mask)\n"
GRU_NEW = "class GRU(RNN):\n    def call(self, inputs, mask=None):\n        return self.cell(inputs)\n"


def test_the_layer_module_ranks_first_and_its_hunk_is_shown(tmp_path):
    common = {"keras/src/layers/core/dense.py": "class Dense:\n    pass\n", "keras/src/version.py": "v = 1\n",
              "keras/__init__.py": "x = 1\n"}
    old = wheel(tmp_path / "keras_nightly-3.16.0.dev2026101904-py3-none-any.whl", {
        **common, "keras/src/layers/rnn/gru.py": GRU_OLD, "keras/src/layers/rnn/gru_test.py": "def test(): pass\n",
        "keras/src/ops/nn.py": "def relu(x):\n    return x\n"})
    new = wheel(tmp_path / "keras_nightly-3.16.0.dev2026102004-py3-none-any.whl", {
        **common, "keras/src/layers/rnn/gru.py": GRU_NEW, "keras/__init__.py": "x = 2\n",
        "keras/src/layers/rnn/gru_test.py": "def test():\n    assert mask is None  # GRU mask\n",
        "keras/src/ops/nn.py": "def relu(x):\n    return max(x, 0)\n" * 30,
        "keras/src/layers/core/dense.py": "class Dense:\n    mask = None\n"})
    result = wheeldiff.diff(old, new, layer_class="GRU", mask_change=True)
    paths = [f.path for f in result.files]
    assert paths[0] == "keras/src/layers/rnn/gru.py"  # the GRU's module, although nn.py changed more
    assert paths[-1] == "keras/src/layers/rnn/gru_test.py"  # tests last: they change no behaviour
    assert "keras/__init__.py" not in paths and "keras/src/version.py" not in paths  # outside keras/src / same
    assert paths.index("keras/src/layers/core/dense.py") < paths.index("keras/src/ops/nn.py")  # a mask line
    assert "-        return self.cell(inputs, mask=mask)" in result.hunk
    assert "+        return self.cell(inputs)" in result.hunk
    printed = "\n".join(result.lines())
    assert "most relevant: keras/src/layers/rnn/gru.py" in printed
    # with no layer to go by, the files whose changed lines touch masks lead, then the largest change
    blind = [f.path for f in wheeldiff.diff(old, new).files]
    assert set(blind[:2]) == {"keras/src/layers/core/dense.py", "keras/src/layers/rnn/gru.py"}
    assert blind[2] == "keras/src/ops/nn.py"


def test_a_change_in_the_layers_base_class_outranks_its_siblings(tmp_path):
    """GRU is unchanged; its base class RNN changed, and so did Bidirectional, a sibling."""
    gru = "from keras.src.layers.rnn.rnn import RNN\nclass GRU(RNN):\n    pass\n"
    files = {"keras/src/layers/rnn/gru.py": gru,
             "keras/src/layers/layer.py": "class Layer(Operation):\n    pass\n"}
    rnn = "keras/src/layers/rnn/rnn.py"
    old = wheel(tmp_path / "old.whl", {**files, rnn: "class RNN(Layer):\n    supports_masking = True\n",
                                       "keras/src/layers/rnn/bidirectional.py":
                                           "class Bidirectional(Layer):\n    supports_masking = True\n"})
    new = wheel(tmp_path / "new.whl", {**files, rnn: "class RNN(Layer):\n    supports_masking = False\n",
                                       "keras/src/layers/rnn/bidirectional.py":
                                           "class Bidirectional(Layer):\n    supports_masking = False\n"})
    ranked = wheeldiff.diff(old, new, layer_class="GRU", mask_change=True).files
    assert [f.path for f in ranked] == ["keras/src/layers/rnn/rnn.py", "keras/src/layers/rnn/bidirectional.py"]
    assert "defines RNN, a base class of GRU" in ranked[0].why


def test_an_error_that_went_away_is_traced_by_the_words_of_its_message(tmp_path):
    trainer_old = "def fit(self, steps_per_execution=1):\n    if steps_per_execution > 1:\n        raise ValueError\n"
    trainer_new = "def fit(self, steps_per_execution=1):\n    return self.loop(steps_per_execution)\n"
    old = wheel(tmp_path / "old.whl", {"keras/src/backend/torch/trainer.py": trainer_old,
                                       "keras/src/ops/image.py": "def resize(x):\n    return x\n"})
    new = wheel(tmp_path / "new.whl", {"keras/src/backend/torch/trainer.py": trainer_new,
                                       "keras/src/ops/image.py": "def resize(x):\n    return x[0]\n" * 50})
    words = wheeldiff.hint_words("`steps_per_execution` must be 1 with the PyTorch backend. Received: "
                                 "steps_per_execution=2")
    assert words == ["PyTorch", "steps_per_execution"]
    ranked = wheeldiff.diff(old, new, layer_class="Model", hints=words, backend="torch").files
    assert ranked[0].path == "keras/src/backend/torch/trainer.py"  # not the larger image.py change
    assert wheeldiff.diff(old, new, layer_class="Model").files[0].path == "keras/src/ops/image.py"


def test_a_file_that_is_not_a_wheel_is_one_clear_error(tmp_path):
    bad = tmp_path / "keras_nightly-3.16.0.dev1-py3-none-any.whl"
    bad.write_text("not a zip")
    with pytest.raises(wheeldiff.WheelError, match="not a readable wheel"):
        wheeldiff.diff(bad, bad)


@pytest.mark.parametrize("name, snake", [("GRU", "gru"), ("MultiHeadAttention", "multi_head_attention"),
                                         ("GlobalMaxPooling1D", "global_max_pooling1d"), ("LSTM", "lstm"),
                                         ("SimpleRNN", "simple_rnn")])
def test_class_names_map_to_keras_module_names(name, snake):
    assert wheeldiff.snake(name) == snake
