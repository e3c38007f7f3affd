"""Reliability of `harness check` (issue 13 on issue 12's command): the archive, the inputs and the
custom-objects file may be anything a filesystem holds, and code hidden anywhere in a saved config is
refused unless asked for. Everything here is refused before a backend starts, in one line, within
seconds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.__main__ import main
from harness.run import saved_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_check import LAMBDA, archive, functional, layer  # noqa: E402
from test_cli import assert_usage_error  # noqa: E402
from test_reliability import within  # noqa: E402


def check(capsys, tmp_path: Path, *argv: str) -> str:
    with within():
        code = main(["check", *argv, "--out", str(tmp_path / "out"), "--backend", "jax"])
    out, err = capsys.readouterr()
    line = assert_usage_error(code, err)
    assert not (tmp_path / "out" / "results").exists() or not any((tmp_path / "out" / "results").iterdir())
    return line


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    return archive(tmp_path / "plain.keras", functional(layer("Dense", "d", units=2)))


# ---- the archive as a special, endless or huge file --------------------------------------------------

def test_model_that_is_a_fifo_is_refused_without_blocking(capsys, tmp_path):
    os.mkfifo(tmp_path / "m.keras")
    assert "m.keras" in check(capsys, tmp_path, str(tmp_path / "m.keras"), "--inputs", "random:0")


def test_model_that_links_to_dev_zero_is_refused(capsys, tmp_path):
    (tmp_path / "m.keras").symlink_to("/dev/zero")
    assert "m.keras" in check(capsys, tmp_path, str(tmp_path / "m.keras"), "--inputs", "random:0")


def test_model_that_is_huge_is_refused_by_its_size(capsys, tmp_path):
    with open(tmp_path / "m.keras", "wb") as handle:
        handle.truncate(saved_model.MAX_ARCHIVE_BYTES + 1)
    assert "larger than" in check(capsys, tmp_path, str(tmp_path / "m.keras"), "--inputs", "random:0")


def test_config_that_unpacks_past_its_bound_is_refused(capsys, tmp_path, monkeypatch, plain):
    monkeypatch.setattr(saved_model, "MAX_CONFIG_BYTES", 16)
    assert "config.json larger than" in check(capsys, tmp_path, str(plain), "--inputs", "random:0")


# ---- code hidden in the config: refused without --unsafe / --custom-objects ------------------------------------

HIDDEN = {
    "lambda-layer-deep-in-a-wrapper": (
        layer("TimeDistributed", "td", layer=LAMBDA), "--unsafe"),
    "lambda-as-an-activation": (
        layer("Dense", "d", units=2, activation={"class_name": "__lambda__", "config": {"code": "x"}}), "--unsafe"),
    "builtins-eval-as-an-activation": (
        layer("Dense", "d", units=2, activation={"module": "builtins", "class_name": "function",
                                                  "config": "eval", "registered_name": "function"}),
        "--custom-objects"),
    "class-from-os": (layer("system", "s", module="os"), "--custom-objects"),
    "initializer-from-an-unknown-package": (
        layer("Dense", "d", units=2, kernel_initializer={"module": "evil_pkg.init", "class_name": "Boom",
                                                          "config": {}}), "--custom-objects"),
}


@pytest.mark.parametrize("case", HIDDEN, ids=list(HIDDEN))
def test_code_hidden_in_a_saved_config_is_refused_naming_the_flag(capsys, tmp_path, case):
    config, flag = HIDDEN[case]
    path = archive(tmp_path / "m.keras", functional(config))
    assert flag in check(capsys, tmp_path, str(path), "--inputs", "random:0")


# ---- inputs and custom objects ------------------------------------------------------------------------------------

def test_inputs_that_are_a_fifo_are_refused(capsys, tmp_path, plain):
    os.mkfifo(tmp_path / "in.npz")
    assert "--inputs" in check(capsys, tmp_path, str(plain), "--inputs", str(tmp_path / "in.npz"))


def test_inputs_that_link_to_dev_zero_are_refused(capsys, tmp_path, plain):
    (tmp_path / "in.npz").symlink_to("/dev/zero")
    assert "--inputs" in check(capsys, tmp_path, str(plain), "--inputs", str(tmp_path / "in.npz"))


def test_inputs_that_need_pickle_are_refused(capsys, tmp_path, plain):
    np.savez(tmp_path / "in.npz", x=np.array([{"a": 1}], dtype=object))
    assert "pickle" in check(capsys, tmp_path, str(plain), "--inputs", str(tmp_path / "in.npz"))


def test_custom_objects_file_that_is_a_fifo_is_refused(capsys, tmp_path, plain):
    os.mkfifo(tmp_path / "custom.py")
    assert "--custom-objects" in check(capsys, tmp_path, str(plain), "--inputs", "random:0",
                                       "--custom-objects", str(tmp_path / "custom.py"))


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3"])
def test_timeout_must_be_a_finite_positive_number(capsys, tmp_path, plain, value):
    """Found by this test: inf passed the `> 0` check, and an infinite timeout is no bound."""
    assert "--timeout" in check(capsys, tmp_path, str(plain), "--inputs", "random:0", "--timeout", value)
