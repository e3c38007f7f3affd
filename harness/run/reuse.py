"""Reuse a scenario's result from the previous run when nothing it depends on has changed.

A scenario's fingerprint is a hash of everything its result depends on:
- its definition (definition_hash: the build function's source and the scenario's data, dtype
  policy included) and the source of its module and of the suite modules that module imports,
  transitively (`suite_hash`, computed where the scenario files are imported: loader.py);
- the harness's run and capture code (harness/run, harness/define, the artifact format);
- the environment: Python, every installed distribution with its exact version, the platform;
- the backend, the device it will run on (the variables and device nodes that choose it), Keras's
  own configuration (keras.json: floatx), and the passes (compiled or not, HARNESS_TORCH_COMPILE).

The previous artifact in the results folder is the cache: a scenario whose fingerprint matches
the one recorded there is not run again; its record, arrays included, is copied from that artifact
verbatim and marked `reused: true`. Crashes and timeouts are never reused (they may be the
machine's, not the scenario's). `harness run --no-reuse` or HARNESS_NO_REUSE=1 runs everything.

Imports no backend: the supervisor decides before any worker starts.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.artifacts import ScenarioRecord

ENV_OFF = "HARNESS_NO_REUSE"
REUSABLE = ("ok", "error", "skipped")  # what a scenario itself decides; not crashed or timeout
# Variables that choose the device, the Keras flavour or a pass, or change what the backend computes.
RESULT_VARIABLES = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "JAX_PLATFORMS", "JAX_PLATFORM_NAME",
                    "JAX_ENABLE_X64", "JAX_DEFAULT_MATMUL_PRECISION", "XLA_FLAGS", "TF_XLA_FLAGS",
                    "TF_ENABLE_ONEDNN_OPTS", "TF_USE_LEGACY_KERAS", "KERAS_HOME", "HARNESS_TORCH_COMPILE")
# The harness code a scenario's result comes from (relative to the harness package).
RUN_CODE = ("run", "define", "artifacts.py", "safety.py", "__init__.py")
DEVICE_NODES = ("/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd", "/dev/accel0")


def disabled(flag: bool = False) -> bool:
    """--no-reuse, or HARNESS_NO_REUSE set to anything but 0/false/no."""
    return flag or os.environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


def _sha(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()


def _file_hash(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def harness_code_hash(root: Path | None = None) -> str:
    """The run and capture code of the harness that will run the scenarios (`root`: its package)."""
    root = root or Path(__file__).resolve().parents[1]
    files = []
    for name in RUN_CODE:
        where = root / name
        files += sorted(where.rglob("*.py")) if where.is_dir() else [where]
    return _sha(f"{f.relative_to(root)}={_file_hash(str(f))}" for f in files)


def packages() -> list[str]:
    """Every distribution installed in this environment, name==version, sorted."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name:
            found[name] = dist.version
    return sorted(f"{name}=={version}" for name, version in found.items())


def _keras_config() -> str:
    """keras.json (floatx, epsilon, image format): read by Keras at import, so part of every result."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    try:
        return Path(home, "keras.json").read_text()[:65536]
    except (OSError, UnicodeDecodeError):
        return ""


def run_context(backend: str, compiled: bool) -> dict[str, Any]:
    """What every scenario of this run depends on besides its own definition."""
    return {
        "harness": harness_code_hash(),
        "python": sys.version,
        "platform": f"{platform.system()} {platform.machine()}",
        "packages": _sha(packages()),
        "backend": backend,
        "device": [f"{k}={os.environ[k]}" for k in RESULT_VARIABLES if k in os.environ]
                  + [node for node in DEVICE_NODES if os.path.exists(node)],
        "keras_config": _keras_config(),
        "passes": {"compiled": compiled},
    }


def fingerprint(meta: dict[str, Any], suite_hash: str, context: dict[str, Any]) -> str:
    """One scenario's fingerprint: its definition, its modules, and the run's context."""
    own = [str(meta.get("definition_hash")), str(meta.get("dtype_policy")), suite_hash]
    return _sha([*own, json.dumps(context, sort_keys=True)])[:24]


@cache
def suite_hash(module_file: str, roots: tuple[str, ...]) -> str:
    """The source of a scenario's module and of every module of the suite (a file under one of `roots`)
    it imports, transitively. Called where the scenario files were imported (their modules are loaded)."""
    seen: dict[str, str] = {}
    todo = [str(Path(module_file).resolve())]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = _file_hash(path)
        todo += [p for p in _imported_files(path) if any(p.startswith(r) for r in roots)]
    return _sha(f"{Path(p).name}={h}" for p, h in sorted(seen.items()))


@cache
def _imported_files(path: str) -> list[str]:
    """The files of the modules `path` imports, as loaded in this process."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    package = _package_of(path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package) if package else ""
                except (ImportError, ValueError):
                    base = ""
            if base:
                names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    files = []
    for name in names:  # the module ran, so what it imports is loaded
        where = getattr(sys.modules.get(name), "__file__", None)
        if where and where.endswith(".py"):
            files.append(str(Path(where).resolve()))
    return files


def _package_of(path: str) -> str:
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and str(Path(module.__file__).resolve()) == path:
            return getattr(module, "__package__", None) or ""
    return ""


def suite_roots(sources: list[str]) -> tuple[str, ...]:
    """The folders a run's scenario sources live in: a package's folder, a file's folder."""
    roots = []
    for source in sources:
        if source.endswith(".py") or "/" in source:
            roots.append(str(Path(source).resolve().parent) + os.sep)
            continue
        module = sys.modules.get(source.split(".")[0])
        where = getattr(module, "__file__", None)
        if where:
            roots.append(str(Path(where).resolve().parent) + os.sep)
    return tuple(roots)


def previous_records(results_dir: Path, backend: str, label: str | None,
                     default_label: Callable[[str, dict[str, Any]], str],
                     ) -> tuple[dict[str, ScenarioRecord], dict[str, Any]]:
    """The reusable records of the previous artifacts of this backend (and label, if given) in the
    results folder, and the environment of the artifact they came from. Without a label, only an
    artifact with the label this run would get (`default_label`: backend and device). An artifact that cannot be
    read is not a cache: it is skipped with a warning, and its scenarios run."""
    from harness import artifacts  # numpy: only when there is a previous artifact to read

    records: dict[str, ScenarioRecord] = {}
    environment: dict[str, Any] = {}
    paths = [results_dir / f"{label}.json"] if label else sorted(results_dir.glob("*.json"))
    for path in paths:
        if not path.is_file():
            continue
        try:
            if not label and backend not in _peek_backend(path):
                continue
            artifact = artifacts.read(path)
        except (artifacts.ArtifactError, OSError, ValueError) as exc:
            print(f"harness: warning: not reusing results from {path.name}: {' '.join(str(exc).split())[:200]}",
                  file=sys.stderr)
            continue
        if artifact.environment.get("backend") != backend:
            continue
        if not label and artifact.label != default_label(backend, artifact.environment):
            continue  # another run's label (--label), not this run's default
        for name, record in artifact.records.items():
            if record.status in REUSABLE and record.meta.get("fingerprint"):
                records.setdefault(name, record)
                environment = environment or dict(artifact.environment)
    return records, environment


def _peek_backend(path: Path) -> str:
    """The start of a manifest, enough to skip other backends' artifacts without reading their arrays."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16).decode("utf-8", "replace")
    return head if '"backend"' in head else ""
