"""The supervisor side of the case workers: one long-lived process per backend. Never imports keras.

Each worker (harness/run/case_worker.py) imports its backend once and then answers case specs. A
worker that dies on a case, or runs past the per-case timeout, is killed with its process group and
recorded as "crashed" or "timeout" for that case; the next case starts a fresh worker. This is the
isolation `harness run` gives: a crash costs one case, never the campaign.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness import artifacts
from harness.artifacts import ScenarioRecord
from harness.define.captured import Captured, ErrorInfo
from harness.run import processes

MAX_LINE = 50_000_000


class WorkerError(Exception):
    """A worker that cannot start at all (missing backend, broken environment)."""


def failed_record(name: str, status: str, message: str, duration: float = 0.0) -> ScenarioRecord:
    return ScenarioRecord(name, status, duration, Captured(name, "", error=ErrorInfo(status, message)),
                          {"tolerances": {}})


class Worker:
    """One backend's worker process; `command` is overridable (tests use a fake worker)."""

    def __init__(self, backend: str, workdir: Path, timeout_s: float, command: list[str] | None = None,
                 compiled: bool = False, environ: dict[str, str] | None = None):
        self.backend, self.workdir, self.timeout_s = backend, workdir, timeout_s
        self.environ = environ  # the whole environment (a version runtime's), else ours minus KERAS_BACKEND
        self.command = command or [sys.executable, "-m", "harness.run.case_worker", backend, str(workdir),
                                   *(["--compiled"] if compiled else [])]
        self.process: subprocess.Popen | None = None
        self.environment: dict[str, Any] = {}
        self.restarts = 0
        self._buffer = b""
        self._sent = 0.0
        self._log = None

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        env = dict(self.environ) if self.environ is not None else {
            k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        self._log = open(self.workdir / f"{self.backend}.stderr.log", "ab")  # noqa: SIM115 (kept open)
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._log, env=env, start_new_session=True,
                                        preexec_fn=processes.child_setup())  # dies with the campaign
        self._buffer = b""

    def wait_ready(self) -> None:
        ready = self._read_line(time.monotonic() + processes.STARTUP_S)
        if not isinstance(ready, dict) or ready.get("event") != "ready":
            self.stop()
            tail = (self.workdir / f"{self.backend}.stderr.log").read_text(errors="replace")[-300:]
            raise WorkerError(f"the {self.backend} case worker did not start ({ready}): {' '.join(tail.split())}")
        self.environment = ready["environment"]

    def send(self, case_id: int, spec: dict[str, Any]) -> None:
        if self.process is None or self.process.poll() is not None:
            self.restarts += bool(self.environment)  # started before: this is a restart
            self.start()
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps({"id": case_id, "spec": spec}) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the answer below reports the crash
        self._sent = time.monotonic()

    def receive(self, case_id: int, name: str) -> ScenarioRecord:
        """The answer to the case just sent, or a timeout/crash record (the worker is then stopped)."""
        answer = self._read_line(self._sent + self.timeout_s)
        waited = time.monotonic() - self._sent
        if answer == "timeout":
            self.stop()
            return failed_record(name, "timeout", f"stopped after {self.timeout_s:g} s", waited)
        if not isinstance(answer, dict):  # end of stream, or a line that is not JSON (or too long)
            try:  # a bounded wait: the worker may still be alive, having written something else
                code = self.process.wait(timeout=2.0) if self.process else None
            except subprocess.TimeoutExpired:
                code = None
            self.stop()
            why = (processes.describe_exit(code, "worker") if code is not None
                   else "worker sent an answer that is not JSON")
            return failed_record(name, "crashed", why, waited)
        if answer.get("id") != case_id or "error" in answer:
            self.stop()
            return failed_record(name, "crashed", f"worker answered {str(answer)[:200]}", waited)
        arrays: dict[str, np.ndarray] = {}
        if answer["arrays"]:
            path = self.workdir / answer["arrays"]
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            path.unlink()
        return artifacts.decode_record(answer["entry"], arrays, label=self.backend)

    def _read_line(self, deadline: float) -> Any:
        """One JSON line from the worker; "timeout" past the deadline; None at end of stream."""
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return None

    def stop(self) -> None:
        if self.process is None:
            return
        processes.stop(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream and stream.close()
            except OSError:
                pass
        self.process = None
        if self._log:
            self._log.close()
            self._log = None


class Pool:
    """One worker per backend; `run(spec)` sends the case to all of them, then collects the answers."""

    def __init__(self, backends: tuple[str, ...] = ("tensorflow", "jax", "torch"), timeout_s: float = 120.0,
                 command_for: Any = None, workdir: Path | None = None, environ_for: Any = None):
        """`backends` name the workers (a backend, or a version run's label with `command_for` and
        `environ_for` giving its interpreter and environment: harness/generate/versions.py)."""
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="harness-fuzz-")
            workdir = Path(self._tmp.name)
        self.workers = {b: Worker(b, workdir, timeout_s, command_for(b) if command_for else None,
                                  environ=environ_for(b) if environ_for else None)
                        for b in backends}
        self.next_id = 0
        self.seconds = dict.fromkeys(backends, 0.0)  # time each backend spent on cases
        self.cases = 0

    def start(self) -> None:
        for worker in self.workers.values():  # the imports of the backends overlap
            worker.spawn()
        for worker in self.workers.values():
            worker.wait_ready()

    def run(self, spec: dict[str, Any]) -> dict[str, ScenarioRecord]:
        self.next_id += 1
        for worker in self.workers.values():
            worker.send(self.next_id, spec)
        records = {b: w.receive(self.next_id, spec["name"]) for b, w in self.workers.items()}
        for backend, record in records.items():
            self.seconds[backend] += record.duration_s
        self.cases += 1
        return records

    def environments(self) -> dict[str, dict[str, Any]]:
        return {b: {**w.environment, "backend": b} for b, w in self.workers.items()}

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
