"""Reliability: faults injected into what the harness reads, so that nothing hangs, lies, or runs
what it was not asked to run (issue 13; docs/guarantees.md lists each guarantee with its test).

This file: results folders that hold anything a filesystem can hold (special files, links to
anywhere, huge or endless files, unreadable files, names that are not UTF-8). Each is refused with
one line naming it, or skipped with a warning line, within seconds. No backend is started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from harness import artifacts, safety
from harness.__main__ import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_cli import assert_usage_error, report_args, tiny_artifact, two_artifacts  # noqa: E402

BOUND_S = 10  # "within seconds": every case here must answer well inside this


@contextlib.contextmanager
def within(seconds: float = BOUND_S):
    """Fail the test (instead of hanging CI) if the body blocks; and check it stayed in bounds."""
    def expire(signum, frame):
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < seconds


def report(capsys, tmp_path: Path, results: Path) -> tuple[int, str, str]:
    with within():
        code = main(report_args(tmp_path, results))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, tmp_path, results, *fragments) -> str:
    code, _, err = report(capsys, tmp_path, results)
    line = assert_usage_error(code, err, *fragments)
    assert not (tmp_path / "out" / "report.md").exists()
    return line


def with_one_good(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    two_artifacts(results)
    return results


# ---- special files standing where an artifact is expected ---------------------------------------------

def test_fifo_named_like_a_manifest_is_refused_without_blocking(capsys, tmp_path):
    results = with_one_good(tmp_path)
    os.mkfifo(results / "a-fifo.json")  # opening it for reading would wait for a writer forever
    refused(capsys, tmp_path, results, "a-fifo.json", "FIFO", "not a regular file")


def test_fifo_named_like_the_arrays_is_refused_without_blocking(capsys, tmp_path):
    results = with_one_good(tmp_path)
    (results / "jax-cpu.npz").unlink()
    os.mkfifo(results / "jax-cpu.npz")
    refused(capsys, tmp_path, results, "jax-cpu.npz", "FIFO")


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_link_to_dev_zero_is_refused_not_read_forever(capsys, tmp_path, suffix):
    results = with_one_good(tmp_path)
    target = results / f"jax-cpu{suffix}"
    target.unlink()
    target.symlink_to("/dev/zero")
    # /dev is outside the folder as well: either reason refuses it, and names the file
    refused(capsys, tmp_path, results, f"jax-cpu{suffix}")


def test_device_is_refused_by_kind_before_it_is_opened(tmp_path):
    with pytest.raises(safety.RefusedFile, match="character device"):
        safety.read_bounded(Path("/dev/zero"))


def test_socket_named_like_a_manifest_is_refused(capsys, tmp_path):
    results = with_one_good(tmp_path)
    path = results / "s.json"
    with socket.socket(socket.AF_UNIX) as server:
        try:
            server.bind(str(path))
        except OSError as exc:  # path too long for AF_UNIX on some systems
            pytest.skip(f"cannot bind a unix socket here: {exc}")
        refused(capsys, tmp_path, results, "s.json", "socket")


# ---- huge, endless and unreadable files -------------------------------------------------------------------

def test_huge_sparse_manifest_is_refused_by_its_size(capsys, tmp_path):
    results = with_one_good(tmp_path)
    with open(results / "huge.json", "wb") as handle:
        handle.truncate(artifacts.MAX_MANIFEST_BYTES + 1)  # sparse: costs no disk, would cost the RAM
    refused(capsys, tmp_path, results, "huge.json", "over the")


def test_huge_sparse_npz_is_refused_by_its_size(capsys, tmp_path):
    results = with_one_good(tmp_path)
    os.truncate(results / "jax-cpu.npz", artifacts.MAX_NPZ_BYTES + 1)
    refused(capsys, tmp_path, results, "jax-cpu.npz", "over the")


def test_npz_whose_members_unpack_past_the_bound_is_refused(capsys, tmp_path, monkeypatch):
    """A zip bomb: members that are small on disk and huge unpacked (the bound, lowered here)."""
    results = with_one_good(tmp_path)
    monkeypatch.setattr(artifacts, "MAX_UNPACKED_BYTES", 64)
    refused(capsys, tmp_path, results, ".npz", "refusing to read it")


def test_file_that_grows_past_the_limit_while_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "growing.json"
    path.write_bytes(b"x" * 100)
    real_fstat = os.fstat
    monkeypatch.setattr(os, "fstat", lambda fd: os.stat_result(
        (*real_fstat(fd)[:6], 10, *real_fstat(fd)[7:])))  # it said 10 bytes when opened
    with pytest.raises(safety.RefusedFile, match="over the 50"):
        safety.read_bounded(path, limit=50)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_manifest_is_refused(capsys, tmp_path):
    results = with_one_good(tmp_path)
    (results / "jax-cpu.json").chmod(0)
    refused(capsys, tmp_path, results, "jax-cpu.json", "cannot be read")


def test_unreadable_manifest_is_refused_even_for_root(capsys, tmp_path, monkeypatch):
    results = with_one_good(tmp_path)
    real_open = os.open

    def deny(path, *args, **kwargs):
        if str(path).endswith("torch-cpu.json"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    refused(capsys, tmp_path, results, "torch-cpu.json", "cannot be read", "Permission denied")


# ---- links and names -----------------------------------------------------------------------------------------

def test_link_to_an_artifact_outside_the_folder_is_refused(capsys, tmp_path):
    elsewhere = tiny_artifact(tmp_path / "elsewhere", "tf-cpu")
    results = with_one_good(tmp_path)
    (results / "tf-cpu.json").symlink_to(elsewhere)
    (results / "tf-cpu.npz").symlink_to(elsewhere.with_suffix(".npz"))
    refused(capsys, tmp_path, results, "tf-cpu.json", "outside", "refusing to follow it")


def test_link_inside_the_folder_is_followed(capsys, tmp_path):
    results = with_one_good(tmp_path)
    stash = results / "stash"
    stash.mkdir()
    for suffix in (".json", ".npz"):
        (results / f"jax-cpu{suffix}").rename(stash / f"jax-cpu{suffix}")
        (results / f"jax-cpu{suffix}").symlink_to(stash / f"jax-cpu{suffix}")
    code, out, err = report(capsys, tmp_path, results)
    assert code == 0, err
    assert "report: 2 runs" in out


def test_link_loop_is_refused(capsys, tmp_path):
    results = with_one_good(tmp_path)
    (results / "loop.json").symlink_to(results / "loop.json")
    refused(capsys, tmp_path, results, "loop.json")


def test_dangling_link_is_refused_as_missing(capsys, tmp_path):
    results = with_one_good(tmp_path)
    (results / "gone.json").symlink_to(results / "nothing-here.json")
    refused(capsys, tmp_path, results, "gone.json", "not found")


def test_name_that_is_not_utf8_is_skipped_with_a_warning(capsys, tmp_path):
    results = with_one_good(tmp_path)
    odd = os.fsdecode(b"caf\xe9.json")
    (results / odd).write_bytes(b"not even json")
    code, out, err = report(capsys, tmp_path, results)
    assert code == 0, err
    [warning] = err.splitlines()
    assert warning.startswith("harness: warning: skipping ") and "caf\\xe9.json" in warning
    assert "report: 2 runs" in out


def test_name_with_a_line_break_is_named_on_one_line(capsys, tmp_path):
    results = with_one_good(tmp_path)
    (results / "two\nlines.json").write_text("{")
    line = refused(capsys, tmp_path, results, "not valid JSON")
    assert "two\\x0alines.json" in line


def test_results_folder_whose_name_is_not_utf8_still_reports(capsys, tmp_path):
    """Found by this test: the folder's name went into the report and its encoding raised."""
    results = tmp_path / os.fsdecode(b"r\xe9sults")
    two_artifacts(results)
    code, _, err = report(capsys, tmp_path, results)
    assert code == 0, err
    assert "r\\xe9sults" in (tmp_path / "out" / "report.md").read_text()


def test_baseline_folder_is_read_with_the_same_bounds(capsys, tmp_path):
    results = with_one_good(tmp_path)
    baseline = tmp_path / "baseline"
    two_artifacts(baseline)
    os.mkfifo(baseline / "old.json")
    with within():
        code = main([*report_args(tmp_path, results), "--baseline", str(baseline)])
    assert_usage_error(code, capsys.readouterr().err, "old.json", "FIFO")


def test_known_divergences_file_that_is_a_fifo_is_refused(capsys, tmp_path):
    results = with_one_good(tmp_path)
    argv = report_args(tmp_path, results)
    known = Path(argv[argv.index("--known") + 1])
    known.unlink()
    os.mkfifo(known)
    with within():
        code = main(argv)
    assert_usage_error(code, capsys.readouterr().err, "--known")


def test_report_written_over_a_fifo_replaces_it_without_blocking(capsys, tmp_path):
    results = with_one_good(tmp_path)
    (tmp_path / "out").mkdir()
    os.mkfifo(tmp_path / "out" / "report.md")
    code, _, err = report(capsys, tmp_path, results)
    assert code == 0, err
    assert (tmp_path / "out" / "report.md").read_text().startswith("#")


# ---- safe names inside a folder ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\0b", ".hidden", "a\\b",
                                  os.fsdecode(b"\xff"), "x" * 300])
def test_child_path_refuses_names_that_leave_the_folder(tmp_path, name):
    with pytest.raises(safety.RefusedFile, match="cannot be a file name"):
        safety.child_path(tmp_path, name)


def test_child_path_refuses_an_existing_link_out(tmp_path):
    (tmp_path / "finding.json").symlink_to("/etc/hostname")
    with pytest.raises(safety.RefusedFile, match="outside"):
        safety.child_path(tmp_path, "finding.json")


@pytest.mark.parametrize("name", ["jax-cpu.json", "seed_01-x+y.py", "a..b", "naïve"])
def test_child_path_accepts_plain_names(tmp_path, name):
    assert safety.child_path(tmp_path, name) == tmp_path / name
