"""`python -m harness check MODEL.keras --inputs INPUTS.npz|random:SEED`: a user's saved model, layer
by layer, on every backend.

The model becomes one scenario, named after the file: `check` writes DIR/scenario.py (a build that
loads the archive with its own weights and reads DIR/inputs.npz or draws random inputs), runs it
under each backend with the ordinary supervisor and worker (one process per backend, in parallel),
and renders DIR/report.md and DIR/summary.json from DIR/results/ as the main report is rendered,
with the first divergent layer of every backend pair on top. Imports no keras: the workers do.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

from harness import artifacts
from harness.run import backends
from harness.run.saved_model import SavedModelError, inspect_archive, parse_inputs, read_npz

DEFAULT_KNOWN = Path(__file__).resolve().parent.parent / "scenarios" / "known_divergences.toml"


def add_parser(commands: Any) -> None:
    check = commands.add_parser("check", help="check a saved .keras model on every backend, layer by layer")
    check.add_argument("model", type=Path, metavar="MODEL.keras")
    check.add_argument("--inputs", required=True, metavar="INPUTS.npz|random:SEED",
                       help="arrays named by the model's inputs (or in order), or random:SEED to draw "
                            "them from the model's input specs")
    check.add_argument("--backend", action="append", metavar="B",
                       help="tensorflow (tf), jax, torch or all (default: every installed one); "
                            "repeatable or comma-separated")
    check.add_argument("--out", type=Path, metavar="DIR", help="default: check/<model file name>")
    check.add_argument("--unsafe", action="store_true",
                       help="load Lambda layers (runs the Python code saved in the file)")
    check.add_argument("--custom-objects", type=Path, metavar="FILE",
                       help="a .py file defining the model's custom layers and functions")
    check.add_argument("--known", type=Path, metavar="FILE",
                       help="registry of understood divergences (default: the suite's)")
    check.add_argument("--timeout", type=float, default=600.0, metavar="S",
                       help="seconds one backend may take (default 600)")
    check.add_argument("--no-compiled", dest="compiled", action="store_false",
                       help="skip the compiled (jit) pass")
    check.add_argument("--strict", action="store_true", help="exit 1 when the backends diverge")
    check.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    try:
        return _check(args)
    except SavedModelError as exc:
        raise artifacts.ArtifactError(str(exc)) from None


def _check(args: argparse.Namespace) -> int:
    from harness.define import bounded
    from harness.run import runner

    chosen = _backends(args.backend)
    if not 0 < args.timeout < float("inf"):  # nan and inf are no bound
        raise SavedModelError(f"--timeout {args.timeout}: give a positive number of seconds")
    if args.custom_objects is not None and not (args.custom_objects.is_file()
                                                and args.custom_objects.suffix == ".py"):
        raise SavedModelError(f"--custom-objects {args.custom_objects}: not a .py file")
    inspect_archive(args.model, unsafe=args.unsafe, custom_objects=args.custom_objects)
    source = parse_inputs(args.inputs)
    name = scenario_name(args.model)
    out = args.out or Path("check") / name
    (out / "results").mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):  # validated here, copied so that every backend reads one file
        inputs = str((out / "inputs.npz").resolve())
        arrays = read_npz(source)
        with open(inputs + ".tmp", "wb") as handle:
            import numpy as np

            np.savez(handle, **arrays)
        Path(inputs + ".tmp").replace(inputs)
    else:
        inputs = f"random:{source}"
    scenario_file = write_scenario(out, name, args.model, inputs, args.unsafe, args.custom_objects)
    # Imported in a child bounded by --timeout, as `run` imports scenario files: data comes back.
    scenarios = bounded.load([str(scenario_file)], None, timeout_s=args.timeout)
    threads = [threading.Thread(target=runner.run, args=(scenarios, runner.RunOptions(
        backend=backend, sources=[str(scenario_file)], names=[name], results_dir=out / "results",
        label=None, timeout_s=args.timeout, quiet=args.quiet, compiled=args.compiled)))
        for backend in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = artifacts.read_all(out / "results")
    _refuse_definition_errors(runs, name)
    return write_report(runs, out, args, name)


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


def scenario_name(model: Path) -> str:
    """The model file's name as a scenario name (characters a name cannot hold become '_')."""
    return re.sub(r"[^\w.+-]", "_", model.name) or "model"


SCENARIO_FILE = '''"""Written by `python -m harness check`: {model} as one scenario.

Rerun one backend with: python -m harness run --backend B --scenarios {file}
"""

from harness.define.registry import scenario
from harness.run.saved_model import CheckSpec, load_for_check

SPEC = CheckSpec(model={model!r}, inputs={inputs!r}, unsafe={unsafe!r}, custom_objects={custom!r})


@scenario({name!r}, description={description!r}, tags=("check",), own_weights=True)
def build():
    return load_for_check(SPEC)  # the model's own weights; inputs as SPEC says
'''


def write_scenario(out: Path, name: str, model: Path, inputs: str, unsafe: bool,
                   custom_objects: Path | None) -> Path:
    path = out / "scenario.py"
    text = SCENARIO_FILE.format(
        model=str(model.resolve()), file=str(path), inputs=inputs, unsafe=unsafe,
        custom=str(custom_objects.resolve()) if custom_objects else None, name=name,
        description=f"saved model {model.name} with its own weights, inputs {Path(inputs).name}")
    artifacts.atomic_write(path, text.encode())
    return path


def _refuse_definition_errors(runs: list[artifacts.Artifact], name: str) -> None:
    """Inputs that do not fit the model are the user's to fix: one line, exit 2, not a report."""
    for run in runs:
        record = run.records.get(name)
        if record is not None and record.meta.get("definition_error") and record.captured.error:
            message = record.captured.error.message.removeprefix(f"{name}: ")
            raise SavedModelError(f"--inputs do not fit the model: {message}")


def first_divergent(comparison: Any, name: str) -> dict[str, str | None]:
    """Per backend pair, the first layer (in the model's order) whose output or mask differs."""
    out = {}
    for a, b in comparison.pairs:
        pair = comparison.get(name, a, b)
        out[pair.key] = next((p.probe for p in pair.probes
                              if p.verdict != "match" and not p.probe.startswith("jit/")), None)
    return out


def write_report(runs: list[artifacts.Artifact], out: Path, args: argparse.Namespace, name: str) -> int:
    from harness.report import markdown as md
    from harness.report import publish, render

    data, facts = publish.build(runs, args.known or DEFAULT_KNOWN, results_dir=str(out / "results"))
    command = f"python -m harness check {args.model} --inputs {args.inputs} --out {out}"
    # No heatmap: with one scenario it is one row, which the first-divergent section says in words,
    # and drawing it (matplotlib) would cost more than the report itself.
    data = dataclasses.replace(data, reproduce=command)
    first = first_divergent(data.comparison, name)
    facts["first_divergent_layer"] = first
    lines = ["## First divergent layer", ""]
    for a, b in data.comparison.pairs:
        layer = first[f"{a}-vs-{b}"]
        lines.append(f"- {md.code(a)} vs {md.code(b)}: " + (md.code(layer) if layer else "none: every layer agrees"))
    header, _, rest = render.render(data).partition("\n\n## ")
    report = f"{header}\n\n" + "\n".join(lines) + (f"\n\n## {rest}" if rest else "\n")
    artifacts.atomic_write(out / "report.md", report.encode())
    artifacts.atomic_write(out / "summary.json", (json.dumps(facts, indent=1, sort_keys=True) + "\n").encode())
    verdict = facts["scenarios"][0]["verdict"] if facts["scenarios"] else "nothing compared"
    print(f"check {name}: {verdict} across {len(runs)} runs -> {out / 'report.md'}", file=sys.stdout)
    for (a, b), layer in zip(data.comparison.pairs, first.values()):
        print(f"  {a} vs {b}: first divergent layer {layer or '(none)'}")
    return 1 if args.strict and facts["findings"] else 0
