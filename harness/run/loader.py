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

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import safety
from harness.define import registry
from harness.define.info import ScenarioInfo, scenario_meta
from harness.run.processes import Forked, child_setup, describe_exit, fork_is_safe, stop

MAX_LIST_BYTES = 256 << 20


def load(sources: list[str], select: list[str] | None, *, timeout_s: float,
         backend: str | None = None) -> list[ScenarioInfo]:
    """The selected scenarios of `sources`, imported by a child; ScenarioError on any failure."""
    what = ", ".join(sources)
    with tempfile.TemporaryDirectory(prefix="harness-load-") as folder:
        out = Path(folder) / "scenarios.json"
        if fork_is_safe():
            child: Any = Forked(lambda: child_main(sources, select, backend, out))
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
        infos = [ScenarioInfo(item["name"], item["description"], tuple(item["tags"]), item["meta"],
                              str(item.get("suite_hash", "")))
                 for item in data["scenarios"]]
        if not all(isinstance(i.name, str) and registry.NAME_RE.fullmatch(i.name)
                   and isinstance(i.description, str) and all(isinstance(t, str) for t in i.tags)
                   and isinstance(i.meta, dict) for i in infos) or not infos:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise registry.ScenarioError(f"{what}: the scenario list written at import is malformed") from None
    return infos


def child_main(sources: list[str], select: list[str] | None, backend: str | None, out: Path) -> int:
    """In the child: import, select, write the list (or the one-line error) to `out`."""
    from harness.run import backends

    if backend:
        backends.prepare_process(backend)  # a file that imports keras at its top gets this backend
    what = ", ".join(sources)
    try:
        loaded = registry.load(sources)
        if not loaded:
            raise registry.ScenarioError(f"{what} define(s) no scenario (use the @scenario decorator)")
        from harness.run import reuse

        roots = reuse.suite_roots(sources)
        data: dict[str, Any] = {"scenarios": [
            {"name": s.name, "description": s.description, "tags": list(s.tags), "meta": scenario_meta(s),
             "suite_hash": reuse.suite_hash(s.source_file, roots)}
            for s in registry.select(loaded, select)]}
    except registry.ScenarioError as exc:
        data = {"error": str(exc)}
    except SystemExit as exc:
        data = {"error": f"{what}: called sys.exit({exc.code!r}) while being imported; "
                         f"a scenario file must not exit its process"}
    except BaseException as exc:  # KeyboardInterrupt raised by the file itself, and the like
        data = {"error": f"{what}: {registry._one_line(exc)}"}
    safety.atomic_write(out, json.dumps(data, default=str).encode())
    return 0
