"""What a --keras value names: a Keras 3 release or keras-nightly build on the package index, or
Keras 2; as a Runtime. Shared by `versions`, `bisect`, `check --keras` and `fuzz` across versions."""

from __future__ import annotations

from harness.run import backends
from harness.versions import envs, runtimes

KERAS2_NAMES = ("2", "tf-keras", "keras2", runtimes.KERAS2_VERSION)


class VersionsError(Exception):
    """Bad input to a versions command; printed as one `harness: error:` line, exit 2."""


NIGHTLY_WORD = "nightly"


def runtime_for(keras: str, backend: str) -> runtimes.Runtime:
    """The runtime a --keras value names; a release or nightly build must be on the index."""
    backend = backends.canonical(backend)
    if keras.lower() in KERAS2_NAMES:
        if backend != "tensorflow":
            raise VersionsError(f"Keras 2 (tf-keras) runs on TensorFlow only, not on {backend}")
        return runtimes.keras2()
    try:
        return runtimes.for_version(resolve(keras, "--keras"), backend)
    except envs.EnvError as exc:  # the index cannot be read: bad input for whoever asked (check, run)
        raise VersionsError(str(exc)) from None


def resolve(version: str, flag: str) -> str:
    """A release or nightly build that exists on the index; 'nightly' becomes the newest build."""
    if version.lower() == NIGHTLY_WORD:
        builds = envs.nightlies()
        if not builds:
            raise VersionsError(f"{flag} nightly: the package index lists no keras-nightly build")
        return builds[-1]
    if runtimes.is_nightly(version):
        builds = envs.nightlies()
        if version not in builds:
            raise VersionsError(f"{flag} {version}: not a keras-nightly build on the package index "
                                f"(newest: {builds[-1] if builds else 'none'}; see `harness versions list`)")
        return version
    try:
        runtimes.keras3(version, "torch")  # a release, of Keras 3 (the backend does not matter here)
    except ValueError as exc:
        if "not a Keras 3 release" in str(exc):  # a Keras 2 version: say so
            raise
        raise VersionsError(f"{flag} {version}: not a release version (such as 3.15.1), a nightly build "
                            f"(such as 3.16.0.dev2026102704) or 'nightly'") from None
    return _release(version, envs.releases(), flag)


def _release(version: str, available: list[str], flag: str) -> str:
    runtimes.parse(version)
    if version not in available:
        raise VersionsError(f"{flag} {version}: not a Keras 3 release on the package index "
                            f"(available: {available[0]} .. {available[-1]})")
    return version
