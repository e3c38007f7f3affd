"""The house of imports (docs/architecture.md): no circle, no arrow running up a floor, define/ on the
ground importing nothing of the harness but safety, only run/ importing keras and the backends, and the
report rendering compare's types without calling a judge. tests/helpers/floors.py reads the imports
with ast (inside functions too: a lazy import is an arrow all the same)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import floors

ROOT = Path(__file__).resolve().parents[1]


def test_the_house_stands():
    house = floors.read_house()
    assert "harness.run.processes" in house and "harness.report.model" in house  # it read the tree
    assert floors.problems(house) == []


def test_every_module_is_on_a_floor():
    for name in floors.read_house():
        floors.floor(name)  # raises for a module outside every floor


def test_docs_show_the_house_as_it_is():
    """docs/architecture.md holds the drawing `python -m tests.helpers.floors` prints."""
    drawn = subprocess.run([sys.executable, "-m", "tests.helpers.floors"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    assert drawn.stdout.strip() in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _house(tmp_path: Path, files: dict[str, str]) -> dict[str, floors.Module]:
    for rel, text in files.items():
        path = tmp_path / "harness" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return floors.read_house(tmp_path)


GROUND = {"__init__.py": "", "safety.py": "", "define/__init__.py": "", "define/registry.py": "",
          "artifacts.py": "from harness import safety\n", "run/__init__.py": "", "compare/__init__.py": "",
          "report/__init__.py": ""}


def test_a_sound_little_house_has_no_problem(tmp_path):
    house = _house(tmp_path, {**GROUND, "run/runner.py": "import keras\nfrom harness.define import registry\n",
                              "compare/verdicts.py": "from harness.artifacts import Artifact\n",
                              "report/page.py": "from harness.compare.verdicts import Comparison, EXPECTED\n",
                              "run/cli.py": "from harness.report import page\nfrom harness.compare import verdicts\n"})
    assert floors.problems(house) == []


@pytest.mark.parametrize("files, expected", [
    ({"define/spec.py": "def build():\n    from harness.run import runner\n", "run/runner.py": ""},
     "harness.define.spec (floor 0) imports harness.run.runner (floor 2): an arrow running up"),
    ({"define/spec.py": "from harness import artifacts\n"},
     "harness.define.spec imports harness.artifacts: define imports nothing of the harness but safety"),
    ({"run/a.py": "from harness.run import b\n", "run/b.py": "from . import a\n"},
     "a circle: harness.run.a -> harness.run.b -> harness.run.a"),
    ({"compare/verdicts.py": "import keras.ops\n"},
     "harness.compare.verdicts imports keras: only run/ imports keras and the backends"),
    ({"compare/verdicts.py": "", "report/page.py": "from harness.compare.verdicts import counts\n"},
     "harness.report.page takes counts from harness.compare.verdicts: the report renders compare's types, "
     "it calls no judge"),
    ({"compare/claims.py": "", "report/page.py": "from harness.compare import claims\n"},
     "harness.report.page takes the module from harness.compare.claims"),
    ({"run/x.py": "from harness.compare import verdicts\n", "compare/verdicts.py": ""},
     "harness.run.x imports harness.compare.verdicts: two stages side by side on floor 2"),
    ({"versions/__init__.py": "", "versions/runs.py": "", "report/page.py": "from harness.versions import runs\n"},
     "harness.report.page imports harness.versions.runs: the report reads only compare's types"),
])
def test_each_rule_fails_a_house_that_breaks_it(tmp_path, files, expected):
    found = floors.problems(_house(tmp_path, {**GROUND, **files}))
    assert any(line.startswith(expected) for line in found), found
