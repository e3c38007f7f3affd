"""Execute one scenario in the current backend and capture what it produced, as numpy.

Imported only by the run stage, after `backends.prepare_process` has chosen the backend.
"""

from __future__ import annotations

import re
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo
from harness.define.registry import Scenario
from harness.define.weights import weight_values
from harness.run import autodiff, fit, nested, portability, produced
from harness.run.tensors import as_model_input, mask_to_numpy, to_numpy


class ScenarioDefinitionError(Exception):
    """The scenario's build returned something the harness cannot run."""


@dataclass
class Outcome:
    status: str  # ok | error
    duration_s: float
    captured: Captured
    meta: dict[str, Any]


_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_PATH = re.compile(r"(/[\w.+-]+)+/([\w.+-]+\.py)")


def normalize_warning(message: str) -> str:
    """Drop what differs between machines and runs: addresses and file paths."""
    message = _ADDRESS.sub("0x…", message)
    return _PATH.sub(r"\2", message).strip()


def run_scenario(scn: Scenario, backend: str, *, repeat: bool = True,
                 compiled: bool = True) -> Outcome:
    """Build, weight, call (twice, for determinism), call compiled, optionally train."""
    started = time.perf_counter()
    captured = Captured(scenario=scn.name, backend=backend)
    meta: dict[str, Any] = {}
    previous_policy = portability.dtype_policy()
    error_text = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if scn.dtype_policy:
                portability.set_dtype_policy(scn.dtype_policy)
            model, inputs = _build(scn)
            if not scn.own_weights:  # a saved model (harness check) keeps the weights it was saved with
                set_weights(model, scn.weight_seed or scn.name)
            layers = probe_layers(model, scn)
            # which Keras class made each probe: what bisect ranks source changes by, and the next-Keras
            # section groups changes by
            meta["layer_classes"] = {layer.name: type(getattr(layer, "layer", layer)).__name__ for layer in layers}
            probe_model = keras.Model(model.input, [t for layer in layers for t in _outputs(layer)])
            captured.probes.update(_probes(layers, *_call(probe_model, layers, inputs, scn.training)))
            if repeat:
                again = _probes(layers, *_call(probe_model, layers, inputs, scn.training))
                meta["deterministic"] = _identical(captured.probes, again)
            if compiled:
                meta["compiled"] = _capture_compiled(probe_model, layers, inputs, captured, scn.training)
            if scn.train is not None:
                for key, (values, dtype) in autodiff.train_step(model, inputs, scn.train).items():
                    captured.probes[key] = Probe(values=values, mask=None, dtype=dtype)
            if scn.fit is not None:  # Keras's training API: compile, evaluate, fit, *_on_batch
                reset = fit.snapshot(model) if scn.own_weights else (
                    lambda: set_weights(model, scn.weight_seed or scn.name))
                captured.probes.update(fit.run_fit(model, inputs, scn.fit, reset, captured.probes))
        except ScenarioDefinitionError:
            raise
        except Exception as exc:  # the behaviour under test may be an error (C1)
            captured.error = error_info(exc)
            error_text = str(exc)  # whole: the portability check reads past a wrapper's first line
        finally:
            portability.set_dtype_policy(previous_policy)
            keras.backend.clear_session()
    captured.warnings = _unique_warnings(caught)
    meta["expectations"] = evaluate_expectations(scn, captured)
    # An error that says this Keras lacks an API the scenario uses means "untested on this Keras",
    # not a failed claim: recorded as skipped, with the reason (portability says which errors).
    expected = bool(meta["expectations"]) and all(e["passed"] for e in meta["expectations"])
    unsupported = captured.error and portability.unsupported_reason(captured.error.type, error_text, expected)
    if unsupported:
        captured.error = ErrorInfo(portability.UNSUPPORTED, unsupported, captured.error.traceback)
        meta["expectations"] = []
    status = "skipped" if unsupported else "error" if captured.error else "ok"
    return Outcome(status, time.perf_counter() - started, captured, meta)


def _build(scn: Scenario) -> tuple[Any, Any]:
    result = scn.build()
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ScenarioDefinitionError(f"{scn.name}: build() must return (model, inputs), "
                                      f"got {type(result).__name__}")
    model, inputs = result
    if not isinstance(model, keras.Model):
        raise ScenarioDefinitionError(f"{scn.name}: build() returned {type(model).__name__}, "
                                      f"not a keras.Model")
    names = [t.name for t in model.inputs]
    if isinstance(inputs, dict):
        if sorted(inputs) != sorted(names):
            raise ScenarioDefinitionError(f"{scn.name}: inputs {sorted(inputs)} do not match the "
                                          f"model's inputs {names}")
        inputs = [inputs[n] for n in names]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if len(inputs) != len(names):
        raise ScenarioDefinitionError(f"{scn.name}: {len(inputs)} input arrays for "
                                      f"{len(names)} model inputs {names}")
    for name, array, tensor in zip(names, inputs, model.inputs):
        expected = tuple(tensor.shape)[1:]
        if not isinstance(array, np.ndarray) or array.ndim != len(expected) + 1 or any(
                want is not None and got != want for got, want in zip(array.shape[1:], expected)):
            shape = getattr(array, "shape", type(array).__name__)
            raise ScenarioDefinitionError(f"{scn.name}: input {name!r} has shape {shape}, "
                                          f"model expects (batch, {', '.join(map(str, expected))})")
    return model, inputs


def set_weights(model: Any, scenario: str) -> None:
    """Overwrite every trainable float variable with numpy values seeded by scenario and key."""
    for layer in model.layers:
        for index, variable in enumerate(layer.weights):
            if variable.trainable and "float" in str(variable.dtype):
                values = weight_values(scenario, f"{layer.name}#{index}", tuple(variable.shape))
                variable.assign(values.astype(portability.dtype_name(variable.dtype)))


def probe_layers(model: Any, scn: Scenario) -> list[Any]:
    """The layers to probe: the scenario's list, or every non-input layer called once."""
    candidates = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if scn.probes is None:  # the layers of nested models too, as "outer/inner"
        if portability.is_keras2():  # tf-keras graph nodes differ: its top-level layers called once
            return [layer for layer in candidates if len(layer._inbound_nodes) == 1]
        return nested.with_nested(nested.probed(model))
    by_name = {layer.name: layer for layer in candidates}
    missing = [p for p in scn.probes if p not in by_name]
    if missing:
        raise ScenarioDefinitionError(f"{scn.name}: probe(s) {missing} name no layer of the model "
                                      f"(layers: {sorted(by_name)})")
    return [by_name[p] for p in scn.probes]


def _call(probe_model: Any, layers: list[Any], inputs: list[np.ndarray], training: bool = False
          ) -> tuple[list[Any], list[Any]]:
    """One eager call of the probe model: every probed layer's outputs, and the masks the layers
    gave them when they produced them (a later layer may clear a mask in place)."""
    with produced.masks_at_production(_layer_objects(layers)) as record:
        results = probe_model(as_model_input(probe_model, inputs), training=training)
        results = list(results) if isinstance(results, (list, tuple)) else [results]
        return results, _produced_masks(record, layers, results)


def _layer_objects(layers: list[Any]) -> list[Any]:
    return [getattr(layer, "layer", layer) for layer in layers]  # a nested.LayerView, or a layer


def _produced_masks(record: dict, layers: list[Any], results: list[Any]) -> list[Any]:
    """Each result's mask at production, in the order of `results` (layer by layer, output by output)."""
    owners = [getattr(layer, "layer", layer) for layer in layers for _ in _outputs(layer)]
    return [produced.mask_of(record, owner, tensor) for owner, tensor in zip(owners, results)]


def _capture_compiled(probe_model: Any, layers: list[Any], inputs: list[np.ndarray],
                      captured: Captured, training: bool = False) -> dict[str, str]:
    """The same forward pass through the backend's compiler, stored as "jit/<probe>" probes."""
    try:
        forward = compile_forward(probe_model, training, layers)
    except NotImplementedError as exc:
        return {"status": "unsupported", "detail": str(exc)}
    try:
        with produced.masks_at_production(_layer_objects(layers)):  # active while the trace runs
            results = forward(inputs)
        masks = results[1]
        if portability.mask_reader() == "unreadable":  # see with_masks: None stood for UNREADABLE
            masks = [portability.UNREADABLE] * len(masks)
        probes = _probes(layers, results[0], masks)
    except Exception as exc:
        info = error_info(exc)
        return {"status": "error", "detail": f"{info.type}: {info.message}"}
    for key, probe in probes.items():
        captured.probes[f"jit/{key}"] = probe
    return {"status": "ok", "detail": COMPILERS[keras.backend.backend()]}


COMPILERS = {"tensorflow": "tf.function(jit_compile=True)", "jax": "jax.jit",
             "torch": "torch.compile"}


def compile_forward(probe_model: Any, training: bool = False, layers: list[Any] | None = None):
    """A compiled function returning (outputs, masks): masks are read inside the trace, as each
    probed layer produced them when `layers` is given and the call runs under masks_at_production
    (the trace is made on the first call)."""
    import os

    backend = keras.backend.backend()

    def with_masks(results: Any) -> tuple[list[Any], list[Any]]:
        results = list(results) if isinstance(results, (list, tuple)) else [results]
        record = produced.current()
        masks = ([portability.get_mask(r) for r in results] if layers is None or record is None
                 else _produced_masks(record, layers, results))
        # UNREADABLE is no value a compiled function can return: None inside, restored by the caller
        return results, [None if m is portability.UNREADABLE else m for m in masks]

    if backend == "tensorflow":
        import tensorflow as tf

        traced = tf.function(lambda xs: with_masks(probe_model(as_model_input(probe_model, xs), training=training)),
                             jit_compile=True)
        return lambda inputs: traced([tf.constant(x) for x in inputs])
    if backend == "jax":
        import jax

        def pure(trainable, non_trainable, xs):
            results, _ = probe_model.stateless_call(trainable, non_trainable, as_model_input(probe_model, xs),
                                                    training=training)
            return with_masks(results)

        jitted = jax.jit(pure)
        trainable = [v.value for v in probe_model.trainable_variables]
        non_trainable = [v.value for v in probe_model.non_trainable_variables]
        return lambda inputs: jitted(trainable, non_trainable, inputs)
    if os.environ.get("HARNESS_TORCH_COMPILE", "0") != "1":
        raise NotImplementedError("torch.compile skipped: set HARNESS_TORCH_COMPILE=1 "
                                  "(needs a C++ compiler; slow on CPU)")
    import torch

    compiled = torch.compile(lambda xs: with_masks(probe_model(as_model_input(probe_model, xs), training=training)))
    return lambda inputs: compiled([torch.as_tensor(x) for x in inputs])


def _probes(layers: list[Any], results: list[Any], masks: list[Any] | None = None
            ) -> dict[str, Probe]:
    """Name each result by its layer; masks come from the tensors unless given (compiled)."""
    probes: dict[str, Probe] = {}
    flat = iter(results)
    masks = iter(masks) if masks is not None else None
    for layer in layers:
        for index in range(len(_outputs(layer))):
            tensor = next(flat)
            key = layer.name if index == 0 else f"{layer.name}[{index}]"
            mask = next(masks) if masks is not None else portability.get_mask(tensor)
            probes[key] = _probe(tensor, mask)
    return probes


def _outputs(layer: Any) -> list[Any]:
    return nested.outputs(layer)


def _probe(tensor: Any, mask: Any) -> Probe:
    values, dtype = to_numpy(tensor)
    if mask is portability.UNREADABLE:
        return Probe(values=values, mask=None, dtype=dtype, mask_readable=False)
    return Probe(values=values, mask=mask_to_numpy(mask), dtype=dtype)


def _identical(first: dict[str, Probe], second: dict[str, Probe]) -> bool:
    return all(
        np.array_equal(first[k].values, second[k].values, equal_nan=first[k].values.dtype.kind == "f")
        for k in first
    )


def error_info(exc: BaseException) -> ErrorInfo:
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    tail = tuple(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames)
    return ErrorInfo(type=type(exc).__name__, message=_first_line(exc), traceback=tail, causes=_causes(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return normalize_warning(text.splitlines()[0] if text else "")[:500]


MAX_CAUSES = 16  # a cycle or a very deep chain stops here


def _causes(exc: BaseException) -> tuple[str, ...]:
    """The chain below `exc` (raise ... from, or raised while handling), outermost first."""
    causes: list[str] = []
    outer = f"{type(exc).__name__}: {_first_line(exc)}"
    seen = {id(exc)}
    current = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while current is not None and id(current) not in seen and len(causes) < MAX_CAUSES:
        seen.add(id(current))
        line = f"{type(current).__name__}: {_first_line(current)}"
        if line not in causes and line != outer:  # a compiler re-raises one error around its frames
            causes.append(line)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return tuple(causes)


def _unique_warnings(caught: list[warnings.WarningMessage]) -> list[WarningInfo]:
    seen: dict[tuple[str, str], WarningInfo] = {}
    for w in caught:
        info = WarningInfo(w.category.__name__, normalize_warning(str(w.message))[:500])
        seen.setdefault((info.category, info.message), info)
    return list(seen.values())


def evaluate_expectations(scn: Scenario, captured: Captured) -> list[dict[str, Any]]:
    """Each expectation's verdict on this backend; a check that raises counts as not holding."""
    results = []
    for expectation in scn.expectations:
        try:
            verdict = expectation.check(captured)
            passed, evidence = verdict if isinstance(verdict, tuple) else (verdict, "")
            passed = bool(passed)
        except Exception as exc:
            passed, evidence = False, f"check raised {type(exc).__name__}: {exc}"
        results.append({"name": expectation.name, "claim": expectation.claim,
                        "passed": passed, "evidence": str(evidence)})
    return results
