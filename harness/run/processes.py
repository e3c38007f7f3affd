"""Process supervision shared by every stage that starts children: the suite's runner (its
workers), the scenario loader and the fuzz campaign's case workers.

One way to start a child (its own session, dying with the harness), one way to stop it (the whole
process group, reaped), one startup bound and one description of how a child ended.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable

# A fresh worker imports python, numpy, keras and the backend before anything else: generous,
# because a loaded CI machine can take a minute over TensorFlow. Everything after is --timeout's.
STARTUP_S = 300.0

_BACKEND_MODULES = {"keras", "tensorflow", "jax", "torch"}


def fork_is_safe() -> bool:
    """Forking skips a fresh interpreter (about 0.4 s a command), but only a process with one thread
    and no backend imported (their native threads do not survive a fork) may do it."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and not _BACKEND_MODULES & sys.modules.keys())


class Forked:
    """A forked child with the part of Popen's interface `load` and `stop` use."""

    def __init__(self, target: Callable[[], int]) -> None:
        self.returncode: int | None = None
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the child: its own session, stdout to stderr, never returns
            code = 70
            try:
                os.setsid()
                die_with_parent()
                faulthandler.disable()  # a file that aborts is reported by the parent, in one line
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(2, 1)
                sys.stdout = sys.stderr
                code = target()
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os._exit(code)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("harness child", timeout)
            time.sleep(0.005)
        return code


def stop(child: subprocess.Popen | Forked) -> None:
    """Kill a child that is still running, with its process group (it was started in its own
    session: what the user's code started in the background goes with it), and reap it. A child
    already reaped is left alone: its id may belong to someone else by now."""
    if child.poll() is None:
        for kill in (os.killpg, os.kill):  # the child itself too, if it has not made its group yet
            try:
                kill(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    child.wait()


def describe_exit(code: int | None, who: str = "") -> str:
    """How a child ended, in words ("worker killed by SIGKILL", "exited with status 3")."""
    prefix = f"{who} " if who else ""
    if code is not None and code < 0:
        try:
            return f"{prefix}killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"{prefix}killed by signal {-code}"
    return f"{prefix}exited with status {code}"


def _parent_death_signal():
    """Linux's prctl(PR_SET_PDEATHSIG), looked up once in the parent (not between fork and exec)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _parent_death_signal()
_PR_SET_PDEATHSIG = 1


def child_setup():
    """The preexec_fn for a child: die_with_parent, where it is safe (Python code between fork and
    exec is not, with other threads running: `check` runs its backends from threads)."""
    return die_with_parent if threading.active_count() == 1 else None


def die_with_parent() -> None:
    """In a child, before exec: the kernel kills it when the harness dies, even by SIGKILL, so no
    orphan goes on importing or running scenarios that nobody will read."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


