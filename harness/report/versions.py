"""The report's "Seed conclusions across Keras versions": claims per runtime, and what changed when.

Runtimes are read from artifact environments only (`keras_flavour`, `keras`, `backend`), so this
section stays as version-free as the rest of the report: the Keras 2 run sits with the main runs in
the results folder, the Keras 3 release runs in the sibling `versions/` folder (they feed only this
section, so the pairwise matrix does not grow to every release x backend).

What a run cannot tell (which pull request changed a behaviour) is data below, `UPSTREAM`, found
by `harness bisect` and the Keras sources' history; docs/versions.md says how.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import artifacts
from harness.artifacts import Artifact
from harness.compare import claims
from harness.report import markdown as md

VERSIONS_DIR = "versions"  # beside the results folder: reports/versions
MAX_CHANGED_ROWS = 60


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
class Runtime:
    flavour: str  # "keras" or "tf-keras"
    version: tuple[int, ...]
    backend: str
    run: Artifact

    @property
    def name(self) -> str:
        version = ".".join(map(str, self.version))
        return f"tf-keras {version}" if self.flavour == "tf-keras" else f"keras {version} · {self.backend}"


def _version(text: str) -> tuple[int, ...]:
    """'3.4.1' -> (3, 4, 1); the leading ASCII-digit parts of whatever an artifact says."""
    found = re.match(r"\d+(?:\.\d+)*", str(text), re.ASCII)
    return tuple(int(p) for p in found.group(0).split(".")) if found else ()


def runtime_of(run: Artifact) -> Runtime:
    env = run.environment
    return Runtime(str(env.get("keras_flavour", "keras")), _version(env.get("keras", "")),
                   str(env.get("backend", run.backend)), run)


def _listing(folder: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.json")))


@functools.lru_cache(maxsize=4)
def _read_versions(folder: str, listing: tuple) -> tuple[tuple[Artifact, ...], str]:
    try:
        return tuple(artifacts.read_all(Path(folder))), ""
    except artifacts.ArtifactError as exc:
        return (), str(exc)


def version_runs(data: Any) -> tuple[list[Artifact], str]:
    """The Keras 3 release runs beside the results folder, and a problem reading them ('' if none)."""
    folder = Path(data.results_dir).parent / VERSIONS_DIR
    if not folder.is_dir():
        return [], ""
    runs, problem = _read_versions(str(folder), _listing(folder))
    # nightly builds (keras-nightly, 3.16.0.devN) feed the next-Keras section, not this one
    return [r for r in runs if not is_nightly_run(r)], problem


def is_nightly_run(run: Artifact) -> bool:
    return ".dev" in str(run.environment.get("keras", ""))


def timeline(data: Any) -> list[Runtime]:
    """Keras 2 first, then per backend every Keras 3 release run, oldest first (a main run and a
    release run of the same Keras on the same backend count once: the main run)."""
    found: dict[tuple[str, tuple[int, ...], str], Runtime] = {}
    for run in [*data.runs, *version_runs(data)[0]]:
        runtime = runtime_of(run)
        found.setdefault((runtime.flavour, runtime.version, runtime.backend), runtime)
    order = {"tensorflow": 0, "jax": 1, "torch": 2}
    return sorted(found.values(), key=lambda r: (r.flavour != "tf-keras", order.get(r.backend, 9), r.backend,
                                                 r.version))


def applies(data: Any) -> bool:
    """Shown when a Keras-version run is present: the Keras 2 run or a release run."""
    return any(runtime_of(r).flavour == "tf-keras" for r in data.runs) or bool(version_runs(data)[0])


def _cannot_run(runtime: Runtime) -> str:
    return str(runtime.run.environment.get("cannot_run", ""))


@dataclass(frozen=True)
class Change:
    claim: str
    backend: str
    before: str
    after: str
    last_before: str  # the runtime before the change (nearest run)
    first_after: str  # the first run that shows it
    upstream: Upstream | None


def changes(line: list[Runtime]) -> list[Change]:
    """Claim verdicts that move from one run to the next on one backend; Keras 2 leads every backend."""
    keras2 = [r for r in line if r.flavour == "tf-keras"]
    out = []
    for backend in dict.fromkeys(r.backend for r in line if r.flavour == "keras"):
        series = keras2 + [r for r in line if r.flavour == "keras" and r.backend == backend and not _cannot_run(r)]
        verdicts = [claims.judge(r.run) for r in series]
        for claim in claims.CLAIMS:
            for previous, current, before, after in zip(series, series[1:], verdicts, verdicts[1:]):
                old, new = before[claim].verdict, after[claim].verdict
                if old != new and claims.UNTESTED not in (old, new):
                    out.append(Change(claim, backend, old, new, previous.name, current.name,
                                      _upstream(claim, backend, previous, current)))
    return out


def _upstream(claim: str, backend: str, previous: Runtime, current: Runtime) -> Upstream | None:
    """The newest recorded change for this claim and backend in (previous, current]."""
    after = previous.version if previous.flavour == "keras" else ()
    found = [u for u in UPSTREAM if u.claim == claim and backend in u.backends and current.flavour == "keras"
             and after < _version(u.first) <= current.version]
    return found[-1] if found else None


def changed_scenarios(line: list[Runtime]) -> list[tuple[str, str, str, str]]:
    """(backend, from, to, "scenario: what") for consecutive Keras 3 runs on one backend."""
    from harness.versions.bisect import differences

    rows = []
    for backend in dict.fromkeys(r.backend for r in line if r.flavour == "keras"):
        series = [r for r in line if r.flavour == "keras" and r.backend == backend and not _cannot_run(r)]
        for previous, current in zip(series, series[1:]):
            common = {n for n in previous.run.records if n in current.run.records}
            before = Artifact(previous.run.label, previous.run.environment,
                              {n: r for n, r in previous.run.records.items() if n in common})
            after = Artifact(current.run.label, current.run.environment,
                             {n: r for n, r in current.run.records.items() if n in common})
            rows += [(backend, previous.name, current.name, line) for line in differences(before, after)]
    return rows


def section(data: Any) -> str:
    if not applies(data):
        return ""
    line = timeline(data)
    problem = version_runs(data)[1]
    judged = {r.run.label: claims.judge(r.run) for r in line}
    claim_ids = list(claims.CLAIMS)
    rows = []
    for runtime in line:
        reason = _cannot_run(runtime)
        if reason:
            rows.append([md.text(runtime.name), *[md.text("cannot run")] * len(claim_ids)])
            continue
        rows.append([md.text(runtime.name), *[md.text(judged[runtime.run.label][c].verdict) for c in claim_ids]])
    found = changes(line)
    out = [
        "## Seed conclusions across Keras versions",
        "",
        "The seed's conclusions were written on Keras 2. Each row is one runtime: tf-keras (Keras 2), then "
        "each Keras 3 release run per backend, oldest first. Keras 3 release runs come from "
        f"{md.code(str(Path(data.results_dir).parent / VERSIONS_DIR))} (`python -m harness versions run`); "
        "they are not in the pairwise matrix.",
        "",
        md.table(["runtime", *claim_ids], rows),
    ]
    if problem:
        out += ["", f"The release runs could not be read: {md.text(problem)}"]
    out += ["", "### Where a verdict changed", ""]
    if not found:
        out.append("No claim's verdict changes between the runs above.")
    for change in found:
        text = (f"- **{change.claim}** on {md.text(change.backend)}: {md.text(change.before)} in "
                f"{md.text(change.last_before)} → {md.text(change.after)} in {md.text(change.first_after)}")
        if change.upstream:
            u = change.upstream
            links = ", ".join(md.link(url, md.text(_link_label(url))) for url in u.links)
            text += (f". First release: keras {md.text(u.first)}" + (" (harness bisect)" if u.bisect else "")
                     + f" ({links})")
        out.append(text + ".")
    scenario_rows = changed_scenarios(line)
    if scenario_rows:
        shown = scenario_rows[:MAX_CHANGED_ROWS]
        out += ["", "### Scenarios whose expectations, masks or outputs changed between releases", "",
                md.table(["backend", "from", "to", "change"],
                         [[md.text(b), md.text(a), md.text(c), md.text(what)] for b, a, c, what in shown])]
        if len(scenario_rows) > len(shown):
            out.append(f"\n({len(scenario_rows) - len(shown)} more in summary.json)")
    out += ["", "### Keras changes found by bisect", ""]
    out += [f"- **{md.text(u.claim)}**, keras {md.text(u.first)} ({md.text(', '.join(u.backends))}): "
            f"{md.text(u.what)} ({', '.join(md.link(url, md.text(_link_label(url))) for url in u.links)})"
            + (f"; found by {md.code(u.bisect)}" if u.bisect else "") for u in UPSTREAM] or ["None recorded."]
    blocked = [(r.name, _cannot_run(r)) for r in line if _cannot_run(r)]
    if blocked:
        out += ["", "### Releases that cannot run here", ""]
        out += [f"- {md.text(name)}: {md.text(reason)}" for name, reason in blocked]
    return "\n".join(out)


def _link_label(url: str) -> str:
    """owner/repo#123 for a pull request or issue, file@tag#L1-L2 for a source permalink."""
    parts = url.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] in ("pull", "issues"):
        return f"{parts[-4]}/{parts[-3]}#{parts[-1]}"
    if "/blob/" in url:
        ref, path = url.split("/blob/", 1)[1].split("/", 1)
        return f"{path.rsplit('/', 1)[-1]}@{ref}"
    return url


def summary(data: Any) -> dict[str, Any]:
    if not applies(data):
        return {}
    line = timeline(data)
    return {"keras_versions": {
        "runtimes": [{"name": r.name, "label": r.run.label, "flavour": r.flavour,
                      "keras": ".".join(map(str, r.version)), "backend": r.backend,
                      **({"cannot_run": _cannot_run(r)} if _cannot_run(r) else
                         {"claims": {c: v.verdict for c, v in claims.judge(r.run).items()}})}
                     for r in line],
        "changes": [{"claim": c.claim, "backend": c.backend, "before": c.before, "after": c.after,
                     "last_before": c.last_before, "first_after": c.first_after,
                     **({"first_release": c.upstream.first, "upstream": list(c.upstream.links),
                         "what": c.upstream.what} if c.upstream else {})}
                    for c in changes(line)],
        "changed_scenarios": [{"backend": b, "from": a, "to": c, "change": what}
                              for b, a, c, what in changed_scenarios(line)],
    }}
