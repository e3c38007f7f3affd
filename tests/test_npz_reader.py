"""The artifact reader's own .npy parser: the same arrays as numpy's reader, and the same refusals."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from harness import artifacts


def npz(arrays: dict[str, np.ndarray], allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=allow_pickle, **arrays)
    return buffer.getvalue()


ARRAYS = {
    "f4": np.arange(30, dtype=np.float32).reshape(2, 5, 3) / 7,
    "b1": np.array([[True, False, True]]),
    "i8": np.array([-3, 0, 2**40], dtype=np.int64),
    "u1": np.arange(4, dtype=np.uint8),
    "f2": np.array([0.5, np.nan, np.inf], dtype=np.float16),
    "big_endian": np.arange(6, dtype=">f8").reshape(2, 3),
    "fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    "scalar": np.array(3.5, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
    "one_axis": np.arange(3, dtype=np.int32),
}


def test_arrays_read_as_numpy_reads_them():
    data = npz(ARRAYS)
    mine = artifacts._read_members(data)
    with np.load(io.BytesIO(data), allow_pickle=False) as reference:
        assert sorted(mine) == sorted(reference.files)
        for key in reference.files:
            expected, got = reference[key], mine[key]
            assert got.dtype == expected.dtype and got.shape == expected.shape, key
            assert np.array_equal(got, expected, equal_nan=True), key
            assert got.flags.writeable and got.flags.f_contiguous == expected.flags.f_contiguous, key


def _with_member(name: str, raw: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, raw)
    return buffer.getvalue()


def test_a_header_that_declares_more_than_the_member_holds_is_refused():
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }"
    header += b" " * (117 - len(header)) + b"\n"
    raw = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 16
    with pytest.raises(ValueError, match="declares 400000000000 bytes but holds 16"):
        artifacts._read_members(_with_member("x.npy", raw))


def test_an_object_array_is_refused_without_unpickling():
    data = npz({"o": np.array([{"a": 1}], dtype=object)}, allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        artifacts._read_members(data)


def test_a_member_that_is_not_an_array_is_refused():
    with pytest.raises(ValueError, match="not an"):
        artifacts._read_members(_with_member("notes.txt", b"hello"))
    with pytest.raises(ValueError, match="not an .npy array"):
        artifacts._read_members(_with_member("x.npy", b"hello, not numpy at all"))
