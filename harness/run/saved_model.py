"""A saved Keras model (.keras archive) as a scenario: `python -m harness check`.

Two halves. The archive checks (`inspect_archive`, `read_npz`) read files with the standard
library and numpy only, so the checker refuses a bad file before any backend starts. The keras half
(`load_for_check`) runs inside each backend's worker: it loads the archive in safe mode with the
model's own weights and returns (model, inputs) like a scenario's build function, so the
ordinary capture (every layer, nested models too, eager and compiled) does the rest.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.define import spec as case_spec

MAX_ARCHIVE_BYTES = 4 << 30  # a .keras file larger than this is refused
MAX_CONFIG_BYTES = 64 << 20  # config.json inside the archive
MAX_INPUT_BYTES = 1 << 30  # an inputs .npz, compressed and uncompressed
RANDOM_LENGTH = 8  # timesteps of a generated input whose length the model leaves open
LAMBDA_FUNCTION = "(a lambda function)"
KERAS_MODULES = ("keras", "keras_hub", "keras_nlp", "keras_cv")  # classes safe mode knows by name


class SavedModelError(Exception):
    """The model file or its inputs cannot be checked; one line for the user."""


@dataclass(frozen=True)
class CheckSpec:
    """What one check loads: the archive, the inputs (an .npz path or "random:SEED"), the flags."""

    model: str
    inputs: str
    unsafe: bool = False
    custom_objects: str | None = None
    write_inputs: str | None = None  # random inputs are written here (DIR/inputs.npz) for the user


# ---- the archive and the inputs, without keras -----------------------------------------------

def inspect_archive(path: Path, *, unsafe: bool, custom_objects: Path | None) -> dict[str, Any]:
    """The archive's config.json; refuses what safe mode would refuse, naming the flag that allows it."""
    if not path.exists():
        raise SavedModelError(f"{path}: file not found")
    if not path.is_file():  # a folder or a FIFO: never opened, so never a hang
        kind = "a folder" if path.is_dir() else "not a regular file"
        raise SavedModelError(f"{path}: {kind}, not a .keras archive")
    if path.stat().st_size > MAX_ARCHIVE_BYTES:
        raise SavedModelError(f"{path}: larger than {MAX_ARCHIVE_BYTES >> 30} GiB, not checked")
    if not zipfile.is_zipfile(path):
        raise SavedModelError(f"{path}: not a Keras archive (.keras zip file); "
                              f"save the model with model.save('model.keras')")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "config.json" not in names or "model.weights.h5" not in names:
            raise SavedModelError(f"{path}: not a Keras 3 archive (no config.json and "
                                  f"model.weights.h5); save the model with model.save('model.keras')")
        if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
            raise SavedModelError(f"{path}: config.json larger than {MAX_CONFIG_BYTES >> 20} MiB")
        try:
            config = json.loads(archive.read("config.json"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SavedModelError(f"{path}: config.json is not valid JSON ({exc})") from None
    lambdas, custom = _unsafe_parts(config)
    if lambdas and not unsafe:
        named = sorted(lambdas - {LAMBDA_FUNCTION}) or [LAMBDA_FUNCTION]
        raise SavedModelError(f"{path}: Lambda layer(s) {', '.join(named)} hold Python code; "
                              f"safe mode refuses them: pass --unsafe if you trust this file")
    if custom and custom_objects is None:
        raise SavedModelError(f"{path}: custom object(s) {', '.join(sorted(custom))} are not Keras's; "
                              f"pass --custom-objects FILE (a .py file defining them), "
                              f"and --unsafe if they hold Lambda code")
    return config


def _unsafe_parts(config: Any) -> tuple[set[str], set[str]]:
    """Names of Lambda layers and of classes from outside Keras, anywhere in the config tree."""
    lambdas: set[str] = set()
    custom: set[str] = set()
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        class_name = node.get("class_name")
        if not isinstance(class_name, str) or "config" not in node:
            continue
        if class_name in ("Lambda", "__lambda__"):
            name = node["config"].get("name", "?") if isinstance(node["config"], dict) else "?"
            lambdas.add(str(name) if class_name == "Lambda" else LAMBDA_FUNCTION)
        elif not _keras_module(node.get("module")):
            custom.add(str(node.get("registered_name") or class_name))
    return lambdas, custom


def _keras_module(module: Any) -> bool:
    if module is None:  # Keras writes no module for its built-in functions and dtype policies
        return True
    return isinstance(module, str) and module.split(".")[0] in KERAS_MODULES \
        and (module.split(".")[0] == "keras" or importlib.util.find_spec(module.split(".")[0]) is not None)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Arrays from an .npz, in file order; pickled (object) arrays and oversized files refused."""
    if not path.is_file():
        raise SavedModelError(f"--inputs {path}: file not found")
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise SavedModelError(f"--inputs {path}: larger than {MAX_INPUT_BYTES >> 20} MiB")
    try:
        with zipfile.ZipFile(path) as archive:  # a small file that inflates hugely is refused too
            if sum(info.file_size for info in archive.infolist()) > MAX_INPUT_BYTES:
                raise SavedModelError(f"--inputs {path}: arrays larger than {MAX_INPUT_BYTES >> 20} MiB")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except SavedModelError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):
            raise SavedModelError(f"--inputs {path}: holds object arrays, which need pickle; "
                                  f"refused (save numeric arrays with numpy.savez)") from None
        raise SavedModelError(f"--inputs {path}: not a numpy .npz file ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise SavedModelError(f"--inputs {path}: not a numpy .npz file ({exc})") from None
    if not arrays:
        raise SavedModelError(f"--inputs {path}: holds no arrays")
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise SavedModelError(f"--inputs {path}: array {key!r} has dtype {array.dtype}; "
                                  f"only bool, integer and float inputs are checked")
    return arrays


RANDOM = re.compile(r"random:(\d+)")


def parse_inputs(value: str) -> int | Path:
    """--inputs: "random:SEED" gives the seed, anything else is an .npz path."""
    if value.startswith("random:"):
        match = RANDOM.fullmatch(value)
        if not match:
            raise SavedModelError(f"--inputs {value}: use random:SEED with a non-negative integer seed")
        return int(match.group(1))
    return Path(value)


# ---- the keras half: runs in the worker ------------------------------------------------------

def load_for_check(spec: CheckSpec) -> tuple[Any, list[np.ndarray]]:
    """(model, inputs in the model's order): a scenario build for the saved model."""
    model = load_model(spec)
    source = parse_inputs(spec.inputs)
    if isinstance(source, int):
        arrays = random_inputs(model, source)
        if spec.write_inputs:
            write_inputs(Path(spec.write_inputs), arrays)
    else:
        arrays = read_npz(source)
    return model, match_inputs(model, arrays)


def load_for_fit(spec: CheckSpec, compile_config: dict[str, Any], targets: np.ndarray,
                 sample_weight: np.ndarray | None) -> tuple[Any, list[np.ndarray]]:
    """(model, inputs) compiled with `compile_config` (the archive's, or the flags'), for `Fit`.

    Targets and weights that do not fit the model's output are the user's to fix (a definition
    error: one line, exit 2); a compile configuration this backend cannot build is this backend's
    error, recorded like any other.
    """
    import keras

    from harness.run.capture import ScenarioDefinitionError

    model, inputs = load_for_check(spec)
    if len(model.outputs) != 1:
        raise ScenarioDefinitionError(f"--targets: the model has {len(model.outputs)} outputs; "
                                      f"check --fit trains single-output models")
    expected = (len(inputs[0]), *tuple(model.outputs[0].shape)[1:])
    if not _fits(targets.shape, expected, sparse=targets.dtype.kind in "iu"):
        raise ScenarioDefinitionError(f"--targets has shape {targets.shape}; the model's output is "
                                      f"{_shape_text(expected)} (integer class ids may drop the last axis)")
    if sample_weight is not None and (sample_weight.ndim > targets.ndim or
                                      sample_weight.shape != targets.shape[:sample_weight.ndim]):
        raise ScenarioDefinitionError(f"--sample-weight has shape {sample_weight.shape}; give "
                                      f"{targets.shape[:1]} (one per row) or "
                                      f"{targets.shape[:2]} (one per timestep)")
    config = dict(compile_config)
    if keras.backend.backend() == "torch" and config.get("jit_compile") is True \
            and os.environ.get("HARNESS_TORCH_COMPILE", "0") != "1":
        config["jit_compile"] = False  # torch.compile takes minutes on CPU: as the suite's Fit does
    model.compile_from_config(config)
    return model, inputs


def _fits(shape: tuple[int, ...], expected: tuple[Any, ...], *, sparse: bool) -> bool:
    def same(got: tuple[int, ...], want: tuple[Any, ...]) -> bool:
        return len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want))

    return same(shape, expected) or (sparse and (same(shape, expected[:-1]) or same(shape, (*expected[:-1], 1))))


def _shape_text(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def load_model(spec: CheckSpec) -> Any:
    import keras

    custom = _custom_objects(Path(spec.custom_objects)) if spec.custom_objects else {}
    return keras.saving.load_model(spec.model, custom_objects=custom, compile=False,
                                   safe_mode=not spec.unsafe)


def _custom_objects(path: Path) -> dict[str, Any]:
    """The classes and functions a --custom-objects file defines, by name (or its CUSTOM_OBJECTS)."""
    module_spec = importlib.util.spec_from_file_location(f"harness_custom_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise SavedModelError(f"--custom-objects {path}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    explicit = getattr(module, "CUSTOM_OBJECTS", None)
    if isinstance(explicit, dict):
        return dict(explicit)
    return {name: value for name, value in vars(module).items()
            if callable(value) and getattr(value, "__module__", None) == module.__name__}


def _input_names(model: Any) -> list[str]:
    structure = model.input
    if isinstance(structure, dict):  # a keras-hub backbone: inputs by key
        position = {id(tensor): key for key, tensor in structure.items()}
        return [position[id(tensor)] for tensor in model.inputs]
    return [tensor.name for tensor in model.inputs]


def match_inputs(model: Any, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The arrays in `model.inputs` order: matched by name when every name is there, else in order."""
    from harness.run.capture import ScenarioDefinitionError

    names = _input_names(model)
    if set(arrays) == set(names):
        return [arrays[name] for name in names]
    if len(arrays) == len(names):
        return list(arrays.values())
    raise ScenarioDefinitionError(f"the inputs hold {len(arrays)} array(s) {sorted(arrays)} but the model "
                                  f"takes {len(names)} input(s) {names}: name the arrays so, or give "
                                  f"as many in order")


def random_patterns(seed: int) -> list[str]:
    """The padding pattern of each random row: every pattern the fuzzer draws from, once, in an
    order drawn from the seed (numpy only, so the checker can name the rows without keras)."""
    rng = np.random.default_rng([seed, 0])
    return [str(p) for p in rng.permutation(case_spec.PATTERNS)]


def random_inputs(model: Any, seed: int) -> dict[str, np.ndarray]:
    """Inputs from the model's input specs, drawn by numpy (the same on every backend).

    One row per padding pattern of the fuzzer (harness.define.spec: right, left, interior, fully
    padded, none), in `random_patterns(seed)` order, laid on axis 1. Every input pads its rows alike:
    integer inputs are token ids from 1 with 0 as padding, inputs named like a mask are 1 where a
    token is, segment ids are 0, float inputs are normal draws with zeros as padding (what Masking(0)
    masks). So Embedding(mask_zero=True), Masking and keras-hub padding masks all see padded steps,
    at the ends, inside and over a whole row, which is where masking differs between backends.
    """
    rng = np.random.default_rng(seed)
    vocabulary = _smallest_vocabulary(model)
    patterns = random_patterns(seed)
    arrays = {}
    for name, tensor in zip(_input_names(model), model.inputs):
        shape = (len(patterns), *(RANDOM_LENGTH if d is None else int(d) for d in tensor.shape[1:]))
        dtype = np.dtype(str(tensor.dtype))
        kept = _kept(shape, patterns)
        lowered = name.lower()
        if "mask" in lowered:
            values = kept
        elif "segment" in lowered:
            values = np.zeros(shape)
        elif dtype.kind in "iub":
            values = np.where(kept, rng.integers(1, vocabulary, size=shape), 0)
        else:
            values = np.where(kept, rng.standard_normal(shape), 0.0)
        arrays[name] = values.astype(dtype)
    return arrays


def _kept(shape: tuple[int, ...], patterns: list[str]) -> np.ndarray:
    """True at the steps a row keeps: row i follows patterns[i] along axis 1 (the fuzzer's masks)."""
    if len(shape) < 2:
        return np.ones(shape, dtype=bool)
    kept = np.stack([case_spec.row_mask(p, shape[1]) for p in patterns])
    return np.broadcast_to(kept.reshape(kept.shape + (1,) * (len(shape) - 2)), shape)


def write_inputs(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """DIR/inputs.npz, atomically: each backend writes the same bytes, so a race leaves one whole file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    tmp.replace(path)


def _smallest_vocabulary(model: Any) -> int:
    """Token ids stay below every embedding's input size, so any integer input is a valid id."""
    sizes = [getattr(layer, "input_dim", None) for layer in model._flatten_layers()]
    sizes = [s for s in sizes if isinstance(s, int) and s > 1]
    return min(sizes, default=10)
