"""Version ranges for known divergences: which Keras (and backend library) versions an entry holds for.

A range is a comma-separated list of PEP 440 style comparisons (">=3.6.0, <3.16", "==3.15.1"); "" is
every version. Versions are compared as PEP 440 orders them for the forms the harness meets: releases
(3.15.1), keras-nightly builds (3.16.0.dev2026102704, before 3.16.0), release candidates (3.16.0rc1)
and local labels (2.13.0+cpu, compared without the label). numpy only: no `packaging` dependency.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?(?:\+[\w.]+)?$")
_CLAUSE = re.compile(r"^(==|!=|>=|<=|>|<)\s*(\S+)$")
_PRE = {"a": 0, "b": 1, "rc": 2}


class VersionRangeError(ValueError):
    """A range or a version the harness cannot read; the message quotes it."""


def version_key(version: str) -> tuple:
    """A sort key in PEP 440 order (for the version forms above)."""
    found = _VERSION.match(version.strip())
    if not found:
        raise VersionRangeError(f"not a version: {version!r}")
    release, pre, pre_n, post, dev = found.groups()
    numbers = [int(x) for x in release.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:  # 3.16 == 3.16.0
        numbers.pop()
    # dev of a release sorts before its pre-releases, which sort before the release, then post.
    stage = (-1, 0) if dev is not None and pre is None and post is None else \
        (_PRE[pre], int(pre_n)) if pre else (3, 0)
    return (tuple(numbers), stage, int(post) if post else -1, int(dev) if dev is not None else 1 << 62)


def parse_range(text: str) -> tuple[tuple[str, str], ...]:
    """'>=3.6, <3.16' -> (('>=', '3.6'), ('<', '3.16')); refuses anything else with the text quoted."""
    clauses = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = _CLAUSE.match(part)
        if not found:
            raise VersionRangeError(f"not a version range: {text!r} (expected e.g. '>=3.6.0, <3.16')")
        version_key(found.group(2))  # refuse an unreadable version now, not at match time
        clauses.append((found.group(1), found.group(2)))
    return tuple(clauses)


def in_range(version: str, text: str) -> bool:
    """Whether `version` satisfies every clause of the range `text` ("" holds for every version)."""
    key = version_key(version)
    for op, bound in parse_range(text):
        other = version_key(bound)
        holds = {"==": key == other, "!=": key != other, ">=": key >= other, "<=": key <= other,
                 ">": key > other, "<": key < other}[op]
        if not holds:
            return False
    return True


def within(version: str, spec: str) -> bool:
    """`in_range`, where a version the harness cannot read is not known to be inside."""
    try:
        return in_range(version, spec)
    except VersionRangeError:
        return False
