"""The supervisor side of the case workers: one long-lived process per backend. Never imports keras.

Each worker (harness/run/case_worker.py) imports its backend once and then answers case specs. A
worker that dies on a case, or runs past the per-case timeout, is killed with its process group and
recorded as "crashed" or "timeout" for that case; the next case starts a fresh worker. This is the
isolation `harness run` gives: a crash costs one case, never the campaign.

With HARNESS_FUZZ_JAX_MODE=jit (off by default: measured slower, docs/fuzz.md "Throughput"), JAX
screens each case in the worker's "jit" mode (the forward pass as one jax.jit program instead of
30-120 eager ops each compiled for its shapes). Whatever that screening does not settle as an agreement
of all workers (a divergence, a known one too, an error, a crash, a timeout) is run again on JAX as
users run it ("eager") and judged on that record: the campaign, the shrinker and the keeper only ever
see a jitted JAX record when the case agrees.
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
from harness.generate import findings
from harness.run import processes

MAX_LINE = 50_000_000
SCREEN_MODE = "jit"  # the JAX worker's screening mode (harness/run/case_worker.py JAX_MODES)


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
        self.jax_modes: tuple[str, ...] = ()  # the modes the worker announced (none: a JAX-less or older worker)
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
        self.jax_modes = tuple(ready.get("jax_modes") or ())

    def send(self, case_id: int, spec: dict[str, Any], jax_mode: str | None = None) -> None:
        if self.process is None or self.process.poll() is not None:
            self.restarts += bool(self.environment)  # started before: this is a restart
            self.start()
        assert self.process is not None and self.process.stdin is not None
        try:
            request = {"id": case_id, "spec": spec, **({"jax_mode": jax_mode} if jax_mode else {})}
            self.process.stdin.write((json.dumps(request) + "\n").encode())
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


def settled(spec: dict[str, Any], records: dict[str, ScenarioRecord]) -> bool:
    """Whether a screened case is settled: every record ok and every pair agreeing (noise included).
    Judged without known entries, so a known divergence is run again too: its fingerprint is made on
    the records users would get."""
    if any(r.status != "ok" for r in records.values()):
        return False
    verdict = findings.judge(spec, records)
    return verdict.signature is None and verdict.verdict in ("match", "noise")


class Pool:
    """One worker per backend; `run(spec)` sends the case to all of them, then collects the answers."""

    def __init__(self, backends: tuple[str, ...] = ("tensorflow", "jax", "torch"), timeout_s: float = 120.0,
                 command_for: Any = None, workdir: Path | None = None, environ_for: Any = None,
                 screen: bool | None = None):
        """`backends` name the workers (a backend, or a version run's label with `command_for` and
        `environ_for` giving its interpreter and environment: harness/generate/versions.py).
        `screen`: screen cases in JAX's jit mode (default: off unless HARNESS_FUZZ_JAX_MODE=jit)."""
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
        self.screen = os.environ.get("HARNESS_FUZZ_JAX_MODE") == SCREEN_MODE if screen is None else screen
        self.rechecks = 0  # cases the screening did not settle, run again as users run them

    def start(self) -> None:
        for worker in self.workers.values():  # the imports of the backends overlap
            worker.spawn()
        for worker in self.workers.values():
            worker.wait_ready()

    def run(self, spec: dict[str, Any]) -> dict[str, ScenarioRecord]:
        screened = [b for b, w in self.workers.items() if self.screen and SCREEN_MODE in w.jax_modes]
        records = self._round(spec, {b: SCREEN_MODE if b in screened else None for b in self.workers})
        if screened and not settled(spec, records):
            self.rechecks += 1
            records.update(self._round(spec, dict.fromkeys(screened, "eager")))
        self.cases += 1
        return records

    def _round(self, spec: dict[str, Any], modes: dict[str, str | None]) -> dict[str, ScenarioRecord]:
        """Send the case to the named workers, all before any answer is read: the backends run it at once."""
        self.next_id += 1
        for backend, mode in modes.items():
            self.workers[backend].send(self.next_id, spec, mode)
        records = {b: self.workers[b].receive(self.next_id, spec["name"]) for b in modes}
        for backend, record in records.items():
            self.seconds[backend] += record.duration_s
        return records

    def environments(self) -> dict[str, dict[str, Any]]:
        return {b: {**w.environment, "backend": b, **self._screening(w)} for b, w in self.workers.items()}

    def _screening(self, worker: Worker) -> dict[str, str]:
        if not (self.screen and SCREEN_MODE in worker.jax_modes):
            return {}
        return {"jax_mode": f"{SCREEN_MODE} screening, {self.rechecks} of {self.cases} cases run again eagerly"}

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
