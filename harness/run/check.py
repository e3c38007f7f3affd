"""`check`'s run stage: a user's saved model as scenarios, run on every backend.

`run_model` validates every flag, writes DIR/scenario.py (a build that loads the archive with its own
weights and reads DIR/inputs.npz or draws random inputs; with --targets, a second scenario that trains
it), imports it in a bounded child as `run` imports scenario files, and runs it under each backend with
the ordinary supervisor and worker (one process per backend, in parallel), or in another environment's
interpreter (--python). Imports no keras: the workers do. The command is harness/run/check_cli.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import artifacts, safety
from harness.run import backends, loader
from harness.run.saved_model import (
    SavedModelError,
    inspect_archive,
    parse_inputs,
    random_patterns,
    read_npz,
    write_inputs,
)

RANDOM_ROWS = 5  # one per padding pattern (random_patterns)
MAX_FIT_STEPS = 1000
COMPILE_KEYS = ("loss", "metrics", "weighted_metrics", "optimizer", "jit_compile", "steps_per_execution")


@dataclass(frozen=True)
class Checked:
    """What a check ran: its runs and where, for the report and the other Keras releases."""

    runs: list[artifacts.Artifact]
    out: Path
    name: str  # the model's scenario name
    names: list[str]  # its scenarios (the forward pass, and its training with --targets)
    backends: list[str]
    scenario_file: Path
    inputs: str  # the inputs, in words
    training: str  # what training ran, in words ("" without --targets)


def user_path(value: Path, flag: str) -> Path:
    """A path the user gave, resolved from where they ran the command; an error names the folder."""
    path = value if value.is_absolute() else Path.cwd() / value
    if not path.exists():
        where = f" (looked in {path.parent})" if not value.is_absolute() else ""
        raise SavedModelError(f"{flag}{value}: file not found{where}")
    return path


def run_model(args: argparse.Namespace, code_path: Callable[[], Path]) -> Checked:
    """Validate every flag, write DIR/scenario.py, run it on every chosen backend; the runs.

    `code_path` is the PYTHONPATH for a backend run by another interpreter (--python).
    """
    interpreters = _interpreters(args.python)
    chosen = list(interpreters) or _backends(args.backend)
    if not 0 < args.timeout < float("inf"):  # nan and inf are no bound
        raise SavedModelError(f"--timeout {args.timeout}: give a positive number of seconds")
    if args.custom_objects is not None:
        custom = user_path(args.custom_objects, "--custom-objects ")
        if not (custom.is_file() and custom.suffix == ".py"):
            raise SavedModelError(f"--custom-objects {args.custom_objects}: not a .py file")
        args.custom_objects = custom
    model = user_path(args.model, "")
    config = inspect_archive(model, unsafe=args.unsafe, custom_objects=args.custom_objects)
    source = parse_inputs(args.inputs)
    name = scenario_name(model)
    out = (args.out or Path("check") / name).resolve()
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    for old in results.glob("*"):  # a report covers this check's runs only, never an earlier one's
        if old.is_file() and old.suffix in (".json", ".npz"):
            old.unlink()
    if isinstance(source, Path):  # validated here, copied so that every backend reads one file
        arrays = read_npz(user_path(source, "--inputs "))
        rows = len(next(iter(arrays.values())))
        write_inputs(out / "inputs.npz", arrays)
        inputs, described = str(out / "inputs.npz"), f"{source} ({rows} rows)"
    else:
        rows = RANDOM_ROWS
        (out / "inputs.npz").unlink(missing_ok=True)
        inputs = f"random:{source}"
        words = {"right": "at the end", "left": "at the start", "middle": "inside", "full": "entirely",
                 "none": "not at all"}
        described = (f"random:{source}, written to {out / 'inputs.npz'}: {rows} rows, padded (in row order) "
                     f"{', '.join(words[p] for p in random_patterns(source))}")
    training = training_setup(args, config, out, rows)
    scenario_file = write_scenario(out, name, model, inputs, args.unsafe, args.custom_objects, training,
                                   write_random=not isinstance(source, Path), outputs=output_layers(config))
    # Imported in a child bounded by --timeout, as `run` imports scenario files: data comes back.
    scenarios = loader.load([str(scenario_file)], None, timeout_s=args.timeout)
    names = [s.name for s in scenarios]
    _run_backends(chosen, interpreters, scenarios, scenario_file, names, results, args, code_path)
    runs = artifacts.read_all(results)
    _refuse_definition_errors(runs, names)
    return Checked(runs, out, name, names, chosen, scenario_file, described, training.get("described", ""))


def _interpreters(values: list[str]) -> dict[str, Path]:
    """--python BACKEND=PYTHON: backends run by another environment's interpreter."""
    out = {}
    for value in values:
        backend, _, python = value.partition("=")
        if not python:
            raise SavedModelError(f"--python {value}: give BACKEND=PATH/TO/python")
        path = Path(python)
        if not path.is_file():
            raise SavedModelError(f"--python {value}: {python} is not a file")
        out[backends.canonical(backend)] = path
    return out


def _backends(requested: list[str] | None) -> list[str]:
    """The backends to run: named ones (each must be installed here), or every installed one."""
    import importlib.util

    names = [n.strip() for value in requested or ["all"] for n in value.split(",") if n.strip()]
    if not names or names == ["all"]:
        chosen = [b for b, (package, _, _) in backends.BACKENDS.items()
                  if importlib.util.find_spec(package) is not None]
        if not chosen:
            raise backends.BackendError("no backend is installed here; `nox -s check` installs them")
        return chosen
    chosen = list(dict.fromkeys(backends.canonical(n) for n in names))
    for backend in chosen:
        backends.check_runnable(backend)
    return chosen


def _run_backends(chosen: list[str], interpreters: dict[str, Path], scenarios: list, scenario_file: Path,
                  names: list[str], results: Path, args: argparse.Namespace, code_path: Callable[[], Path]) -> None:
    """Every backend at once: in this interpreter (the ordinary supervisor), or in another's."""
    from harness.run import runner

    def in_another(backend: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(code_path())  # this checkout's harness, the other env's keras
        command = [str(interpreters[backend]), "-m", "harness", "run", "--backend", backend,
                   "--scenarios", str(scenario_file), "--results", str(results), "--timeout", str(args.timeout),
                   "--workers", "1",  # the backends already run at once, one worker each
                   *[x for n in names for x in ("--select", n)],
                   *([] if args.compiled else ["--no-compiled"]), *(["-q"] if args.quiet else [])]
        subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False)

    def here(backend: str) -> None:
        runner.run(scenarios, runner.RunOptions(
            backend=backend, sources=[str(scenario_file)], names=names, results_dir=results,
            label=None, timeout_s=args.timeout, quiet=args.quiet, compiled=args.compiled))

    threads = [threading.Thread(target=in_another if b in interpreters else here, args=(b,)) for b in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def output_layers(config: dict[str, Any]) -> list[str] | None:
    """The names of a functional model's output layers (what the training scenario probes); None
    (every layer) when the archive does not list them, as for a Sequential model."""
    found = (config.get("config") or {}).get("output_layers") if isinstance(config, dict) else None
    if isinstance(found, list) and found and isinstance(found[0], str):
        found = [found]  # a single output is stored as one [name, node, tensor] triple
    try:
        return list(dict.fromkeys(str(entry[0]) for entry in found)) if found else None
    except (TypeError, IndexError, KeyError):
        return None


def scenario_name(model: Path) -> str:
    """The model file's name as a scenario name (characters a name cannot hold become '_')."""
    return re.sub(r"[^\w.+-]", "_", model.name) or "model"


# ---- training: what --targets and friends ask for, validated before any backend starts ----------

def training_setup(args: argparse.Namespace, config: dict[str, Any], out: Path, rows: int) -> dict[str, Any]:
    """The training scenario's data (written to DIR/training.npz and .json), or {} without --targets."""
    flags = (("--sample-weight", args.sample_weight), ("--class-weight", args.class_weight),
             ("--batch-size", args.batch_size), ("--loss", args.loss), ("--metrics", args.metrics),
             ("--optimizer", args.optimizer))
    given = [flag for flag, value in flags if value is not None]
    for stale in ("training.npz", "training.json"):
        (out / stale).unlink(missing_ok=True)
    if args.targets is None:
        if given:
            raise SavedModelError(f"{given[0]} needs --targets Y.npz (what the model should output)")
        return {}
    if not 1 <= args.fit <= MAX_FIT_STEPS:
        raise SavedModelError(f"--fit {args.fit}: give a number of steps from 1 to {MAX_FIT_STEPS}")
    targets = _one_array(user_path(args.targets, "--targets "), "--targets")
    if len(targets) != rows:
        raise SavedModelError(f"--targets has {len(targets)} rows; the inputs have {rows}")
    arrays = {"targets": targets}
    if args.sample_weight is not None:
        weight = _one_array(user_path(args.sample_weight, "--sample-weight "), "--sample-weight")
        if weight.shape != targets.shape[:weight.ndim]:
            raise SavedModelError(f"--sample-weight has shape {weight.shape}; give {targets.shape[:1]} "
                                  f"(one per row) or {targets.shape[:2]} (one per timestep)")
        arrays["sample_weight"] = weight.astype(np.float32)
    batch_size = args.batch_size
    if batch_size is not None and not (1 <= batch_size <= rows and rows % batch_size == 0):
        raise SavedModelError(f"--batch-size {batch_size}: must divide the {rows} rows (a last, smaller "
                              f"batch would weigh differently in the epoch averages)")
    compile_config = _compile_config(args, config)
    np.savez(out / "training.npz", **arrays)
    data = {"compile": compile_config, "steps": args.fit, "batch_size": batch_size,
            "class_weight": _class_weight(args.class_weight), "on_batch": compile_config.get(
                "steps_per_execution", 1) in (1, None)}
    safety.atomic_write(out / "training.json", json.dumps(data, indent=1, sort_keys=True).encode())
    weights = ("; sample_weight " + "×".join(map(str, arrays["sample_weight"].shape))
               if "sample_weight" in arrays else "") + (f"; class_weight {data['class_weight']}"
                                                         if data["class_weight"] else "")
    data["described"] = (f"targets {args.targets} ({'×'.join(map(str, targets.shape))}); compile "
                         f"{_compile_text(compile_config)}; {args.fit} fit steps (no shuffle, "
                         f"{'one batch' if batch_size in (None, rows) else f'batches of {batch_size}'}), "
                         f"then {args.fit} train_on_batch steps from the same start{weights}")
    return data


def _one_array(path: Path, flag: str) -> np.ndarray:
    arrays = read_npz(path)
    if len(arrays) != 1:
        raise SavedModelError(f"{flag} {path.name}: holds {len(arrays)} arrays {sorted(arrays)}; "
                              f"check --fit trains a single-output model: give one array")
    return next(iter(arrays.values()))


def _compile_config(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """The archive's compile configuration, entries replaced by --loss/--metrics/--optimizer."""
    saved = config.get("compile_config") or {}
    chosen = {k: saved[k] for k in COMPILE_KEYS if saved.get(k) is not None}
    if args.loss:
        chosen["loss"] = args.loss
    if args.metrics is not None:
        chosen["metrics"] = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if args.optimizer:
        chosen["optimizer"] = args.optimizer
    if "loss" not in chosen:
        raise SavedModelError(f"{args.model}: saved without a compile configuration (no loss); "
                              f"pass --loss (and --metrics, --optimizer)")
    chosen.setdefault("optimizer", "sgd")
    return chosen


def _compile_text(config: dict[str, Any]) -> str:
    def short(entry: Any) -> str:
        if isinstance(entry, dict):
            return str(entry.get("class_name") or entry.get("config", {}).get("name") or "?")
        if isinstance(entry, list):
            return "[" + ", ".join(short(e) for e in entry) + "]"
        return str(entry)

    return ", ".join(f"{k}={short(config[k])}" for k in COMPILE_KEYS if k in config)


def _class_weight(value: str | None) -> dict[str, float] | None:
    if value is None:
        return None
    text = value
    if not value.lstrip().startswith("{"):
        text = user_path(Path(value), "--class-weight ").read_text(encoding="utf-8", errors="replace")[:100_000]
    try:
        raw = json.loads(text)
        weights = {str(int(k)): float(v) for k, v in raw.items()}
    except (ValueError, TypeError, AttributeError):
        raise SavedModelError(f"--class-weight {value[:80]}: give a JSON object of class id -> weight, "
                              f'such as {{"0": 1.0, "1": 2.0}}') from None
    return weights


SCENARIO_FILE = '''"""Written by `python -m harness check`: {model} as scenarios.

Rerun one backend with: python -m harness run --backend B --scenarios {file}
"""

from harness.define.registry import scenario
from harness.run.saved_model import CheckSpec, load_for_check

SPEC = CheckSpec(model={model!r}, inputs={inputs!r}, unsafe={unsafe!r}, custom_objects={custom!r},
                 write_inputs={write!r})


@scenario({name!r}, description={description!r}, tags=("check",), own_weights=True)
def build():
    return load_for_check(SPEC)  # the model's own weights; inputs as SPEC says
'''

TRAINING_PART = '''

# --targets: the same model trained with its own compile configuration (DIR/training.json)
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from harness.compare.check_training import CheckTraining, expectations  # noqa: E402
from harness.define.registry import Fit  # noqa: E402
from harness.run.saved_model import load_for_fit  # noqa: E402

HERE = Path({folder!r})
SETUP = json.loads((HERE / "training.json").read_text())
with np.load(HERE / "training.npz") as arrays:
    TARGETS = arrays["targets"]
    WEIGHT = arrays["sample_weight"] if "sample_weight" in arrays.files else None
CLASS_WEIGHT = {{int(k): v for k, v in SETUP["class_weight"].items()}} if SETUP["class_weight"] else None
COMPILE = SETUP["compile"]
TRAINING = CheckTraining(TARGETS, COMPILE["loss"], tuple(COMPILE.get("metrics") or ()),
                         tuple(COMPILE.get("weighted_metrics") or ()), WEIGHT, CLASS_WEIGHT,
                         SETUP["batch_size"], SETUP["on_batch"])


@scenario({fit_name!r}, description="the saved model through fit, train_on_batch and evaluate",
          tags=("check", "fit"), own_weights=True, probes={outputs!r}, expect=expectations(TRAINING),
          fit=Fit(targets=TARGETS, loss=None, steps=SETUP["steps"], batch_size=SETUP["batch_size"],
                  sample_weight=WEIGHT, class_weight=CLASS_WEIGHT, on_batch=SETUP["on_batch"], each_step=True,
                  steps_per_execution=COMPILE.get("steps_per_execution") or 1))
def build_fit():
    return load_for_fit(SPEC, COMPILE, TARGETS, WEIGHT)  # compiled as saved (or as the flags say)
'''


def write_scenario(out: Path, name: str, model: Path, inputs: str, unsafe: bool, custom_objects: Path | None,
                   training: dict[str, Any] | None = None, *, write_random: bool = False,
                   outputs: list[str] | None = None) -> Path:
    path = out / "scenario.py"
    text = SCENARIO_FILE.format(
        model=str(model.resolve()), file=str(path), inputs=inputs, unsafe=unsafe,
        custom=str(custom_objects.resolve()) if custom_objects else None, name=name,
        write=str(out / "inputs.npz") if write_random else None,
        description=f"saved model {model.name} with its own weights, inputs {Path(inputs).name}")
    if training:
        text += TRAINING_PART.format(folder=str(out), fit_name=name + "/fit", outputs=outputs)
    safety.atomic_write(path, text.encode())
    return path


def _refuse_definition_errors(runs: list[artifacts.Artifact], names: list[str]) -> None:
    """Inputs or targets that do not fit the model are the user's to fix: one line, exit 2."""
    for run in runs:
        for name in names:
            record = run.records.get(name)
            if record is not None and record.meta.get("definition_error") and record.captured.error:
                message = record.captured.error.message.removeprefix(f"{name}: ")
                if message.startswith("--"):
                    raise SavedModelError(message)
                raise SavedModelError(f"--inputs do not fit the model: {message}")


