"""The layers a model's graph calls, nested models' layers included (a keras-hub backbone inside a
task model, a Sequential inside a functional model), seen from the outer model so that one probe
model captures them all.

A nested model is one layer of the outer graph: its own layers' outputs live in its inner graph
and are gone once the outer model has run. `with_nested` therefore calls a probe model of the
nested model's layers on the very tensors the outer graph feeds the nested model, which puts each
inner layer's output (and the mask Keras attached to it) into the outer graph under the name
`outer/inner`. The inner layers run twice (once inside the nested model, once for the probes) on
the same weights and inputs: what they compute is what the nested model computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras


@dataclass(frozen=True)
class LayerView:
    """A layer as one graph calls it: its probe name and that call's output tensors."""

    name: str
    output: list[Any]
    layer: Any
    node: Any  # the call in the graph: its arguments feed a nested model's probes


def _graph(model: Any) -> Any:
    """The functional graph of a model: its own, a Sequential's inner one; None for a subclassed model."""
    graph = getattr(model, "_functional", None) or model
    return graph if hasattr(graph, "_nodes_by_depth") and getattr(graph, "inputs", None) else None


def probed(model: Any) -> list[LayerView]:
    """The layers probed by default, in the model's order: every non-input layer that the model's
    graph calls once (a layer called twice has no single output to name)."""
    graph = _graph(model)
    if graph is None:
        return []
    calls: dict[int, list[Any]] = {}
    for nodes in graph._nodes_by_depth.values():
        for node in nodes:
            calls.setdefault(id(node.operation), []).append(node)
    return [LayerView(layer.name, list(calls[id(layer)][0].output_tensors), layer, calls[id(layer)][0])
            for layer in graph.layers
            if not isinstance(layer, keras.layers.InputLayer) and len(calls.get(id(layer), ())) == 1]


def with_nested(views: list[LayerView]) -> list[LayerView]:
    """The views, each nested functional model followed by its own layers (recursively)."""
    out: list[LayerView] = []
    for view in views:
        out.append(view)
        if isinstance(view.layer, keras.Model) and _graph(view.layer) is not None:
            out.extend(_inner(view))
    return out


def _inner(view: LayerView) -> list[LayerView]:
    graph = _graph(view.layer)
    inner = with_nested(probed(view.layer))
    tensors = [t for v in inner for t in v.output]
    if not tensors:
        return []
    probes = keras.Model(graph.input, tensors, name=f"{view.layer.name}_probes")
    outer = probes(*view.node.arguments.args, **view.node.arguments.kwargs)
    flat = iter(list(outer) if isinstance(outer, (list, tuple)) else [outer])
    return [LayerView(f"{view.name}/{v.name}", [next(flat) for _ in v.output], v.layer, v.node)
            for v in inner]


def outputs(layer: Any) -> list[Any]:
    """A layer's output tensors in a fixed order: a view's as the graph calls it, a layer's list as is,
    a dict (a keras-hub backbone's outputs) by sorted key, one tensor as a list of one."""
    if isinstance(layer, LayerView):
        return list(layer.output)
    output = layer.output
    if isinstance(output, dict):
        return [output[key] for key in sorted(output)]
    return list(output) if isinstance(output, (list, tuple)) else [output]
