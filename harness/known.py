"""Known divergences: understood backend differences, kept as data (a TOML registry), never as code.

An entry covers a pair comparison when its scenario glob matches, one of its backends is on either
side of the pair, and its probe glob matches one of the probes that differ. Entries that cover
nothing in a report are listed as stale, so the registry cannot rot silently.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path


class KnownDivergenceError(Exception):
    """The registry file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class KnownDivergence:
    scenario: str  # glob on scenario names
    backends: tuple[str, ...]
    what: str
    why: str
    probes: str = "*"  # glob on probe keys
    link: str = ""

    def covers(self, scenario: str, backends: tuple[str, str], probes: list[str]) -> bool:
        return (fnmatch.fnmatchcase(scenario, self.scenario)
                and any(b in self.backends for b in backends)
                and any(fnmatch.fnmatchcase(p, self.probes) for p in probes))


def load_known(path: Path) -> list[KnownDivergence]:
    """Read the registry; a missing file means no known divergences."""
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KnownDivergenceError(f"{path}: not valid TOML ({exc})") from None
    entries = []
    for index, raw in enumerate(data.get("divergence", [])):
        try:
            entries.append(KnownDivergence(
                scenario=str(raw["scenario"]),
                backends=tuple(str(b) for b in raw["backends"]),
                what=str(raw["what"]),
                why=str(raw["why"]),
                probes=str(raw.get("probes", "*")),
                link=str(raw.get("link", "")),
            ))
        except (KeyError, TypeError) as exc:
            raise KnownDivergenceError(f"{path}: divergence #{index + 1} lacks {exc}") from None
    return entries


def find_known(known: list[KnownDivergence], scenario: str, backends: tuple[str, str],
               probes: list[str]) -> KnownDivergence | None:
    return next((k for k in known if k.covers(scenario, backends, probes)), None)
