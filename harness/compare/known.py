"""Known divergences: understood backend differences, kept as data (a TOML registry), never as code.

An entry covers a pair comparison when its scenario glob matches, one of its backends is on either
side of the pair, the pair's verdict is one the entry lists, and its probe glob matches every probe
that differs: a second, new difference in the same scenario is never hidden by an old entry. Entries that cover
nothing in a report are listed as stale, so the registry cannot rot silently.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

# Without a `verdicts` list an entry explains differences in values and masks, never an error or a
# missing result, which would otherwise hide a scenario that stopped running.
VALUE_VERDICTS = ("differs", "differs-masked-only", "mask-differs", "shape-differs", "dtype-differs",
                  "warnings-differ", "nondeterministic")


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
    verdicts: tuple[str, ...] = VALUE_VERDICTS  # which raw verdicts it may explain

    def covers(self, scenario: str, backends: tuple[str, str], verdict: str, probes: list[str]) -> bool:
        return (fnmatch.fnmatchcase(scenario, self.scenario)
                and any(b in self.backends for b in backends)
                and verdict in self.verdicts
                and (all(fnmatch.fnmatchcase(p, self.probes) for p in probes) if probes
                     else self.probes == "*"))


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
            backends = raw["backends"]
            if isinstance(backends, str):  # a single name, not a list of characters
                backends = [backends]
            verdicts = raw.get("verdicts", list(VALUE_VERDICTS))
            entries.append(KnownDivergence(
                scenario=str(raw["scenario"]),
                backends=tuple(str(b) for b in backends),
                verdicts=tuple(str(v) for v in ([verdicts] if isinstance(verdicts, str) else verdicts)),
                what=str(raw["what"]),
                why=str(raw["why"]),
                probes=str(raw.get("probes", "*")),
                link=str(raw.get("link", "")),
            ))
        except (KeyError, TypeError) as exc:
            raise KnownDivergenceError(f"{path}: divergence #{index + 1} lacks {exc}") from None
    return entries


def find_known(known: list[KnownDivergence], scenario: str, backends: tuple[str, str], verdict: str,
               probes: list[str]) -> KnownDivergence | None:
    return next((k for k in known if k.covers(scenario, backends, verdict, probes)), None)
