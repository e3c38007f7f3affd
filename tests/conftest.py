"""Fixtures only. The builders, the markdown reader and the golden dataset are tests/helpers/."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from harness.artifacts import Artifact
from tests.helpers.factories import write_runs
from tests.helpers.golden import KNOWN_TOML


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
