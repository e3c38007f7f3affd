"""Runtimes: (Keras version, backend) pairs, their labels and the packages each one needs.

Keras 2 is tf-keras on full TensorFlow (tf-keras requires the `tensorflow` distribution; the
`tensorflow-cpu` wheel does not satisfy it). Keras 3 releases run on a backend chosen per release:
the backend packages come from a base layer shared by every release (see envs.py), and a release
that needs something older (numpy 1.x, an older JAX) gets it in its own layer, listed here.

Pure Python: no numpy, no keras. The pins come from pyproject.toml (`_pin_groups`), never repeated here.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

KERAS2 = "tf-keras"
KERAS3 = "keras"
NIGHTLY = "keras-nightly"  # the daily builds of the next Keras 3 (3.16.0.devYYYYMMDDHH), their own package


def _pin_groups() -> dict[str, list[str]]:
    """pyproject.toml's optional-dependency groups, where the tested pins live (in one place): read from
    the checkout, or, installed, from the package's own metadata (the same groups, as extras)."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == DISTRIBUTION:
            return project["optional-dependencies"]
    groups: dict[str, list[str]] = {}
    try:
        requirements = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        # A runtime's worker: it imports the harness from a folder of links (runs.code_path), without the
        # installed package's metadata, and never builds an environment, so it needs no pins.
        return {}
    for requirement in requirements:
        pin, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra:
            groups.setdefault(extra.group(1), []).append(pin.strip())
    return groups


DISTRIBUTION = "keras-mask-harness"
_GROUPS = _pin_groups()
# The backend layer every Keras 3 release shares: today's tested pins (pyproject's groups without their
# keras pin), the torch wheel being the local CPU build and the most tolerant of old Keras releases.
BASE_PINS: dict[str, tuple[str, ...]] = {
    backend: tuple(p for p in _GROUPS.get(backend, ()) if not p.startswith("keras=="))
    for backend in ("torch", "jax", "tensorflow")}
KERAS2_PINS = tuple(_GROUPS.get("keras2", ()))  # tf-keras, and the full tensorflow it needs
# the newest Keras 2 ("" in a runtime's worker, which has no pins)
KERAS2_VERSION = next((p.split("==", 1)[1] for p in KERAS2_PINS if p.startswith("tf-keras==")), "")


@dataclass(frozen=True)
class Rule:
    """Extra pins for the releases in [since, until): what an old release needs to import."""

    since: str
    until: str
    backend: str  # "*" for every backend
    pins: tuple[str, ...]
    why: str


# Found by installing each release and importing it (docs/versions.md lists the evidence).
RULES: tuple[Rule, ...] = (
    Rule("3.0.0", "3.4.0", "*", ("numpy<2",),
         "Keras before 3.4 was written for numpy 1 (3.4.0 is the first tested with numpy 2)"),
    Rule("3.0.0", "3.4.0", "*", ("packaging",),
         "Keras before 3.4 imports packaging (keras/src/utils/torch_utils.py) without declaring it"),
    Rule("3.0.0", "3.4.0", "jax", ("jax[cpu]==0.4.30",),
         "jax 0.10 needs numpy 2 (numpy.dtypes.StringDType); 0.4.30 is the last jax built for numpy 1"),
)


def parse(version: str) -> tuple[int, ...]:
    """'3.3.3' -> (3, 3, 3); refuses pre-releases and anything not dotted digits."""
    if not re.fullmatch(r"\d+(\.\d+){0,3}", version or ""):
        raise ValueError(f"not a release version: {version!r} (expected digits and dots, e.g. 3.3.3)")
    return tuple(int(p) for p in version.split("."))


_NIGHTLY_VERSION = re.compile(r"(\d+(?:\.\d+){1,3})\.dev(\d{1,14})")


def is_nightly(version: str) -> bool:
    """'3.16.0.dev2026102704' (a keras-nightly build), not a release."""
    return bool(_NIGHTLY_VERSION.fullmatch(version or ""))


def order_key(version: str) -> tuple:
    """PEP 440 order over releases and nightly builds: 3.15.1 < 3.16.0.dev2026102604 <
    3.16.0.dev2026102704 < 3.16.0 (a .devN build comes before the release it leads to)."""
    found = _NIGHTLY_VERSION.fullmatch(version or "")
    release = parse(found.group(1) if found else version)
    padded = release + (0,) * (4 - len(release))
    return (padded, 0, int(found.group(2))) if found else (padded, 1, 0)


@dataclass(frozen=True)
class Runtime:
    flavour: str  # KERAS3 or KERAS2
    version: str
    backend: str  # canonical backend name

    def __post_init__(self) -> None:
        if self.flavour == NIGHTLY:
            if not is_nightly(self.version):
                raise ValueError(f"not a keras-nightly build: {self.version!r} (expected e.g. 3.16.0.dev2026102704)")
        else:
            parse(self.version)

    @property
    def short_version(self) -> str:
        """Keras 2 labels carry major.minor (tf-keras-2.21), Keras 3 labels the full release."""
        return ".".join(self.version.split(".")[:2]) if self.flavour == KERAS2 else self.version

    def label(self, device: str = "cpu") -> str:
        """The artifact label: tf-keras-2.21-cpu, keras-3.3.3-torch-cpu,
        keras-nightly-3.16.0.dev2026102704-torch-cpu (matches LABEL_RE)."""
        if self.flavour == KERAS2:
            return f"{KERAS2}-{self.short_version}-{device}"
        return f"{self.flavour}-{self.version}-{self.backend}-{device}"  # keras-nightly-3.16.0.dev...

    @property
    def env_name(self) -> str:
        return f"{self.flavour}-{self.version}-{self.backend}"

    def base_pins(self) -> tuple[str, ...]:
        return KERAS2_PINS[1:] if self.flavour == KERAS2 else BASE_PINS[self.backend]

    def pins(self) -> tuple[str, ...]:
        """What this runtime's own layer installs on top of its base (a nightly pins its exact build)."""
        if self.flavour == KERAS2:
            return KERAS2_PINS[:1]
        key = order_key(self.version)
        extra = [p for r in RULES if r.backend in ("*", self.backend)
                 and order_key(r.since) <= key < order_key(r.until) for p in r.pins]
        return (f"{self.flavour}=={self.version}", *extra)

    def environ(self) -> dict[str, str]:
        """Variables the run needs: the backend, and TensorFlow's switch to Keras 2."""
        env = {"KERAS_BACKEND": self.backend}
        if self.flavour == KERAS2:
            env["TF_USE_LEGACY_KERAS"] = "1"
        return env


def keras2() -> Runtime:
    return Runtime(KERAS2, KERAS2_VERSION, "tensorflow")


def keras3(version: str, backend: str) -> Runtime:
    if parse(version)[0] != 3:
        raise ValueError(f"keras {version} is not a Keras 3 release (Keras 2 is the tf-keras runtime)")
    return Runtime(KERAS3, version, backend)


def nightly(version: str, backend: str) -> Runtime:
    return Runtime(NIGHTLY, version, backend)


def for_version(version: str, backend: str) -> Runtime:
    """A Keras 3 release or a nightly build, by its version string."""
    return nightly(version, backend) if is_nightly(version) else keras3(version, backend)


def from_label(label: str) -> Runtime | None:
    """The runtime a version-run label names, or None for the main runs (tensorflow-cpu, ...)."""
    m = re.fullmatch(rf"{NIGHTLY}-(\d+(?:\.\d+)+\.dev\d+)-(tensorflow|jax|torch)-\w+", label)
    if m:
        return Runtime(NIGHTLY, m.group(1), m.group(2))
    m = re.fullmatch(r"keras-(\d+(?:\.\d+)+)-(tensorflow|jax|torch)-\w+", label)
    if m:
        return Runtime(KERAS3, m.group(1), m.group(2))
    m = re.fullmatch(rf"{KERAS2}-(\d+(?:\.\d+)+)-\w+", label)
    return Runtime(KERAS2, m.group(1), "tensorflow") if m else None
