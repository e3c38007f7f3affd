"""Run a selection of scenarios under one backend and write the artifact.

Two processes: a light supervisor (this module's `run`, which never imports keras) and a worker
(`worker_main`, which does). The worker appends each finished scenario to a journal as it goes; the
supervisor reads the journal, prints progress, stops a scenario that runs past its timeout, and
starts a fresh worker for the remaining scenarios when one dies (abort, segfault, out of memory).
A crash therefore costs one scenario, never the run.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from harness import artifacts, safety
from harness.artifacts import Artifact, ScenarioRecord
from harness.define import registry
from harness.define.captured import Captured, ErrorInfo
from harness.define.info import ScenarioInfo, as_info, scenario_meta
from harness.define.registry import Scenario
from harness.run import backends, caches, lanes, processes, reuse

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
    resume: bool = False  # reuse what interrupted runs of the same backend and label journalled
    reuse: bool = True  # reuse unchanged scenarios' results from the previous artifact (run/reuse.py)
    workers: int = 1  # worker processes at once, each on its share of the scenarios (run/lanes.py)


def run(scenarios: list[ScenarioInfo] | list[Scenario], options: RunOptions) -> Path:
    """Supervise workers until every selected scenario has a record; write the artifact.

    Interrupted (SIGINT, SIGTERM), it stops its worker and keeps the journal of what finished, which
    `--resume` reuses; the same holds if the supervisor itself is killed (its worker dies with it).
    """
    options.results_dir.mkdir(parents=True, exist_ok=True)
    by_name = {s.name: as_info(s) for s in scenarios}
    records: dict[str, ScenarioRecord] = {}
    reused: list[Path] = []
    resumed_environment: dict[str, Any] = {}
    if options.resume:
        records, reused, resumed_environment = _resumable(options, by_name)
        if not options.quiet:
            print(f"  resuming: {len(records)} scenario(s) finished by an interrupted run are kept",
                  file=options.out, flush=True)
    # One journal folder per run, so two runs into one results folder never clobber each other.
    journal_dir = Path(tempfile.mkdtemp(prefix=f".partial-{options.label or options.backend}-",
                                        dir=options.results_dir))
    safety.atomic_write(journal_dir / "run.json", json.dumps(
        {"backend": options.backend, "label": options.label, "compiled": options.compiled,
         "pid": os.getpid()}).encode())
    fingerprints = _fingerprints(scenarios, options)
    kept, environment = _reusable(options, fingerprints, records)
    environment = environment or resumed_environment  # no worker may start: the interrupted run's
    records.update(kept)
    remaining = [s.name for s in scenarios if s.name not in records]
    started = time.perf_counter()
    attempts = itertools.count(1)  # journal-<n>.jsonl: one per worker started, whichever lane
    with _interruptible(), (journal_dir / "supervisor.jsonl").open("a") as own_journal:
        def failed(name: str, status: str, message: str, duration: float) -> None:
            """A record the supervisor makes (crash, timeout), journalled like the worker's."""
            records[name] = _failed(by_name[name], status, message, duration)
            entry, _ = artifacts.encode_record(records[name])
            _journal(own_journal, {"event": "done", "entry": entry, "arrays": None})
            _progress(options, records[name])

        durations = lanes.previous_durations(options.results_dir, options.backend, options.label) if (
            options.workers > 1 and len(remaining) > 1) else {}
        try:
            found = lanes.drive([_lane(options, share, journal_dir, attempts, records, failed)
                                 for share in lanes.shares(remaining, options.workers, durations)], POLL_S)
        except KeyboardInterrupt:
            # counted from the journal: it may hold entries this loop had not read yet
            finished = sum(journal.read_text().count('"event": "done"')
                           for journal in journal_dir.glob("*.jsonl"))
            raise KeyboardInterrupt(f"{finished} finished scenario(s) kept in "
                                    f"{safety.printable(journal_dir)}; `harness run --resume` with the "
                                    f"same options reuses them") from None
    # this run's workers' (the first lane's that reported), else the reused artifact's
    environment = next((env for env in found if env), environment)
    environment["command"] = "python -m harness " + " ".join(sys.argv[1:])
    environment["time"] = datetime.now(UTC).isoformat(timespec="seconds")
    environment["run_wall_s"] = round(time.perf_counter() - started, 3)
    environment["reused"] = f"{len(kept)} of {len(by_name)}"
    ordered = {name: records[name] for name in by_name}
    for name, record in ordered.items():
        record.meta["reused"] = name in kept
        if fingerprints.get(name):
            record.meta["fingerprint"] = fingerprints[name]
    label = options.label or default_label(options.backend, environment)
    path = artifacts.write(Artifact(label, environment, ordered), options.results_dir)
    for folder in [journal_dir, *reused]:
        shutil.rmtree(folder, ignore_errors=True)
    _summary_line(label, options, ordered, time.perf_counter() - started, path, len(kept))
    return path


def _fingerprints(scenarios: list[ScenarioInfo] | list[Scenario], options: RunOptions) -> dict[str, str]:
    """Each scenario's reuse fingerprint; none where its suite modules are unknown (never reused)."""
    context = reuse.run_context(options.backend, options.compiled)
    roots = None
    out = {}
    for scn in scenarios:
        if isinstance(scn, Scenario):  # imported by a trusted caller, in this process
            roots = roots if roots is not None else reuse.suite_roots(options.sources)
            suite = reuse.suite_hash(scn.source_file, roots)
        else:
            suite = scn.suite_hash
        if suite:
            out[scn.name] = reuse.fingerprint(as_info(scn).meta, suite, context)
    return out


def _reusable(options: RunOptions, fingerprints: dict[str, str], done: dict[str, ScenarioRecord],
              ) -> tuple[dict[str, ScenarioRecord], dict[str, Any]]:
    """The previous artifact's records whose fingerprint is this run's (arrays as they were), and
    that artifact's environment."""
    if not options.reuse or reuse.disabled():
        return {}, {}
    previous, environment = reuse.previous_records(options.results_dir, options.backend, options.label,
                                                         default_label)
    kept = {name: previous[name] for name, fp in fingerprints.items()
            if name not in done and name in previous and previous[name].meta.get("fingerprint") == fp}
    if kept and not options.quiet:
        print(f"  reusing {len(kept)} unchanged scenario(s) from the previous run", file=options.out, flush=True)
    return kept, environment if kept else {}


@contextlib.contextmanager
def _interruptible():
    """SIGTERM ends a run as Ctrl-C does: the worker is stopped and the journal kept."""
    def terminate(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _resumable(options: RunOptions, by_name: dict[str, ScenarioInfo],
               ) -> tuple[dict[str, ScenarioRecord], list[Path], dict[str, Any]]:
    """Records journalled by interrupted runs of the same backend, label and passes whose scenario
    definition is unchanged; the journal folders they came from (removed once this run is in); and
    the environment their workers reported (the artifact's, when every scenario is resumed and no
    worker starts: without it the label became '<backend>-unknown')."""
    kept: dict[str, ScenarioRecord] = {}
    folders = []
    environment: dict[str, Any] = {}
    for folder in sorted(options.results_dir.glob(".partial-*")):
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            run_info = json.loads(safety.read_bounded(folder / "run.json", limit=1 << 16, inside=folder))
            same = (run_info["backend"], run_info["label"], run_info["compiled"]) == (
                options.backend, options.label, options.compiled)
            if not same or _alive(int(run_info["pid"])):
                continue
            for journal in sorted(folder.glob("*.jsonl")):
                text = safety.read_bounded(journal, limit=artifacts.MAX_MANIFEST_BYTES, inside=folder)
                for line in text.decode().splitlines(keepends=True):
                    entry = json.loads(line) if line.endswith("\n") else {}  # a torn last line: skip
                    if entry.get("event") == "environment":
                        environment = dict(entry["environment"])
                    if entry.get("event") != "done":
                        continue
                    record = _record_from_journal(entry, folder)
                    scn = by_name.get(record.name)
                    if scn and record.meta.get("definition_hash") == scn.meta.get("definition_hash"):
                        kept[record.name] = record
        except (OSError, ValueError, KeyError, TypeError, AttributeError, safety.RefusedFile,
                artifacts.ArtifactError) as exc:
            print(f"harness: warning: not resuming from {safety.printable(folder)}: "
                  f"{' '.join(str(exc).split())[:200]}", file=sys.stderr)
            continue
        folders.append(folder)
    return kept, folders, environment


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


# What a scenario leaves alive in the backend (tracing and compilation caches) is not freed by
# clear_session: a worker grows by about 70 KB a scenario under JAX (benchmarks/load_bench.py). A
# fresh worker per batch bounds that, for a few seconds of start-up a batch.
SCENARIOS_PER_WORKER = 500



def _lane(options: RunOptions, names: list[str], journal_dir: Path, attempts: Iterator[int],
          records: dict[str, ScenarioRecord], failed: Callable[..., None]) -> lanes.Lane:
    """One lane: its scenarios through one worker at a time, a fresh one per batch or after a crash.
    Yields while it waits; returns the environment its workers reported ({} if none did)."""
    remaining = list(names)
    environment: dict[str, Any] = {}
    while remaining:
        journal = journal_dir / f"journal-{next(attempts)}.jsonl"
        batch = remaining[:SCENARIOS_PER_WORKER]
        in_flight, env, failure = yield from _supervise_worker(options, batch, journal, records, failed)
        environment = env or environment
        if in_flight is not None:
            remaining = remaining[remaining.index(in_flight) + 1:]
            continue
        if failure is None and all(name in records for name in batch):
            remaining = remaining[len(batch):]  # a fresh worker for the next batch
            continue
        # The worker failed outside any scenario (starting, importing, between scenarios): a
        # fresh one would too, so what is left of this lane is recorded with the reason.
        for name in [n for n in remaining if n not in records]:
            failed(name, *(failure or ("crashed", "worker exited early")), 0.0)
        remaining = []
    return environment


def _supervise_worker(options: RunOptions, names: list[str], journal: Path,
                      records: dict[str, ScenarioRecord], failed: Callable[..., None],
                      ) -> Generator[None, None, tuple[str | None, dict[str, Any], tuple[str, str] | None]]:
    """Run one worker, yielding while it waits (lanes.drive steps it); return the scenario it died or
    hung on (or None), the environment, and, if it failed outside any scenario, (status, why).

    Every wait has a bound: starting (processes.STARTUP_S), importing the scenario files, each scenario,
    and the time between scenarios and before exiting (--timeout each).
    """
    names_file = journal.with_suffix(".names")
    names_file.write_text("\n".join(names))
    command = [sys.executable, "-m", "harness", "_worker", "--backend", options.backend,
               "--journal", str(journal), "--names-file", str(names_file),
               "--compiled" if options.compiled else "--no-compiled"]
    for source in options.sources:
        command += ["--scenarios", source]
    journal.touch()
    worker = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True,
                              preexec_fn=processes.child_setup())
    environment: dict[str, Any] = {}
    in_flight: str | None = None
    in_flight_since = 0.0
    phase, limit = "starting", processes.STARTUP_S
    deadline = time.perf_counter() + limit
    try:
        with journal.open() as reader:
            while True:
                finished = worker.poll() is not None
                for line in _complete_lines(reader):
                    now = time.perf_counter()
                    phase, limit, deadline = "running", options.timeout_s, now + options.timeout_s
                    try:
                        entry = json.loads(line)
                        if entry["event"] == "loading":
                            phase = "importing the scenario files"
                        elif entry["event"] == "environment":
                            environment = dict(entry["environment"])
                        elif entry["event"] == "start":
                            in_flight, in_flight_since = names[names.index(entry["name"])], now
                        elif entry["event"] == "done":
                            record = _record_from_journal(entry, journal.parent)
                            records[record.name] = record
                            in_flight = None
                            _progress(options, record)
                    except (ValueError, KeyError, TypeError, AttributeError, OSError, zipfile.BadZipFile,
                            safety.RefusedFile) as exc:  # the user's code wrote into the journal?
                        processes.stop(worker)
                        why = f"worker wrote a malformed journal entry ({type(exc).__name__})"
                        if in_flight:
                            failed(in_flight, "crashed", why, now - in_flight_since)
                            return in_flight, environment, None
                        return None, environment, ("crashed", why)
                if finished:
                    break
                if time.perf_counter() > deadline:
                    processes.stop(worker)
                    if in_flight:
                        failed(in_flight, "timeout", f"stopped after {options.timeout_s:g} s",
                               options.timeout_s)
                        return in_flight, environment, None
                    if all(name in records for name in names):  # lingering at exit (atexit): done
                        return None, environment, None
                    return None, environment, ("timeout", f"worker stopped: {phase} took longer than "
                                                          f"{limit:g} s")
                yield
    finally:
        processes.stop(worker)  # interrupted, or the journal could not be read: no orphan goes on
    if in_flight is not None:
        failed(in_flight, "crashed", processes.describe_exit(worker.returncode, "worker"),
               time.perf_counter() - in_flight_since)
        return in_flight, environment, None
    if all(name in records for name in names):
        return None, environment, None
    where = "between scenarios" if phase == "running" else phase
    return None, environment, ("crashed", f"{processes.describe_exit(worker.returncode, 'worker')} while {where}")


def _complete_lines(reader: TextIO):
    """Yield whole lines only: the worker may be half-way through writing the last one."""
    while True:
        position = reader.tell()
        line = reader.readline()
        if not line.endswith("\n"):
            reader.seek(position)
            return
        yield line


def _failed(scn: ScenarioInfo, status: str, message: str, duration: float) -> ScenarioRecord:
    captured = Captured(scenario=scn.name, backend="", error=ErrorInfo(status, message))
    return ScenarioRecord(scn.name, status, duration, captured, dict(scn.meta))


def _record_from_journal(event: dict[str, Any], folder: Path) -> ScenarioRecord:
    """A finished scenario as the worker journalled it: the artifact's own entry format."""
    arrays: dict[str, np.ndarray] = {}
    if event["arrays"]:
        # a name from a journal (perhaps an old one, for --resume) stays inside its folder
        with np.load(safety.child_path(folder, event["arrays"]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return artifacts.decode_record(event["entry"], arrays, label="")


def _progress(options: RunOptions, record: ScenarioRecord) -> None:
    if options.quiet:
        return
    print(f"  {record.status:<8} {record.duration_s:7.2f}s  {record.name}", file=options.out,
          flush=True)


def default_label(backend: str, environment: dict[str, Any]) -> str:
    """BACKEND-DEVICE for Keras 3; a Keras 2 run names its Keras (tf-keras-2.21-cpu), so it never
    replaces the Keras 3 TensorFlow artifact that sits beside it."""
    device = environment.get("device", "unknown")
    if environment.get("keras_flavour") == "tf-keras":
        major_minor = ".".join(str(environment.get("keras", "")).split(".")[:2])
        label = f"tf-keras-{major_minor}-{device}"
        if artifacts.LABEL_RE.fullmatch(label):  # else the plain label: never lose a finished run
            return label
    return f"{backend}-{device}"


def _summary_line(label: str, options: RunOptions, records: dict[str, ScenarioRecord], wall: float,
                  path: Path, reused: int = 0) -> None:
    counts: dict[str, int] = {}
    for record in records.values():
        counts[record.status] = counts.get(record.status, 0) + 1
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{label}: {len(records)} scenarios ({detail}) in {wall:.1f}s, {reused} reused from the previous "
          f"run, {len(records) - reused} run -> {path}",
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
    with _interruptible():
        try:
            codes = {b: p.wait() for b, p in processes.items()}
        except KeyboardInterrupt:  # each backend's run stops its worker and keeps its journal
            for process in processes.values():
                if process.poll() is None:
                    process.terminate()
            for process in processes.values():
                process.wait()
            raise KeyboardInterrupt("each backend's finished scenarios are kept; `harness run --backend all "
                                    "--resume` reuses them") from None
    failed = {b: c for b, c in codes.items() if c}
    if failed:
        print(f"harness: error: backend run(s) failed: {failed}", file=sys.stderr)
    return max(codes.values())


# ---- worker side: imports keras ----------------------------------------------------------------

def worker_main(backend: str, sources: list[str], names: list[str], journal: Path,
                compiled: bool) -> int:
    backends.prepare_process(backend)
    caches.configure(backend)  # compilation caches: before the backend is first imported
    if backend == "tensorflow":
        backends.silence_tensorflow()
    # keras and the backend first, so that the supervisor bounds the user's import by --timeout alone
    from harness.run import capture

    with journal.open("a") as out:
        _journal(out, {"event": "loading"})
        selected = {s.name: s for s in registry.load(sources)}
        # Each scenario ends with keras.backend.clear_session(), whose gc.collect() would walk every
        # object the imports made (0.1-0.2 s a scenario); frozen, they are skipped.
        gc.collect()
        gc.freeze()
        _journal(out, {"event": "environment", "environment": backends.environment(backend, caches.state())})
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
