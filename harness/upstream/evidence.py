"""Which Keras versions show a cause, from the suite's artifacts (main runs and version runs).

Reads only the JSON half of each artifact (the arrays are not needed): the environment's keras and
backend, and the record of the cause's scenario on its odd backend. A run "shows" the cause when the
record matches the cause's evidence (an expectation that fails, an error of the named type, a mask
on a probe); a run without the scenario is left out.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from harness import safety
from harness.upstream.drafts import Cause, Evidence

MAX_MANIFEST_BYTES = 256 << 20
MAX_BISECT_BYTES = 1 << 20
DEFAULT_FOLDERS = (Path("reports/results"), Path("reports/versions"))
BISECT_FOLDER = Path("reports/versions/bisect")  # `harness bisect --record` results


def _records(folders: tuple[Path, ...]) -> list[tuple[dict, dict[str, dict]]]:
    """(environment, records by scenario name) for every artifact under the folders."""
    out = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            try:
                data = json.loads(safety.read_bounded(path, limit=MAX_MANIFEST_BYTES))
                env, records = data["environment"], data["scenarios"]
                out.append(({**env, "label": path.stem}, {r["name"]: r for r in records}))
            except (OSError, ValueError, KeyError, TypeError, safety.RefusedFile):
                continue  # not an artifact (or a broken one): the report names those, not the drafts
    return out


def _shows(record: dict, ev: Evidence) -> bool:
    if ev.expectation_fails:
        return any(fnmatch.fnmatchcase(e.get("name", ""), ev.expectation_fails) and e.get("passed") is False
                   for e in record.get("expectations", []))
    if ev.status_error:
        err = record.get("error") or {}
        kind = err.get("type") if isinstance(err, dict) else None
        return record.get("status") == "error" and (ev.status_error == "*" or kind == ev.status_error)
    if ev.mask_on:
        return any(p.get("key") == ev.mask_on and p.get("has_mask") for p in record.get("probes", []))
    return False


def version_rows(cause: Cause, folders: tuple[Path, ...] = DEFAULT_FOLDERS) -> list[dict]:
    """One row per (Keras, backend, scenario) that a suite run recorded on the cause's backend, oldest Keras
    first (the main run and a version run of the same release are one row)."""
    rows = []
    for env, records in _records(folders):
        for ev in cause.evidence:
            if ev.backend not in ("*", env.get("backend")) or ev.scenario not in records:
                continue
            record = records[ev.scenario]
            if record.get("status") == "skipped":
                continue  # the runtime lacks an API the scenario uses: no evidence either way
            rows.append({"label": env["label"], "keras": f"{env.get('keras_flavour') or 'keras'} {env.get('keras')}",
                         "backend": env.get("backend"), "scenario": ev.scenario, "shows": _shows(record, ev)})
    unique = {(r["keras"], r["backend"], r["scenario"]): r for r in sorted(rows, key=lambda r: r["label"])}
    return sorted(unique.values(), key=lambda r: (_version_key(r["keras"]), r["backend"] or "", r["scenario"]))


def _version_key(text: str) -> tuple:
    flavour, _, version = text.partition(" ")
    parts = tuple(int(p) if p.isdigit() else 0 for p in version.replace("dev", ".").split(".")[:4])
    return (flavour != "tf-keras", parts)


def bisect_rows(cause: Cause, folder: Path = BISECT_FOLDER) -> list[dict]:
    """The stored bisects (`harness bisect --record`) that changed a scenario the cause covers, in a layer
    class its next-Keras groups name."""
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            record = json.loads(safety.read_bounded(path, limit=MAX_BISECT_BYTES))
            changed = [(d["scenario"], d.get("layer_class") or "") for d in record.get("divergences") or []
                       if isinstance(d, dict)]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, safety.RefusedFile):
            continue
        # A bisect is this cause's when a scenario it covers changed in a layer its next-Keras groups name
        # (a bisect of the RNN change also moves fit/ scenarios that other causes cover).
        layers = [g.split("/", 1)[0] for g in cause.next_keras_groups]
        hits = list(dict.fromkeys(s for s, cls in changed if any(fnmatch.fnmatchcase(s, glob) for glob in cause.covers)
                                  and any(fnmatch.fnmatchcase(cls, layer) for layer in layers)))
        if hits:
            rows.append({"file": path.name, "backend": record.get("backend"), "first": record.get("first"),
                         "last_same": record.get("last_same"), "command": record.get("command") or "",
                         "scenarios": hits})
    return rows
