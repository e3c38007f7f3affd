"""Reuse a scenario's result from the previous run when nothing it depends on has changed.

A scenario's fingerprint is a hash of everything its result depends on:
- its definition (definition_hash: the build function's source and the scenario's data, dtype
  policy included) and the source of its module and of the suite modules that module imports,
  transitively (`suite_hash`, computed where the scenario files are imported: loader.py), and the
  data files those modules name in a module-level Path (scenarios/data/saving: data_paths);
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
from pathlib import Path, PurePath
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
    it imports, transitively, and the data files those modules name (data_paths). Called where the
    scenario files were imported (their modules are loaded). "" when the data is too large to hash:
    such a scenario is never reused."""
    seen: dict[str, str] = {}
    data: dict[str, str] = {}
    todo = [str(Path(module_file).resolve())]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = _file_hash(path)
        for where in data_paths(path, roots):
            data[where] = _data_hash(where)
        todo += [p for p in _imported_files(path) if any(p.startswith(r) for r in roots)]
    if TOO_LARGE in data.values():
        return ""
    return _sha([*(f"{Path(p).name}={h}" for p, h in sorted(seen.items())),
                 *(f"data:{_under(p, roots)}={h}" for p, h in sorted(data.items()))])


# A folder of data larger than this is not hashed (its scenarios always run): the hash reads every byte.
MAX_DATA_BYTES = 256 << 20
MAX_DATA_FILES = 10_000
TOO_LARGE = "too large to hash"


def data_paths(module_file: str, roots: tuple[str, ...]) -> list[str]:
    """The files and folders under the suite's `roots` that the module named in a module-level Path
    (scenarios/_saving_model.py: ARCHIVES = Path(__file__).parent / "data" / "saving"): the data its
    scenarios read at run time. A path built only inside a function is not seen (docs/speed.md)."""
    module = _module_of(module_file)
    found = set()
    for value in list(vars(module).values()) if module is not None else []:
        if isinstance(value, PurePath):
            try:
                where = str(Path(value).resolve())
            except (OSError, RuntimeError):
                continue
            if any(where.startswith(r) for r in roots) and os.path.exists(where) and where != module_file:
                found.add(where)
    return sorted(found)


@cache
def _data_hash(where: str) -> str:
    """A data file's bytes, or every file of a data folder (relative path and bytes), bounded."""
    if os.path.isfile(where):
        return TOO_LARGE if os.path.getsize(where) > MAX_DATA_BYTES else _file_hash(where)
    files = []
    for folder, subfolders, names in os.walk(where):  # symbolic links to folders are not followed
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        files += [os.path.join(folder, n) for n in sorted(names) if not n.endswith(".pyc")]
        if len(files) > MAX_DATA_FILES:
            return TOO_LARGE
    try:
        if sum(os.path.getsize(f) for f in files) > MAX_DATA_BYTES:
            return TOO_LARGE
    except OSError:
        return "unreadable"
    return _sha(f"{os.path.relpath(f, where)}={_file_hash(f)}" for f in files)


def _under(path: str, roots: tuple[str, ...]) -> str:
    """`path` relative to the root it lies under (the same for the checkout and an installed copy)."""
    root = next(r for r in roots if path.startswith(r))
    return os.path.relpath(path, root)


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
    module = _module_of(path)
    return (getattr(module, "__package__", None) or "") if module is not None else ""


def _module_of(path: str) -> Any:
    """The loaded module whose file is `path` (resolved), if any."""
    return _modules_by_file(len(sys.modules)).get(path)


@cache
def _modules_by_file(loaded: int) -> dict[str, Any]:
    """Every loaded module by its resolved file; computed again when modules were loaded since."""
    return {str(Path(module.__file__).resolve()): module for module in list(sys.modules.values())
            if isinstance(getattr(module, "__file__", None), str)}


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
