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


# What a difference touches, for the reader deciding whether it matters to their model (the
# optional `impact` field of a divergence or a surprise).
IMPACTS = {
    "kept": "forward values at kept steps",
    "masked": "values at masked steps only",
    "mask": "the mask itself",
    "training": "training (gradients or optimizer steps)",
    "warnings": "warnings only (values and masks agree)",
}


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
    # For the reader (all optional): the layer and the situation, what it touches (an IMPACTS key),
    # what to do about it, and the smallest scenario that shows it.
    layer: str = ""
    situation: str = ""
    impact: str = ""
    workaround: str = ""
    minimal: str = ""

    def covers(self, scenario: str, backends: tuple[str, str], verdict: str, probes: list[str]) -> bool:
        return (fnmatch.fnmatchcase(scenario, self.scenario)
                and any(b in self.backends for b in backends)
                and verdict in self.verdicts
                and (all(fnmatch.fnmatchcase(p, self.probes) for p in probes) if probes
                     else self.probes == "*"))


def load_known(path: Path) -> list[KnownDivergence]:
    """Read the registry; a missing file means no known divergences."""
    entries = []
    for index, raw in enumerate(_tables(path, "divergence")):
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
                **_reader_fields(raw, path, f"divergence #{index + 1}"),
            ))
        except (KeyError, TypeError) as exc:
            raise KnownDivergenceError(f"{path}: divergence #{index + 1} lacks {exc}") from None
    return entries


def _tables(path: Path, name: str) -> list:
    """The [[name]] tables of a TOML file; none when the file does not exist."""
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KnownDivergenceError(f"{path}: not valid TOML ({exc})") from None
    return data.get(name, [])


def _reader_fields(raw: dict, path: Path, where: str) -> dict[str, str]:
    fields = {k: str(raw.get(k, "")) for k in ("layer", "situation", "impact", "workaround", "minimal")}
    if fields["impact"] and fields["impact"] not in IMPACTS:
        raise KnownDivergenceError(f"{path}: {where}: impact {fields['impact']!r} is not one of "
                                   f"{', '.join(IMPACTS)}")
    return fields


@dataclass(frozen=True)
class Surprise:
    """Behaviour that is the same on every backend but contradicts the seed or the Keras docs.

    It is tied to an expectation: the report shows it only while every run that recorded the
    scenario fails a matching expectation, so it disappears (or is listed as no longer seen) when
    Keras changes.
    """

    scenario: str  # glob on scenario names
    expectation: str  # glob on expectation names
    what: str
    contradicts: str  # which statement it contradicts: the seed's claim, a Keras docstring
    layer: str = ""
    situation: str = ""
    impact: str = ""
    workaround: str = ""
    minimal: str = ""
    link: str = ""


def load_surprises(path: Path) -> list[Surprise]:
    """Read scenarios/surprises.toml ([[surprise]] tables); a missing file means none."""
    entries = []
    for index, raw in enumerate(_tables(path, "surprise")):
        try:
            entries.append(Surprise(
                scenario=str(raw["scenario"]), expectation=str(raw["expectation"]),
                what=str(raw["what"]), contradicts=str(raw["contradicts"]), link=str(raw.get("link", "")),
                **_reader_fields(raw, path, f"surprise #{index + 1}")))
        except (KeyError, TypeError) as exc:
            raise KnownDivergenceError(f"{path}: surprise #{index + 1} lacks {exc}") from None
    return entries


def find_known(known: list[KnownDivergence], scenario: str, backends: tuple[str, str], verdict: str,
               probes: list[str]) -> KnownDivergence | None:
    return next((k for k in known if k.covers(scenario, backends, verdict, probes)), None)
