"""Find the first Keras release where a selection of scenarios changes: expectations, masks, outputs.

The search is `first_change`, a pure function over an ordered list of releases and an `observe`
callback, so tests drive it with a fake history. A release that cannot run (its environment does not
build or import) is skipped the way `git bisect skip` does: the search tries its neighbours, and if
every release between the last same and the first different one was skipped, it says so.

"Changed" is compare/differences.py's `differences`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from harness.artifacts import Artifact
from harness.compare import verdicts
from harness.compare.differences import UNCHANGED_VERDICTS, expectation_flips
from harness.compare.next_keras import classify, layer_class

Observation = TypeVar("Observation")


class BisectError(Exception):
    """The search cannot start: an endpoint does not run, or the range is empty; one line."""


class CannotRun(Exception):
    """This release cannot run here (environment, import); the reason is the message."""


@dataclass
class Result(Generic[Observation]):
    good: str
    bad: str
    first: str | None  # None: the endpoints agree, nothing changed in the range
    last_same: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # release -> why it could not run
    observed: list[str] = field(default_factory=list)  # releases actually run, in order

    @property
    def ambiguous(self) -> list[str]:
        """Skipped releases between the last same and the first changed one: any could be first."""
        if self.first is None or self.last_same is None:
            return []
        between = self._between(self.last_same, self.first)
        return [v for v in between if v in self.skipped]

    _order: list[str] = field(default_factory=list, repr=False)

    def _between(self, low: str, high: str) -> list[str]:
        i, j = self._order.index(low), self._order.index(high)
        return self._order[i + 1:j]

    def verdict_line(self, name: Callable[[str], str] = lambda v: f"keras {v}") -> str:
        """The last line of `harness bisect`'s output; `name` says which package a version is."""
        if self.first is None:
            return f"nothing changed between {name(self.good)} and {name(self.bad)}"
        line = f"first changed in {name(self.first)}"
        if self.ambiguous:
            line += f" (or in {', '.join(self.ambiguous)}, which could not run)"
        return line


def first_change(releases: list[str], observe: Callable[[str], Observation],
                 same: Callable[[Observation, Observation], bool],
                 log: Callable[[str], None] = lambda line: None,
                 name: Callable[[str], str] = lambda v: f"keras {v}") -> Result[Observation]:
    """Binary search for the first release whose observation differs from the first release's.

    `releases` is ordered oldest first; its ends are the known-good and known-bad releases.
    `observe` raises CannotRun for a release that cannot run. Assumes one change in the range
    (like git bisect); when the ends agree, reports that nothing changed.
    """
    if len(releases) < 2:
        raise BisectError("the range needs two releases: --good must be older than --bad")
    result: Result[Observation] = Result(releases[0], releases[-1], None, _order=list(releases))

    def run(version: str) -> Observation:
        result.observed.append(version)
        return observe(version)

    try:
        reference = run(releases[0])
        last = run(releases[-1])
    except CannotRun as exc:
        raise BisectError(f"{name(result.observed[-1])} cannot run here: {exc}") from None
    if same(reference, last):
        log(f"{name(releases[-1])} behaves as {name(releases[0])}")
        return result
    low, high = 0, len(releases) - 1
    while high - low > 1:
        candidates = sorted(range(low + 1, high), key=lambda i: (abs(i - (low + high) / 2), i))
        candidates = [i for i in candidates if releases[i] not in result.skipped]
        if not candidates:
            break
        mid = candidates[0]
        try:
            observation = run(releases[mid])
        except CannotRun as exc:
            result.skipped[releases[mid]] = str(exc)
            log(f"{name(releases[mid])}: cannot run ({exc}); skipped")
            continue
        if same(reference, observation):
            log(f"{name(releases[mid])}: same as {name(releases[0])}")
            low = mid
        else:
            log(f"{name(releases[mid])}: changed")
            high = mid
    result.first, result.last_same = releases[high], releases[low]
    return result


def _unchanged(warnings: bool) -> tuple[str, ...]:
    return tuple(v for v in UNCHANGED_VERDICTS if not (warnings and v == "warnings-differ"))


def unreadable_masks(run: Artifact) -> str:
    """'' or where the harness could not read masks in this run (a harness failure: bisect skips it)."""
    found = [f"{name}/{key}" for name, record in run.records.items()
             for key, probe in record.captured.probes.items() if not probe.mask_readable]
    return "" if not found else f"{len(found)} probes, first {found[0]}"


@dataclass(frozen=True)
class Divergence:
    """Where a scenario first changed between two builds: the probe, its layer's class, the kind."""

    scenario: str
    probe: str
    layer_class: str  # "GRU"; from the artifact's layer_classes, else guessed from the probe name
    verdict: str

    @property
    def mask_change(self) -> bool:
        return self.verdict == "mask-differs"

    def describe(self) -> str:
        where = f"{self.scenario} {self.probe}" if self.probe else self.scenario
        return f"{where} ({self.layer_class or 'layer unknown'}): {self.verdict}"


def divergences(reference: Artifact, run: Artifact, warnings: bool = False) -> list[Divergence]:
    """Each scenario that changed, at its first differing probe (in layer order)."""
    found = []
    for name in reference.records:
        ra, rb = reference.records.get(name), run.records.get(name)
        pair = verdicts.compare_records(ra, rb, name, reference.label, run.label)
        if pair.verdict in _unchanged(warnings) and not expectation_flips(ra, rb):
            continue
        probe = next((p for p in pair.probes if p.verdict != "match"), None)
        key = probe.probe if probe else ""
        # the same cause the next-Keras section names (the layer Keras warns drops a mask, if any)
        change = classify(ra, rb, "", reference.label, run.label) if ra is not None and rb is not None else None
        cls = change.layer_class if change is not None else layer_class(rb or ra, key)
        found.append(Divergence(name, key, cls, probe.verdict if probe else pair.verdict))
    return found


def first_divergence(reference: Artifact, run: Artifact) -> Divergence:
    """The first probe (in layer order) whose comparison differs, in the first scenario that changed."""
    return next(iter(divergences(reference, run)), Divergence("", "", "", "match"))


def write_record(path, result: Result, backend: str, selects: list[str], seen: dict[str, Artifact],
                 sources: dict, command: str = "", warnings: bool = False) -> None:
    """The bisect's answer as data, so the report can show it without running it again: the build,
    every scenario that changed at it (its first divergent layer), and the source change ranked for
    each of those layers' classes (`sources`: layer class -> wheeldiff.SourceDiff)."""
    import json
    from pathlib import Path

    found = (divergences(seen[result.last_same], seen[result.first], warnings)
             if result.first and result.last_same in seen and result.first in seen else [])
    as_dict = [{"scenario": d.scenario, "probe": d.probe, "layer_class": d.layer_class, "verdict": d.verdict}
               for d in found]
    first = as_dict[0] if as_dict else None
    data = {"select": list(selects), "backend": backend, "good": result.good, "bad": result.bad,
            "first": result.first, "last_same": result.last_same, "observed": list(result.observed),
            "skipped": dict(result.skipped), "ambiguous": result.ambiguous, "command": command,
            "divergence": first, "divergences": as_dict,
            "source": sources[first["layer_class"]].as_data() if first and first["layer_class"] in sources else None,
            "sources": {cls: diff.as_data() for cls, diff in sources.items()}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
