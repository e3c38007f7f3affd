"""The contract between run and report: one JSON manifest plus one NPZ of arrays per backend run.

Writes are atomic (temporary file in the same folder, then rename), the NPZ before the JSON, so a
reader sees a complete pair or the previous one. Reads never unpickle: `allow_pickle=False`, and a
manifest that does not match its arrays is refused with one line naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness import safety
from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

SCHEMA_VERSION = 1
LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ALLOWED_KINDS = set("biuf")  # bool, signed and unsigned ints, floats: nothing that needs pickle
# Bounds on what a read may take in: a manifest is parsed whole, an NPZ is held whole and unpacked.
MAX_MANIFEST_BYTES = 256 << 20
MAX_NPZ_BYTES = 2 << 30
MAX_UNPACKED_BYTES = 4 << 30  # the arrays an NPZ's members declare, all together (zip bombs)


class ArtifactError(Exception):
    """An artifact that cannot be used; the message names the file and what to do."""


@dataclass
class ScenarioRecord:
    """One scenario's entry in an artifact: the manifest data plus its arrays."""

    name: str
    status: str  # ok | error | skipped | crashed | timeout
    duration_s: float
    captured: Captured
    meta: dict[str, Any]  # description, tags, hash, expectations, tolerances, extra dimensions


@dataclass
class Artifact:
    label: str
    environment: dict[str, Any]
    records: dict[str, ScenarioRecord]
    path: Path | None = None

    @property
    def backend(self) -> str:
        return self.environment.get("backend", self.label)


def check_label(label: str) -> str:
    """A run label becomes a file name: refuse anything that could leave the results folder."""
    if not LABEL_RE.fullmatch(label):
        raise ArtifactError(f"invalid run label {label!r}: use lower-case letters, digits, '.', '_', '-'")
    return label


def _array_key(scenario: str, probe: str, part: str) -> str:
    return f"{scenario}::{probe}::{part}"


def write(artifact: Artifact, results_dir: Path) -> Path:
    """Write `<label>.npz` then `<label>.json`, each atomically; return the JSON path.

    The JSON is the commit point. Until it is renamed into place, the previous NPZ is kept as a
    hidden `.prev` link, so a crash between the two renames leaves the previous pair readable.
    """
    label = check_label(artifact.label)
    results_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    scenarios = []
    for record in artifact.records.values():
        entry, record_arrays = encode_record(record)
        scenarios.append(entry)
        arrays.update(record_arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    npz_bytes = buffer.getvalue()
    npz_path, previous = results_dir / f"{label}.npz", _previous_npz(results_dir / f"{label}.json")
    if npz_path.is_file():
        previous.unlink(missing_ok=True)
        os.link(npz_path, previous)
    try:
        safety.atomic_write(npz_path, npz_bytes)
    except BaseException:
        previous.unlink(missing_ok=True)  # the old NPZ is still in place: nothing to recover
        raise
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "label": label,
        "environment": artifact.environment,
        "npz_sha256": hashlib.sha256(npz_bytes).hexdigest(),
        "scenarios": scenarios,
    }
    json_path = results_dir / f"{label}.json"
    safety.atomic_write(json_path, json.dumps(manifest, indent=1, sort_keys=True, default=str).encode())
    previous.unlink(missing_ok=True)
    return json_path


def _previous_npz(json_path: Path) -> Path:
    return json_path.parent / f".{json_path.stem}.npz.prev"


def encode_record(record: ScenarioRecord) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One scenario as a manifest entry (JSON-ready) and its arrays; `decode_record` reverses it."""
    arrays: dict[str, np.ndarray] = {}
    probes = []
    for key, probe in record.captured.probes.items():
        arrays[_array_key(record.name, key, "values")] = probe.values
        if probe.mask is not None:
            arrays[_array_key(record.name, key, "mask")] = probe.mask.astype(bool)
        spec = {"key": key, "dtype": probe.dtype, "shape": list(probe.values.shape),
                "has_mask": probe.mask is not None}
        if not probe.mask_readable:  # only then, so artifacts of readable runs are unchanged
            spec["mask_unreadable"] = True
        probes.append(spec)
    error = record.captured.error
    entry = {
        "name": record.name,
        "status": record.status,
        "duration_s": round(record.duration_s, 4),
        "error": None if error is None else
        {"type": error.type, "message": error.message, "traceback": list(error.traceback),
         **({"causes": list(error.causes)} if error.causes else {})},
        "warnings": [{"category": w.category, "message": w.message} for w in record.captured.warnings],
        "probes": probes,
        **record.meta,
    }
    return entry, arrays


def _read_file(path: Path, limit: int) -> bytes:
    """A file of the results folder, bounded: no FIFO, device, endless or huge file, no link out."""
    try:
        return safety.read_bounded(path, limit=limit, inside=path.parent)
    except safety.RefusedFile as exc:
        raise ArtifactError(str(exc)) from None


def read(json_path: Path) -> Artifact:
    """Read one artifact pair, refusing anything malformed with an ArtifactError."""
    name = safety.printable(json_path)
    fix = "rerun `harness run` for this backend or remove the file"
    try:
        manifest = json.loads(_read_file(json_path, MAX_MANIFEST_BYTES))
    except FileNotFoundError:
        raise ArtifactError(f"{name}: artifact not found") from None
    except IsADirectoryError:
        raise ArtifactError(f"{name}: is a folder, not an artifact; remove it") from None
    except OSError as exc:
        raise ArtifactError(f"{name}: cannot be read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ArtifactError(f"{name}: not valid JSON (truncated, corrupt or too deeply nested); {fix}") from None
    if not isinstance(manifest, dict) or "schema_version" not in manifest:
        raise ArtifactError(f"{name}: not a harness artifact (no schema_version); {fix}")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise ArtifactError(f"{name}: schema_version {manifest['schema_version']!r} is not "
                            f"{SCHEMA_VERSION}; {fix}")
    try:
        label = check_label(str(manifest["label"]))
        environment = dict(manifest["environment"])
        entries = list(manifest["scenarios"])
        expected_sha = str(manifest["npz_sha256"])
    except (KeyError, TypeError, ValueError, ArtifactError) as exc:
        raise ArtifactError(f"{name}: malformed manifest ({exc}); {fix}") from None
    npz_path = json_path.with_suffix(".npz")
    try:
        npz_bytes = _read_file(npz_path, MAX_NPZ_BYTES)
    except FileNotFoundError:
        raise ArtifactError(f"{name}: its arrays file {npz_path.name} is missing; {fix}") from None
    except OSError:
        raise ArtifactError(f"{name}: its arrays file {npz_path.name} cannot be read; {fix}") from None
    previous = _previous_npz(json_path)
    if hashlib.sha256(npz_bytes).hexdigest() != expected_sha and previous.is_file():
        npz_bytes = _read_file(previous, MAX_NPZ_BYTES)  # a write was interrupted between its two renames
    if hashlib.sha256(npz_bytes).hexdigest() != expected_sha:
        raise ArtifactError(f"{name}: {npz_path.name} does not belong to this manifest "
                            f"(checksum differs); {fix}")
    arrays = _load_npz(npz_bytes, npz_path)
    records = {}
    try:
        for entry in entries:
            record = decode_record(entry, arrays, label)
            records[record.name] = record
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ArtifactError(f"{name}: manifest does not match its arrays or schema ({reason}); {fix}") from None
    return Artifact(label=label, environment=environment, records=records, path=json_path)


def _load_npz(data: bytes, path: Path) -> dict[str, np.ndarray]:
    try:
        arrays = _read_members(data)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError,
            MemoryError, zlib.error) as exc:
        reason = "holds object arrays (would need pickle)" if "pickle" in str(exc) else "corrupt"
        raise ArtifactError(f"{safety.printable(path)}: {reason}; refusing to read it") from None
    for key, array in arrays.items():
        if array.dtype.kind not in _ALLOWED_KINDS:
            raise ArtifactError(f"{safety.printable(path)}: array {key!r} has dtype {array.dtype}; refusing to read it")
    return arrays


# The header numpy writes for a plain numeric array (np.save): parsed here with one regular expression,
# where numpy's reader runs ast.literal_eval per array (most of the report stage's time on an
# artifact of thousands of small arrays). Any other header goes through numpy's own reader.
_NPY_HEADER = re.compile(r"\{'descr': '([<>|=][biuf]\d{1,2})', 'fortran_order': (False|True), "
                         r"'shape': \(((?:\d+, )*\d+,?|)\), \} *\n")


def _read_members(data: bytes) -> dict[str, np.ndarray]:
    """Every .npy member of an NPZ, each read once. A member whose header declares more data than it
    holds is refused before anything is allocated (a one-line file could ask for terabytes)."""
    arrays = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        unpacked = sum(member.file_size for member in members)
        if unpacked > MAX_UNPACKED_BYTES:
            raise ValueError(f"its members unpack to {unpacked} bytes")
        for member in members:
            if not member.filename.endswith(".npy"):
                raise ValueError(f"{member.filename} is not an array")
            raw = archive.read(member)  # at most its declared size, bounded above
            arrays[member.filename[:-4]] = _parse_npy(raw, member.filename)
    return arrays


def _parse_npy(raw: bytes, name: str) -> np.ndarray:
    if raw[:6] != b"\x93NUMPY" or len(raw) < 10:
        raise ValueError(f"{name} is not an .npy array")
    size = 2 if raw[6] == 1 else 4
    length = int.from_bytes(raw[8:8 + size], "little")
    start = 8 + size + length
    match = _NPY_HEADER.fullmatch(raw[8 + size:start].decode("latin1"))
    if match is None:  # not what np.save writes for a numeric array: numpy's own checks decide
        shape, _, dtype = _npy_header(raw)
        if dtype.hasobject:
            raise ValueError("object arrays need pickle")
        _check_size(name, shape, dtype, len(raw))
        return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    dtype = np.dtype(match.group(1))
    shape = tuple(int(x) for x in match.group(3).replace(",", " ").split())
    count = _check_size(name, shape, dtype, len(raw) - start)
    values = np.frombuffer(raw, dtype=dtype, count=count, offset=start).copy()  # writable, its own memory
    return values.reshape(shape, order="F" if match.group(2) == "True" else "C")


def _npy_header(raw: bytes) -> tuple:
    handle = io.BytesIO(raw)
    version = np.lib.format.read_magic(handle)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read_header(handle)


def _check_size(name: str, shape: tuple, dtype: np.dtype, held: int) -> int:
    count = int(np.prod(shape, dtype=np.float64))
    if count * dtype.itemsize > held:
        raise ValueError(f"{name} declares {count * dtype.itemsize} bytes but holds {held}")
    return count


_STATUSES = {"ok", "error", "skipped", "crashed", "timeout"}


def decode_record(entry: dict[str, Any], arrays: dict[str, np.ndarray], label: str) -> ScenarioRecord:
    """A manifest entry and its arrays back into a record, checking the schema on the way."""
    name = str(entry["name"])
    if entry["status"] not in _STATUSES:
        raise ValueError(f"{name!r}: unknown status {str(entry['status'])[:40]!r}")
    for expectation in entry.get("expectations", []):
        if not (isinstance(expectation, dict) and isinstance(expectation.get("name"), str)
                and isinstance(expectation.get("passed"), bool)
                and isinstance(expectation.get("claim"), (str, type(None)))):
            raise ValueError(f"{name!r}: malformed expectation")
    if not isinstance(entry.get("compiled", {}), dict):
        raise ValueError(f"{name!r}: malformed compiled record")
    probes = {}
    for spec in entry["probes"]:
        key = str(spec["key"])
        values = arrays[_array_key(name, key, "values")]
        if list(values.shape) != list(spec["shape"]):
            raise ValueError(f"{name!r}/{key!r}: shape {list(values.shape)} != manifest {spec['shape']}")
        mask = arrays[_array_key(name, key, "mask")] if spec["has_mask"] else None
        probes[key] = Probe(values=values, mask=mask, dtype=str(spec["dtype"]),
                            mask_readable=not spec.get("mask_unreadable", False))
    error = entry.get("error")
    captured = Captured(
        scenario=name,
        backend=label,
        probes=probes,
        error=None if error is None else ErrorInfo(str(error["type"]), str(error["message"]),
                                                   tuple(error.get("traceback", ())),
                                                   tuple(str(c) for c in error.get("causes", ()))),
        warnings=[WarningInfo(str(w["category"]), str(w["message"])) for w in entry["warnings"]],
    )
    meta = {k: v for k, v in entry.items()
            if k not in {"name", "status", "duration_s", "error", "warnings", "probes"}}
    return ScenarioRecord(name=name, status=str(entry["status"]),
                          duration_s=float(entry["duration_s"]), captured=captured, meta=meta)


def read_all(results_dir: Path) -> list[Artifact]:
    """Every artifact in a folder, in a stable order; an error if there are none.

    A name that is not UTF-8 cannot be an artifact's (labels are ASCII): skipped with a warning."""
    paths = []
    for path in sorted(results_dir.glob("*.json")) if results_dir.is_dir() else []:
        if safety.is_utf8_name(path.name):
            paths.append(path)
        else:
            print(f"harness: warning: skipping {safety.printable(path)}: its name is not UTF-8, so it is "
                  f"no harness artifact", file=sys.stderr)
    if not paths:
        raise ArtifactError(f"no artifacts in {results_dir}: run `nox -s tf jax torch` "
                            f"(or `python -m harness run --backend B`) first")
    return [read(p) for p in paths]
