"""Import the user's scenario files in a child process, under a time bound.

A scenario file is code: importing it may hang, call `sys.exit` or `os._exit`, kill its own process
or close its output. Done in the harness's own process, the first hangs `list` and `run` for ever
and the others end them with whatever status the file chose (0: a silent success that wrote
nothing). So the commands never import a user's file themselves: a child (`python -m harness
_load`) imports it, selects, and writes what the commands need (names, descriptions, tags and the
data an artifact records for a scenario that did not run) to a JSON file. The parent waits at most
`timeout_s`, and turns a child that hung, died or exited without that file into one error line.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import artifacts, safety
from harness.define import registry

MAX_LIST_BYTES = 256 << 20


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario as the supervisor sees it: data only, no build function, no user code."""

    name: str
    description: str
    tags: tuple[str, ...]
    meta: dict[str, Any]  # runner.scenario_meta: recorded for a scenario that crashed or timed out


def load(sources: list[str], select: list[str] | None, *, timeout_s: float,
         backend: str | None = None) -> list[ScenarioInfo]:
    """The selected scenarios of `sources`, imported by a child; ScenarioError on any failure."""
    what = ", ".join(sources)
    with tempfile.TemporaryDirectory(prefix="harness-load-") as folder:
        out = Path(folder) / "scenarios.json"
        if _fork_is_safe():
            child: Any = _Forked(lambda: child_main(sources, select, backend, out))
        else:
            command = [sys.executable, "-m", "harness", "_load", "--out", str(out)]
            command += ["--backend", backend] if backend else []
            for source in sources:
                command += ["--scenarios", source]
            for pattern in select or []:
                command += ["--select", pattern]
            # stdout=2: what the file prints at import goes to stderr, never into `list`'s output
            # this harness, wherever the current directory is (and under PYTHONSAFEPATH)
            root = str(Path(__file__).resolve().parents[2])
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=2, start_new_session=True,
                                     preexec_fn=child_setup(), env=env)
        try:
            code = child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise registry.ScenarioError(f"importing {what} took longer than {timeout_s:g} s "
                                         f"(--timeout); stopped it") from None
        finally:
            stop(child)
        try:
            data = json.loads(safety.read_bounded(out, limit=MAX_LIST_BYTES))
        except FileNotFoundError:
            raise registry.ScenarioError(
                f"{what}: its import ended the process ({describe_exit(code)}) before it finished; "
                f"a scenario file must not exit or kill its process") from None
        except (OSError, ValueError, safety.RefusedFile) as exc:
            raise registry.ScenarioError(f"{what}: the scenario list could not be read ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        raise registry.ScenarioError(data["error"])
    if code != 0:
        raise registry.ScenarioError(f"{what}: importing it ended with {describe_exit(code)}")
    return _infos(data, what)


def _infos(data: Any, what: str) -> list[ScenarioInfo]:
    try:
        infos = [ScenarioInfo(item["name"], item["description"], tuple(item["tags"]), item["meta"])
                 for item in data["scenarios"]]
        if not all(isinstance(i.name, str) and registry.NAME_RE.fullmatch(i.name)
                   and isinstance(i.description, str) and all(isinstance(t, str) for t in i.tags)
                   and isinstance(i.meta, dict) for i in infos) or not infos:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise registry.ScenarioError(f"{what}: the scenario list written at import is malformed") from None
    return infos


_BACKEND_MODULES = {"keras", "tensorflow", "jax", "torch"}


def _fork_is_safe() -> bool:
    """Forking skips a fresh interpreter (about 0.4 s a command), but only a process with one thread
    and no backend imported (their native threads do not survive a fork) may do it."""
    return (hasattr(os, "fork") and threading.active_count() == 1
            and not _BACKEND_MODULES & sys.modules.keys())


class _Forked:
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
                raise subprocess.TimeoutExpired("harness _load", timeout)
            time.sleep(0.005)
        return code


def stop(child: subprocess.Popen | _Forked) -> None:
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


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


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


def child_main(sources: list[str], select: list[str] | None, backend: str | None, out: Path) -> int:
    """In the child: import, select, write the list (or the one-line error) to `out`."""
    from harness.run import backends
    from harness.run.runner import scenario_meta

    if backend:
        backends.prepare_process(backend)  # a file that imports keras at its top gets this backend
    what = ", ".join(sources)
    try:
        loaded = registry.load(sources)
        if not loaded:
            raise registry.ScenarioError(f"{what} define(s) no scenario (use the @scenario decorator)")
        data: dict[str, Any] = {"scenarios": [
            {"name": s.name, "description": s.description, "tags": list(s.tags), "meta": scenario_meta(s)}
            for s in registry.select(loaded, select)]}
    except registry.ScenarioError as exc:
        data = {"error": str(exc)}
    except SystemExit as exc:
        data = {"error": f"{what}: called sys.exit({exc.code!r}) while being imported; "
                         f"a scenario file must not exit its process"}
    except BaseException as exc:  # KeyboardInterrupt raised by the file itself, and the like
        data = {"error": f"{what}: {registry._one_line(exc)}"}
    artifacts.atomic_write(out, json.dumps(data, default=str).encode())
    return 0
