"""The seed's conclusions across Keras versions: each run placed on a timeline of runtimes, claim
verdicts per runtime, and what changed from one release to the next on one backend.

Runtimes are read from artifact environments only (`keras_flavour`, `keras`, `backend`): the Keras 2
run sits with the main runs in the results folder, the Keras 3 release runs in the sibling `versions/`
folder (read by harness/versions/runs.py; they feed only this timeline, so the pairwise matrix does not
grow to every release x backend).

What a run cannot tell (which pull request changed a behaviour) is data below, `UPSTREAM`, found by
`harness bisect` and the Keras sources' history; docs/versions.md says how.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.artifacts import Artifact
from harness.compare import claims
from harness.compare.claims import ClaimResult
from harness.compare.differences import differences


@dataclass(frozen=True)
class Upstream:
    """A Keras change behind a claim's evidence changing between runtimes, as bisect found it."""

    claim: str
    backends: tuple[str, ...]
    first: str  # the first Keras 3 release that shows it (harness bisect's answer)
    what: str  # one line: what Keras changed, and what the suite sees
    links: tuple[str, ...]  # the pull request(s), and the issue where one is known
    bisect: str = ""  # the command that found it


_KERAS = "https://github.com/keras-team/keras"
_NO_MERGE_MASKS = (f"{_KERAS}/issues/18416", f"{_KERAS}/blob/v3.0.0/keras/layers/layer.py#L852-L860")
UPSTREAM: tuple[Upstream, ...] = (
    Upstream("C5", ("tensorflow", "jax", "torch"), "3.0.0",
             "Keras 3.0's Layer.__call__ takes the previous mask from the first positional argument only; a "
             "merge layer's is a list, which has none, so Concatenate drops its inputs' masks (Keras 2 "
             "combined them, a step masked in any input being masked)", _NO_MERGE_MASKS),
    Upstream("C3", ("tensorflow", "jax", "torch"), "3.0.0",
             "the same: Concatenate after Masking passes no mask on, so the GRU after it reads every step",
             _NO_MERGE_MASKS),
    Upstream("C5", ("tensorflow", "jax", "torch"), "3.4.0",
             "'Fix masking in merge layers': masks reach merge layers again, but Concatenate now combines "
             "them with any() where Keras 2 (and Keras 3.0's unused code) used all(): a step is masked only "
             "when masked in every input",
             (f"{_KERAS}/pull/19685",), "python -m harness bisect --select 'claims/c5-*' --backend torch"),
    Upstream("C3", ("tensorflow", "jax", "torch"), "3.4.0",
             "the same change broadcasts each mask with ops.broadcast_to(mask, ops.shape(input)), which fails "
             "while a functional model is built (the batch size is None): the seed's model and every "
             "Concatenate of a masked input raise TypeError in BroadcastTo.call()",
             (f"{_KERAS}/pull/19685", f"{_KERAS}/issues/20440")),
    Upstream("C3", ("tensorflow", "jax", "torch"), "3.12.0",
             "'Fix issue with concatenate, masking and symbolic inputs': the mask is broadcast with "
             "logical_or against the input instead, and models with Concatenate of masked inputs build again",
             (f"{_KERAS}/pull/21611", f"{_KERAS}/issues/21581"),
             "python -m harness bisect --select 'claims/c5-seed-model-different-masks' --backend torch "
             "--good 3.4.0"),
    Upstream("C4", ("tensorflow", "jax", "torch"), "3.0.0",
             "Keras 3's Layer.__call__ fills call(mask=) only when the call has exactly one tensor argument; an "
             "RNN called with initial_state= has two, gets no mask and reads the masked steps (tf-keras passed "
             "the inputs' mask); unchanged through 3.15",
             (f"{_KERAS}/blob/v3.0.0/keras/layers/layer.py#L783-L795",
              f"{_KERAS}/blob/v3.15.1/keras/src/layers/layer.py#L947-L959")),
)


@dataclass(frozen=True)
class TimelineRun:
    """One run placed on the Keras timeline: the runtime its artifact recorded, and the run."""


    flavour: str  # "keras" or "tf-keras"
    version: tuple[int, ...]
    backend: str
    run: Artifact

    @property
    def cannot_run(self) -> str:
        """Why this release could not run here ('' when it ran)."""
        return str(self.run.environment.get("cannot_run", ""))

    @property
    def name(self) -> str:
        version = ".".join(map(str, self.version))
        return f"tf-keras {version}" if self.flavour == "tf-keras" else f"keras {version} · {self.backend}"


def version_of(text: str) -> tuple[int, ...]:
    """'3.4.1' -> (3, 4, 1); the leading ASCII-digit parts of whatever an artifact says."""
    found = re.match(r"\d+(?:\.\d+)*", str(text), re.ASCII)
    return tuple(int(p) for p in found.group(0).split(".")) if found else ()


def runtime_of(run: Artifact) -> TimelineRun:
    env = run.environment
    return TimelineRun(str(env.get("keras_flavour", "keras")), version_of(env.get("keras", "")),
                   str(env.get("backend", run.backend)), run)


def timeline(runs: list[Artifact], release_runs: list[Artifact]) -> list[TimelineRun]:
    """Keras 2 first, then per backend every Keras 3 release run, oldest first (a main run and a
    release run of the same Keras on the same backend count once: the main run)."""
    found: dict[tuple[str, tuple[int, ...], str], TimelineRun] = {}
    for run in [*runs, *release_runs]:
        runtime = runtime_of(run)
        found.setdefault((runtime.flavour, runtime.version, runtime.backend), runtime)
    order = {"tensorflow": 0, "jax": 1, "torch": 2}
    return sorted(found.values(), key=lambda r: (r.flavour != "tf-keras", order.get(r.backend, 9), r.backend,
                                                 r.version))


def applies(runs: list[Artifact], release_runs: list[Artifact]) -> bool:
    """Shown when a Keras-version run is present: the Keras 2 run or a release run."""
    return any(runtime_of(r).flavour == "tf-keras" for r in runs) or bool(release_runs)


@dataclass(frozen=True)
class Change:
    claim: str
    backend: str
    before: str
    after: str
    last_before: str  # the runtime before the change (nearest run)
    first_after: str  # the first run that shows it
    upstream: Upstream | None


def changes(line: list[TimelineRun]) -> list[Change]:
    """Claim verdicts that move from one run to the next on one backend; Keras 2 leads every backend."""
    keras2 = [r for r in line if r.flavour == "tf-keras"]
    out = []
    for backend in dict.fromkeys(r.backend for r in line if r.flavour == "keras"):
        series = keras2 + [r for r in line if r.flavour == "keras" and r.backend == backend and not r.cannot_run]
        verdicts = [claims.judge(r.run) for r in series]
        for claim in claims.CLAIMS:
            for previous, current, before, after in zip(series, series[1:], verdicts, verdicts[1:]):
                old, new = before[claim].verdict, after[claim].verdict
                if old != new and claims.UNTESTED not in (old, new):
                    out.append(Change(claim, backend, old, new, previous.name, current.name,
                                      _upstream(claim, backend, previous, current)))
    return out


def _upstream(claim: str, backend: str, previous: TimelineRun, current: TimelineRun) -> Upstream | None:
    """The newest recorded change for this claim and backend in (previous, current]."""
    after = previous.version if previous.flavour == "keras" else ()
    found = [u for u in UPSTREAM if u.claim == claim and backend in u.backends and current.flavour == "keras"
             and after < version_of(u.first) <= current.version]
    return found[-1] if found else None


def changed_scenarios(line: list[TimelineRun]) -> list[tuple[str, str, str, str]]:
    """(backend, from, to, "scenario: what") for consecutive Keras 3 runs on one backend."""
    rows = []
    for backend in dict.fromkeys(r.backend for r in line if r.flavour == "keras"):
        series = [r for r in line if r.flavour == "keras" and r.backend == backend and not r.cannot_run]
        for previous, current in zip(series, series[1:]):
            common = {n for n in previous.run.records if n in current.run.records}
            before = Artifact(previous.run.label, previous.run.environment,
                              {n: r for n, r in previous.run.records.items() if n in common})
            after = Artifact(current.run.label, current.run.environment,
                             {n: r for n, r in current.run.records.items() if n in common})
            rows += [(backend, previous.name, current.name, line) for line in differences(before, after)]
    return rows


@dataclass(frozen=True)
class Timeline:
    """Everything the versions section shows, judged: runtimes oldest first, claims per run label."""

    runtimes: list[TimelineRun]
    claims: dict[str, dict[str, ClaimResult]]  # run label -> claim -> result (runs that ran)
    changes: list[Change]
    changed_scenarios: list[tuple[str, str, str, str]]  # backend, from, to, "scenario: what"
    upstream: tuple[Upstream, ...]
    folder: str  # where the release runs are read from, as the report names it
    problem: str = ""  # why the release runs could not be read ('' if they could)


def build(runs: list[Artifact], release_runs: list[Artifact], folder: str, problem: str = "") -> Timeline | None:
    """The timeline of `runs` and the Keras 3 release runs; None when no Keras-version run is present."""
    if not applies(runs, release_runs):
        return None
    line = timeline(runs, release_runs)
    judged = {r.run.label: claims.judge(r.run) for r in line if not r.cannot_run}
    return Timeline(line, judged, changes(line), changed_scenarios(line), UPSTREAM, folder, problem)
