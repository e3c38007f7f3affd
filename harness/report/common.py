"""What several report sections share: run and pair names, numbers, masks drawn as 0/1, evidence said once."""

from __future__ import annotations

import numpy as np

from harness.artifacts import Artifact
from harness.compare.claims import ClaimResult
from harness.compare.verdicts import SEVERITY
from harness.report import markdown as md
from harness.report.model import ReportModel

MAX_SEQUENCES = 8  # mask rows drawn per probe before eliding


def short(label: str) -> str:
    return label.removesuffix("-cpu")


def pair_name(a: str, b: str) -> str:
    return f"{short(a)} vs {short(b)}"


def runs_in_order(model: ReportModel) -> list[Artifact]:
    """The runs in the comparison's backend order, the order of every table's columns."""
    return sorted(model.runs, key=lambda r: model.comparison.labels.index(r.label))


def claim_anchor(claim: str) -> str:
    return md.slug(f"Claim {claim}")


def claim_verdict(result: ClaimResult) -> str:
    """A claim's verdict as words: "partly" says how many of its checks pass."""
    verdict = result.verdict.replace("-", " ")
    if result.verdict != "partly":
        return verdict
    passed = len(result.checks) - len(result.failed)
    return f"partly: {passed} of {len(result.checks)} checks pass"


def once(by_label: dict[str, str]) -> str:
    """Evidence said once when every run recorded the same text, else per run; never cut."""
    texts = {t for t in by_label.values()}
    if len(texts) <= 1:
        return md.text(next(iter(texts), ""), 4000) or "—"
    return "<br>".join(f"{short(label)}: {md.text(t, 4000)}" for label, t in by_label.items())


def rank(verdict: str) -> int:
    return SEVERITY.index(verdict) if verdict in SEVERITY else len(SEVERITY)


def num(value: float) -> str:
    if value == 0:
        return "0"
    if not np.isfinite(value):
        return "inf"
    return f"{value:.1e}"


_DRAWN: dict[tuple, str] = {}  # mask -> its drawing: masks repeat across probes, runs and scenarios


def draw_mask(mask: np.ndarray | None, *, cell: bool = False) -> str:
    """A (batch, time) mask as one 0/1 string per sequence, in a code span; 'no mask' if None."""
    if mask is None:
        return "no mask"
    key = (mask.shape, mask.dtype.str, mask.tobytes(), cell)
    drawn = _DRAWN.get(key)
    if drawn is None:
        rows = mask.reshape(mask.shape[0], -1) if mask.ndim > 1 else mask.reshape(1, -1)
        # b"0"/b"1" per timestep: 48 is ord("0")
        strings = [(row.astype(np.uint8) + 48).tobytes().decode() for row in rows[:MAX_SEQUENCES]]
        more = f" +{rows.shape[0] - MAX_SEQUENCES}" if rows.shape[0] > MAX_SEQUENCES else ""
        drawn = md.code(" ".join(strings), cell=cell) + more
        if len(_DRAWN) < 65536:  # bounded: a report with more distinct masks draws the rest each time
            _DRAWN[key] = drawn
    return drawn
