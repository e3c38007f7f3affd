"""`pip install .` gives a working `keras-mask-harness` command that ships the suite (issue 14).

The project is built into a wheel from a copy of the checkout (what git tracks or would track) and
installed without dependencies into an empty venv that borrows this interpreter's site-packages for
numpy. The command then runs from a folder that has no `harness` or `scenarios` in it, so everything
it finds must come from the install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import harness

# Not a backend, but as slow as one (a wheel built and installed, ~15 s on a shared 2-core machine): the
# tests that install run with the backend tests, in `nox -s tests` and CI, not in the quick loop.
slow = pytest.mark.backend

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("harness", "scenarios")  # the packages the wheel must carry, data files included


def test_console_script_is_main_with_the_workers_kept_on_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from harness import __main__ as cli

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"keras-mask-harness": "harness.__main__:console"}
    monkeypatch.setenv("PYTHONSAFEPATH", "")  # recorded, so what console() sets is undone afterwards
    monkeypatch.delenv("PYTHONSAFEPATH")
    monkeypatch.setattr(cli, "main", lambda: os.environ.get("PYTHONSAFEPATH") == "1" and 7)
    assert cli.console() == 7


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from harness import __main__ as cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"keras-mask-harness {harness.__version__}\n"


@pytest.fixture(scope="module")
def sources() -> list[str]:
    """The checkout's files as git sees them (tracked, or new and not ignored), listed once."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def project(sources: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the checkout: what the wheel is built from and compared with."""
    copy = tmp_path_factory.mktemp("project")
    for name in sources:
        if name.split("/")[0] in SHIPPED or "/" not in name:
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.fixture(scope="module")
def wheel(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built without isolation (no download in the test), so setuptools must be installed; looked up, not
    # imported: importing it here after another test imported the stdlib distutils trips its distutils hack
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("needs setuptools")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(project)], check=True, timeout=300, capture_output=True)
    (built,) = out.glob("keras_mask_harness-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only the project installed; numpy comes from this interpreter's site-packages."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=300, capture_output=True)
    own = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    # after the venv's own site-packages, so the installed harness wins over any on this interpreter's path
    (Path(own) / "zz_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}


def _command(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(env_dir / "bin" / "keras-mask-harness"), *args], cwd=cwd, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)


@slow
def test_wheel_ships_every_file_of_the_harness_and_the_suite(sources: list[str], wheel: Path) -> None:
    expected = {name for name in sources if name.split("/")[0] in SHIPPED}
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert expected - shipped == set(), "in the checkout but not in the wheel"
    assert any(name.startswith("scenarios/") and name.endswith(".toml") for name in shipped)
    entry_points = next(n for n in shipped if n.endswith(".dist-info/entry_points.txt"))
    assert "keras-mask-harness = harness.__main__:console" in zipfile.ZipFile(wheel).read(entry_points).decode()


@slow
def test_installed_command_has_version_and_lists_the_suite_from_anywhere(installed: Path, project: Path,
                                                                         tmp_path: Path) -> None:
    version = _command(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"keras-mask-harness {harness.__version__}"

    listed = _command(installed, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    in_checkout = subprocess.run([sys.executable, "-m", "harness", "list"], cwd=project, env=_clean_env(),
                                 capture_output=True, text=True, timeout=120)
    assert in_checkout.returncode == 0, in_checkout.stderr
    assert listed.stdout.splitlines()[-1] == in_checkout.stdout.splitlines()[-1]  # "N scenarios", same N
    assert "seed/rnn-model" in listed.stdout

    # the same subcommands as `python -m harness`: report runs, and says there is nothing to report
    reported = _command(installed, "report", "--results", str(tmp_path / "none"), cwd=tmp_path)
    assert reported.returncode == 2
    assert reported.stderr.startswith("harness: error: no artifacts in")


PARENT = """
import subprocess, sys
from harness import __main__ as cli
CHILD = ("import harness, scenarios; from harness.compare import known; "
         "print(harness.__file__); print(scenarios.__file__); print(known.DEFAULT_KNOWN)")
cli.main = lambda: subprocess.run([sys.executable, "-c", CHILD]).returncode  # a child, as `run` starts
sys.exit(cli.console())
"""


@slow
def test_the_command_and_the_processes_it_starts_import_the_install(installed: Path, tmp_path: Path) -> None:
    # A `harness` folder in the current directory (a checkout of another version, say) must not shadow
    # the install: the workers are started as `python -m harness`, which would put that folder first.
    cwd = tmp_path / "elsewhere"
    (cwd / "harness").mkdir(parents=True)
    (cwd / "harness" / "__init__.py").write_text("raise SystemExit('imported the harness in the cwd')\n")
    (tmp_path / "parent.py").write_text(PARENT)
    result = subprocess.run([str(installed / "bin" / "python"), "-P", str(tmp_path / "parent.py")], cwd=cwd,
                            env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    harness_file, scenarios_file, known = map(Path, result.stdout.splitlines())
    assert harness_file.is_relative_to(installed) and scenarios_file.is_relative_to(installed)
    assert known.is_file() and known.is_relative_to(installed)  # the report's default registry
