"""Known divergences and surprises: understood behaviour, kept as data (TOML registries), never as code.

A known divergence is one cause, with one or more fingerprints: the exact raw verdict(s), the probes
that differ, the odd backend out, the band and direction of the difference, error and warning
patterns, and the Keras / backend versions it holds for. harness/compare/fingerprint.py decides
whether a fingerprint describes a comparison; a pair an entry names but does not describe stays a
finding. The schema is documented at the top of scenarios/known_divergences.toml and in docs/known.md.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from harness.compare.version_range import VersionRangeError, parse_range

# Beside the harness package, in the checkout and in an install alike (the suite ships as package data),
# so `report`, `check` and `fuzz` run from any folder still know the understood divergences.
DEFAULT_KNOWN = Path(__file__).resolve().parents[2] / "scenarios" / "known_divergences.toml"
SURPRISES_FILE = "surprises.toml"  # read from the known-divergence registry's folder

# What a difference touches, in the words a user needs to decide whether it matters to their model
# (the `impact` field of a divergence or a surprise).
IMPACTS = {
    "error": "raises an error",
    "metrics": "logged metrics only",
    "kept": "forward values at kept steps",
    "masked": "values at masked steps only",
    "mask": "the mask itself",
    "training": "training values",
    "warnings": "warnings only",
}

# Raw verdicts a fingerprint may name, and the value verdicts a fingerprint without `verdicts` gets.
RAW_VERDICTS = ("missing", "error-differs", "shape-differs", "dtype-differs", "mask-differs", "differs",
                "nondeterministic", "differs-masked-only", "warnings-differ")
VALUE_VERDICTS = ("differs", "differs-masked-only", "mask-differs")
BACKENDS = ("tensorflow", "jax", "torch")
DIRECTIONS = ("odd-larger", "odd-smaller", "along-descent")  # sign of (odd - other), see fingerprint.py
MASK_SIDES = ("odd-only", "other-only")  # which side has a mask where the other has none


class KnownDivergenceError(Exception):
    """The registry file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class MessagePattern:
    """An error (type) or a warning (category) with a regular expression its message must contain."""

    kind: str  # the error type ("ValueError") or warning category ("DeprecationWarning")
    message: str  # re.search pattern
    backend: str = ""  # errors only: the backend that raises it ("" for either side)

    def matches(self, kind: str, message: str) -> bool:
        return kind == self.kind and re.search(self.message, message) is not None


@dataclass(frozen=True)
class Fingerprint:
    """One shape the cause takes in a scenario: everything that must hold for it to explain a pair."""

    scenario: str  # glob on scenario names
    verdicts: tuple[str, ...] = VALUE_VERDICTS  # raw verdicts (of the pair, and of each probe it explains)
    probes: tuple[str, ...] = ()  # globs: each probe it explains matches one (no glob: none; errors/warnings)
    except_probes: tuple[str, ...] = ()  # globs of probes it never explains (the cause leaves them equal)
    requires: tuple[str, ...] = ()  # globs: each must match a differing probe (where the cause shows)
    abs_range: tuple[float, float] | None = None  # [lo, hi]: the largest |odd - other| of each probe
    others_zero: bool = False  # the other backend's value is 0 at every differing position
    direction: str = ""  # DIRECTIONS: the sign of (odd - other) at every differing position
    mask: str = ""  # MASK_SIDES, for mask-differs
    errors: tuple[MessagePattern, ...] = ()  # the odd side must raise one; a failing other side too
    warnings: tuple[MessagePattern, ...] = ()  # every warning on one side only is the odd side's and matches
    expectations: tuple[str, ...] = ()  # globs: the odd run fails a matching expectation, the other none


@dataclass(frozen=True)
class KnownDivergence:
    id: str  # short, stable: how entries cross-link and how the report names the cause
    odd: str  # the backend that behaves differently (a pair is named when exactly one side is it)
    what: str
    why: str
    fingerprints: tuple[Fingerprint, ...]
    keras: str = ""  # version range the entry holds for ("" every version)
    backend_versions: str = ""  # range of the odd backend's library version
    link: str = ""
    layer: str = ""
    situation: str = ""
    impact: str = ""
    workaround: str = ""
    minimal: str = ""
    demonstrated_by: tuple[str, ...] = ()  # scenarios that run the workaround on every backend
    see_also: tuple[str, ...] = ()  # ids of entries (or surprises) that share the cause

    @property
    def backends(self) -> tuple[str, ...]:
        return (self.odd,)

    @property
    def scenario(self) -> str:
        """The scenario globs, for listings."""
        return ", ".join(dict.fromkeys(f.scenario for f in self.fingerprints))


def load_known(path: Path) -> list[KnownDivergence]:
    """Read the registry; a missing file means no known divergences."""
    entries = []
    for index, raw in enumerate(_tables(path, "divergence")):
        where = f"{path}: divergence #{index + 1}" + (f" ({raw['id']})" if isinstance(raw.get("id"), str) else "")
        try:
            entries.append(_divergence(raw, index))
        except KeyError as exc:
            raise KnownDivergenceError(f"{where} lacks {exc}") from None
        except (TypeError, ValueError, VersionRangeError, re.error) as exc:
            raise KnownDivergenceError(f"{where}: {exc}") from None
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise KnownDivergenceError(f"{path}: two entries share an id: "
                                   f"{sorted({i for i in ids if ids.count(i) > 1})}")
    return entries


def _divergence(raw: dict, index: int) -> KnownDivergence:
    odd = raw.get("odd")
    if odd is None:  # the older schema: `backends`, one name (a list of one)
        backends = raw["backends"]
        backends = [backends] if isinstance(backends, str) else list(backends)
        if len(backends) != 1:
            raise ValueError(f"backends {backends!r}: name the one odd backend out (`odd`)")
        odd = backends[0]
    odd = _text(odd, "odd")
    if odd not in BACKENDS:
        raise ValueError(f"odd {odd!r} is not one of {', '.join(BACKENDS)}")
    tables = raw.get("fingerprint")
    if tables is None:  # one fingerprint written flat in the entry
        tables = [{k: v for k, v in raw.items() if k in _FINGERPRINT_KEYS}]
    if not isinstance(tables, list) or not tables:
        raise ValueError("needs at least one [[divergence.fingerprint]]")
    entry = KnownDivergence(
        id=_text(raw.get("id", f"entry-{index + 1}"), "id"), odd=odd, what=_text(raw["what"], "what"),
        why=_text(raw["why"], "why"), fingerprints=tuple(_fingerprint(t) for t in tables),
        keras=_range(raw.get("keras", "")), backend_versions=_range(raw.get("backend_versions", "")),
        demonstrated_by=_texts(raw.get("demonstrated_by", ()), "demonstrated_by"),
        see_also=_texts(raw.get("see_also", ()), "see_also"),
        link=_text(raw.get("link", ""), "link"), **_reader_fields(raw))
    return entry


_FINGERPRINT_KEYS = ("scenario", "verdicts", "probes", "except_probes", "requires", "abs_range", "others_zero",
                     "direction", "mask", "errors", "warnings", "expectations")


def _fingerprint(raw: dict) -> Fingerprint:
    unknown = sorted(set(raw) - set(_FINGERPRINT_KEYS))
    if unknown:
        raise ValueError(f"fingerprint field(s) {unknown} are not part of the schema")
    verdicts = _texts(raw.get("verdicts", VALUE_VERDICTS), "verdicts")
    bad = [v for v in verdicts if v not in RAW_VERDICTS]
    if bad:
        raise ValueError(f"verdicts {bad} are not raw verdicts ({', '.join(RAW_VERDICTS)})")
    band = raw.get("abs_range")
    if band is not None:
        if (not isinstance(band, list) or len(band) != 2 or not all(isinstance(x, (int, float)) for x in band)
                or not 0 <= band[0] <= band[1] or not math.isfinite(band[1])):
            raise ValueError(f"abs_range {band!r}: expected [lo, hi] with 0 <= lo <= hi")
        band = (float(band[0]), float(band[1]))
    direction, mask = _text(raw.get("direction", ""), "direction"), _text(raw.get("mask", ""), "mask")
    if direction and direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if mask and mask not in MASK_SIDES:
        raise ValueError(f"mask {mask!r} is not one of {', '.join(MASK_SIDES)}")
    probes = raw.get("probes", ())
    fingerprint = Fingerprint(
        scenario=_text(raw["scenario"], "scenario"), verdicts=verdicts,
        probes=("*",) if probes == "*" else _texts(probes, "probes"),
        except_probes=_texts(raw.get("except_probes", ()), "except_probes"),
        requires=_texts(raw.get("requires", ()), "requires"), abs_range=band,
        others_zero=bool(raw.get("others_zero", False)), direction=direction, mask=mask,
        errors=tuple(_pattern(p, "type", "errors") for p in raw.get("errors", ())),
        warnings=tuple(_pattern(p, "category", "warnings") for p in raw.get("warnings", ())),
        expectations=_texts(raw.get("expectations", ()), "expectations"))
    if "error-differs" in verdicts and not fingerprint.errors:
        raise ValueError("an error-differs fingerprint needs `errors` (type and message pattern)")
    if "warnings-differ" in verdicts and not fingerprint.warnings:
        raise ValueError("a warnings-differ fingerprint needs `warnings` (category and message pattern)")
    if set(verdicts) & set(VALUE_VERDICTS + ("shape-differs", "dtype-differs", "nondeterministic")) \
            and not fingerprint.probes:
        raise ValueError("a fingerprint of value differences needs `probes` (the probes that differ)")
    return fingerprint


def _pattern(raw: dict, kind_key: str, where: str) -> MessagePattern:
    if not isinstance(raw, dict) or kind_key not in raw or "message" not in raw:
        raise ValueError(f"{where}: each needs {kind_key} and message (a regular expression)")
    pattern = MessagePattern(_text(raw[kind_key], kind_key), _text(raw["message"], "message"),
                             _text(raw.get("backend", ""), "backend"))
    re.compile(pattern.message)
    return pattern


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    return value


def _texts(value: object, name: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{name} must be a string or a list of strings")
    return tuple(_text(v, name) for v in items)


def _range(value: object) -> str:
    text = _text(value, "version range")
    parse_range(text)
    return text


def _impact(value: object) -> str:
    impact = _text(value, "impact")
    if impact and impact not in IMPACTS:
        raise ValueError(f"impact {impact!r} is not one of {', '.join(IMPACTS)}")
    return impact


def _tables(path: Path, name: str) -> list:
    """The [[name]] tables of a TOML file; none when the file does not exist."""
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KnownDivergenceError(f"{path}: not valid TOML ({exc})") from None
    return data.get(name, [])


def _reader_fields(raw: dict) -> dict[str, str]:
    fields = {k: _text(raw.get(k, ""), k) for k in ("layer", "situation", "workaround", "minimal")}
    return {**fields, "impact": _impact(raw.get("impact", ""))}


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
    keras: str = ""  # version range it holds for ("" every version)
    demonstrated_by: tuple[str, ...] = ()
    see_also: tuple[str, ...] = ()
    id: str = ""  # how a divergence's see_also names it


def load_surprises(path: Path) -> list[Surprise]:
    """Read scenarios/surprises.toml ([[surprise]] tables); a missing file means none."""
    entries = []
    for index, raw in enumerate(_tables(path, "surprise")):
        where = f"{path}: surprise #{index + 1}"
        try:
            entries.append(Surprise(
                scenario=_text(raw["scenario"], "scenario"), expectation=_text(raw["expectation"], "expectation"),
                what=_text(raw["what"], "what"), contradicts=_text(raw["contradicts"], "contradicts"),
                link=_text(raw.get("link", ""), "link"), keras=_range(raw.get("keras", "")),
                demonstrated_by=_texts(raw.get("demonstrated_by", ()), "demonstrated_by"),
                see_also=_texts(raw.get("see_also", ()), "see_also"), id=_text(raw.get("id", ""), "id"),
                **_reader_fields(raw)))
        except KeyError as exc:
            raise KnownDivergenceError(f"{where} lacks {exc}") from None
        except (TypeError, ValueError, VersionRangeError) as exc:
            raise KnownDivergenceError(f"{where}: {exc}") from None
    return entries
