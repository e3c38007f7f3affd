"""Artifacts: roundtrip, atomic writes, and refusal of everything malformed (numpy only, no backend).

Every refusal is an ArtifactError whose one-line message names the file; nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness import artifacts
from harness.artifacts import Artifact, ArtifactError, ScenarioRecord
from harness.define.captured import Captured, ErrorInfo, Probe, WarningInfo

# ---- building artifacts -------------------------------------------------------------------------


def make_artifact(label: str = "jax-cpu", scale: float = 1.0) -> Artifact:
    values = (np.arange(30, dtype=np.float32).reshape(2, 5, 3) - 7.5) * scale
    values[0, 0, 0] = np.nan
    mask = np.array([[False, True, False, True, False], [True, True, True, False, False]])
    ok = Captured(
        scenario="group/ok",
        backend=label,
        probes={
            "masking": Probe(values=values, mask=mask, dtype="float32"),
            "dense": Probe(values=values[..., :2].copy(), mask=None, dtype="float32"),
            "gru_1[1]": Probe(values=np.ones((2, 3), dtype=np.float16), mask=None, dtype="float16"),
            "argmax": Probe(values=np.array([[1, 2], [3, 4]], dtype=np.int64), mask=None, dtype="int64"),
            "flags": Probe(values=np.array([True, False]), mask=np.array([True, True]), dtype="bool"),
        },
        warnings=[WarningInfo("UserWarning", "a warning with | pipe and `ticks`")],
    )
    failed = Captured(
        scenario="group/fails",
        backend=label,
        error=ErrorInfo("ValueError", "it broke: <b>bold</b>", ("capture.py:87 in _build", "mine.py:3 in build")),
        warnings=[WarningInfo("DeprecationWarning", "old"), WarningInfo("UserWarning", "new")],
    )
    meta = {"description": "one line", "tags": ["a", "b"], "definition_hash": "0123456789abcdef",
            "expectations": [{"name": "mask is 01010", "claim": "C5", "passed": True, "evidence": "ok"}],
            "compiled": {"status": "ok", "detail": "jax.jit"}, "deterministic": True}
    records = {
        "group/ok": ScenarioRecord("group/ok", "ok", 1.25, ok, meta),
        "group/fails": ScenarioRecord("group/fails", "error", 0.5, failed, {"description": "fails"}),
    }
    environment = {"backend": "jax", "keras": "3.15.1", "numpy": np.__version__, "device": "cpu"}
    return Artifact(label, environment, records)


def write(tmp_path: Path, label: str = "jax-cpu", scale: float = 1.0) -> Path:
    return artifacts.write(make_artifact(label, scale), tmp_path)


def manifest_of(json_path: Path) -> dict:
    return json.loads(json_path.read_text())


def save_manifest(json_path: Path, manifest: dict) -> None:
    json_path.write_text(json.dumps(manifest))


def repoint(json_path: Path) -> None:
    """Make the manifest's checksum match whatever NPZ now lies beside it (to get past pairing)."""
    manifest = manifest_of(json_path)
    manifest["npz_sha256"] = hashlib.sha256(json_path.with_suffix(".npz").read_bytes()).hexdigest()
    save_manifest(json_path, manifest)


def npz_bytes(arrays: dict[str, np.ndarray], allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.save(member, array, allow_pickle=allow_pickle)
            archive.writestr(f"{key}.npy", member.getvalue())
    return buffer.getvalue()


def refused(json_path: Path, *fragments: str) -> str:
    """Read must raise ArtifactError: one line, naming the file, containing each fragment."""
    with pytest.raises(ArtifactError) as info:
        artifacts.read(json_path)
    message = str(info.value)
    assert "\n" not in message
    assert json_path.stem in message, message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]


# ---- roundtrip ----------------------------------------------------------------------------------


def test_roundtrip_keeps_everything(tmp_path):
    original = make_artifact()
    path = artifacts.write(original, tmp_path)
    assert path == tmp_path / "jax-cpu.json" and (tmp_path / "jax-cpu.npz").is_file()
    back = artifacts.read(path)
    assert back.label == "jax-cpu" and back.path == path and back.backend == "jax"
    assert back.environment == original.environment
    assert list(back.records) == list(original.records)
    for name, record in original.records.items():
        got = back.records[name]
        assert (got.name, got.status) == (record.name, record.status)
        assert got.duration_s == pytest.approx(record.duration_s)
        assert got.captured.error == record.captured.error
        assert got.captured.warnings == record.captured.warnings
        assert got.meta == record.meta
        assert list(got.captured.probes) == list(record.captured.probes)
        for key, probe in record.captured.probes.items():
            read_probe = got.captured.probes[key]
            assert read_probe.dtype == probe.dtype
            assert read_probe.values.dtype == probe.values.dtype
            np.testing.assert_array_equal(read_probe.values, probe.values)  # NaN == NaN here
            if probe.mask is None:
                assert read_probe.mask is None  # "no mask" is a result and survives as such
            else:
                assert read_probe.mask.dtype == np.bool_
                np.testing.assert_array_equal(read_probe.mask, probe.mask)


def test_error_record_without_arrays_roundtrips(tmp_path):
    back = artifacts.read(write(tmp_path))
    failed = back.records["group/fails"]
    assert failed.status == "error" and failed.captured.probes == {}
    assert failed.captured.error == ErrorInfo("ValueError", "it broke: <b>bold</b>",
                                              ("capture.py:87 in _build", "mine.py:3 in build"))
    assert [w.category for w in failed.captured.warnings] == ["DeprecationWarning", "UserWarning"]


def test_empty_artifact_roundtrips(tmp_path):
    path = artifacts.write(Artifact("torch-cpu", {"backend": "torch"}, {}), tmp_path)
    back = artifacts.read(path)
    assert back.records == {} and back.backend == "torch"


def test_write_replaces_previous_and_leaves_no_temp_files(tmp_path):
    write(tmp_path, scale=1.0)
    write(tmp_path, scale=2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jax-cpu.json", "jax-cpu.npz"]
    back = artifacts.read(tmp_path / "jax-cpu.json")
    assert back.records["group/ok"].captured.output("dense")[0, 1, 0] == pytest.approx(-9.0)


def test_npz_holds_only_numeric_and_bool_arrays(tmp_path):
    path = write(tmp_path)
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as npz:
        kinds = {npz[key].dtype.kind for key in npz.files}
    assert kinds <= set("biuf")


# ---- refusals: the JSON manifest -----------------------------------------------------------------


def test_missing_json(tmp_path):
    refused(tmp_path / "nothing-here.json", "not found")


def test_empty_json(tmp_path):
    path = write(tmp_path)
    path.write_bytes(b"")
    refused(path, "not valid json")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_json(tmp_path, keep):
    path = write(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    refused(path, "not valid json")


def test_json_that_is_not_utf8(tmp_path):
    path = write(tmp_path)
    path.write_bytes(b"\xff\xfe\x00{")
    refused(path, "not valid json")


@pytest.mark.parametrize("document", ["[]", "[1, 2]", '"a string"', "42", "null", "true", "{}",
                                      '{"label": "jax-cpu"}'])
def test_json_that_is_not_an_artifact(tmp_path, document):
    path = write(tmp_path)
    path.write_text(document)
    refused(path, "schema_version")


@pytest.mark.parametrize("version", [0, 2, 99, "1", None, [1], 1.5])
def test_wrong_schema_version(tmp_path, version):
    path = write(tmp_path)
    manifest = manifest_of(path)
    manifest["schema_version"] = version
    save_manifest(path, manifest)
    refused(path, "schema_version")


@pytest.mark.parametrize("field", ["label", "environment", "scenarios", "npz_sha256"])
def test_manifest_missing_a_field(tmp_path, field):
    path = write(tmp_path)
    manifest = manifest_of(path)
    del manifest[field]
    save_manifest(path, manifest)
    refused(path, "malformed manifest")


@pytest.mark.parametrize("field,value", [("environment", "not a mapping"), ("environment", [1, 2]),
                                         ("scenarios", 5), ("scenarios", None)])
def test_manifest_field_of_the_wrong_type(tmp_path, field, value):
    path = write(tmp_path)
    manifest = manifest_of(path)
    manifest[field] = value
    save_manifest(path, manifest)
    refused(path, "malformed manifest")


# ---- refusals: labels never become paths ---------------------------------------------------------

BAD_LABELS = ["../evil", "a/b", "/etc/passwd", "..", ".", "", ".hidden", "-flag", "A", "Jax",
              "a b", "a\\b", "a\x00b", "x" * 65, "jax\tcpu", "naïve", "a:b", "~root"]


@pytest.mark.parametrize("label", BAD_LABELS)
def test_check_label_refuses(label):
    with pytest.raises(ArtifactError, match="invalid run label"):
        artifacts.check_label(label)


@pytest.mark.parametrize("label", ["jax", "jax-cpu", "tensorflow-cuda", "torch.2-cpu", "a_b", "0",
                                   "x" * 64])
def test_check_label_accepts(label):
    assert artifacts.check_label(label) == label


def test_check_label_refuses_a_trailing_newline():
    with pytest.raises(ArtifactError):
        artifacts.check_label("jax\n")


@pytest.mark.parametrize("label", ["../evil", "a/b", "/tmp/abs"])
def test_write_with_a_bad_label_writes_nothing(tmp_path, label):
    results = tmp_path / "results"
    results.mkdir()
    with pytest.raises(ArtifactError):
        artifacts.write(Artifact(label, {}, {}), results)
    assert list(tmp_path.rglob("*")) == [results]


@pytest.mark.parametrize("label", ["../evil", "a/b", "/tmp/abs", "UPPER"])
def test_manifest_label_that_would_be_a_path_is_refused(tmp_path, label):
    path = write(tmp_path)
    manifest = manifest_of(path)
    manifest["label"] = label
    save_manifest(path, manifest)
    refused(path, "label")


# ---- refusals: the NPZ and its pairing with the manifest ------------------------------------------


def test_missing_npz(tmp_path):
    path = write(tmp_path)
    path.with_suffix(".npz").unlink()
    refused(path, "missing")


def test_npz_from_another_run(tmp_path):
    first = write(tmp_path / "a", scale=1.0)
    second = write(tmp_path / "b", scale=3.0)
    first.with_suffix(".npz").write_bytes(second.with_suffix(".npz").read_bytes())
    refused(first, "does not belong", "checksum")


@pytest.mark.parametrize("keep", [0, 10, 0.5])
def test_truncated_npz(tmp_path, keep):
    path = write(tmp_path)
    npz = path.with_suffix(".npz")
    data = npz.read_bytes()
    npz.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    refused(path, "does not belong")  # the checksum catches it first
    repoint(path)  # and with a checksum that matches, the NPZ itself is refused
    with pytest.raises(ArtifactError, match="corrupt"):
        artifacts.read(path)


def test_npz_that_is_not_a_zip(tmp_path):
    path = write(tmp_path)
    path.with_suffix(".npz").write_bytes(b"PK\x03\x04 definitely not a zip archive" * 20)
    repoint(path)
    with pytest.raises(ArtifactError, match=r"jax-cpu\.npz.*corrupt"):
        artifacts.read(path)


def test_npz_member_that_is_not_npy(tmp_path):
    path = write(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("group/ok::masking::values.npy", b"\x93NUMPY garbage header")
    path.with_suffix(".npz").write_bytes(buffer.getvalue())
    repoint(path)
    with pytest.raises(ArtifactError, match="corrupt"):
        artifacts.read(path)


class PickleBomb:
    """Unpickling this creates a marker directory: proof that something was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_npz_with_an_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "UNPICKLED"
    path = write(tmp_path / "results")
    bomb = np.empty(1, dtype=object)
    bomb[0] = PickleBomb(marker)
    arrays = {"group/ok::masking::values": bomb}
    path.with_suffix(".npz").write_bytes(npz_bytes(arrays, allow_pickle=True))
    repoint(path)
    with pytest.raises(ArtifactError) as info:
        artifacts.read(path)
    assert "pickle" in str(info.value) and "jax-cpu.npz" in str(info.value)
    assert not marker.exists()
    # the same bytes really would have run the payload if they were unpickled
    with np.load(path.with_suffix(".npz"), allow_pickle=True) as npz:
        npz["group/ok::masking::values"]
    assert marker.exists()


@pytest.mark.parametrize("array", [np.array(["a", "b"]), np.array([b"x"]), np.array([1 + 2j]),
                                   np.array(["2024-01-01"], dtype="datetime64[D]"),
                                   np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])],
                         ids=["str", "bytes", "complex", "datetime", "structured"])
def test_npz_with_a_non_numeric_dtype_is_refused(tmp_path, array):
    path = write(tmp_path)
    path.with_suffix(".npz").write_bytes(npz_bytes({"group/ok::masking::values": array}))
    repoint(path)
    with pytest.raises(ArtifactError, match="refusing"):
        artifacts.read(path)


def test_manifest_shape_disagrees_with_the_array(tmp_path):
    path = write(tmp_path)
    manifest = manifest_of(path)
    manifest["scenarios"][0]["probes"][0]["shape"] = [2, 5, 4]
    save_manifest(path, manifest)
    refused(path, "does not match its arrays", "shape")


def test_manifest_names_an_absent_array(tmp_path):
    path = write(tmp_path)
    manifest = manifest_of(path)
    manifest["scenarios"][0]["probes"].append(
        {"key": "ghost", "dtype": "float32", "shape": [1], "has_mask": False})
    save_manifest(path, manifest)
    refused(path, "does not match its arrays", "ghost")


def test_manifest_claims_a_mask_that_is_absent(tmp_path):
    path = write(tmp_path)
    manifest = manifest_of(path)
    dense = next(p for p in manifest["scenarios"][0]["probes"] if p["key"] == "dense")
    dense["has_mask"] = True
    save_manifest(path, manifest)
    refused(path, "does not match its arrays")


def test_array_absent_from_the_npz(tmp_path):
    path = write(tmp_path)
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if "::dense::" not in k}
    path.with_suffix(".npz").write_bytes(npz_bytes(arrays))
    repoint(path)
    refused(path, "does not match its arrays")


@pytest.mark.parametrize("mutate", [
    lambda s: s.pop("name"),
    lambda s: s.pop("probes"),
    lambda s: s.update(duration_s="fast"),
    lambda s: s.update(warnings=[{"category": "UserWarning"}]),
    lambda s: s.update(warnings=5),
    lambda s: s.update(error={"message": "no type"}),
    lambda s: s.update(error="a string"),
    lambda s: s.update(probes=[{"key": "masking"}]),
    lambda s: s.update(probes=[{"key": "masking", "dtype": "float32", "shape": 3, "has_mask": True}]),
], ids=["no-name", "no-probes", "duration", "warning-fields", "warnings-type", "error-fields",
        "error-type", "probe-fields", "shape-type"])
def test_malformed_scenario_entry(tmp_path, mutate):
    path = write(tmp_path)
    manifest = manifest_of(path)
    mutate(manifest["scenarios"][0])
    save_manifest(path, manifest)
    refused(path)


@pytest.mark.parametrize("entry", [1, "scenario", None, [1, 2]])
def test_scenario_entry_that_is_not_an_object(tmp_path, entry):
    path = write(tmp_path)
    manifest = manifest_of(path)
    manifest["scenarios"].append(entry)
    save_manifest(path, manifest)
    refused(path)


# ---- refusals found by probing: harness bugs -------------------------------------------------------


def test_deeply_nested_json_is_refused(tmp_path):
    path = write(tmp_path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    refused(path)


def test_npz_declaring_a_huge_array_is_refused(tmp_path):
    path = write(tmp_path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**13,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("group/ok::masking::values.npy", header.getvalue() + b"\0" * 64)
    path.with_suffix(".npz").write_bytes(buffer.getvalue())
    repoint(path)
    with pytest.raises(ArtifactError):
        artifacts.read(path)


def test_folder_named_like_an_artifact_is_refused(tmp_path):
    (tmp_path / "jax-cpu.json").mkdir()
    with pytest.raises(ArtifactError):
        artifacts.read_all(tmp_path)


def test_folder_named_like_the_npz_is_refused(tmp_path):
    path = write(tmp_path)
    path.with_suffix(".npz").unlink()
    path.with_suffix(".npz").mkdir()
    refused(path)


def patch_zip(data: bytes, header: bytes, offset: int, value: int, width: int = 2) -> bytes:
    """Overwrite a little-endian field in every zip header with the given signature."""
    out = bytearray(data)
    at = out.find(header)
    while at != -1:
        out[at + offset: at + offset + width] = value.to_bytes(width, "little")
        at = out.find(header, at + 4)
    return bytes(out)


CENTRAL, LOCAL = b"PK\x01\x02", b"PK\x03\x04"
ZIP_FIELD_DAMAGE = {  # found by tests/test_fuzz.py: one flipped bit in a zip header each
    "encrypted-flag": [(CENTRAL, 8, 0x1), (LOCAL, 6, 0x1)],
    "patched-data-flag": [(CENTRAL, 8, 0x20), (LOCAL, 6, 0x20)],
    "strong-encryption-flag": [(CENTRAL, 8, 0x40), (LOCAL, 6, 0x40)],
    "zip-version": [(CENTRAL, 6, 109)],
    "compression-method": [(CENTRAL, 10, 99), (LOCAL, 8, 99)],
}


@pytest.mark.parametrize("damage", ZIP_FIELD_DAMAGE.values(), ids=ZIP_FIELD_DAMAGE.keys())
def test_npz_with_a_damaged_zip_header_is_refused(tmp_path, damage):
    path = write(tmp_path)
    npz = path.with_suffix(".npz")
    data = npz.read_bytes()
    for header, offset, value in damage:
        data = patch_zip(data, header, offset, value)
    npz.write_bytes(data)
    repoint(path)
    with pytest.raises(ArtifactError, match="jax-cpu.npz"):
        artifacts.read(path)


# ---- atomic writes ---------------------------------------------------------------------------------


def test_interrupted_first_rename_leaves_the_previous_artifact_intact(tmp_path, monkeypatch):
    path = write(tmp_path, scale=1.0)
    before = (path.read_bytes(), path.with_suffix(".npz").read_bytes())

    def fail(src, dst):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(artifacts.os, "replace", fail)
    with pytest.raises(OSError, match="simulated"):
        write(tmp_path, scale=5.0)
    monkeypatch.undo()
    assert (path.read_bytes(), path.with_suffix(".npz").read_bytes()) == before
    assert temp_files(tmp_path) == []
    assert artifacts.read(path).records["group/ok"].captured.output("dense")[0, 1, 0] == pytest.approx(-4.5)


def test_interrupted_data_write_leaves_the_previous_artifact_intact(tmp_path, monkeypatch):
    path = write(tmp_path, scale=1.0)
    before = (path.read_bytes(), path.with_suffix(".npz").read_bytes())

    def fail(fd):
        raise OSError("simulated disk full")

    monkeypatch.setattr(artifacts.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        write(tmp_path, scale=5.0)
    monkeypatch.undo()
    assert (path.read_bytes(), path.with_suffix(".npz").read_bytes()) == before
    assert temp_files(tmp_path) == []


def test_interrupted_first_write_leaves_no_artifact(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts.os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        write(tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ArtifactError):
        artifacts.read_all(tmp_path)


def test_interrupted_second_rename_leaves_the_previous_artifact_intact(tmp_path, monkeypatch):
    path = write(tmp_path, scale=1.0)
    real_replace = os.replace
    calls = []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("simulated crash between the two renames")
        real_replace(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", second_fails)
    with pytest.raises(OSError, match="simulated"):
        write(tmp_path, scale=5.0)
    monkeypatch.undo()
    back = artifacts.read(path)  # the previous artifact, or at least a complete pair
    assert back.records["group/ok"].captured.output("dense")[0, 1, 0] == pytest.approx(-4.5)


def test_written_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write(tmp_path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert path.with_suffix(".npz").stat().st_mode & 0o777 == 0o644


# ---- read_all ----------------------------------------------------------------------------------------


def test_read_all_on_an_empty_folder(tmp_path):
    with pytest.raises(ArtifactError, match="no artifacts"):
        artifacts.read_all(tmp_path)


def test_read_all_on_a_missing_folder(tmp_path):
    with pytest.raises(ArtifactError, match="no artifacts"):
        artifacts.read_all(tmp_path / "absent")


def test_read_all_reads_every_artifact_in_order(tmp_path):
    write(tmp_path, "torch-cpu")
    write(tmp_path, "jax-cpu")
    assert [a.label for a in artifacts.read_all(tmp_path)] == ["jax-cpu", "torch-cpu"]


def test_read_all_refuses_when_one_artifact_is_corrupt(tmp_path):
    write(tmp_path, "jax-cpu")
    bad = write(tmp_path, "torch-cpu")
    bad.write_text("{")
    with pytest.raises(ArtifactError, match="torch-cpu.json"):
        artifacts.read_all(tmp_path)
