"""Pooling and merging layers under masks.

- GlobalAveragePooling1D reads the mask (average over kept steps); GlobalMaxPooling1D does not:
  a masked step (value 0) can win the max when every kept value of a feature is negative.
- Add / Subtract / Multiply / Average / Maximum / Minimum with inputs whose masks differ, and with
  one unmasked input; Concatenate along the time axis.
"""

import numpy as np

from harness import scenario
from scenarios._common import (
    bits,
    expect,
    keep,
    mask_is,
    masked_floats,
    row_is_zero,
    warned,
    zero_or_previous,
)

POOL_KEEP = keep("holes", "right-pad", "left-pad", "all-masked")
POOL_X = masked_floats(POOL_KEEP, features=3, seed="pool", same_values=False)
POOL_X[:3, :, 0] = -np.abs(POOL_X[:3, :, 0])  # feature 0: every kept value negative
POOL_X[~POOL_KEEP] = 0.0


def _kept_mean(c):
    out = c.output("pool")
    bad = []
    for b in range(3):
        want = POOL_X[b][POOL_KEEP[b]].mean(axis=0)
        if not np.allclose(out[b], want, atol=1e-6):
            bad.append(b)
    return not bad, f"average over kept steps only: rows differing {bad or 'none'} (rows 0-2)"


def _fully_masked_row(c):
    v = c.output("pool")[3]
    return bool(np.all(np.isfinite(v))), f"fully masked row -> {v.tolist()}"


@scenario(
    "pool/global-average-1d",
    description="Does GlobalAveragePooling1D average over the kept steps only, and what does a fully "
                "masked row give?",
    tags=("pooling", "masking", "global-average-pooling"),
    expect=[
        expect("averages over kept steps only", _kept_mean),
        expect("fully masked row gives finite values (not 0/0)", _fully_masked_row),
        expect("pooled output carries no mask", mask_is("pool", None)),
    ],
)
def global_average_1d():
    import keras
    from keras import layers

    inp = keras.Input(POOL_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    out = layers.GlobalAveragePooling1D(name="pool")(m)
    return keras.Model(inp, out), [POOL_X]


def _kept_max(c):
    out = c.output("pool")
    want = np.stack([POOL_X[b][POOL_KEEP[b]].max(axis=0) for b in range(3)])
    got = out[:3]
    return bool(np.allclose(got, want, atol=1e-6)), (f"feature 0 (all kept values < 0): max over kept "
                                                     f"{np.round(want[:, 0], 3).tolist()}, got "
                                                     f"{np.round(got[:, 0], 3).tolist()}")


@scenario(
    "pool/global-max-1d",
    description="Does GlobalMaxPooling1D ignore masked steps, or can a masked 0 win the max over "
                "negative kept values?",
    tags=("pooling", "masking", "global-max-pooling"),
    expect=[
        expect("max over kept steps only", _kept_max),
        expect("warns that it drops the mask", warned("does not support masking"), needs_output=False),
        expect("fully masked row gives 0 (all steps are zeros)", row_is_zero("pool", 3)),
    ],
)
def global_max_1d():
    import keras
    from keras import layers

    inp = keras.Input(POOL_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    out = layers.GlobalMaxPooling1D(name="pool")(m)
    return keras.Model(inp, out), [POOL_X]


GRU_POOL_KEEP = keep("holes", "right-pad", "left-pad")
GRU_POOL_X = masked_floats(GRU_POOL_KEEP, features=2, seed="gru-pool")


def _gru_pool_rows_agree(c):
    out = c.output("pool")
    worst = float(np.max(np.abs(out - out[0])))
    return worst <= 1e-5, f"rows with the same kept values: pooled outputs differ by {worst:.1e}"


@scenario(
    "pool/gru-then-global-average",
    description="GRU(return_sequences) -> GlobalAveragePooling1D: is the mean over kept steps the "
                "same wherever the padding is?",
    tags=("pooling", "masking", "gru", "global-average-pooling"),
    expect=[expect("pooled output independent of padding", _gru_pool_rows_agree),
            expect("GRU passes the mask to the pooling", mask_is("rnn", GRU_POOL_KEEP))],
)
def gru_then_global_average():
    import keras
    from keras import layers

    inp = keras.Input(GRU_POOL_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = layers.GRU(3, return_sequences=True, name="rnn")(m)
    out = layers.GlobalAveragePooling1D(name="pool")(h)
    return keras.Model(inp, out), [GRU_POOL_X]


# ---------------------------------------------------------------------------------------------
# elementwise merges with different masks
# ---------------------------------------------------------------------------------------------
MERGE_KEEP_A = keep("110011", "111100", "000000")
MERGE_KEEP_B = keep("011110", "001111", "000000")
MERGE_A = masked_floats(MERGE_KEEP_A, features=2, seed="merge-a", same_values=False)
MERGE_B = masked_floats(MERGE_KEEP_B, features=2, seed="merge-b", same_values=False)
MERGE_OPS = {  # layer class, plain elementwise op, op over the kept entries only
    "add": ("Add", lambda a, b: a + b, lambda vals: np.sum(vals, axis=0)),
    "multiply": ("Multiply", lambda a, b: a * b, lambda vals: np.prod(vals, axis=0)),
    "average": ("Average", lambda a, b: (a + b) / 2, lambda vals: np.mean(vals, axis=0)),
    "maximum": ("Maximum", lambda a, b: np.maximum(a, b), lambda vals: np.max(vals, axis=0)),
}
MERGE_ANY = MERGE_KEEP_A | MERGE_KEEP_B


def _merge_values(op):
    def check(c):
        want = op(MERGE_A, MERGE_B)
        worst = float(np.max(np.abs(c.output("merge") - want)[MERGE_ANY]))
        return worst <= 1e-6, (f"merge vs plain op on the raw inputs (masked steps are 0), at steps kept in "
                               f"either input: max |diff| {worst:.1e}")

    return check


def _merge_kept_only(reduce):
    def check(c):
        out = c.output("merge")
        worst = 0.0
        for b, t in zip(*np.nonzero(MERGE_ANY)):
            vals = [x[b, t] for x, k in ((MERGE_A, MERGE_KEEP_A), (MERGE_B, MERGE_KEEP_B)) if k[b, t]]
            worst = max(worst, float(np.max(np.abs(out[b, t] - reduce(np.stack(vals))))))
        return worst <= 1e-6, (f"merge vs the op over kept entries only (a masked entry left out): "
                               f"max |diff| {worst:.1e}")

    return check


def _merge_family(key):
    cls, op, kept_only = MERGE_OPS[key]
    value_checks = [expect("values are the plain elementwise result (masked entries count as 0)",
                           _merge_values(op))]
    if kept_only is not None:
        value_checks.append(expect("values leave masked entries out", _merge_kept_only(kept_only)))

    @scenario(
        f"merge/{key}-different-masks",
        description=f"{cls} of two inputs masked at different steps: do the values leave masked entries "
                    f"out, is the output mask the union of kept steps, and does a GRU follow it?",
        tags=("merge", "masking", key, "gru"),
        expect=[
            *value_checks,
            expect("output mask keeps a step kept in either input (OR)", mask_is("merge", MERGE_ANY)),
            expect("the GRU after it skips the steps masked in both inputs", zero_or_previous("rnn", MERGE_ANY)),
        ],
    )
    def build():
        import keras
        from keras import layers

        a = keras.Input(MERGE_A.shape[1:], name="a")
        b = keras.Input(MERGE_B.shape[1:], name="b")
        ma = layers.Masking(name="mask_a")(a)
        mb = layers.Masking(name="mask_b")(b)
        merged = getattr(layers, cls)(name="merge")([ma, mb])
        out = layers.GRU(3, return_sequences=True, name="rnn")(merged)
        return keras.Model([a, b], out), [MERGE_A, MERGE_B]


for _key in MERGE_OPS:
    _merge_family(_key)


MERGE_PLAIN = masked_floats(np.ones_like(MERGE_KEEP_A), features=2, seed="merge-plain", same_values=False)


@scenario(
    "merge/add-masked-and-unmasked",
    description="Add of a masked input and an input with no mask: is the mask kept (as Concatenate "
                "would keep it as all-ones), or dropped?",
    tags=("merge", "masking", "add"),
    expect=[expect("output keeps the masked input's mask", mask_is("merge", MERGE_KEEP_A)),
            expect("output has some mask", lambda c: (c.mask("merge") is not None,
                                                      f"merge mask {bits(c.mask('merge'))}"))],
)
def add_masked_and_unmasked():
    import keras
    from keras import layers

    a = keras.Input(MERGE_A.shape[1:], name="a")
    b = keras.Input(MERGE_PLAIN.shape[1:], name="b")
    merged = layers.Add(name="merge")([layers.Masking(name="mask_a")(a), b])
    return keras.Model([a, b], merged), [MERGE_A, MERGE_PLAIN]


# ---------------------------------------------------------------------------------------------
# Concatenate along the time axis
# ---------------------------------------------------------------------------------------------
TIME_KEEP_A = keep("1101", "0011", "1111")
TIME_KEEP_B = keep("10", "11", "00")
TIME_A = masked_floats(TIME_KEEP_A, features=2, seed="time-a", same_values=False)
TIME_B = masked_floats(TIME_KEEP_B, features=2, seed="time-b", same_values=False)
TIME_KEEP = np.concatenate([TIME_KEEP_A, TIME_KEEP_B], axis=1)


@scenario(
    "merge/concatenate-time-axis",
    description="Concatenate(axis=1) of two masked sequences: is the mask the two masks joined in "
                "time, and does a GRU over the joined sequence skip its masked steps?",
    tags=("merge", "masking", "concatenate", "gru"),
    expect=[
        expect("mask is the two masks joined along time", mask_is("concat", TIME_KEEP)),
        expect("the GRU skips the joined mask's masked steps", zero_or_previous("rnn", TIME_KEEP)),
        expect("values are the sequences joined along time",
               lambda c: (np.array_equal(c.output("concat"), np.concatenate([TIME_A, TIME_B], 1)),
                          "concat == np.concatenate(axis=1)")),
    ],
)
def concatenate_time_axis():
    import keras
    from keras import layers

    a = keras.Input(TIME_A.shape[1:], name="a")
    b = keras.Input(TIME_B.shape[1:], name="b")
    x = layers.Concatenate(axis=1, name="concat")([layers.Masking(name="mask_a")(a),
                                                  layers.Masking(name="mask_b")(b)])
    out = layers.GRU(3, return_sequences=True, name="rnn")(x)
    return keras.Model([a, b], out), [TIME_A, TIME_B]


TIME_PLAIN = masked_floats(np.ones_like(TIME_KEEP_B), features=2, seed="time-plain", same_values=False)


@scenario(
    "merge/concatenate-time-axis-unmasked",
    description="Concatenate(axis=1) of a masked and an unmasked sequence: is the unmasked part "
                "kept and the masked part's mask preserved?",
    tags=("merge", "masking", "concatenate"),
    expect=[expect("mask is the first mask joined with all-ones",
                   mask_is("concat", np.concatenate([TIME_KEEP_A, np.ones_like(TIME_KEEP_B)], 1)))],
)
def concatenate_time_axis_unmasked():
    import keras
    from keras import layers

    a = keras.Input(TIME_A.shape[1:], name="a")
    b = keras.Input(TIME_PLAIN.shape[1:], name="b")
    x = layers.Concatenate(axis=1, name="concat")([layers.Masking(name="mask_a")(a), b])
    return keras.Model([a, b], x), [TIME_A, TIME_PLAIN]

