"""Shared helpers for the scenario modules: input builders, layer factories, expectation predicates.

Not a scenario module (its name starts with "_"). Imports no keras at module level: the layer
factories import it when a build function calls them.

Conventions
- A mask pattern is a string of 0/1 per timestep, 1 = kept (Keras's True), 0 = masked.
- The standard batch (`STANDARD_ROWS`) holds the *same* kept values in every row, only at different
  positions: holes in the middle, right padding, left padding, and a fully masked row. A layer that
  really skips masked steps gives the same outputs at the kept steps of every row; that is how the
  scenarios tell "skips the masked steps" from "reads them as zeros".
- Predicates return (passed, evidence); evidence is one line drawn from the captured data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from harness import Expectation
from harness.define.weights import random_inputs, seed_for

T = 6  # timesteps of the standard batch
PATTERNS = {
    "holes": "101101",
    "right-pad": "111100",
    "left-pad": "001111",
    "all-masked": "000000",
    "none-masked": "111111",
}
STANDARD_ROWS = ("holes", "right-pad", "left-pad", "all-masked")

RNN_KINDS = ("simple_rnn", "gru", "gru_v1", "lstm")  # gru_v1: GRU(reset_after=False)
RNN_TITLES = {"simple_rnn": "SimpleRNN", "gru": "GRU(reset_after=True)",
              "gru_v1": "GRU(reset_after=False)", "lstm": "LSTM"}

CLOSE = 1e-5  # within-one-backend closeness for float32 probes


# ---------------------------------------------------------------------------------------------
# masks and inputs
# ---------------------------------------------------------------------------------------------

def keep(*patterns: str) -> np.ndarray:
    """Bool (batch, time) from 0/1 strings or PATTERNS names; True = kept."""
    rows = [PATTERNS.get(p, p) for p in patterns]
    return np.array([[ch == "1" for ch in row] for row in rows], dtype=bool)


def bits(mask: np.ndarray | None) -> str:
    """A mask as compact 0/1 strings per sequence, rows joined by '|'; None -> 'no mask'."""
    if mask is None:
        return "no mask"
    mask = np.asarray(mask)
    if mask.ndim == 1:
        return "".join("1" if m else "0" for m in mask)
    if mask.ndim > 2:  # e.g. a per-feature mask: show per step whether any feature is kept
        return f"{mask.shape} " + bits(mask.reshape(mask.shape[0], mask.shape[1], -1).any(-1))
    return "|".join("".join("1" if m else "0" for m in row) for row in mask)


def masked_floats(keep_mask: np.ndarray, features: int = 2, seed: str = "standard",
                  same_values: bool = True) -> np.ndarray:
    """Float input (batch, time, features): kept steps nonzero, masked steps all zeros.

    With `same_values`, every row carries the same values v0, v1, ... at its kept steps in order,
    so rows differ only in where the masked steps are.
    """
    batch, steps = keep_mask.shape
    values = random_inputs(seed, (batch, steps, features), low=0.2, high=1.0)
    signs = np.where(random_inputs(seed + "/sign", (batch, steps, features)) < 0, -1.0, 1.0)
    values = (values * signs).astype(np.float32)
    out = np.zeros((batch, steps, features), dtype=np.float32)
    for b in range(batch):
        kept = np.flatnonzero(keep_mask[b])
        source = values[0] if same_values else values[b]
        out[b, kept] = source[: len(kept)]
    return out


def masked_tokens(keep_mask: np.ndarray, vocab: int = 6, seed: str = "tokens",
                  same_values: bool = True) -> np.ndarray:
    """Integer codes (batch, time): 0 at masked steps, 1..vocab-1 at kept steps (same order per row)."""
    batch, steps = keep_mask.shape
    rng = np.random.default_rng(seed_for("tokens", seed))
    codes = rng.integers(1, vocab, size=(batch, steps))
    out = np.zeros((batch, steps), dtype=np.int32)
    for b in range(batch):
        kept = np.flatnonzero(keep_mask[b])
        source = codes[0] if same_values else codes[b]
        out[b, kept] = source[: len(kept)]
    return out


def standard_batch(features: int = 2, seed: str = "standard") -> tuple[np.ndarray, np.ndarray]:
    """(x, keep) for STANDARD_ROWS."""
    k = keep(*STANDARD_ROWS)
    return masked_floats(k, features, seed), k


# ---------------------------------------------------------------------------------------------
# layer factories (keras imported on call)
# ---------------------------------------------------------------------------------------------

def make_rnn(kind: str, units: int, name: str, **kwargs):
    from keras import layers

    if kind == "simple_rnn":
        return layers.SimpleRNN(units, name=name, **kwargs)
    if kind == "gru":
        return layers.GRU(units, reset_after=True, name=name, **kwargs)
    if kind == "gru_v1":
        return layers.GRU(units, reset_after=False, name=name, **kwargs)
    if kind == "lstm":
        return layers.LSTM(units, name=name, **kwargs)
    raise ValueError(f"unknown rnn kind {kind!r}")


def n_states(kind: str) -> int:
    return 2 if kind == "lstm" else 1


# ---------------------------------------------------------------------------------------------
# predicates
# ---------------------------------------------------------------------------------------------

Check = Callable[[object], object]


def guarded(check: Check) -> Check:
    """Fail with the error as evidence when the scenario raised (no probes exist then)."""

    def run(c):
        if c.error is not None:
            return False, f"raised {c.error.type}: {c.error.message[:120]}"
        return check(c)

    return run


def expect(name: str, check: Check, claim: str | None = None, *, needs_output: bool = True) -> Expectation:
    return Expectation(name, guarded(check) if needs_output else check, claim=claim)


def close(a: np.ndarray, b: np.ndarray, atol: float = CLOSE) -> bool:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=atol * 10))


def mask_is(probe: str, expected: np.ndarray | None) -> Check:
    """The probe's mask equals `expected` (None: the probe has no mask)."""

    def check(c):
        got = c.mask(probe)
        if expected is None:
            return got is None, f"{probe} mask {bits(got)}"
        ok = got is not None and got.shape == expected.shape and bool(np.array_equal(got, expected))
        return ok, f"{probe} mask {bits(got)}, expected {bits(expected)}"

    return check


def has_mask(probe: str) -> Check:
    def check(c):
        got = c.mask(probe)
        return got is not None, f"{probe} mask {bits(got)}"

    return check


def values_equal(probe_a: str, probe_b: str, atol: float = CLOSE) -> Check:
    def check(c):
        a, b = c.output(probe_a), c.output(probe_b)
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.shape == b.shape else None
        shown = "shapes differ" if diff is None else f"max |diff| {diff:.2e}"
        return close(a, b, atol), f"{probe_a} vs {probe_b}: {shown}"

    return check


def _step_is_zero(v: np.ndarray, atol: float) -> bool:
    return bool(np.all(np.abs(v) <= atol))


def zero_or_previous(probe: str, keep_mask: np.ndarray, *, reverse: bool = False, flip: bool = False,
                     atol: float = CLOSE, units_slice: slice | None = None,
                     initial: np.ndarray | None = None) -> Check:
    """C4: every masked step of a sequence output is 0 or repeats the step before it.

    `keep_mask` is in input order. `reverse`: the output is already in processing order of a
    go_backwards layer (reversed), so the mask is reversed to match it. `flip`: the output is in
    input order but was computed back to front (Bidirectional's backward half), so both are
    reversed. `initial` (batch, units): the RNN's initial state, which a masked step 0 may show
    instead of 0 (there is no previous step). Also requires kept steps to move (not all 0), so a dead
    layer does not pass trivially.
    """

    def check(c):
        out = c.output(probe).astype(np.float64)
        if units_slice is not None:
            out = out[..., units_slice]
        if flip:
            out = out[:, ::-1]
        k = keep_mask[:, ::-1] if (reverse or flip) else keep_mask
        bad, zeros, repeats, inits = [], 0, 0, 0
        for b in range(out.shape[0]):
            for t in range(out.shape[1]):
                if k[b, t]:
                    continue
                if _step_is_zero(out[b, t], atol):
                    zeros += 1
                elif t > 0 and close(out[b, t], out[b, t - 1], atol):
                    repeats += 1
                elif t == 0 and initial is not None and close(out[b, t], initial[b], atol):
                    inits += 1
                else:
                    bad.append(f"row{b} step{t}")
        kept_moving = bool(np.any(np.abs(out[k]) > atol)) if k.any() else True
        shown_init = f", {inits} show the initial state" if initial is not None else ""
        ev = (f"{probe}, masked steps of {'reversed ' if (reverse or flip) else ''}{bits(k)}: {zeros} zero, "
              f"{repeats} repeat previous{shown_init}, {len(bad)} neither"
              f"{': ' + ', '.join(bad[:4]) if bad else ''}")
        if not kept_moving:
            ev += "; kept steps are all 0"
        return not bad and kept_moving, ev

    return check


def masked_steps_zero(probe: str, keep_mask: np.ndarray, *, reverse: bool = False,
                      atol: float = CLOSE) -> Check:
    def check(c):
        out = c.output(probe).astype(np.float64)
        k = keep_mask[:, ::-1] if reverse else keep_mask
        masked = out[~k]
        worst = float(np.max(np.abs(masked))) if masked.size else 0.0
        return worst <= atol, f"{probe} masked steps max |value| {worst:.2e} (mask {bits(k)})"

    return check


def kept_steps_agree(probe: str, keep_mask: np.ndarray, rows: Iterable[int] | None = None, *,
                     reverse: bool = False, atol: float = CLOSE) -> Check:
    """C4 skip: rows that carry the same kept values give the same outputs at their kept steps."""

    def check(c):
        out = c.output(probe).astype(np.float64)
        k = keep_mask[:, ::-1] if reverse else keep_mask
        chosen = [r for r in (rows if rows is not None else range(k.shape[0])) if k[r].any()]
        seqs = [out[r][k[r]] for r in chosen]
        ref = seqs[0]
        diffs = [float(np.max(np.abs(s - ref))) if s.shape == ref.shape else float("inf") for s in seqs[1:]]
        worst = max(diffs) if diffs else 0.0
        return worst <= atol, (f"{probe}: outputs at kept steps of rows {chosen} differ by at most "
                               f"{worst:.2e} (mask {bits(k)})")

    return check


def rows_agree(probe: str, rows: Iterable[int], atol: float = CLOSE) -> Check:
    """Whole-row agreement, e.g. the last output of rows holding the same kept values."""

    def check(c):
        out = c.output(probe).astype(np.float64)
        rows_ = list(rows)
        ref = out[rows_[0]]
        worst = max(float(np.max(np.abs(out[r] - ref))) for r in rows_[1:])
        return worst <= atol, f"{probe}: rows {rows_} differ by at most {worst:.2e}"

    return check


def row_is_zero(probe: str, row: int, atol: float = CLOSE) -> Check:
    def check(c):
        v = c.output(probe)[row].astype(np.float64)
        worst = float(np.max(np.abs(v))) if v.size else 0.0
        return worst <= atol, f"{probe} row {row} max |value| {worst:.2e}"

    return check


def finite(probe: str) -> Check:
    def check(c):
        v = c.output(probe)
        bad = int(np.size(v) - np.count_nonzero(np.isfinite(v)))
        return bad == 0, f"{probe}: {bad} of {np.size(v)} values are NaN/inf"

    return check


def raised(type_name: str | None = None) -> Check:
    def check(c):
        if c.error is None:
            return False, "no error raised"
        ok = type_name is None or c.error.type == type_name
        return ok, f"raised {c.error.type}: {c.error.message[:120]}"

    return check


def warned(text: str) -> Check:
    def check(c):
        hits = [w for w in c.warnings if text in w.message]
        if hits:
            return True, f"{hits[0].category}: {hits[0].message[:120]}"
        return False, f"no warning containing {text!r} ({len(c.warnings)} warnings)"

    return check


def no_warning(text: str) -> Check:
    def check(c):
        hits = [w for w in c.warnings if text in w.message]
        return not hits, (f"{hits[0].category}: {hits[0].message[:120]}" if hits
                          else f"no warning containing {text!r}")

    return check


def fmt(v: np.ndarray, digits: int = 3) -> str:
    return np.array2string(np.asarray(v, dtype=np.float64), precision=digits, separator=",",
                           suppress_small=True).replace("\n", "")
