"""Run a selection of scenarios under one backend and write the artifact.

Two processes: a light supervisor (this module's `run`, which never imports keras) and a worker
(`worker_main`, which does). The worker appends each finished scenario to a journal as it goes; the
supervisor reads the journal, prints progress, stops a scenario that runs past its timeout, and
starts a fresh worker for the remaining scenarios when one dies (abort, segfault, out of memory).
A crash therefore costs one scenario, never the run.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from harness import artifacts
from harness.artifacts import Artifact, ScenarioRecord
from harness.define.captured import Captured, ErrorInfo
from harness.define.registry import Scenario
from harness.run import backends, caches

POLL_S = 0.02


@dataclass
class RunOptions:
    backend: str
    sources: list[str]
    names: list[str]
    results_dir: Path
    label: str | None  # None: BACKEND-DEVICE, once the worker has said which device
    timeout_s: float = 600.0
    quiet: bool = False
    compiled: bool = True
    out: TextIO = field(default_factory=lambda: sys.stdout)


def run(scenarios: list[Scenario], options: RunOptions) -> Path:
    """Supervise workers until every selected scenario has a record; write the artifact."""
    options.results_dir.mkdir(parents=True, exist_ok=True)
    # One journal folder per run, so two runs into one results folder never clobber each other.
    journal_dir = Path(tempfile.mkdtemp(prefix=f".partial-{options.label or options.backend}-",
                                        dir=options.results_dir))
    by_name = {s.name: s for s in scenarios}
    records: dict[str, ScenarioRecord] = {}
    environment: dict[str, Any] = {}
    remaining = [s.name for s in scenarios]
    started = time.perf_counter()
    attempt = 0
    while remaining:
        attempt += 1
        journal = journal_dir / f"journal-{attempt}.jsonl"
        in_flight, env = _supervise_worker(options, remaining, journal, records, by_name)
        environment = environment or env
        if in_flight is not None:
            remaining = remaining[remaining.index(in_flight) + 1:]
        else:
            remaining = [n for n in remaining if n not in records]
            for name in remaining:  # the worker exited cleanly without them: should not happen
                records[name] = _failed(by_name[name], "crashed", "worker exited early", 0.0)
                _progress(options, records[name])
            remaining = []
    environment["command"] = "python -m harness " + " ".join(sys.argv[1:])
    environment["time"] = datetime.now(UTC).isoformat(timespec="seconds")
    environment["run_wall_s"] = round(time.perf_counter() - started, 3)
    ordered = {name: records[name] for name in by_name}
    label = options.label or f"{options.backend}-{environment.get('device', 'unknown')}"
    path = artifacts.write(Artifact(label, environment, ordered), options.results_dir)
    for leftover in journal_dir.iterdir():
        leftover.unlink()
    journal_dir.rmdir()
    _summary_line(label, options, ordered, time.perf_counter() - started, path)
    return path


def _supervise_worker(options: RunOptions, names: list[str], journal: Path,
                      records: dict[str, ScenarioRecord],
                      by_name: dict[str, Scenario]) -> tuple[str | None, dict[str, Any]]:
    """Run one worker; return the scenario it died or hung on (or None) and the environment."""
    names_file = journal.with_suffix(".names")
    names_file.write_text("\n".join(names))
    command = [sys.executable, "-m", "harness", "_worker", "--backend", options.backend,
               "--journal", str(journal), "--names-file", str(names_file),
               "--compiled" if options.compiled else "--no-compiled"]
    for source in options.sources:
        command += ["--scenarios", source]
    journal.touch()
    worker = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    environment: dict[str, Any] = {}
    in_flight: str | None = None
    in_flight_since = 0.0
    with journal.open() as reader:
        while True:
            finished = worker.poll() is not None
            for line in _complete_lines(reader):
                entry = json.loads(line)
                if entry["event"] == "environment":
                    environment = entry["environment"]
                elif entry["event"] == "start":
                    in_flight, in_flight_since = entry["name"], time.perf_counter()
                elif entry["event"] == "done":
                    record = _record_from_journal(entry, journal.parent)
                    records[record.name] = record
                    in_flight = None
                    _progress(options, record)
            if finished:
                break
            if in_flight and time.perf_counter() - in_flight_since > options.timeout_s:
                _kill(worker)
                records[in_flight] = _failed(by_name[in_flight], "timeout",
                                             f"stopped after {options.timeout_s:g} s",
                                             options.timeout_s)
                _progress(options, records[in_flight])
                return in_flight, environment
            time.sleep(POLL_S)
    if in_flight is not None:
        why = _describe_exit(worker.returncode)
        records[in_flight] = _failed(by_name[in_flight], "crashed", why,
                                     time.perf_counter() - in_flight_since)
        _progress(options, records[in_flight])
    return in_flight, environment


def _complete_lines(reader: TextIO):
    """Yield whole lines only: the worker may be half-way through writing the last one."""
    while True:
        position = reader.tell()
        line = reader.readline()
        if not line.endswith("\n"):
            reader.seek(position)
            return
        yield line


def _kill(worker: subprocess.Popen) -> None:
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait()


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"worker killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    return f"worker exited with status {code}"


def _failed(scn: Scenario, status: str, message: str, duration: float) -> ScenarioRecord:
    captured = Captured(scenario=scn.name, backend="", error=ErrorInfo(status, message))
    return ScenarioRecord(scn.name, status, duration, captured, scenario_meta(scn))


def scenario_meta(scn: Scenario) -> dict[str, Any]:
    """What the report needs to know about a scenario without importing it."""
    return {
        "description": scn.description,
        "tags": list(scn.tags),
        "definition_hash": scn.definition_hash,
        "source": scn.source,
        "tolerances": {glob: {"atol": t.atol, "rtol": t.rtol, "reason": t.reason}
                       for glob, t in scn.tolerances.items()},
        "dtype_policy": scn.dtype_policy,
        "expectations": [],
    }


def _record_from_journal(event: dict[str, Any], folder: Path) -> ScenarioRecord:
    """A finished scenario as the worker journalled it: the artifact's own entry format."""
    arrays: dict[str, np.ndarray] = {}
    if event["arrays"]:
        with np.load(folder / event["arrays"], allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return artifacts.decode_record(event["entry"], arrays, label="")


def _progress(options: RunOptions, record: ScenarioRecord) -> None:
    if options.quiet:
        return
    print(f"  {record.status:<8} {record.duration_s:7.2f}s  {record.name}", file=options.out,
          flush=True)


def _summary_line(label: str, options: RunOptions, records: dict[str, ScenarioRecord], wall: float,
                  path: Path) -> None:
    counts: dict[str, int] = {}
    for record in records.values():
        counts[record.status] = counts.get(record.status, 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{label}: {len(records)} scenarios ({detail}) in {wall:.1f}s -> {path}",
          file=options.out, flush=True)


def run_all(flags: list[str]) -> int:
    """Every installed backend as its own `harness run` process, in parallel; the worst exit code."""
    import importlib.util

    chosen = [b for b, (package, _, _) in backends.BACKENDS.items()
              if importlib.util.find_spec(package) is not None]
    if not chosen:
        raise backends.BackendError("no backend is installed here; `nox -s tf jax torch` installs them")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    processes = {b: subprocess.Popen([sys.executable, "-m", "harness", "run", "--backend", b, *flags],
                                     stdin=subprocess.DEVNULL, env=env) for b in chosen}
    codes = {b: p.wait() for b, p in processes.items()}
    failed = {b: c for b, c in codes.items() if c}
    if failed:
        print(f"harness: error: backend run(s) failed: {failed}", file=sys.stderr)
    return max(codes.values())


# ---- worker side: imports keras ----------------------------------------------------------------

def worker_main(backend: str, sources: list[str], names: list[str], journal: Path,
                compiled: bool) -> int:
    backends.prepare_process(backend)
    caches.configure(backend)  # compilation caches: before the backend is first imported
    from harness.define import registry

    selected = {s.name: s for s in registry.load(sources)}
    if backend == "tensorflow":
        backends.silence_tensorflow()
    from harness.run import capture

    # Each scenario ends with keras.backend.clear_session(), whose gc.collect() would walk every
    # object the imports made (0.1-0.2 s a scenario); frozen, they are skipped.
    gc.collect()
    gc.freeze()
    with journal.open("a") as out:
        _journal(out, {"event": "environment", "environment": backends.environment(backend)})
        for index, name in enumerate(names):
            scn = selected[name]
            _journal(out, {"event": "start", "name": name})
            try:
                outcome = capture.run_scenario(scn, backend, compiled=compiled)
                status, captured, meta, duration = (outcome.status, outcome.captured,
                                                    {**scenario_meta(scn), **outcome.meta},
                                                    outcome.duration_s)
            except capture.ScenarioDefinitionError as exc:
                captured = Captured(scn.name, backend, error=ErrorInfo("ScenarioDefinitionError",
                                                                        str(exc)))
                status, meta, duration = "error", {**scenario_meta(scn), "definition_error": True}, 0.0
            entry, arrays = artifacts.encode_record(ScenarioRecord(name, status, duration, captured, meta))
            arrays_name = f"{journal.stem}-{index}.npz"
            if arrays:
                np.savez(journal.parent / arrays_name, **arrays)
            _journal(out, {"event": "done", "entry": entry, "arrays": arrays_name if arrays else None})
            # What a scenario leaves alive (the backend's tracing and compilation caches) survived
            # clear_session's gc.collect(); frozen, the next scenarios' collects skip it (JAX: 0.1-0.3 s
            # a scenario, growing with the run). Garbage is never frozen: the collect ran just before.
            gc.freeze()
    return 0


def _journal(out: TextIO, entry: dict[str, Any]) -> None:
    out.write(json.dumps(entry, default=_json_default) + "\n")
    out.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    return str(value)
