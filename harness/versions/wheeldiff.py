"""The source change behind a bisect: the `keras/src` trees of two adjacent builds, diffed and ranked.

After bisect names the first build that changed (the last good one just before it), the two wheels
are fetched (`pip download --no-deps`, cached beside the environments) and read as zip files: no
install, no import, nothing executed. Files under `keras/src` that differ are ranked by how likely
they are to explain the change the bisected scenario showed, from the class of its first divergent
layer (GRU -> keras/src/layers/rnn/gru.py scores highest) and the kind of change (a mask change makes
files that touch masks score higher). The most relevant file's changed lines are shown as a unified
diff. Test files are listed last: they do not change behaviour.

Pure standard library. Bounded: a wheel over MAX_WHEEL_BYTES, a member over MAX_MEMBER_BYTES or a
download over DOWNLOAD_TIMEOUT_S is an error (one line), never a hang.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_ROOT = "keras/src/"
MAX_WHEEL_BYTES = 64 << 20
MAX_MEMBER_BYTES = 4 << 20
DOWNLOAD_TIMEOUT_S = 300.0
MAX_HUNK_LINES = 80


class WheelError(Exception):
    """A wheel that cannot be fetched or read; one line."""


@dataclass(frozen=True)
class ChangedFile:
    path: str  # keras/src/layers/rnn/gru.py
    status: str  # modified | added | removed
    added: int
    removed: int
    score: float
    why: tuple[str, ...]  # what made it relevant, for the reader


@dataclass
class SourceDiff:
    old: str  # the wheel names: keras_nightly-3.16.0.dev2026101904-py3-none-any.whl
    new: str
    files: list[ChangedFile] = field(default_factory=list)  # most relevant first
    hunk: str = ""  # the unified diff of the most relevant file (bounded)

    def lines(self, limit: int = 15) -> list[str]:
        """What bisect prints after its verdict line."""
        out = [f"source change {self.old} -> {self.new}: {len(self.files)} files changed under {SOURCE_ROOT}"]
        for f in self.files[:limit]:
            out.append(f"  {f.score:5.1f}  {f.path} ({f.status}, +{f.added} -{f.removed})"
                       + (f"  [{'; '.join(f.why)}]" if f.why else ""))
        if len(self.files) > limit:
            out.append(f"  ... {len(self.files) - limit} more")
        if self.hunk:
            out += [f"most relevant: {self.files[0].path}", self.hunk.rstrip("\n")]
        return out

    def as_data(self) -> dict:
        return {"old": self.old, "new": self.new, "hunk": self.hunk,
                "files": [{"path": f.path, "status": f.status, "added": f.added, "removed": f.removed,
                           "score": f.score, "why": list(f.why)} for f in self.files]}


def snake(name: str) -> str:
    """GRU -> gru, MultiHeadAttention -> multi_head_attention, GlobalMaxPooling1D -> global_max_pooling1d."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def fetch(package: str, version: str, folder: Path, timeout_s: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """The wheel of package==version, downloaded once into `folder`."""
    stem = package.replace("-", "_")
    cached = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if cached:
        return cached[0]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
               "--disable-pip-version-check", "--no-input", "-d", str(folder), f"{package}=={version}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WheelError(f"downloading {package}=={version} took longer than {timeout_s:g} s") from None
    found = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if done.returncode != 0 or not found:
        errors = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.startswith("ERROR")]
        raise WheelError(f"cannot download {package}=={version}: {(errors or ['no wheel'])[-1][:300]}")
    return found[0]


def _sources(wheel: Path) -> dict[str, str]:
    """The wheel's keras/src Python files as text."""
    if wheel.stat().st_size > MAX_WHEEL_BYTES:
        raise WheelError(f"{wheel.name} is larger than {MAX_WHEEL_BYTES >> 20} MiB")
    try:
        with zipfile.ZipFile(wheel) as archive:
            out = {}
            for info in archive.infolist():
                if not (info.filename.startswith(SOURCE_ROOT) and info.filename.endswith(".py")):
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise WheelError(f"{wheel.name}: {info.filename} is larger than {MAX_MEMBER_BYTES >> 20} MiB")
                out[info.filename] = archive.read(info).decode("utf-8", errors="replace")
            return out
    except (zipfile.BadZipFile, OSError) as exc:
        raise WheelError(f"{wheel.name} is not a readable wheel: {exc}") from None


_CLASS = re.compile(r"^class (\w+)\(([^)]*)\)", re.M)
GENERIC_BASES = {"Layer", "Operation", "Wrapper", "object", "KerasSaveable", "Model"}


def ancestors(sources: dict[str, str], layer_class: str) -> list[str]:
    """The class's Keras base classes, nearest first, read from the wheel's own source (GRU -> [RNN])."""
    bases: dict[str, list[str]] = {}
    for text in sources.values():
        for name, parents in _CLASS.findall(text):
            bases.setdefault(name, [p.strip().rsplit(".", 1)[-1] for p in parents.split(",") if p.strip()])
    found, todo = [], list(bases.get(layer_class, []))
    while todo:
        name = todo.pop(0)
        if name in found or name in GENERIC_BASES or name == layer_class:
            continue
        found.append(name)
        todo += bases.get(name, [])
    return found


def hint_words(text: str) -> list[str]:
    """Identifiers worth looking for in a diff, from an error message: `steps_per_execution`, `PyTorch`."""
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]{5,}", text)
    return sorted({w for w in words if "_" in w or re.search(r"[a-z][A-Z]", w)})


def _score(path: str, before: str, after: str, changed: list[str], layer_class: str,
           mask_change: bool, parents: list[str] = (), hints: list[str] = (),
           backend: str = "") -> tuple[float, tuple[str, ...]]:
    """How likely this file's change explains the scenario's change; the reasons, for the reader."""
    why = []
    score = 0.0
    named = [w for w in hints if any(w in line for line in changed)]
    if named:
        score += 4 + min(len(named), 3)
        why.append(f"changed lines name {', '.join(named[:3])}")
    if backend and f"/backend/{backend}/" in path:
        score += 1.5
        why.append(f"the {backend} backend")
    for depth, parent in enumerate(parents[:3]):
        if re.search(rf"^class {re.escape(parent)}\b", before + after, re.M):
            score += 8 - 2 * depth
            why.append(f"defines {parent}, a base class of {layer_class}")
            break
    name = snake(layer_class) if layer_class else ""
    stem = path.rsplit("/", 1)[-1][:-3]
    if name and stem == name:
        score += 10
        why.append(f"the module of {layer_class}")
    elif name and (name in stem or stem in name and len(stem) > 2):
        score += 5
        why.append(f"named like {layer_class}")
    if layer_class and re.search(rf"\bclass {re.escape(layer_class)}\b", before + after):
        score += 6
        why.append(f"defines {layer_class}")
    text = "\n".join(changed)
    if layer_class and re.search(rf"\b{re.escape(layer_class)}\b", text):
        score += 3
        why.append(f"changed lines name {layer_class}")
    mask_lines = sum(1 for line in changed if "mask" in line.lower())
    if mask_lines:
        score += (3.0 if mask_change else 1.0) + min(mask_lines, 10) * 0.3
        why.append(f"{mask_lines} changed lines about masks")
    if path in (f"{SOURCE_ROOT}layers/layer.py", f"{SOURCE_ROOT}models/functional.py", f"{SOURCE_ROOT}ops/function.py"):
        score += 2
        why.append("every layer's call runs through it")
    if "/rnn/" in path and name in ("gru", "lstm", "simple_rnn", "rnn", "bidirectional", "conv_lstm"):
        score += 2
        why.append("the RNN family")
    if _is_test(path):
        why.append("a test")
    return round(score, 1), tuple(why)


def _is_test(path: str) -> bool:
    return path.endswith("_test.py") or "/testing/" in path


def diff(old_wheel: Path, new_wheel: Path, layer_class: str = "", mask_change: bool = False,
         hints: list[str] = (), backend: str = "") -> SourceDiff:
    """The changed keras/src files, most relevant first, with the most relevant file's hunks.
    `hints`: identifiers from the change (an error message's); `backend`: the bisected backend."""
    old, new = _sources(old_wheel), _sources(new_wheel)
    result = SourceDiff(old_wheel.name, new_wheel.name)
    parents = ancestors(new, layer_class) if layer_class else []
    details = {}
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path, ""), new.get(path, "")
        if before == after:
            continue
        lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), f"a/{path}", f"b/{path}",
                                          lineterm="", n=3))
        changed = [ln[1:] for ln in lines if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
        added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
        removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
        status = "added" if path not in old else "removed" if path not in new else "modified"
        score, why = _score(path, before, after, changed, layer_class, mask_change, parents, hints, backend)
        result.files.append(ChangedFile(path, status, added, removed, score, why))
        details[path] = lines
    result.files.sort(key=lambda f: (_is_test(f.path), -f.score, -(f.added + f.removed), f.path))
    if result.files:
        lines = details[result.files[0].path]
        shown = lines[:MAX_HUNK_LINES]
        more = len(lines) - len(shown)
        result.hunk = "\n".join(shown) + (f"\n... ({more} more diff lines)" if more > 0 else "")
    return result
