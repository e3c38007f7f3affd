"""nox sessions: `nox -s tf jax torch` runs the suite on each backend and refreshes the report."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["tf", "jax", "torch"]
nox.options.reuse_existing_virtualenvs = False

ROOT = Path(__file__).parent
PYTHON = "3.11"
# nox session name -> (pyproject dependency group, harness backend name)
BACKEND_SESSIONS = {"tf": ("tensorflow", "tensorflow"), "jax": ("jax", "jax"), "torch": ("torch", "torch")}


def pins(group: str) -> list[str]:
    """A dependency group from pyproject.toml, each pin overridable by HARNESS_PIN_<NAME>=<version>."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    out = []
    for requirement in groups[group]:
        name = re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0]
        override = os.environ.get("HARNESS_PIN_" + name.upper().replace("-", "_"))
        if override:
            requirement = re.split(r"[=<>!~]", requirement, maxsplit=1)[0] + f"=={override}"
        out.append(requirement)
    return out


def _backend_session(session: nox.Session, name: str) -> None:
    group, backend = BACKEND_SESSIONS[name]
    session.install(*pins(group))
    session.run("python", "-m", "harness", "run", "--backend", backend, *session.posargs,
                env={"KERAS_BACKEND": backend})
    if not os.environ.get("HARNESS_SKIP_REPORT"):  # CI matrix jobs merge in a job of their own
        session.notify("report", posargs=[])  # runs once, after every backend session asked for


@nox.session(python=PYTHON)
def tf(session: nox.Session) -> None:
    """Run the suite under TensorFlow (tensorflow-cpu)."""
    _backend_session(session, "tf")


@nox.session(python=PYTHON)
def jax(session: nox.Session) -> None:
    """Run the suite under JAX (CPU)."""
    _backend_session(session, "jax")


@nox.session(python=PYTHON)
def torch(session: nox.Session) -> None:
    """Run the suite under PyTorch (CPU build)."""
    _backend_session(session, "torch")


@nox.session(python=PYTHON)
def report(session: nox.Session) -> None:
    """Rebuild reports/report.md and summary.json from the artifacts present (numpy only)."""
    session.install("numpy", *pins("report"))
    session.run("python", "-m", "harness", "report", *session.posargs)


@nox.session(python=PYTHON)
def publish(session: nox.Session) -> None:
    """Refresh the published artifacts and report: all three backends, then the report."""
    for name in BACKEND_SESSIONS:
        session.notify(name, posargs=list(session.posargs))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The harness's own tests: unit tests (no backend) and one integration test per backend."""
    session.install(*dict.fromkeys(pins("tensorflow") + pins("jax") + pins("torch") + pins("test")
                                   + pins("report")))
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the harness, scenarios, tests and this file."""
    session.install(*pins("lint"))
    session.run("ruff", "check", "harness", "scenarios", "tests", "benchmarks", "noxfile.py")
