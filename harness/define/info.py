"""A scenario as data: what the supervisors, the artifact and the report know of a scenario without
importing its file (no build function, no user code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.define.registry import Scenario


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario as the supervisor sees it: data only, no build function, no user code."""

    name: str
    description: str
    tags: tuple[str, ...]
    meta: dict[str, Any]  # scenario_meta: recorded for a scenario that crashed or timed out
    suite_hash: str = ""  # its module and the suite modules it imports (run/reuse.py); "" unknown


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
        **({"upstream": list(scn.upstream)} if scn.upstream else {}),
    }


def as_info(scn: ScenarioInfo | Scenario) -> ScenarioInfo:
    """Callers that imported their own (trusted) scenario file pass Scenario objects."""
    if isinstance(scn, ScenarioInfo):
        return scn
    return ScenarioInfo(scn.name, scn.description, tuple(scn.tags), scenario_meta(scn))
