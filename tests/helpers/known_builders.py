"""Known-divergence entries built in memory for tests: one fingerprint each, fields as in the TOML."""

from __future__ import annotations

from typing import Any

from harness.compare.known import VALUE_VERDICTS, Fingerprint, KnownDivergence, MessagePattern


def entry(scenario: str, odd: str, *, probes: tuple[str, ...] | str = ("*",),
          verdicts: tuple[str, ...] = VALUE_VERDICTS, errors: tuple[tuple[str, str], ...] = (),
          warnings: tuple[tuple[str, str], ...] = (), what: str = "w", why: str = "y", id: str = "",
          keras: str = "", backend_versions: str = "", fingerprint: dict[str, Any] | None = None,
          **fields: Any) -> KnownDivergence:
    """`errors`/`warnings`: (type or category, message pattern) pairs; `fingerprint`: more conditions."""
    print_ = Fingerprint(scenario=scenario, verdicts=verdicts,
                         probes=(probes,) if isinstance(probes, str) else tuple(probes),
                         errors=tuple(MessagePattern(k, m) for k, m in errors),
                         warnings=tuple(MessagePattern(k, m) for k, m in warnings), **(fingerprint or {}))
    return KnownDivergence(id=id or f"{odd}-{scenario}", odd=odd, what=what, why=why, fingerprints=(print_,),
                           keras=keras, backend_versions=backend_versions, **fields)
