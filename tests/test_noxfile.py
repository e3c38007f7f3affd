"""noxfile.py's logic, with nox's side faked: which Python the sessions use, what an unsupported one
says, and that the main job fails when a backend session it was asked for wrote no artifact."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nox")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def noxfile() -> Iterator[Any]:
    import nox.registry

    # nox's session registry is global: another test that loads the noxfile registers the same names
    # (nox warns now, and says it will refuse later). Load into an empty one; leave it empty.
    nox.registry.reset()
    spec = importlib.util.spec_from_file_location("harness_noxfile", ROOT / "noxfile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    nox.registry.reset()
    sys.modules.pop(spec.name, None)


class SessionFailed(Exception):
    pass


class FakeSession:
    """The part of nox.Session the noxfile uses; `run` of the harness command calls `harness_run`."""

    def __init__(self, tmp: Path, posargs: list[str], python_version: str = "3.12", harness_run=None) -> None:
        self.tmp, self.posargs, self.python = tmp, posargs, None
        self.python_version, self.harness_run = python_version, harness_run
        self.notified: list[str] = []
        self.installed: list[tuple[str, ...]] = []
        self.ran: list[tuple[str, ...]] = []
        self.logged: list[str] = []

    def create_tmp(self) -> str:
        return str(self.tmp)

    def install(self, *args: str) -> None:
        self.installed.append(args)

    def notify(self, name: str, posargs: list[str] | None = None) -> None:
        self.notified.append(name)

    def log(self, message: str) -> None:
        self.logged.append(message)

    def error(self, message: str) -> None:
        raise SessionFailed(message)

    def run(self, *args: str, **kwargs: Any) -> str | None:
        self.ran.append(args)
        if args[0] == "python":  # check_python asks the venv's interpreter for its version
            return self.python_version + "\n"
        if self.harness_run:
            self.harness_run(args)
        return None


# --- which Python ----------------------------------------------------------------------------------

def test_supported_pythons_are_those_of_every_pin(noxfile: Any) -> None:
    assert noxfile.SUPPORTED_PYTHONS == ("3.11", "3.12", "3.13")
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert floor == ">=" + noxfile.SUPPORTED_PYTHONS[0]


@pytest.mark.parametrize("running", ["3.11", "3.12", "3.13"])
def test_nox_own_python_is_used_when_supported_without_looking_for_others(noxfile: Any, running: str) -> None:
    looked: list[str] = []
    choice = noxfile.choose_python(running, lambda v: looked.append(v) or "/usr/bin/python" + v)
    assert choice.python is None and choice.note is None  # None: nox's own interpreter
    assert looked == []


def test_unsupported_nox_python_falls_back_to_the_newest_supported_one_found(noxfile: Any) -> None:
    found = {"3.11": "/opt/py311/bin/python3.11", "3.12": "/opt/py312/bin/python3.12"}
    choice = noxfile.choose_python("3.14", found.get)
    assert choice.python == "3.12"
    assert "3.14" in choice.note and "/opt/py312/bin/python3.12" in choice.note


def test_unsupported_nox_python_with_none_found_stays_put_so_the_check_fails_it(noxfile: Any) -> None:
    looked: list[str] = []
    choice = noxfile.choose_python("3.10", lambda v: looked.append(v))
    assert choice.python is None
    assert looked == ["3.13", "3.12", "3.11"]  # newest first


def test_advice_is_one_line_with_every_version_and_a_way_to_get_one(noxfile: Any) -> None:
    advice = noxfile.python_advice("3.14")
    assert "\n" not in advice
    assert "Python 3.14" in advice and "3.11, 3.12, 3.13" in advice
    assert "pyenv install" in advice and "nox -P" in advice


@pytest.mark.parametrize("version", ["3.10", "3.14", "3.9"])
def test_check_python_fails_a_session_on_an_unsupported_interpreter(noxfile: Any, tmp_path: Path,
                                                                     version: str) -> None:
    session = FakeSession(tmp_path, [], python_version=version)
    with pytest.raises(SessionFailed, match=re.escape(f"Python {version} cannot run the pinned backends")):
        noxfile.check_python(session)


def test_check_python_passes_a_supported_interpreter(noxfile: Any, tmp_path: Path) -> None:
    noxfile.check_python(FakeSession(tmp_path, [], python_version="3.13"))


def test_missing_interpreters_are_errors_not_skips(noxfile: Any) -> None:
    import nox

    assert nox.options.error_on_missing_interpreters is True


# --- what the main job produced ------------------------------------------------------------------

def test_outcome_lists_artifacts_and_report_and_passes_when_every_backend_wrote_one(noxfile: Any) -> None:
    written = {"tf": ["reports/results/tensorflow-cpu.json"], "jax": ["reports/results/jax-cpu.json"]}
    merged = ["reports/results/jax-cpu.json", "reports/results/tensorflow-cpu.json", "reports/results/torch-cpu.json"]
    lines, ok = noxfile.main_job_outcome(["tf", "jax"], written, merged, "reports/report.md")
    assert ok
    assert lines[0] == "tf: wrote reports/results/tensorflow-cpu.json"
    assert "report: reports/report.md, merged from 3 artifact(s)" in lines[-1]
    assert "older than this run: reports/results/torch-cpu.json" in lines[-1]


def test_outcome_fails_when_a_backend_asked_for_wrote_nothing_even_with_an_old_artifact(noxfile: Any) -> None:
    written = {"tf": ["reports/results/tensorflow-cpu.json"], "torch": []}
    merged = ["reports/results/tensorflow-cpu.json", "reports/results/torch-cpu.json"]  # torch's is old
    lines, ok = noxfile.main_job_outcome(["tf", "jax", "torch"], written, merged, "reports/report.md")
    assert not ok
    assert "jax: wrote NO artifact" in lines and "torch: wrote NO artifact" in lines
    assert lines[-1].startswith("main job FAILED: jax, torch wrote no artifact")


def test_written_since_sees_new_and_rewritten_artifacts_only(noxfile: Any, tmp_path: Path) -> None:
    for name in ("old", "rewritten"):
        (tmp_path / f"{name}.json").write_text("{}")
        os.utime(tmp_path / f"{name}.json", ns=(1_000_000_000, 1_000_000_000))
    before = noxfile.artifact_stamps(tmp_path)
    (tmp_path / "rewritten.json").write_text("{}")
    (tmp_path / "new.json").write_text("{}")
    (tmp_path / "new.npz").write_text("")  # the arrays travel with the json; the json names the artifact
    written = noxfile.written_since(before, noxfile.artifact_stamps(tmp_path))
    assert [Path(p).name for p in written] == ["new.json", "rewritten.json"]
    assert noxfile.artifact_stamps(tmp_path / "absent") == {}


def test_option_finds_the_results_folder_among_posargs(noxfile: Any) -> None:
    assert noxfile.option(["-q", "--select", "seed/*", "--results", "/tmp/r"], "--results", "reports/results") \
        == Path("/tmp/r")
    assert noxfile.option(["-q"], "--results", "reports/results") == ROOT / "reports" / "results"


def test_a_run_into_its_own_results_folder_gets_its_report_beside_it(noxfile: Any) -> None:
    assert noxfile.report_args(["-q", "--select", "seed/*"]) == []  # the published report/results
    assert noxfile.report_args(["--results=/tmp/ci/results", "-q"]) == [
        "--results", "/tmp/ci/results", "--out", "/tmp/ci/report.md", "--json", "/tmp/ci/summary.json"]


@pytest.fixture
def main_job(noxfile: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    job = noxfile.MainJob()
    monkeypatch.setattr(noxfile, "MAIN_JOB", job)
    monkeypatch.setattr(noxfile, "install_project", lambda session, *requirements: session.install(*requirements))
    monkeypatch.delenv("HARNESS_SKIP_REPORT", raising=False)
    return job


def _writes_artifact(results: Path, label: str):
    def run(args: tuple[str, ...]) -> None:
        results.mkdir(parents=True, exist_ok=True)
        (results / f"{label}.json").write_text("{}")
    return run


def test_backend_session_that_writes_no_artifact_fails_and_the_report_fails_the_main_job(
        noxfile: Any, main_job: Any, tmp_path: Path) -> None:
    results = tmp_path / "results"
    args = ["--results", str(results), "-q"]
    tf = FakeSession(tmp_path, args, harness_run=_writes_artifact(results, "tensorflow-cpu"))
    noxfile.tf(tf)
    assert tf.notified == ["report"] and ("keras-mask-harness", "run", "--backend", "tensorflow", *args) in tf.ran
    jax = FakeSession(tmp_path, args, harness_run=lambda run_args: None)  # exits 0, writes nothing
    with pytest.raises(SessionFailed, match="wrote no artifact"):
        noxfile.jax(jax)
    assert jax.notified == ["report"]  # queued before it failed: the report still says what happened

    report = FakeSession(tmp_path, ["--results", str(results), "--out", str(tmp_path / "report.md")])
    with pytest.raises(SessionFailed, match="main job FAILED: jax wrote no artifact"):
        noxfile.report(report)
    assert any(run[:2] == ("keras-mask-harness", "report") for run in report.ran)  # tf's artifact is reported
    assert f"tf: wrote {noxfile._shown(results / 'tensorflow-cpu.json')}" in report.logged


def test_report_is_not_rebuilt_from_old_artifacts_when_no_backend_wrote_one(noxfile: Any, main_job: Any,
                                                                           tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "torch-cpu.json").write_text("{}")  # from an earlier run
    torch = FakeSession(tmp_path, ["--results", str(results)], python_version="3.14")
    with pytest.raises(SessionFailed, match="Python 3.14 cannot run"):
        noxfile.torch(torch)
    assert torch.ran == [torch.ran[0]]  # only the version check ran: no install, no suite
    report = FakeSession(tmp_path, ["--results", str(results)])
    with pytest.raises(SessionFailed, match="main job FAILED: torch wrote no artifact"):
        noxfile.report(report)
    assert report.ran == [] and report.installed == []  # nothing to build: not even an install
    assert "report: not rebuilt (no backend session wrote an artifact)" in report.logged


def test_report_alone_just_rebuilds(noxfile: Any, main_job: Any, tmp_path: Path) -> None:
    report = FakeSession(tmp_path, [])
    noxfile.report(report)
    # the published report was rebuilt, so README's generated block follows it
    assert report.ran == [("keras-mask-harness", "report"), ("keras-mask-harness", "readme")]
    assert report.logged == []


def test_report_elsewhere_leaves_readme_alone(noxfile: Any, main_job: Any, tmp_path: Path) -> None:
    report = FakeSession(tmp_path, ["--results", "/tmp/x/results", "--out", "/tmp/x/report.md"])
    noxfile.report(report)
    assert [run[:2] for run in report.ran] == [("keras-mask-harness", "report")]


def test_a_reused_venv_under_no_install_still_gets_the_checkout(noxfile: Any, tmp_path: Path) -> None:
    from types import SimpleNamespace

    fresh = FakeSession(tmp_path, [])
    noxfile.install_project(fresh, "keras==3.15.1")
    assert fresh.ran == []  # session.install did it
    reused = FakeSession(tmp_path, [])
    reused._runner = SimpleNamespace(global_config=SimpleNamespace(no_install=True),
                                     venv=SimpleNamespace(_reused=True))
    noxfile.install_project(reused, "keras==3.15.1")
    (pip,) = reused.ran
    assert pip[:4] == ("python", "-m", "pip", "install") and "--no-deps" in pip


def _reused_uv_session(noxfile: Any, tmp_path: Path, venv: Path) -> FakeSession:
    from types import SimpleNamespace

    session = FakeSession(tmp_path, [])
    session.venv_backend, session.bin, session.env = "uv", str(venv / "bin"), {}
    session.virtualenv = SimpleNamespace(location=str(venv))
    session._runner = SimpleNamespace(global_config=SimpleNamespace(no_install=True, install_only=False),
                                      venv=SimpleNamespace(_reused=True))
    return session


@pytest.fixture
def builds(noxfile: Any, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The wheel builds install_project starts (each writes a wheel where it was asked to), in order."""
    started: list[list[str]] = []

    def run(command: list[str], **kwargs: Any) -> Any:
        from types import SimpleNamespace

        started.append(command)
        flag = "--out-dir" if "--out-dir" in command else "--wheel-dir"
        out = Path(command[command.index(flag) + 1])
        (out / "keras_mask_harness-0.1.0-py3-none-any.whl").write_text(str(len(started)))
        return SimpleNamespace(returncode=0, stderr="", stdout="")

    monkeypatch.setattr(noxfile.subprocess, "run", run)
    return started


def test_nox_r_skips_the_reinstall_only_while_the_checkout_is_unchanged(noxfile: Any, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         builds: list) -> None:
    checkout = tmp_path / "checkout"
    for name in ("harness/run/a.py", "scenarios/b.py", "scenarios/data/saving/c.keras", "pyproject.toml",
                 "README.md", "harness/__pycache__/a.cpython-311.pyc"):
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(name)
    monkeypatch.setattr(noxfile, "ROOT", checkout)
    venv = tmp_path / "venv"
    venv.mkdir()
    first = _reused_uv_session(noxfile, tmp_path, venv)
    noxfile.install_project(first)  # no mark yet: reinstalled, and the copy's hash recorded
    assert [run[:3] for run in first.ran] == [("uv", "pip", "install")]
    assert noxfile.installed_digest(first) == noxfile.source_digest(checkout)
    again = _reused_uv_session(noxfile, tmp_path, venv)
    noxfile.install_project(again)
    assert again.ran == [] and "not reinstalled" in again.logged[-1]
    (checkout / "harness/__pycache__/a.cpython-311.pyc").write_text("byte code is not source")
    for change in (lambda: (checkout / "scenarios/data/saving/c.keras").write_text("new archive"),
                   lambda: (checkout / "harness/run/new.py").write_text(""),
                   lambda: (checkout / "harness/run/a.py").rename(checkout / "harness/run/moved.py"),
                   lambda: (checkout / "pyproject.toml").write_text("[project]")):
        change()
        session = _reused_uv_session(noxfile, tmp_path, venv)
        noxfile.install_project(session)
        assert [run[:3] for run in session.ran] == [("uv", "pip", "install")], "changed: reinstalled"
        again = _reused_uv_session(noxfile, tmp_path, venv)
        noxfile.install_project(again)
        assert again.ran == []


def test_the_project_wheel_is_built_once_per_source_for_every_session(noxfile: Any, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      builds: list) -> None:
    checkout = tmp_path / "checkout"
    for name in ("harness/a.py", "scenarios/b.py", "pyproject.toml", "README.md"):
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text("A = 1\n")
    monkeypatch.setattr(noxfile, "ROOT", checkout)
    envs = tmp_path / ".nox"
    sessions = []
    for name in ("tf", "jax", "torch", "report"):
        (envs / name).mkdir(parents=True)
        sessions.append(_reused_uv_session(noxfile, tmp_path / name, envs / name))
        (tmp_path / name).mkdir()
        noxfile.install_project(sessions[-1])
    assert len(builds) == 1 and builds[0][:3] == ["uv", "build", "--wheel"]
    (wheel,) = (envs / noxfile.WHEELS).glob("*/*.whl")
    for session in sessions:  # each session installed that one wheel
        (install,) = session.ran
        assert install[:3] == ("uv", "pip", "install") and install[-1] == str(wheel)
    (checkout / "harness" / "a.py").write_text("A = 2\n")
    session = _reused_uv_session(noxfile, tmp_path / "tf", envs / "tf")
    noxfile.install_project(session)
    assert len(builds) == 2, "another source: another wheel"
    assert session.ran[-1][-1] != str(wheel)


def test_a_failed_wheel_build_fails_the_session_in_one_line(noxfile: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    monkeypatch.setattr(noxfile.subprocess, "run", lambda command, **kwargs: SimpleNamespace(
        returncode=1, stderr="Traceback ...\nerror: setuptools could not be found", stdout=""))
    (tmp_path / "venv").mkdir()
    session = _reused_uv_session(noxfile, tmp_path, tmp_path / "venv")
    with pytest.raises(SessionFailed, match="^building the project's wheel failed: error: setuptools could not"):
        noxfile.install_project(session)
    assert session.ran == [] and not list((tmp_path / noxfile.WHEELS).glob("*/*.whl"))


def test_a_failed_reinstall_leaves_no_mark(noxfile: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           builds: list) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / noxfile.INSTALLED_MARK).write_text("an older checkout\n")
    session = _reused_uv_session(noxfile, tmp_path, venv)

    def fails(*args: str, **kwargs: Any) -> None:
        raise SessionFailed("uv failed")

    session.run = fails
    with pytest.raises(SessionFailed):
        noxfile.install_project(session)
    assert noxfile.installed_digest(session) is None


def test_sessions_keep_their_byte_code_in_the_venv(noxfile: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    session = _reused_uv_session(noxfile, tmp_path, tmp_path / "venv")
    noxfile.keep_bytecode(session)
    assert session.env == {"PYTHONPYCACHEPREFIX": str(tmp_path / "venv" / "pycache"), "PYTHONDONTWRITEBYTECODE": ""}
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", "/mine")
    session = _reused_uv_session(noxfile, tmp_path, tmp_path / "venv")
    noxfile.keep_bytecode(session)
    assert session.env == {"PYTHONDONTWRITEBYTECODE": ""}  # the user's prefix is inherited


def test_backend_session_in_a_ci_matrix_leg_does_not_queue_the_report(noxfile: Any, main_job: Any,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_SKIP_REPORT", "1")
    results = tmp_path / "results"
    jax = FakeSession(tmp_path, ["--results", str(results)], harness_run=_writes_artifact(results, "jax-cpu"))
    noxfile.jax(jax)
    assert jax.notified == [] and main_job.written["jax"] == [noxfile._shown(results / "jax-cpu.json")]


def test_noxfile_imports_without_tomllib(noxfile: Any) -> None:
    # nox may run on a Python older than the sessions' (3.10 has no tomllib): the file must still load
    # and tell the user what to do instead of failing with an import error.
    source = (ROOT / "noxfile.py").read_text()
    assert not re.search(r"^\s*(import tomllib|from tomllib)", source, re.M)
    assert sys.version_info >= (3, 11)  # these tests themselves run on a supported Python


# --- uv and pytest-xdist (issue 23) --------------------------------------------------------------------

def test_uv_reads_the_package_sources_pip_is_configured_with(noxfile: Any) -> None:
    items = [("global.extra-index-url", "file:///a/simple file:///b/simple"), ("global.find-links", "/old"),
             ("global.constraint", "/etc/c.txt"), (":env:.find-links", "/opt/wheels /more"),
             ("global.cert", "/etc/ca.crt"), ("global.timeout", "60")]
    assert noxfile.uv_settings(items, {}) == {
        "UV_EXTRA_INDEX_URL": "file:///a/simple file:///b/simple", "UV_FIND_LINKS": "/opt/wheels,/more",
        "UV_CONSTRAINT": "/etc/c.txt", "SSL_CERT_FILE": "/etc/ca.crt", "UV_INDEX_STRATEGY": "unsafe-best-match"}
    # what the user set for uv wins; nothing configured: uv's own defaults
    assert "UV_FIND_LINKS" not in noxfile.uv_settings(items, {"UV_FIND_LINKS": "/mine"})
    assert noxfile.uv_settings([], {}) == {}


def test_sessions_prefer_uv_and_fall_back_to_virtualenv(noxfile: Any) -> None:
    assert noxfile.nox.options.default_venv_backend == "uv|virtualenv"


def test_a_reused_uv_venv_under_no_install_gets_the_checkout_with_uv(noxfile: Any, tmp_path: Path) -> None:
    from types import SimpleNamespace

    reused = FakeSession(tmp_path, [])
    reused.venv_backend, reused.bin = "uv", str(tmp_path / "bin")
    reused._runner = SimpleNamespace(global_config=SimpleNamespace(no_install=True, install_only=False),
                                     venv=SimpleNamespace(_reused=True))
    noxfile.install_project(reused, "keras==3.15.1")
    (uv,) = reused.ran
    assert uv[:3] == ("uv", "pip", "install") and "--no-deps" in uv and str(tmp_path / "bin" / "python") in uv


def test_install_only_installs_and_runs_nothing(noxfile: Any, main_job: Any, tmp_path: Path) -> None:
    from types import SimpleNamespace

    session = FakeSession(tmp_path, [], python_version=None)
    session.run = lambda *args, **kwargs: session.ran.append(args)  # nox runs nothing: every run is None
    session._runner = SimpleNamespace(global_config=SimpleNamespace(no_install=False, install_only=True),
                                      venv=SimpleNamespace(_reused=False))
    noxfile.check_python(session)  # no answer is no failure
    noxfile._backend_session(session, "torch")
    assert session.installed and not any(a and a[0] == "keras-mask-harness" for a in session.ran)
    noxfile.report(session)  # the report session installs and judges nothing
    assert session.installed[-1] == tuple(noxfile.pins("report"))
