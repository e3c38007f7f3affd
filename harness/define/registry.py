"""Scenario definitions and the registry. Imports no keras: the decorator only records.

A scenario is a build function plus data about it (description, tags, probes, expectations,
tolerance overrides, an optional training step). The build function runs later, in the run
stage, after the backend has been chosen.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.safety import printable


class ScenarioError(Exception):
    """A problem with a scenario definition or selection; shown to the user as one line."""


@dataclass(frozen=True)
class Tolerance:
    """An override of the per-dtype default tolerance, with the reason it is needed."""

    atol: float
    rtol: float
    reason: str


@dataclass(frozen=True)
class Expectation:
    """A claim about one backend's captured results.

    `check` receives a `harness.define.captured.Captured` and returns a bool, or a (bool, evidence) pair
    where evidence is one line drawn from the data. `claim` ties it to a seed conclusion (C1..C6).
    """

    name: str
    check: Callable[[Any], Any]
    claim: str | None = None


@dataclass(frozen=True)
class Train:
    """Ask the harness for a loss, its gradients and one optimizer step.

    `targets` are numpy arrays matching the model's outputs; `loss` is a keras loss name;
    `reduction` and `loss_config` are passed to the loss; `optimizer` is a keras optimizer name with
    `learning_rate`.
    """

    targets: Any
    loss: str = "MeanSquaredError"  # a keras.losses class name: the reduction applies to it
    reduction: str = "sum_over_batch_size"
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    input_gradients: bool = True
    loss_config: Mapping[str, Any] = field(default_factory=dict)  # more arguments of the loss: ignore_class=0


@dataclass(frozen=True)
class Fit:
    """Run the model through Keras's training API: compile, evaluate, fit, evaluate, *_on_batch.

    Deterministic by construction: weights set by the harness, `shuffle=False`, fixed batches of
    `batch_size` rows (None: the whole data is one batch, so each epoch is one step), `steps` epochs.
    `targets`, `sample_weight` and the `loss`/`loss_weights` entries follow `model.fit`/`compile`.
    `metrics` get no sample weight, `weighted_metrics` do (Keras's documented split). See
    harness/run/fit.py for the probes it captures and docs/training.md for the semantics.
    """

    targets: Any
    # None: the model comes compiled by its build (a saved model's own compile, `harness check`),
    # and metrics, optimizer, jit_compile and steps_per_execution here are not used
    loss: Any = "sparse_categorical_crossentropy"
    metrics: Any = ()
    weighted_metrics: Any = ()
    loss_weights: Any = None
    optimizer: str = "SGD"  # "SGD" or "Adam", with a fixed learning rate
    learning_rate: float = 0.1
    steps: int = 5  # epochs of fit; with batch_size=None one step each
    batch_size: int | None = None
    sample_weight: Any = None
    class_weight: Mapping[int, float] | None = None
    jit_compile: bool | str = "auto"  # Keras's default: XLA on JAX, not on CPU TensorFlow or torch
    steps_per_execution: int = 1
    on_batch: bool = False  # also train_on_batch / test_on_batch, `steps` times, from the same start
    # also the compiled loss's gradients before the first step and every weight after each fit step
    # (harness check: what a user comparing two trainings looks at first)
    each_step: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    build: Callable[[], Any]
    tags: tuple[str, ...] = ()
    probes: tuple[str, ...] | None = None  # None: every layer of the model
    expectations: tuple[Expectation, ...] = ()
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)  # probe glob -> override
    train: Train | None = None
    fit: Fit | None = None  # Keras's own training API (harness/run/fit.py)
    dtype_policy: str | None = None  # e.g. "mixed_float16"; None keeps float32
    training: bool = False  # call mode of the captured forward passes (training=True or False)
    source_file: str = ""
    own_weights: bool = False  # True: keep the model's weights (a saved model), not the harness's
    weight_seed: str | None = None  # seeds the harness's weights; None: the name (a generated case keeps its seed)
    upstream: tuple[str, ...] = ()  # "owner/repo#N": the reports this scenario reproduces (upstream_url)

    @property
    def source(self) -> str:
        """The build function and the module-level functions it calls: a reproduction to read."""
        parts = []
        helpers = [self.build.__globals__.get(n) for n in self.build.__code__.co_names]
        for function in [*(h for h in helpers if inspect.isfunction(h)
                           and h.__module__ == self.build.__module__), self.build]:
            try:
                parts.append(inspect.getsource(function).rstrip())
            except (OSError, TypeError):
                parts.append(f"# source of {function.__name__} is not available")
        return "\n\n\n".join(dict.fromkeys(parts))

    @property
    def definition_hash(self) -> str:
        """Changes when the build function's source or the scenario's data changes."""
        source = self.source
        data = repr((self.name, self.tags, self.probes, [e.name for e in self.expectations],
                     sorted(self.tolerances.items()), self.dtype_policy)) + (" training" if self.training else "")
        if self.weight_seed:  # other weights: another scenario (absent for every hand-written one)
            data += f" weights {self.weight_seed}"
        if self.fit is not None:  # another Fit is another scenario (run --resume); no addresses in it
            data += re.sub(r" at 0x[0-9a-fA-F]+", "", repr(self.fit))
        return hashlib.sha256((source + data).encode()).hexdigest()[:16]


# Registrations by module, so that loading twice in one process (modules already imported are not
# executed again) still finds every scenario.
_BY_MODULE: dict[str, dict[str, Scenario]] = {}
NAME_RE = re.compile(r"[\w.+-]+(/[\w.+-]+)*")


def scenario(
    name: str,
    *,
    description: str,
    tags: Iterable[str] = (),
    probes: Iterable[str] | None = None,
    expect: Iterable[Expectation] = (),
    tolerance: Mapping[str, Tolerance] | None = None,
    train: Train | None = None,
    fit: Fit | None = None,
    dtype_policy: str | None = None,
    training: bool = False,
    own_weights: bool = False,
    weight_seed: str | None = None,
    upstream: Iterable[str] = (),
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register `build` as a scenario. `build()` returns (model, inputs)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ScenarioError(f"invalid scenario name {name!r}: use letters, digits, '_', '.', '-', '+', "
                            f"and '/' between parts")
    upstream = tuple([upstream] if isinstance(upstream, str) else upstream)
    for ref in upstream:
        upstream_url(ref, scenario_name=name)  # refuses a malformed reference at import time

    def register(build: Callable[[], Any]) -> Callable[[], Any]:
        source_file = getattr(getattr(build, "__code__", None), "co_filename", "?")
        entries = _BY_MODULE.setdefault(getattr(build, "__module__", ""), {})
        if name in entries:
            raise ScenarioError(f"duplicate scenario name {name!r} in {Path(source_file).name}")
        entries[name] = Scenario(
            name=name,
            description=description,
            build=build,
            tags=tuple(tags),
            probes=None if probes is None else tuple(probes),
            expectations=tuple(expect),
            tolerances=dict(tolerance or {}),
            train=train,
            fit=fit,
            dtype_policy=dtype_policy,
            training=training,
            source_file=source_file,
            own_weights=own_weights,
            weight_seed=weight_seed,
            upstream=upstream,
        )
        return build

    return register


UPSTREAM_RE = re.compile(r"([A-Za-z0-9][\w.-]*)/([\w.-]+)#([1-9][0-9]*)")


def upstream_url(ref: str, *, scenario_name: str = "") -> str:
    """The GitHub page of an "owner/repo#N" reference. GitHub serves a pull request's number under
    /issues/ too (it redirects), so one form covers both."""
    match = UPSTREAM_RE.fullmatch(ref) if isinstance(ref, str) else None
    if match is None:
        where = f" in scenario {scenario_name!r}" if scenario_name else ""
        raise ScenarioError(f"invalid upstream reference {ref!r}{where}: use 'owner/repo#N', "
                            f"for example 'keras-team/keras#22037'")
    owner, repo, number = match.groups()
    return f"https://github.com/{owner}/{repo}/issues/{number}"


DEFAULT_SOURCES = ("scenarios",)


def load(sources: Iterable[str] = DEFAULT_SOURCES) -> list[Scenario]:
    """Import scenario modules (dotted names, packages or .py paths); return what they registered."""
    chosen: dict[str, Scenario] = {}
    for source in sources:
        for module in _import_source(source):
            for name, found in _BY_MODULE.get(module, {}).items():
                if name in chosen and chosen[name] is not found:
                    raise ScenarioError(f"duplicate scenario name {name!r} in "
                                        f"{Path(found.source_file).name} and "
                                        f"{Path(chosen[name].source_file).name}")
                chosen[name] = found
    return sorted(chosen.values(), key=lambda s: s.name)


def _import_source(source: str) -> list[str]:
    """Import one source; return the names of the modules whose registrations it stands for."""
    path = Path(source)
    if source.endswith(".py") or "/" in source:
        if not path.is_file():
            raise ScenarioError(f"scenario file not found: {source}")
        if path.suffix != ".py":
            raise ScenarioError(f"scenario file must be a .py file: {source}")
        module_name = "harness_user_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ScenarioError(f"cannot import scenario file {source}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        _BY_MODULE.pop(module_name, None)  # executed afresh: its registrations start over
        _exec_user_code(source, lambda: spec.loader.exec_module(module))
        return [module_name]
    try:
        package = importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name and source.startswith(exc.name):
            raise ScenarioError(f"scenario module not found: {source}") from None
        raise ScenarioError(f"{source}: {_one_line(exc)}") from None
    except ScenarioError:
        raise
    except Exception as exc:  # the user's module failed while importing
        raise ScenarioError(f"{source}: {_one_line(exc)}") from None
    modules = [source]
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        if not info.name.startswith("_"):
            full = f"{source}.{info.name}"
            if info.ispkg:  # a family of scenarios in a subpackage (scenarios/models/)
                modules += _import_source(full)
                continue
            _exec_user_code(full, lambda full=full: importlib.import_module(full))
            modules.append(full)
    return modules


def _exec_user_code(label: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except ScenarioError:
        raise
    except Exception as exc:
        raise ScenarioError(f"{label}: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    """The exception as the user would want to see it: type, message, and where in their file."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        frame_file = tb.tb_frame.f_code.co_filename
        if "importlib" not in frame_file and not frame_file.endswith("harness/define/registry.py"):
            where = f" ({Path(frame_file).name}:{tb.tb_lineno})"
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f" ({Path(exc.filename).name}:{exc.lineno})"
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{where}"


def select(scenarios: list[Scenario], patterns: Iterable[str] | None) -> list[Scenario]:
    """Keep scenarios whose name or any tag matches one of the glob patterns."""
    patterns = list(patterns or [])
    if not patterns:
        return scenarios
    chosen = [
        s for s in scenarios
        if any(fnmatch.fnmatchcase(s.name, p) or any(fnmatch.fnmatchcase(t, p) for t in s.tags)
               for p in patterns)
    ]
    if not chosen:
        raise ScenarioError(f"--select {printable(' '.join(patterns))} matches no scenario "
                            f"(try `python -m harness list`)")
    return chosen
