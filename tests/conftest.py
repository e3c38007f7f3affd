"""Fixtures only. The builders, the markdown reader and the golden dataset are tests/helpers/."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from harness.artifacts import Artifact
from tests.helpers.factories import write_runs
from tests.helpers.golden import KNOWN_TOML
from tests.helpers.shared_runs import BACKENDS, SHARED_FIXTURES, SeedRun, group_of, installed, run_seed


@pytest.fixture
def write_artifacts(tmp_path: Path):
    """`write_artifacts(runs, "results")` writes the runs under tmp_path and returns the folder."""

    def write(runs: Iterable[Artifact], name: str = "results") -> Path:
        return write_runs(runs, tmp_path / name)

    return write


@pytest.fixture
def no_known(tmp_path: Path) -> Path:
    """A path with no known-divergence registry (so the repo's own file is never read)."""
    return tmp_path / "no-known-divergences.toml"


@pytest.fixture
def known_file(tmp_path: Path) -> Path:
    path = tmp_path / "known.toml"
    path.write_text(KNOWN_TOML, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory) -> SeedRun:
    """The seed scenarios under every installed backend, run once for the session (tests/helpers/shared_runs.py);
    under xdist its tests are one group (shared_runs.GROUPS), run by one worker."""
    if not any(installed(b) for b in BACKENDS):
        pytest.skip("no backend is installed here (`nox -s tests` installs all three)")
    return run_seed(tmp_path_factory.mktemp("seed-run"))


@pytest.fixture(scope="session")
def torch_case_pool(tmp_path_factory):
    """One real torch case worker (harness.generate.workers.Pool) for the session's fuzz-case tests: its
    start (a Python process importing keras and torch) is paid once, as a fuzz campaign pays it once.
    A case that kills or hangs the worker costs that test a restart, as in a campaign. Under xdist its
    tests are one group (shared_runs.GROUPS), run by one worker."""
    if not installed("torch"):
        pytest.skip("torch is not installed here (`nox -s tests` installs it)")
    from harness.generate import workers

    with workers.Pool(("torch",), timeout_s=120, workdir=tmp_path_factory.mktemp("torch-pool")) as pool:
        pool.start()
        yield pool


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a shared fixture (shared_runs.GROUPS) outside its group would, under xdist, redo the
    fixture's backend work on another worker: refuse the collection, naming the test and where to add it."""
    for item in items:
        for fixture in SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            if group_of(item.nodeid) != fixture:
                raise pytest.UsageError(f"{item.nodeid} uses the shared fixture {fixture}: add it to GROUPS in "
                                        "tests/helpers/shared_runs.py")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` with the groups of shared_runs.GROUPS: a group's tests go to one worker, every
    other test is balanced on its own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SharedFixtureGroups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or super()._split_scope(nodeid)

    return SharedFixtureGroups(config, log)
