"""A standalone reproduction script for a spec: keras and numpy only, ready for an upstream issue.

The script builds the same model as harness/run/spec_build.py (the custom layers and lambdas are
copied from that file's source, read with ast, so they cannot drift), sets the harness's numpy weights,
feeds the exact input arrays and prints every layer's output and mask. Run it once per backend:
`KERAS_BACKEND=jax python repro.py`, and compare. This module writes text; it never imports keras.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any

from harness.define import spec as specs
from harness.define import weights

SPEC_BUILD = Path(__file__).resolve().parent.parent / "run" / "spec_build.py"
PORTABILITY = SPEC_BUILD.parent / "portability.py"
LIST_CALL_NAME = "LIST_CALL"
TUPLE_ARGS = ("cropping", "dims", "axes", "target_shape")


def _spec_build_parts() -> tuple[dict[str, str], str, set[str]]:
    """Custom layer classes by op, the LAMBDAS source, and the ops called with a list."""
    source = SPEC_BUILD.read_text(encoding="utf-8")
    tree = ast.parse(source)
    classes = {n.name: ast.get_source_segment(source, n) for n in tree.body if isinstance(n, ast.ClassDef)}
    lambdas, list_call = "", set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "LAMBDAS":
                lambdas = ast.get_source_segment(source, node)
            if node.targets[0].id == LIST_CALL_NAME:
                list_call = set(ast.literal_eval(node.value))
    return {f"custom.{k}": v for k, v in classes.items()}, lambdas, list_call


def portability_readers() -> tuple[str, ...]:
    """The modules harness/run/portability.py reads masks from, read with ast (this module imports no
    run-stage code)."""
    tree = ast.parse(PORTABILITY.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MASK_READERS":
            return tuple(ast.literal_eval(node.value))
    return ("keras.src.backend",)


def _layer_expr(op: str, args: dict[str, Any], name: str | None) -> str:
    parts = []
    for key, value in args.items():
        if key == "layer" and isinstance(value, dict):
            parts.append(f"layer={_layer_expr(value['op'], value.get('args', {}), None)}")
        elif key == "function" and op == "Lambda":
            parts.append(f"function=LAMBDAS[{value!r}]")
        elif key in TUPLE_ARGS and isinstance(value, list):
            parts.append(f"{key}={tuple(value)!r}")
        else:
            parts.append(f"{key}={value!r}")
    if name:
        parts.append(f"name={name!r}")
    callee = op.split(".", 1)[1] if op.startswith("custom.") else f"layers.{op}"
    return f"{callee}({', '.join(parts)})"


def _var(ref: str) -> str:
    name, _, index = ref.partition(":")
    return f"t_{name}[{index}]" if index else f"t_{name}"


def script(spec: dict[str, Any], header: str = "") -> str:
    """The reproduction script's text."""
    custom, lambdas, list_call = _spec_build_parts()
    used = {la["op"] for la in spec["layers"]}
    header = header or "A cross-backend difference found by keras-mask-harness (harness fuzz)."
    lines = ['"""' + "\n".join(textwrap.wrap(header, 100)),
             "",
             "Run it under each backend and compare the printed outputs and masks:",
             "    for b in tensorflow jax torch; do KERAS_BACKEND=$b python THIS_FILE.py; done",
             '"""', "", "import hashlib", "", "import keras", "import numpy as np", "from keras import layers",
             "", "", "def get_keras_mask(tensor):",
             '    """The mask Keras attached to a tensor, wherever this Keras keeps it (it moved in 3.16)."""',
             "    import importlib", "",
             f"    for module in {portability_readers()!r}:",
             "        try:",
             "            return getattr(importlib.import_module(module), 'get_keras_mask')(tensor)",
             "        except (ImportError, AttributeError):",
             "            continue",
             "    return getattr(tensor, '_keras_mask', None)", "", ""]
    lines += [inspect.getsource(weights.seed_for), "", inspect.getsource(weights.weight_values), ""]
    if "Lambda" in used:
        lines += [lambdas, "", ""]
    for op in sorted(used & set(custom)):
        lines += [custom[op], "", ""]
    lines += [f"NAME = {specs.weight_seed(spec)!r}  # seeds the weights, as the harness does",
              f"TRAINING = {bool(spec.get('training'))}", ""]
    if spec.get("dtype_policy"):
        lines.append(f"keras.config.set_dtype_policy({spec['dtype_policy']!r})")
    arrays = specs.input_arrays(spec)
    for entry, array in zip(spec["inputs"], arrays):
        lines.append(f"{entry['name']} = np.array({array.tolist()!r}, dtype={str(array.dtype)!r})")
    lines.append("")
    for entry in spec["inputs"]:
        shape = (spec["time"], entry["features"]) if entry["kind"] == "float" else (spec["time"],)
        dtype = {"float": "float32", "tokens": "int32", "mask": "bool"}[entry["kind"]]
        lines.append(f"t_{entry['name']} = keras.Input({shape!r}, dtype={dtype!r}, name={entry['name']!r})")
    for layer in spec["layers"]:
        op, name = layer["op"], layer["name"]
        if op == "shared":
            target = layer["args"]["layer"]
            op = next(la["op"] for la in spec["layers"] if la["name"] == target)
            obj = target
        else:
            lines.append(f"{name} = {_layer_expr(op, layer.get('args', {}), name)}")
            obj = name
        ins = [_var(r) for r in layer["in"]]
        call = []
        for key, value in (layer.get("call") or {}).items():
            if isinstance(value, dict):
                value_src = _var(value["ref"]) if "ref" in value else f"[{', '.join(map(_var, value['refs']))}]"
                call.append(f"{key}={value_src}")
            else:
                call.append(f"{key}={value!r}")
        args_src = f"[{', '.join(ins)}]" if op in list_call else ", ".join(ins)
        lines.append(f"t_{name} = {obj}({', '.join([args_src, *call])})")
    outputs = ", ".join(_var(r) for r in spec["outputs"])
    inputs = ", ".join(f"t_{e['name']}" for e in spec["inputs"])
    lines += [f"model = keras.Model([{inputs}], [{outputs}])", "",
              "# The harness's weights: numpy values seeded by the case's weight seed and variable, the same on every backend.",
              "for layer in model.layers:",
              "    for index, variable in enumerate(layer.weights):",
              "        if variable.trainable and 'float' in str(variable.dtype):",
              "            values = weight_values(NAME, f'{layer.name}#{index}', tuple(variable.shape))",
              "            variable.assign(values.astype(keras.backend.standardize_dtype(variable.dtype)))", "",
              "probed = [la for la in model.layers",
              "          if not isinstance(la, keras.layers.InputLayer) and len(la._inbound_nodes) == 1]",
              "outs = [t for la in probed for t in (la.output if isinstance(la.output, list) else [la.output])]",
              "names = [f'{la.name}[{i}]' if i else la.name for la in probed",
              "         for i in range(len(la.output) if isinstance(la.output, list) else 1)]",
              "results = keras.Model(model.inputs, outs)"
              f"([{', '.join(e['name'] for e in spec['inputs'])}], training=TRAINING)",
              "np.set_printoptions(precision=5, suppress=True, linewidth=120)",
              "print('backend:', keras.backend.backend(), 'keras', keras.__version__)",
              "for name, value in zip(names, results if isinstance(results, list) else [results]):",
              "    mask = get_keras_mask(value)",
              "    mask = None if mask is None else keras.ops.convert_to_numpy(mask)",
              "    shown = 'none' if mask is None else mask.astype(int).tolist()",
              "    print(f'{name}: shape {tuple(value.shape)}, mask', shown)",
              "    print(np.asarray(keras.ops.convert_to_numpy(value), dtype='float64'))", ""]
    if spec.get("fit"):
        lines += _fit_lines(spec)
    return "\n".join(lines)


def _fit_lines(spec: dict[str, Any]) -> list[str]:
    """Fit mode: compile, evaluate, fit, evaluate, train_on_batch, as harness/run/fit.py runs them."""
    fit = spec["fit"]
    targets, weight, classes = specs.fit_arrays(spec)
    x = f"[{', '.join(e['name'] for e in spec['inputs'])}]"
    sw = "None" if weight is None else f"np.array({weight.tolist()!r}, dtype='float32')"
    compile_ = (f"model.compile(optimizer=keras.optimizers.{fit.get('optimizer', 'SGD')}"
                f"(learning_rate={fit.get('learning_rate', 0.1)!r}), loss={fit['loss']!r}, "
                f"metrics={fit.get('metrics') or None!r}, weighted_metrics={fit.get('weighted_metrics') or None!r})")
    lines = ["# Training as the harness runs it: whole-batch steps, no shuffling, from the harness's weights.",
             f"y = np.array({targets.tolist()!r}, dtype={str(targets.dtype)!r})",
             f"sample_weight = {sw}", f"class_weight = {classes!r}", compile_,
             f"print('evaluate before', model.evaluate({x}, y, batch_size={spec['batch']}, verbose=0, "
             "return_dict=True))",
             f"history = model.fit({x}, y, batch_size={spec['batch']}, epochs={fit.get('steps', 1)}, shuffle=False, "
             "verbose=0, sample_weight=sample_weight, class_weight=class_weight)",
             "print('history', history.history)",
             f"print('evaluate after', model.evaluate({x}, y, batch_size={spec['batch']}, verbose=0, "
             "return_dict=True))"]
    if fit.get("on_batch"):
        lines += ["for layer in model.layers:  # the same starting weights, a fresh optimizer",
                  "    for index, variable in enumerate(layer.weights):",
                  "        if variable.trainable and 'float' in str(variable.dtype):",
                  "            values = weight_values(NAME, f'{layer.name}#{index}', tuple(variable.shape))",
                  "            variable.assign(values.astype(keras.backend.standardize_dtype(variable.dtype)))",
                  compile_,
                  f"for step in range({fit.get('steps', 1)}):",
                  f"    print('train_on_batch', model.train_on_batch({x}, y, sample_weight=sample_weight, "
                  "class_weight=class_weight, return_dict=True))"]
    return lines + [""]

