"""Reading and naming files on a user's behalf, with bounds: no read hangs, none is endless, none
leaves the folder it was asked to stay in.

A results folder may hold anything a filesystem can hold: FIFOs (opening one for reading waits for
a writer forever), links to /dev/zero (an endless file), sparse files of terabytes, files nobody may
read, links to anywhere, names that are not UTF-8. `read_bounded` refuses each with one line naming
the file, before it reads a byte it should not. numpy only; every stage may use it.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

MAX_FILE_BYTES = 1 << 30  # a default bound; callers pass their own where they know better
_CHUNK = 1 << 20


class RefusedFile(Exception):
    """A file the harness will not read; the message names it and says why (one line)."""


_CONTROLS = {code: f"\\x{code:02x}" for code in [*range(32), 127]}


def printable(path: str | os.PathLike) -> str:
    """A path as one line of text that can always be printed: bytes that are not UTF-8 and control
    characters (a newline in a file name) appear as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace").translate(_CONTROLS)


def is_utf8_name(path: str | os.PathLike) -> bool:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


def check_inside(path: Path, folder: Path) -> None:
    """Refuse a path that resolves (through links) outside `folder`."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    if os.path.commonpath([real, root]) != root:
        raise RefusedFile(f"{printable(path)}: links to {printable(real)}, outside {printable(folder)}; "
                          f"refusing to follow it")


def read_bounded(path: Path, *, limit: int = MAX_FILE_BYTES, inside: Path | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Raises RefusedFile for a special file (FIFO, device, socket), a file over the limit (or one that
    grows past it while read) and, when `inside` is given, a link that leads out of that folder.
    FileNotFoundError, IsADirectoryError and PermissionError pass through for the caller to name.
    """
    name = printable(path)
    if inside is not None:
        check_inside(path, inside)
    before = os.stat(path)  # follows links: what would be opened; never open a device to look at it
    if stat.S_ISDIR(before.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    if not stat.S_ISREG(before.st_mode):
        raise RefusedFile(f"{name}: is a {_kind(before.st_mode)}, not a regular file; refusing to read it")
    _check_size(name, before.st_size, limit)
    # O_NONBLOCK: if the file was swapped for a FIFO after the stat, opening it still returns at once
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise RefusedFile(f"{name}: is a {_kind(now.st_mode)}, not a regular file; refusing to read it")
        _check_size(name, now.st_size, limit)
        chunks, total = [], 0
        while chunk := os.read(fd, min(_CHUNK, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                _check_size(name, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise RefusedFile(f"{name}: is {size:,} bytes or more, over the {limit:,} the harness reads; "
                          f"refusing to read it")


def child_path(folder: Path, name: str) -> Path:
    """`folder / name` for a name that came from data (a label, a scenario or finding name).

    Refuses what could land anywhere but directly inside `folder`: separators, '..', absolute
    paths, NUL, empty or hidden names, names that are not UTF-8, and an existing link that leads out.
    """
    if (not isinstance(name, str) or not name or name.startswith(".") or "\0" in name
            or "/" in name or "\\" in name or not is_utf8_name(name) or len(name.encode()) > 255):
        raise RefusedFile(f"{printable(str(name))[:80]!r} cannot be a file name inside "
                          f"{printable(folder)}")
    path = folder / name
    if path.is_symlink():
        check_inside(path, folder)
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (a temporary file beside it, fsynced, renamed)."""
    try:
        _atomic_write(path, data)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; artifacts are ordinary shared files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
