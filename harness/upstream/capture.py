"""Run the kept repro scripts in each backend's environment and keep what they printed.

Each run is `KERAS_BACKEND=<backend> <python> repro.py` in a child process with a time bound and a
bound on what it may print; its last `RESULT: ...` line is what the draft compares. The environment
of each interpreter (Keras, backend and Python versions, OS) is read by a small probe that imports
nothing heavy (package metadata only), and the quoted Keras source is read from that interpreter's
own installed keras/src, so the line numbers are those of the version that ran.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness import safety
from harness.upstream.drafts import Cause, Quote, UpstreamError

RESULT_RE = re.compile(r"^RESULT: (.+)$", re.MULTILINE)
MAX_OUTPUT = 64 << 10  # characters of stdout/stderr kept per run
MAX_SOURCE_BYTES = 4 << 20
BACKEND_NAMES = {"tensorflow": "tensorflow", "tf": "tensorflow", "jax": "jax", "torch": "torch"}
BACKEND_DISTS = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "jax": ("jax",), "torch": ("torch",)}
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3"}  # TensorFlow's C++ start-up lines, not the repro's output

# Runs inside the repro's interpreter: versions from package metadata, keras's folder from its spec
# (find_spec does not execute keras/__init__.py), so probing costs no TensorFlow import.
PROBE = r"""
import importlib.metadata as md, importlib.util, json, platform, sys
def version(*names):
    for n in names:
        try:
            return n, md.version(n)
        except md.PackageNotFoundError:
            pass
    return None, None
spec = importlib.util.find_spec("keras")
dist, kv = version("keras-nightly", "keras")
print(json.dumps({"keras": kv, "keras_dist": dist, "numpy": version("numpy")[1],
    "backends": {b: version(*names) for b, names in json.loads(sys.argv[1]).items()},
    "python": platform.python_version(), "os": platform.platform(),
    "keras_dir": list(spec.submodule_search_locations)[0] if spec else None}))
"""


@dataclass(frozen=True)
class Env:
    """One interpreter a repro runs in: a label, its python, and the backend it runs with."""

    label: str
    python: Path
    backend: str


def parse_env(text: str) -> Env:
    """NAME=PYTHON, where NAME names the backend (tensorflow, tf, jax, torch), e.g. nightly-jax=..."""
    name, sep, python = text.partition("=")
    backends = [BACKEND_NAMES[w] for w in re.split(r"[-_.]", name) if w in BACKEND_NAMES]
    if not sep or not python or len(set(backends)) != 1:
        raise UpstreamError(f"--env {text!r}: use NAME=PYTHON where NAME names one backend "
                            "(tensorflow, tf, jax or torch), e.g. nightly-jax=/path/bin/python")
    path = Path(python)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise UpstreamError(f"--env {safety.printable(text)}: {safety.printable(path)} is not an executable file")
    return Env(name, path, backends[0])


def default_envs(root: Path = Path(".")) -> list[Env]:
    """The main job's environments (nox -s tf jax torch) in this checkout, where they exist."""
    envs = []
    for session, backend in (("tf", "tensorflow"), ("jax", "jax"), ("torch", "torch")):
        python = root / ".nox" / session / "bin" / "python"
        if python.is_file():
            envs.append(Env(backend, python, backend))
    return envs


def _child_env(backend: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "PYTHONPATH"))}
    return {**env, **QUIET, "KERAS_BACKEND": backend, "PYTHONHASHSEED": "0", "PYTHONSAFEPATH": "1"}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT // 2] + "\n[... cut ...]\n" + text[-MAX_OUTPUT // 2:]


def probe(env: Env, timeout_s: float = 60.0) -> dict:
    try:
        done = subprocess.run([str(env.python), "-c", PROBE, json.dumps(BACKEND_DISTS)], capture_output=True,
                              text=True, timeout=timeout_s, stdin=subprocess.DEVNULL, env=_child_env(env.backend))
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, OSError, ValueError, IndexError):
        raise UpstreamError(f"environment {env.label} ({safety.printable(env.python)}) cannot be probed: "
                            "is it a Python with keras installed?") from None
    if not info.get("keras") or not info.get("keras_dir"):
        raise UpstreamError(f"environment {env.label} ({safety.printable(env.python)}) has no keras installed")
    dist, version = info["backends"].get(env.backend) or (None, None)
    info.update(label=env.label, backend=env.backend, backend_dist=dist, backend_version=version)
    return info


def run_repro(script: Path, env: Env, timeout_s: float) -> dict:
    """One run: what it printed, its exit code, its RESULT line (None when it printed none)."""
    start = time.monotonic()
    try:
        done = subprocess.run([str(env.python), script.name], cwd=script.parent, capture_output=True, text=True,
                              timeout=timeout_s, stdin=subprocess.DEVNULL, env=_child_env(env.backend),
                              errors="replace")
        stdout, stderr, rc, timed_out = done.stdout, done.stderr, done.returncode, False
    except subprocess.TimeoutExpired as exc:
        def text(b):
            return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
        stdout, stderr, rc, timed_out = text(exc.stdout), text(exc.stderr), None, True
    results = RESULT_RE.findall(stdout)
    return {"stdout": _clip(stdout), "stderr_tail": "\n".join(stderr.strip().splitlines()[-15:])[-4000:],
            "rc": rc, "timed_out": timed_out, "seconds": round(time.monotonic() - start, 1),
            "result": results[-1].strip() if results else None}


def quote(keras_dir: str, q: Quote) -> dict:
    """The quoted lines and the line number of the anchor in this installed Keras, or why not. `q.file`
    may name alternatives, "a.py|b.py" (a module that moved between versions): the first holding the anchor."""
    missing = "the quoted line is not in this version"
    for name in q.file.split("|"):
        try:
            lines = safety.read_bounded(Path(keras_dir) / "src" / name, limit=MAX_SOURCE_BYTES).decode("utf-8").splitlines()
        except FileNotFoundError:
            continue
        except (OSError, safety.RefusedFile, UnicodeDecodeError) as exc:
            missing = f"cannot be read ({exc})"
            continue
        hits = [i for i, line in enumerate(lines) if q.anchor in line]
        if hits:
            first = max(hits[0] - q.before, 0)
            return {"file": name, "line": first + 1, "anchor_line": hits[0] + 1,
                    "text": "\n".join(lines[first:hits[0] + q.lines])}
    return {"file": q.file, "line": None, "text": "", "missing": missing}


def capture(cause: Cause, script: Path, envs: list[Env], timeout_s: float, log=print) -> dict:
    """Every run of one cause's repro, with the environment and the quoted source of each Keras."""
    if not script.is_file():
        raise UpstreamError(f"{cause.id}: its repro {safety.printable(script)} is missing")
    runs, sources = [], {}
    for env in envs:
        info = probe(env)
        log(f"upstream: {cause.id}: running under {env.label} (keras {info['keras']})")
        run = run_repro(script, env, timeout_s)
        runs.append({"env": {k: info[k] for k in ("label", "backend", "backend_dist", "backend_version",
                                                  "keras", "keras_dist", "numpy", "python", "os")}, **run})
        if info["keras"] not in sources:
            sources[info["keras"]] = [quote(info["keras_dir"], q) for q in cause.quotes]
    return {"id": cause.id, "script": script.name, "command": "KERAS_BACKEND=<backend> python repro.py",
            "timeout_s": timeout_s, "runs": runs, "sources": sources}

