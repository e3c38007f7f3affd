"""Run a selection of scenarios on one runtime: its cached environment, its label, its artifact.

The harness itself is not installed into the runtime's environment: the worker imports it from this
checkout (PYTHONPATH), so every release runs exactly the same scenarios and capture code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import artifacts, safety
from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Captured, ErrorInfo
from harness.define.info import ScenarioInfo, as_info
from harness.define.registry import Scenario
from harness.run.portability import UNSUPPORTED
from harness.versions import envs
from harness.versions.bisect import CannotRun
from harness.versions.runtimes import Runtime

HARNESS = Path(__file__).resolve().parents[1]
IMPORT_TIMEOUT_S = 300.0


def code_path() -> Path:
    """A folder holding only the harness and the suite (links), for the runtime's PYTHONPATH.

    Not the folder the harness was imported from: installed, that is a site-packages whose numpy and
    keras would shadow the runtime's own.
    """
    scenarios = importlib.util.find_spec("scenarios")
    packages = {"harness": HARNESS}
    if scenarios is not None and scenarios.submodule_search_locations:
        packages["scenarios"] = Path(list(scenarios.submodule_search_locations)[0]).resolve()
    key = hashlib.sha256(repr(sorted(packages.items())).encode()).hexdigest()[:10]
    folder = envs.cache_root().parent / "code" / key
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in packages.items():
        link = folder / name
        if not link.is_symlink() or link.resolve() != target:
            link.unlink(missing_ok=True)
            try:
                link.symlink_to(target, target_is_directory=True)
            except FileExistsError:  # another run made it at the same moment
                pass
    return folder


def _environ(runtime: Runtime) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(code_path())
    return {**env, **runtime.environ()}


def python_for(runtime: Runtime, log=print) -> Path:
    """The runtime's interpreter, once its environment is built and keras imports in it."""
    try:
        python = envs.ensure(runtime, log=log)
    except envs.EnvError as exc:
        raise CannotRun(str(exc)) from None
    if envs.import_problem(runtime) == "":  # checked before: keras imports here
        return python
    problem = _import_check(python, runtime)
    if problem:  # not cached: a failure may be passing (a busy machine, a file being replaced)
        raise CannotRun(problem)
    envs.record_import(runtime, "")
    return python


def _import_check(python: Path, runtime: Runtime) -> str:
    """'' when keras and the backend import in the runtime's environment, else the error's last line."""
    code = "import keras, numpy; keras.layers.Dense(1); print(keras.__version__)"
    try:
        done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False,
                              timeout=IMPORT_TIMEOUT_S, env=_environ(runtime), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"importing keras took longer than {IMPORT_TIMEOUT_S:g} s"
    if done.returncode == 0:
        return ""
    lines = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith((" ", "WARNING", "I0000"))]
    return f"keras does not import: {(lines or ['exit status ' + str(done.returncode)])[-1][:300]}"


def run(runtime: Runtime, selects: list[str], results: Path, *, label: str | None = None,
        timeout_s: float = 600.0, quiet: bool = False, compiled: bool = True,
        sources: list[str] | None = None, log=print) -> Path:
    """`harness run` in the runtime's environment; the artifact's JSON path. Raises CannotRun."""
    python = python_for(runtime, log=log)
    label = artifacts.check_label(label or runtime.label())
    command = [str(python), "-m", "harness", "run", "--backend", runtime.backend, "--results", str(results),
               "--label", label, "--timeout", str(timeout_s)]
    for source in sources or []:
        command += ["--scenarios", source]
    for pattern in selects:
        command += ["--select", pattern]
    command += ([] if compiled else ["--no-compiled"]) + (["-q"] if quiet else [])
    done = subprocess.run(command, env=_environ(runtime), stdin=subprocess.DEVNULL, check=False,
                          stdout=sys.stdout if not quiet else subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    path = results / f"{label}.json"
    if done.returncode != 0 or not path.exists():
        raise CannotRun(f"harness run failed (exit {done.returncode}): "
                        f"{(done.stderr.strip().splitlines() or ['no output'])[-1][:300]}")
    return path


def record_cannot_run(runtime: Runtime, scenarios: list[Scenario] | list[ScenarioInfo], reason: str, results: Path,
                      label: str | None = None) -> Path:
    """An artifact saying this runtime cannot run here, every scenario skipped with the reason.

    The report then shows the release in its table as "cannot run" instead of leaving it out.
    """
    environment = {"backend": runtime.backend, "keras": runtime.version,
                   "keras_flavour": runtime.flavour, "python": ".".join(map(str, sys.version_info[:3])),
                   "device": "cpu", "cannot_run": reason}
    records = {s.name: ScenarioRecord(s.name, "skipped", 0.0,
                                      Captured(s.name, runtime.backend, error=ErrorInfo(UNSUPPORTED, reason)),
                                      dict(as_info(s).meta))
               for s in scenarios}
    return artifacts.write(Artifact(label or runtime.label(), environment, records), results)


RELEASES_DIR = "versions"  # beside the results folder: reports/versions
BISECT_DIR = "bisect"  # reports/versions/bisect/<name>.json (`harness bisect --record`)
MAX_BISECT_BYTES = 1 << 20


def version_runs(results_dir: Path) -> tuple[list[Artifact], str]:
    """Every run in the versions folder beside a results folder (releases and nightly builds), and a
    problem reading them ('' if none)."""
    folder = Path(results_dir).parent / RELEASES_DIR
    if not folder.is_dir():
        return [], ""
    try:
        return artifacts.read_all(folder), ""
    except artifacts.ArtifactError as exc:
        return [], str(exc)


def is_nightly_run(run: Artifact) -> bool:
    """A keras-nightly build (3.16.0.devN): it feeds the next-Keras section, not the release timeline."""
    return ".dev" in str(run.environment.get("keras", ""))


def stored_bisects(results_dir: Path) -> list[dict[str, Any]]:
    """The stored bisect results beside a results folder."""
    return bisects(Path(results_dir).parent / RELEASES_DIR)


def bisects(folder: Path) -> list[dict[str, Any]]:
    """The stored bisect results (unreadable or malformed files are skipped: the section still renders)."""
    found = []
    for path in sorted((folder / BISECT_DIR).glob("*.json")) if (folder / BISECT_DIR).is_dir() else []:
        try:
            record = json.loads(safety.read_bounded(path, limit=MAX_BISECT_BYTES, inside=path.parent))
        except (OSError, ValueError, safety.RefusedFile):
            continue
        if isinstance(record, dict):
            found.append({**record, "file": path.name})
    return found
