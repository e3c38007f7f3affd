"""Several workers for one backend's run: the scenarios shared among lanes, each lane supervised as
one worker at a time always was, and all of them stepped by one loop in the supervisor's thread.

A scenario's result does not depend on the process it runs in or on what ran before it there: each
one sets its own weights from its name, and `clear_session` ends it (tests/test_speed_run.py and
benchmarks/bench_forced.py compare every array with a one-worker run). So a 2-core machine can run
two scenarios at once: tracing Keras layers under tf.function, lowering to XLA and Python dispatch,
most of a suite's time, use one core each. The artifact lists the scenarios in the suite's order
whatever lane ran them.

The shares are balanced by each scenario's duration in the previous artifact of this backend in the
results folder (longest first, each to the least loaded lane); without one, by alternating.

Imports no backend.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from harness import artifacts, safety
from harness.run import reuse

ENV_WORKERS = "HARNESS_WORKERS"
MAX_DEFAULT_WORKERS = 2  # measured on a 2-core machine (docs/speed.md); more with --workers

Lane = Generator[None, None, Any]  # yields while it waits; returns what the lane found (the environment)


def default_workers(backend_count: int = 1) -> int:
    """HARNESS_WORKERS if set; else 2 on a machine with 2 or more cores and no accelerator, else 1.

    Two processes on one accelerator would each claim its memory (TensorFlow and JAX preallocate it),
    and runs of several backends at once (`--backend all`) already share the cores: 1 each."""
    chosen = os.environ.get(ENV_WORKERS, "").strip()
    if chosen:
        return parse_workers(chosen)
    if backend_count > 1 or any(os.path.exists(node) for node in reuse.DEVICE_NODES):
        return 1
    return max(1, min(MAX_DEFAULT_WORKERS, _cores()))


def parse_workers(value: str) -> int:
    """A worker count from the command line or HARNESS_WORKERS: a whole number from 1 to 64."""
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= 64:
        raise ValueError(f"workers must be a whole number from 1 to 64, not {value[:40]!r}")
    return count


parse_workers.__name__ = "a number of workers (1-64)"  # argparse shows this name in its error


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def shares(names: list[str], workers: int, durations: dict[str, float]) -> list[list[str]]:
    """`names` split into at most `workers` non-empty lists, each in the order of `names`.

    Longest first, each to the lane with the least work so far (a scenario without a duration counts as
    the median of the known ones); without durations, alternately."""
    lanes = min(workers, len(names))
    if lanes <= 1:
        return [list(names)]
    order = {name: index for index, name in enumerate(names)}
    if not any(name in durations for name in names):
        return [names[start::lanes] for start in range(lanes)]
    known = sorted(durations[name] for name in names if name in durations)
    typical = known[len(known) // 2]
    cost = {name: durations.get(name, typical) for name in names}
    load = [0.0] * lanes
    chosen: list[list[str]] = [[] for _ in range(lanes)]
    for name in sorted(names, key=lambda n: (-cost[n], order[n])):
        lane = min(range(lanes), key=lambda i: (load[i], i))
        load[lane] += cost[name]
        chosen[lane].append(name)
    return [sorted(share, key=order.__getitem__) for share in chosen if share]


def previous_durations(results_dir: Path, backend: str, label: str | None) -> dict[str, float]:
    """Each scenario's duration in the previous artifact of this backend (and label, if given) in the
    results folder, read from its manifest alone; {} when there is none or it cannot be read."""
    paths = [results_dir / f"{label}.json"] if label else sorted(results_dir.glob(f"{backend}-*.json"))
    for path in paths:
        try:
            manifest = json.loads(safety.read_bounded(path, limit=artifacts.MAX_MANIFEST_BYTES, inside=results_dir))
            if manifest["environment"]["backend"] != backend:
                continue
            return {str(entry["name"]): float(entry["duration_s"]) for entry in manifest["scenarios"]
                    if entry.get("status") in reuse.REUSABLE}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, safety.RefusedFile):
            continue  # only a guide to the balance: without it the lanes alternate
    return {}


def drive(lanes: Iterable[Lane], poll_s: float) -> list[Any]:
    """Step every lane until all have finished; what each returned, in the lanes' order.

    Left early (an interrupt, an error), every lane still going is closed, which stops its worker."""
    running = dict(enumerate(lanes))
    results: list[Any] = [None] * len(running)
    try:
        while running:
            for index, lane in list(running.items()):
                try:
                    next(lane)
                except StopIteration as finished:
                    results[index] = finished.value
                    del running[index]
            if running:
                time.sleep(poll_s)
    finally:
        for lane in running.values():
            lane.close()
    return results
