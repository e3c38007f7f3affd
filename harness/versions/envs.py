"""One cached virtual environment per runtime, built in two layers so a release costs seconds.

    <cache>/base-<backend>-<hash>/     the backend packages (torch, jax, tensorflow): built once
    <cache>/<flavour>-<version>-<backend>/   keras==<version> (+ the release's own pins), whose
                                      site-packages sees the base through a .pth file

A layer is complete when its `harness-env.json` names the pins it was built with; anything else in
the cache (a build cut short) is removed and rebuilt. A second bisect over the same releases
therefore installs nothing. The cache lives under $HARNESS_ENV_CACHE, else
$XDG_CACHE_HOME/keras-mask-harness/envs, else ~/.cache/keras-mask-harness/envs.

Pure standard library: pip does the installing, in a subprocess with a time limit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

from harness.versions.runtimes import KERAS2, NIGHTLY, Runtime, is_nightly, order_key, parse

MARKER = "harness-env.json"
INSTALL_TIMEOUT_S = 1800.0  # a cold TensorFlow or torch download; a stuck index fails before
INDEX_TIMEOUT_S = 60.0


class EnvError(Exception):
    """An environment that cannot be built or a release list that cannot be read; one line."""


def cache_root() -> Path:
    explicit = os.environ.get("HARNESS_ENV_CACHE")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "keras-mask-harness" / "envs"


def _python(env: Path) -> Path:
    return env / "bin" / "python"


def _site_packages(env: Path) -> Path:
    return env / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _complete(env: Path, pins: list[str]) -> bool:
    try:
        return json.loads((env / MARKER).read_text()).get("pins") == pins and _python(env).exists()
    except (OSError, ValueError):
        return False


def _pip(python: Path, args: list[str], log: Callable[[str], None]) -> None:
    command = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
               "--no-input", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise EnvError(f"pip install {' '.join(args[1:])} took longer than {INSTALL_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        raise EnvError(f"pip could not install {' '.join(a for a in args if '=' in a or '<' in a)}: "
                       f"{_last_error(done.stderr or done.stdout)}")


def _last_error(text: str) -> str:
    """pip's own one-line reason (its ERROR: lines), without the warning noise of the mirrors."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1][:300]


def _build(env: Path, pins: list[str], log: Callable[[str], None], base: Path | None) -> None:
    if env.exists():
        shutil.rmtree(env)  # an incomplete layer from an interrupted build
    log(f"building {env.name}: {' '.join(pins)}")
    try:
        venv.EnvBuilder(with_pip=False, symlinks=True).create(env)
        if base is not None:  # the base's packages, after this layer's own on sys.path
            (_site_packages(env) / "_harness_base.pth").write_text(str(_site_packages(base)) + "\n")
        _pip(_python(env), ["install", "--quiet", *pins], log)
        (env / MARKER).write_text(json.dumps({"pins": pins}) + "\n")
    except BaseException:
        shutil.rmtree(env, ignore_errors=True)  # never leave a half-built layer that looks usable
        raise


def _base_env(runtime: Runtime, log: Callable[[str], None]) -> Path:
    pins = list(runtime.base_pins())
    digest = hashlib.sha256(" ".join(pins).encode()).hexdigest()[:10]
    env = cache_root() / f"base-{runtime.backend}-{digest}"
    if not _complete(env, pins):
        _build(env, pins, log, base=None)
    return env


def ensure(runtime: Runtime, log: Callable[[str], None] = print) -> Path:
    """The runtime's python, building (or completing) its layers only when missing."""
    env = cache_root() / runtime.env_name
    pins = list(runtime.pins())
    if _complete(env, pins):
        return _python(env)
    cache_root().mkdir(parents=True, exist_ok=True)
    base = _base_env(runtime, log)
    _build(env, pins, log, base=base)
    return _python(env)


def is_cached(runtime: Runtime) -> bool:
    return _complete(cache_root() / runtime.env_name, list(runtime.pins()))


def import_problem(runtime: Runtime) -> str | None:
    """What the last recorded import check in this runtime's environment said: None (not checked
    yet), '' (keras imports: no need to check again), or the error's last line."""
    try:
        return json.loads((cache_root() / runtime.env_name / MARKER).read_text()).get("import")
    except (OSError, ValueError):
        return None


def record_import(runtime: Runtime, problem: str) -> None:
    marker = cache_root() / runtime.env_name / MARKER
    data = json.loads(marker.read_text())
    marker.write_text(json.dumps({**data, "import": problem}) + "\n")


def remove(runtime: Runtime) -> None:
    shutil.rmtree(cache_root() / runtime.env_name, ignore_errors=True)


def _index_versions(package: str, timeout_s: float, pre: bool = False) -> list[str]:
    """Every version of `package` pip's index lists (in the index's order)."""
    command = [sys.executable, "-m", "pip", "index", "versions", package, "--disable-pip-version-check",
               *(["--pre"] if pre else [])]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise EnvError(f"the package index did not list {package} versions within {timeout_s:g} s "
                       f"(no network?)") from None
    found = re.search(r"Available versions:\s*(.+)", done.stdout)
    if done.returncode != 0 or not found:
        raise EnvError(f"cannot list {package} versions from the package index (no network?): "
                       f"{_last_error(done.stderr or done.stdout)}")
    return [v.strip() for v in found.group(1).split(",")]


def releases(flavour_major: int = 3, timeout_s: float = INDEX_TIMEOUT_S) -> list[str]:
    """Every final keras release with this major version, oldest first, from pip's index."""
    versions = _index_versions("keras", timeout_s)
    chosen = [v for v in versions if re.fullmatch(r"\d+(\.\d+)+", v) and parse(v)[0] == flavour_major]
    return sorted(chosen, key=parse)


def nightlies(flavour_major: int = 3, timeout_s: float = INDEX_TIMEOUT_S) -> list[str]:
    """Every keras-nightly build with this major version (3.16.0.devYYYYMMDDHH), oldest first."""
    versions = _index_versions(NIGHTLY, timeout_s, pre=True)
    chosen = [v for v in versions if is_nightly(v) and order_key(v)[0][0] == flavour_major]
    return sorted(chosen, key=order_key)


def describe(runtime: Runtime) -> str:
    if runtime.flavour == KERAS2:
        return f"tf-keras {runtime.version}"
    return f"{runtime.flavour} {runtime.version} on {runtime.backend}"  # keras-nightly 3.16.0.dev...
