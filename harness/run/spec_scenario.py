"""A case spec (harness/define/spec.py) as a registry Scenario, next to the builder that makes its
model (spec_build.py). Importing this module imports no keras: the build does, when it runs."""

from __future__ import annotations

from typing import Any

from harness.define import spec as specs
from harness.define.registry import Scenario


def as_scenario(spec: dict[str, Any], description: str = "", tags: tuple[str, ...] = ("generated",)) -> Scenario:
    """The spec as a registry Scenario: capture.run_scenario runs it like any hand-written one."""

    def build():
        from harness.run import spec_build  # keras is imported here, in the worker

        return spec_build.build(spec)

    return Scenario(name=spec["name"], description=description or f"generated case {spec['name']}",
                    build=build, tags=tags, dtype_policy=spec.get("dtype_policy"),
                    training=bool(spec.get("training", False)), source_file="<spec>",
                    weight_seed=specs.weight_seed(spec), fit=specs.fit_of(spec))
