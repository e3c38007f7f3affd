"""nox sessions: `nox -s tf jax torch` runs the suite on each backend and refreshes the report.

The sessions run on the Python nox itself runs on when the backend pins publish wheels for it
(SUPPORTED_PYTHONS); otherwise on the newest supported one installed; `nox -P 3.13 ...` picks one.
An unsupported or missing interpreter fails the session with one line that says what to do
(docs/pythons.md). This file must import on any Python nox runs on, 3.10 included: no tomllib.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nox
import nox.project

nox.options.sessions = ["tf", "jax", "torch"]
nox.options.reuse_existing_virtualenvs = False
# uv creates and fills a venv in seconds where pip takes a minute or more (docs/speed.md); where uv is
# not installed, nox falls back to virtualenv and pip.
nox.options.default_venv_backend = "uv|virtualenv"
# nox's default skips a session whose interpreter is missing and exits 0 outside CI: a main job that
# ran nothing and looked like it worked (issue 14). A missing interpreter is an error, everywhere.
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent

# pip's configuration key -> uv's variable, and how uv wants a list of them joined.
PIP_TO_UV = {"index-url": ("UV_INDEX_URL", " "), "extra-index-url": ("UV_EXTRA_INDEX_URL", " "),
             "find-links": ("UV_FIND_LINKS", ","), "constraint": ("UV_CONSTRAINT", " "),
             "cert": ("SSL_CERT_FILE", None)}


def uv_settings(pip_items: list[tuple[str, str]], environ: dict[str, str]) -> dict[str, str]:
    """The package sources pip is configured with (files and PIP_* variables, as `pip config list`
    gives them, lowest priority first), as the variables uv reads; what the user set for uv wins.
    uv would otherwise read only PyPI, and here torch==2.13.0's CPU build lies in a find-links folder."""
    effective: dict[str, str] = {}
    for key, value in pip_items:
        effective[key.rsplit(".", 1)[-1]] = value
    out = {}
    for key, (variable, joiner) in PIP_TO_UV.items():
        if key in effective and variable not in environ:
            parts = effective[key].split()
            out[variable] = joiner.join(parts) if joiner else parts[0]
    if out and "UV_INDEX_STRATEGY" not in environ:
        out["UV_INDEX_STRATEGY"] = "unsafe-best-match"  # pip's way: the best version from any index
    return out


def _pip_items() -> list[tuple[str, str]]:
    try:
        from pip._internal.configuration import Configuration  # pip's own reading of its files
    except ImportError:
        return []
    import logging

    quiet = logging.getLogger("pip")  # pip says at debug level which files it tries; nox would show it
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        configuration = Configuration(isolated=False)
        configuration.load()
        return list(configuration.items())
    except Exception:  # an unreadable pip configuration: uv keeps its own defaults
        return []
    finally:
        quiet.setLevel(level)


if shutil.which("uv"):
    os.environ.update(uv_settings(_pip_items(), dict(os.environ)))
# Pythons for which every backend pin publishes wheels (PyPI, checked with pip for each pin):
# tensorflow-cpu 2.21.0 has 3.10-3.13, jax/jaxlib 0.10.2 3.11-3.14, torch 2.13.0 3.10-3.14.
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")


@dataclass(frozen=True)
class PythonChoice:
    """What the sessions run on: `python` is nox's session argument (None: the Python nox runs on)."""

    python: str | None
    note: str | None = None  # said once when nox's own Python was passed over


def python_advice(version: str) -> str:
    """The one line a session fails with on an unsupported or missing Python."""
    ok = ", ".join(SUPPORTED_PYTHONS)
    return (f"Python {version} cannot run the pinned backends: they publish wheels for Python {ok} only. "
            f"Install one (`uv python install 3.12`, `pyenv install 3.12`, or your system's python3.12 "
            f"package), then run nox with it (`python3.12 -m pip install nox && python3.12 -m nox ...`) "
            f"or pick it with `nox -P 3.12 ...`")


def choose_python(running: str, find: Callable[[str], str | None]) -> PythonChoice:
    """nox's own Python when supported, else the newest supported one `find` locates.

    When none is found the sessions stay on nox's own Python and fail with python_advice: nox would
    otherwise try to download an interpreter, or skip the session."""
    if running in SUPPORTED_PYTHONS:
        return PythonChoice(None)
    for version in reversed(SUPPORTED_PYTHONS):
        where = find(version)
        if where:
            return PythonChoice(version, f"nox runs on Python {running}, which the backend pins do not "
                                         f"support; the sessions use Python {version} ({where})")
    return PythonChoice(None)


def find_python(version: str) -> str | None:
    """An interpreter of `version`, found the way nox finds one (python-discovery), else on PATH."""
    try:
        from python_discovery import get_interpreter  # nox's own discovery since 2026
    except ImportError:
        get_interpreter = None
    if get_interpreter is not None:
        info = get_interpreter(version)
        return info.executable if info is not None else None
    path = shutil.which(f"python{version}")
    try:  # a pyenv shim is on PATH for every installed version, active or not
        ok = path is not None and subprocess.run([path, "-c", ""], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


CHOICE = choose_python(f"{sys.version_info[0]}.{sys.version_info[1]}", find_python)
PYTHON = CHOICE.python


def check_python(session: nox.Session) -> None:
    """Fail the session at once, with one line, when its venv's Python cannot run the pins (-P, or
    nox on an unsupported Python with no supported one installed)."""
    if CHOICE.note:
        session.log(CHOICE.note)
    version = session.run("python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])",
                          silent=True, external=False)
    if version is None:  # --install-only: nox runs no command, so there is no answer to judge
        return
    version = version.strip()
    if version not in SUPPORTED_PYTHONS:
        session.error(python_advice(version or str(session.python)))
# nox session name -> (pyproject dependency group, harness backend name)
BACKEND_SESSIONS = {"tf": ("tensorflow", "tensorflow"), "jax": ("jax", "jax"), "torch": ("torch", "torch")}


def pins(group: str) -> list[str]:
    """A dependency group from pyproject.toml, each pin overridable by HARNESS_PIN_<NAME>=<version>."""
    groups = nox.project.load_toml(ROOT / "pyproject.toml")["project"]["optional-dependencies"]
    out = []
    for requirement in groups[group]:
        name = re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0]
        override = os.environ.get("HARNESS_PIN_" + name.upper().replace("-", "_"))
        if override:
            requirement = re.split(r"[=<>!~]", requirement, maxsplit=1)[0] + f"=={override}"
        out.append(requirement)
    return out


@dataclass
class MainJob:
    """The backend sessions this nox run was asked for and the artifacts each wrote. All sessions of a
    run execute in the one nox process that imported this file, so module state is the run's state."""

    asked: list[str] = field(default_factory=list)
    written: dict[str, list[str]] = field(default_factory=dict)


MAIN_JOB = MainJob()


def option(posargs: list[str], flag: str, default: str) -> Path:
    """The value of one `harness` option among a session's posargs (relative to the checkout)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(flag, default=default)
    known, _ = parser.parse_known_args(posargs)
    return ROOT / getattr(known, flag.lstrip("-").replace("-", "_"))


def artifact_stamps(results: Path) -> dict[Path, int]:
    """Each artifact in the folder with its modification time (`harness run` replaces the file)."""
    return {p: p.stat().st_mtime_ns for p in results.glob("*.json")} if results.is_dir() else {}


def written_since(before: dict[Path, int], after: dict[Path, int]) -> list[str]:
    """The artifacts that are new or were rewritten between two artifact_stamps."""
    return sorted(_shown(p) for p, stamp in after.items() if before.get(p) != stamp)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main_job_outcome(asked: list[str], written: dict[str, list[str]], merged: list[str],
                     report: str | None) -> tuple[list[str], bool]:
    """What the main job says at its end, and whether it succeeded: every backend session asked for
    must have written an artifact in this run (an older one in the folder does not count)."""
    lines = [f"{name}: wrote {', '.join(written[name])}" if written.get(name) else
             f"{name}: wrote NO artifact" for name in asked]
    fresh = {artifact for name in asked for artifact in written.get(name, [])}
    older = [artifact for artifact in merged if artifact not in fresh]
    if report:
        lines.append(f"report: {report}, merged from {len(merged)} artifact(s)"
                     + (f", of which older than this run: {', '.join(older)}" if older else ""))
    else:
        lines.append("report: not rebuilt (no backend session wrote an artifact)")
    missing = [name for name in asked if not written.get(name)]
    if missing:
        lines.append(f"main job FAILED: {', '.join(missing)} wrote no artifact (see its session above)")
    return lines, not missing


# What the installed project is built from. A copy: setuptools builds inside the source folder and keeps
# build/lib between builds, so a module moved or deleted since an earlier build would still be installed.
PROJECT_SOURCES = ("pyproject.toml", "README.md", "harness", "scenarios")


def install_project(session: nox.Session, *requirements: str) -> None:
    """Install the harness (its console script, the suite as package data) with `requirements`."""
    keep_bytecode(session)
    if _installs_skipped(session) and installed_digest(session) == source_digest(ROOT):
        # `nox -R` and the venv already holds the checkout as it is now: a reinstall would build and
        # install the same files again (2-4 s a session).
        session.log("the checkout is installed as it is (source hash unchanged): not reinstalled")
        return
    source = Path(session.create_tmp()) / "project"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir()
    for name in PROJECT_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns(*NOT_SOURCES))
        else:
            shutil.copy2(ROOT / name, source / name)
    digest = source_digest(source)
    mark = _installed_mark(session)
    if mark is not None:
        mark.unlink(missing_ok=True)  # an install that stops half-way leaves no mark
    project = str(project_wheel(session, source, digest) or source)
    session.install(project, *requirements)
    if _installs_skipped(session):
        # `nox -R` (--no-install) skips session.install, and a reused venv would then run the harness
        # as it was when the venv was made: reinstall the project alone (no dependencies), so a warm
        # run always runs the checkout as it is now.
        if _uv(session):  # a uv venv has no pip
            session.run("uv", "pip", "install", "--quiet", "--no-deps", "--reinstall", "--python",
                        str(Path(session.bin) / "python"), project, silent=True, external=True)
        else:
            session.run("python", "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
                        project, silent=True)
    if mark is not None and not (_installs_skipped(session) and _install_only(session)):  # nox ran no reinstall
        mark.write_text(digest + "\n")  # what was installed: the copy, not the checkout


def _uv(session: nox.Session) -> bool:
    return getattr(session, "venv_backend", "") == "uv"


WHEELS = "harness-wheels"  # beside the sessions' venvs: the project's wheel, one folder per source hash
KEEP_WHEELS = 3


def project_wheel(session: nox.Session, source: Path, digest: str) -> Path | None:
    """The project's wheel built from `source` (whose source_digest is `digest`), built once for every
    session of the run: installing the folder made each session build it again (2 CPU seconds each,
    4-5 sessions a main job). None without a venv (nox installs the folder then)."""
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    if not isinstance(location, str):
        return None
    top = Path(location).parent / WHEELS
    folder = top / digest[:32]
    built = sorted(folder.glob("*.whl"))
    if built:
        return built[0]
    top.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=top))
    python = str(Path(session.bin) / "python")
    # Outside session.run, so that --install-only (which runs no command but installs) has it too.
    command = (["uv", "build", "--wheel", "--quiet", "--python", python, "--out-dir", str(building), str(source)]
               if _uv(session) else
               [python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(building), str(source)])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1] if done.returncode else ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = str(exc)
    wheels = sorted(building.glob("*.whl"))
    if why or len(wheels) != 1:
        shutil.rmtree(building, ignore_errors=True)
        session.error(f"building the project's wheel failed: {why or 'no wheel written'}")
    try:
        building.rename(folder)
    except OSError:  # another nox run built it meanwhile: theirs is the same source
        shutil.rmtree(building, ignore_errors=True)
    for old in sorted((p for p in top.iterdir() if p.is_dir() and p != folder and not p.name.startswith(".")),
                      key=lambda p: p.stat().st_mtime)[:-KEEP_WHEELS or None]:
        shutil.rmtree(old, ignore_errors=True)
    session.log(f"built the project's wheel once for every session: {_shown(next(folder.glob('*.whl')))}")
    return next(folder.glob("*.whl"))


BUILD_TIMEOUT_S = 600


def keep_bytecode(session: nox.Session) -> None:
    """Let the session's Python keep the byte code it compiles, in a folder of the venv.

    uv installs without compiling (pip compiled at install), and where PYTHONDONTWRITEBYTECODE is set
    (this machine's default) every process then compiled every module it imported, every run:
    keras and torch alone are 7 CPU seconds of each worker's start (docs/speed.md). Compiled on first
    import and kept under PYTHONPYCACHEPREFIX, nothing is written beside any source file, the
    checkout's included. A PYTHONPYCACHEPREFIX of the user's own wins."""
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    env = getattr(session, "env", None)
    if not isinstance(location, str) or not isinstance(env, dict):
        return
    if not os.environ.get("PYTHONPYCACHEPREFIX"):
        env["PYTHONPYCACHEPREFIX"] = str(Path(location) / "pycache")
    env["PYTHONDONTWRITEBYTECODE"] = ""  # empty is unset, for Python


# Left out of the copy (and of its hash): byte code the checkout's own imports leave behind.
NOT_SOURCES = ("__pycache__", "*.pyc")
INSTALLED_MARK = "keras-mask-harness.source-sha256"  # in the venv: the hash of the copy installed there


def source_digest(root: Path) -> str:
    """The hash of what install_project copies from `root` (paths and bytes), the same for the checkout
    and for its copy."""
    digest = hashlib.sha256()
    for name in PROJECT_SOURCES:
        where = root / name
        files = sorted(p for p in where.rglob("*") if p.is_file() and not _not_source(p.relative_to(where))) \
            if where.is_dir() else [where] if where.is_file() else []
        for path in files:
            data = path.read_bytes()
            digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def _not_source(relative: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in NOT_SOURCES)


def _installed_mark(session: nox.Session) -> Path | None:
    """Where this session's venv records the hash of the copy installed in it (None: no venv)."""
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    return Path(location) / INSTALLED_MARK if isinstance(location, str) and Path(location).is_dir() else None


def installed_digest(session: nox.Session) -> str | None:
    mark = _installed_mark(session)
    try:
        return mark.read_text().strip() if mark is not None else None
    except OSError:
        return None


def _install_only(session: nox.Session) -> bool:
    """`nox --install-only`: nox makes the venvs and installs, and runs no command."""
    runner = getattr(session, "_runner", None)
    return bool(getattr(getattr(runner, "global_config", None), "install_only", False))


def _installs_skipped(session: nox.Session) -> bool:
    """Whether nox skips this session's installs: a reused venv under --no-install (nox's own test,
    from nox/sessions.py; read defensively, since those attributes are nox's internals)."""
    runner = getattr(session, "_runner", None)
    no_install = getattr(getattr(runner, "global_config", None), "no_install", False)
    return bool(no_install and getattr(getattr(runner, "venv", None), "_reused", False))


def install_models(session: nox.Session) -> None:
    """keras-hub for scenarios/models/ and `check`, with --no-deps: its declared tensorflow-text would pull
    full TensorFlow into every backend's environment. The packages it imports come first."""
    hub, *imports = pins("models")
    session.install(*imports)
    session.install("--no-deps", hub)


def report_args(posargs: list[str]) -> list[str]:
    """The report's options for a backend run: a run into `--results DIR` gets its report beside DIR,
    as reports/report.md sits beside reports/results; the published report is left alone."""
    results = option(posargs, "--results", "reports/results")
    if results == option([], "--results", "reports/results"):
        return []
    return ["--results", str(results), "--out", str(results.parent / "report.md"),
            "--json", str(results.parent / "summary.json")]


def _backend_session(session: nox.Session, name: str) -> None:
    group, backend = BACKEND_SESSIONS[name]
    MAIN_JOB.asked.append(name)
    if not os.environ.get("HARNESS_SKIP_REPORT"):  # CI matrix jobs merge in a job of their own
        # Queued first, so it runs (once, after every backend session asked for) and says what the
        # run produced even when this session fails below.
        session.notify("report", posargs=report_args(session.posargs))
    check_python(session)
    install_project(session, *pins(group))
    install_models(session)  # scenarios/models/
    if _install_only(session):
        return
    results = option(session.posargs, "--results", "reports/results")
    before = artifact_stamps(results)
    # The installed command, as a user's: nothing comes from the checkout being the current directory.
    session.run("keras-mask-harness", "run", "--backend", backend, *session.posargs,
                env={"KERAS_BACKEND": backend})
    MAIN_JOB.written[name] = written_since(before, artifact_stamps(results))
    if not MAIN_JOB.written[name]:
        session.error(f"`keras-mask-harness run --backend {backend}` exited 0 but wrote no artifact in "
                      f"{_shown(results)}")
    session.log(f"{name}: wrote {', '.join(MAIN_JOB.written[name])}")


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
    job = MAIN_JOB
    built = None
    if _install_only(session):
        install_project(session, *pins("report"))
        return
    if not job.asked or any(job.written.values()):  # never re-render old artifacts as this run's report
        install_project(session, *pins("report"))  # numpy comes as the project's own dependency
        session.run("keras-mask-harness", "report", *session.posargs)
        built = _shown(option(session.posargs, "--out", "reports/report.md"))
        if built == _shown(option([], "--out", "reports/report.md")):
            # The published report was rebuilt: README's generated block follows it, so the two
            # cannot disagree (tests/test_readme.py checks that they do not).
            session.run("keras-mask-harness", "readme")
    if job.asked:  # the main job (backend sessions, then this one): say what it produced
        merged = sorted(_shown(p) for p in artifact_stamps(option(session.posargs, "--results", "reports/results")))
        lines, ok = main_job_outcome(job.asked, job.written, merged, built)
        for line in lines:
            session.log(line)
        if not ok:
            session.error(lines[-1])


@nox.session(python=PYTHON)
def publish(session: nox.Session) -> None:
    """Refresh the published artifacts and report: all three backends, then the report."""
    for name in BACKEND_SESSIONS:
        session.notify(name, posargs=list(session.posargs))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The harness's own tests: unit tests (no backend) and one integration test per backend."""
    check_python(session)
    install_project(session, *dict.fromkeys(pins("tensorflow") + pins("jax") + pins("torch") + pins("test")
                                            + pins("report")))
    session.run("python", "-m", "pytest", *TESTS_IN_PARALLEL, *session.posargs)


# pytest-xdist: the tests on every core (docs/speed.md). The tests that share one backend run form a group
# (tests/helpers/shared_runs.py) that loadgroup keeps on one process; `nox -s tests -- -n 0` (the last -n
# wins) runs every test in the one pytest process, as plain `pytest` does.
TESTS_IN_PARALLEL = ("-n", "auto", "--dist", "loadgroup")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the harness, scenarios, tests and this file."""
    session.install(*pins("lint"))
    session.run("ruff", "check", "harness", "scenarios", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Generate masking models, run them on all three backends, shrink and keep what diverges (docs/fuzz.md).

    Posargs go to `python -m harness fuzz`, e.g. `nox -s fuzz -- --budget 10m --seed 0 --out fuzz-out`.
    """
    check_python(session)
    # pip: --versions builds the version envs with pip, and a uv venv has none
    install_project(session, *dict.fromkeys(pins("tensorflow") + pins("jax") + pins("torch")), "pip")
    session.run("python", "-m", "harness", "fuzz", *session.posargs)


# Keras versions (docs/versions.md). Keras 2 is compared like any other run (reports/results); the
# Keras 3 release runs go to reports/versions and feed only the report's across-versions table.
KERAS_RELEASES = ("3.0.5", "3.2.1", "3.3.3", "3.4.1", "3.6.0", "3.8.0", "3.10.0", "3.12.0", "3.15.1")


@nox.session(python=PYTHON)
def keras2(session: nox.Session) -> None:
    """Run the suite under Keras 2 (tf-keras 2.21 on TensorFlow 2.21): reports/versions/tf-keras-2.21-cpu.

    Keras 2 is a point on the version axis, beside the Keras 3 release runs: the report's "Seed
    conclusions across Keras versions" compares it with every Keras 3 run, claim by claim and scenario
    by scenario, while Findings and the matrix stay about backends of one Keras release (docs/versions.md).
    """
    check_python(session)
    install_project(session, *pins("keras2"))
    results = [] if "--results" in session.posargs else ["--results", "reports/versions"]
    session.run("keras-mask-harness", "run", "--backend", "tensorflow", "--label", "tf-keras-2.21-cpu",
                *results, *session.posargs, env={"KERAS_BACKEND": "tensorflow", "TF_USE_LEGACY_KERAS": "1"})
    if not os.environ.get("HARNESS_SKIP_REPORT"):  # the published report picks up reports/versions
        session.notify("report", posargs=report_args(session.posargs) if results == [] else [])


@nox.session(python=PYTHON)
@nox.parametrize("keras, backend", [(k, b) for b in ("torch", "jax", "tensorflow") for k in KERAS_RELEASES])
def versions(session: nox.Session, keras: str, backend: str) -> None:
    """Run the suite on one Keras 3 release in its cached env: reports/versions/keras-<K>-<B>-cpu."""
    check_python(session)
    install_project(session, "pip")  # the version envs are made with pip; a uv venv has none
    session.run("keras-mask-harness", "versions", "run", "--keras", keras, "--backend", backend,
                *session.posargs)


@nox.session(python=PYTHON)
def nightly(session: nox.Session) -> None:
    """The whole suite on the newest keras-nightly build, on all three backends, in the cached version
    envs (reports/versions/keras-nightly-<build>-<backend>-cpu), then the report with its next-Keras
    section. The build is resolved once, so the three backends run the same one; posargs (--select,
    --timeout, --results ...) go to each `versions run`. docs/versions.md."""
    check_python(session)
    install_project(session, "pip")  # the version envs are made with pip; a uv venv has none
    build = session.run("python", "-c", "from harness.versions import envs; print(envs.nightlies()[-1])",
                        silent=True, external=False)
    build = (build or "").strip().splitlines()[-1] if build else ""
    if not build:
        session.error("could not resolve the newest keras-nightly build (no network?)")
    session.log(f"nightly: keras-nightly {build}")
    for backend in ("tensorflow", "jax", "torch"):
        session.run("keras-mask-harness", "versions", "run", "--keras", build, "--backend", backend, "-q",
                    *session.posargs)
    if "--results" not in session.posargs and not os.environ.get("HARNESS_SKIP_REPORT"):
        session.notify("report")


NOX_ENVS = ROOT / ".nox"  # where nox keeps each session's environment


def main_job_python(name: str) -> Path | None:
    """The interpreter of the main job's environment for a backend session (.nox/tf, ...), if built."""
    python = NOX_ENVS / name / "bin" / "python"
    return python if python.exists() else None


@nox.session(python=PYTHON)
def check(session: nox.Session) -> None:
    """Check a saved model on every backend, layer by layer and through training (docs/check.md).

    `nox -s check -- MODEL.keras --inputs INPUTS.npz|random:SEED [--targets Y.npz --fit STEPS] [--out DIR]`:
    one check, one report. Each backend runs in the main job's environment (.nox/tf, .nox/jax,
    .nox/torch) when `nox -s tf jax torch` has built it; only a missing one is built, once, as
    .nox/check-<name>. This session's own environment holds the harness alone (numpy, no backend).
    """
    check_python(session)
    install_project(session, "pip")  # --keras checks in the version envs, made with pip
    flags = []
    for name, (group, backend) in BACKEND_SESSIONS.items():
        python = main_job_python(name)
        if python is None:
            python = NOX_ENVS / f"check-{name}" / "bin" / "python"
            if not python.exists():
                session.run("python", "-m", "venv", str(python.parent.parent))
            hub, *imports = pins("models")
            session.run(str(python), "-m", "pip", "install", "--quiet", *pins(group), *imports, external=True)
            session.run(str(python), "-m", "pip", "install", "--quiet", "--no-deps", hub, external=True)
        else:
            session.log(f"{backend}: the main job's environment {_shown(python.parent.parent)}")
        flags += ["--python", f"{backend}={python}"]
    # Paths in the arguments are the user's: resolved from where nox was run, not from this folder.
    with session.chdir(getattr(session, "invoked_from", ROOT)):
        session.run("keras-mask-harness", "check", *session.posargs, *flags)
