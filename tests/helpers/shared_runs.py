"""Backend work the tests share, paid once per session (the fixtures are in tests/conftest.py).

The seed run: the seed scenarios under every installed backend, for the tests that read its
artifacts (tests/test_backends_integration.py, tests/test_portability.py). Each of those tests used
to start its own `harness run` (a Python process importing keras and a backend: 50-75 s each on a
loaded 2-core machine); one `harness run --backend all` starts the same per-backend runs
(`harness run --backend B`, in parallel) and leaves one results folder to read.

The torch case worker: one real fuzz-case worker for the tests that send it cases.

Under pytest-xdist a session or module fixture is made once per xdist worker that uses it, so the
tests that share an expensive one (these two, and the module fixtures of a few files: one fault-suite
run, one saved model, one wheel) must run on one worker. GROUPS names them; tests/conftest.py schedules
each group on one worker under `--dist loadgroup` (the `tests` nox session's default), and refuses a
collection where a test uses one of these fixtures without being in its group. (pytest-xdist's own
`xdist_group` mark does not group under pytest 9.2: xdist renames the test through an attribute pytest
no longer reads.)
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # harness name -> package
# test id prefix -> the expensive fixture it uses, which names its group (one xdist worker)
GROUPS = {
    "tests/test_backends_integration.py::": "seed_run",
    "tests/test_portability.py::test_keras3_seed_masks_through_the_portability_layer": "seed_run",
    "tests/test_generate.py::test_a_covering_set_of_specs_builds_and_runs_on_torch": "torch_case_pool",
    "tests/test_generate_findings.py::test_renaming_a_case_keeps_its_weights_on_a_real_backend": "torch_case_pool",
    "tests/test_generate_fit.py::test_fit_cases_train_on_a_real_backend_and_the_claims_read_their_capture":
        "torch_case_pool",
    "tests/test_isolation.py::": "fault_run",
    "tests/test_check.py::test_model_saved_under_one_backend_is_checked_under_all_and_localized": "skewed_model",
    "tests/test_check.py::test_inputs_that_do_not_fit_are_one_line": "skewed_model",
    "tests/test_check_backends.py::test_fit_shows_the_jax_logged_metrics_divergence": "tagger",
    "tests/test_check_backends.py::test_a_1d_sample_weight_is_reported_per_backend": "tagger",
    "tests/test_check_backends.py::test_a_compile_configuration_one_backend_cannot_build": "tagger",
    "tests/test_packaging.py::test_wheel_ships": "wheel",
    "tests/test_packaging.py::test_installed_command": "wheel",
    "tests/test_packaging.py::test_the_command_and_the_processes": "wheel",
}
SHARED_FIXTURES = frozenset(GROUPS.values())


def group_of(nodeid: str) -> str | None:
    """The group (shared fixture) of a test id, None for a test that shares nothing."""
    return next((group for prefix, group in GROUPS.items() if nodeid.startswith(prefix)), None)


def installed(backend: str) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in ("keras", BACKENDS[backend]))


def harness(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m harness ARGV` from the checkout, in a Keras 3 environment of its own choosing."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "TF_USE_LEGACY_KERAS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "harness", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


@dataclass(frozen=True)
class SeedRun:
    done: subprocess.CompletedProcess
    results: Path
    backends: tuple[str, ...]  # the installed ones, which `--backend all` ran


def run_seed(workdir: Path) -> SeedRun:
    """`harness run --backend all --select 'seed/*' --no-compiled` into workdir/results."""
    results = workdir / "results"
    done = harness("run", "--backend", "all", "--select", "seed/*", "--results", str(results),
                   "--no-compiled", "-q", cwd=workdir)
    return SeedRun(done, results, tuple(b for b in BACKENDS if installed(b)))
