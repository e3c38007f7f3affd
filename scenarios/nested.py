"""nested/: masks through models inside models, explicit mask= arguments, and custom two-input layers.

What users report: a Functional or Sequential model used as a layer of another model, with the
padding mask made outside it (keras-team/keras#23175, an open pull request to propagate masks
through nested Functional models); a layer called with an explicit mask= whose output mask ignored
it (#21449, merged); a custom layer taking two masked inputs whose call() got mask=None (#19311).
Probes reach inside the nested models (`encoder/gru`), so the masks are checked at every level.
"""

from __future__ import annotations

import numpy as np

from harness import scenario
from scenarios._common import (
    STANDARD_ROWS,
    bits,
    expect,
    keep,
    kept_steps_agree,
    mask_is,
    masked_floats,
    masked_tokens,
    no_warning,
)

THEME = "theme:nested"
KEEP = keep(*STANDARD_ROWS)  # holes, right padding, left padding, all masked: same kept tokens in each row
TOKENS = masked_tokens(KEEP, vocab=6, seed="nested/tokens")
DESTROY = "will therefore destroy the mask"


def _inner(kind: str):
    import keras
    from keras import layers

    if kind == "sequential":
        return keras.Sequential([keras.Input((None, 3)), layers.GRU(3, return_sequences=True, name="gru"),
                                 layers.Dense(2, name="proj")], name="encoder")
    x = keras.Input((None, 3), name="encoder_in")
    y = layers.Dense(2, name="proj")(layers.GRU(3, return_sequences=True, name="gru")(x))
    return keras.Model(x, y, name="encoder")


def _nested(kind: str) -> None:
    title = "Sequential" if kind == "sequential" else "Functional"

    @scenario(f"nested/{kind}-in-functional", tags=(THEME, "nested", "rnn", "embedding", "pooling"),
              upstream=("keras-team/keras#23175",),
              description=f"Embedding(mask_zero) outside, a {title} encoder (GRU -> Dense) inside, masked "
                          f"average pooling after it: is the padding mask seen inside the nested model and after it?",
              expect=[expect("inside: the nested GRU's output carries the padding mask", mask_is("encoder/gru", KEEP)),
                      expect("inside: the nested GRU skips masked steps (rows agree at kept steps)",
                             kept_steps_agree("encoder/gru", KEEP, rows=(0, 1, 2))),
                      expect("outside: the nested model's output carries the mask", mask_is("encoder", KEEP)),
                      expect("after it: the pooled outputs agree across rows holding the same tokens",
                             _rows_agree("summary", (0, 1, 2))),
                      expect(f"no warning that the nested {title} model 'will destroy the mask' while it keeps it",
                             no_warning(DESTROY))])
    def build():
        import keras
        from keras import layers

        tokens = keras.Input((None,), dtype="int32", name="tokens")
        x = layers.Embedding(6, 3, mask_zero=True, name="embedding")(tokens)
        x = _inner(kind)(x)
        out = layers.GlobalAveragePooling1D(name="summary")(x)  # uses the mask; a second RNN only adds time
        return keras.Model(tokens, out, name=f"outer_{kind}"), TOKENS


def _rows_agree(probe: str, rows):
    def check(c):
        out = c.output(probe).astype(np.float64)
        worst = max(float(np.max(np.abs(out[r] - out[rows[0]]))) for r in rows[1:])
        return worst <= 1e-5, f"{probe}: rows {list(rows)} differ by at most {worst:.2e}"
    return check


for _kind in ("functional", "sequential"):
    _nested(_kind)


EXPLICIT_KEEP = keep("110100", "111100", "011110", "100000")
EXPLICIT_X = masked_floats(EXPLICIT_KEEP, features=2, seed="nested/explicit")


@scenario("nested/explicit-mask-output-mask", tags=(THEME, "explicit-mask", "rnn"),
          upstream=("keras-team/keras#21449",),
          description="GRU(return_sequences=True) called with an explicit mask= from a boolean input, then "
                      "Dense: is the explicit mask the GRU's output mask, and does Dense pass it on?",
          expect=[expect("the GRU's output mask is the explicit mask", mask_is("gru", EXPLICIT_KEEP)),
                  expect("Dense after it carries the same mask", mask_is("head", EXPLICIT_KEEP)),
                  expect("masked steps of the GRU repeat the previous output or are 0",
                         lambda c: _held(c, "gru", EXPLICIT_KEEP))])
def explicit_mask_output():
    import keras
    from keras import layers

    x = keras.Input((None, 2), name="x")
    mask = keras.Input((None,), dtype="bool", name="mask")
    seq = layers.GRU(3, return_sequences=True, name="gru")(x, mask=mask)
    return keras.Model([x, mask], layers.Dense(2, name="head")(seq)), [EXPLICIT_X, EXPLICIT_KEEP]


def _held(c, probe, keep_mask):
    out = c.output(probe).astype(np.float64)
    bad = [f"row{b} step{t}" for b in range(out.shape[0]) for t in range(out.shape[1])
           if not keep_mask[b, t] and not (np.allclose(out[b, t], 0, atol=1e-6)
                                           or (t > 0 and np.allclose(out[b, t], out[b, t - 1], atol=1e-6)))]
    return not bad, f"{probe}: masked steps neither 0 nor the previous output: {bad[:4] or 'none'}"


PAIR_KEEP_A = keep("111111", "111100", "110000")
PAIR_KEEP_B = keep("101011", "111000", "011110")
PAIR_A = masked_floats(PAIR_KEEP_A, features=2, seed="nested/pair-a", same_values=False) + \
    np.where(PAIR_KEEP_A[..., None], 0.0, -1.0).astype(np.float32)  # masked steps hold -1 (the mask value)
PAIR_B = masked_floats(PAIR_KEEP_B, features=2, seed="nested/pair-b", same_values=False) + \
    np.where(PAIR_KEEP_B[..., None], 0.0, -1.0).astype(np.float32)


@scenario("nested/custom-two-input-compute-mask", tags=(THEME, "custom", "compute_mask", "masking"),
          upstream=("keras-team/keras#19311",),
          description="A custom layer taking [a, b], both after Masking(-1), with supports_masking and a "
                      "compute_mask that returns b's mask (the layer of keras-team/keras#19311, in keras.ops): "
                      "does call() get both masks, and is b's mask the output mask?",
          expect=[expect("call() applies b's mask: the output is 0 exactly at b's masked steps",
                         lambda c: _zero_where_masked(c)),
                  expect("the output mask is b's mask (compute_mask)", mask_is("pick_b", PAIR_KEEP_B))])
def custom_two_input():
    import keras
    from keras import layers, ops

    class PickB(layers.Layer):  # keras-team/keras#19311's MyLayer
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def compute_mask(self, inputs, mask=None):
            return mask[1] if isinstance(mask, (list, tuple)) else mask

        def call(self, inputs, mask=None):
            out = inputs[1][..., :1]
            if isinstance(mask, (list, tuple)) and mask[1] is not None:
                out = ops.where(ops.expand_dims(mask[1], -1), out, ops.zeros_like(out))
            return out

    a = keras.Input((None, 2), name="a")
    b = keras.Input((None, 2), name="b")
    out = PickB(name="pick_b")([layers.Masking(-1.0, name="mask_a")(a), layers.Masking(-1.0, name="mask_b")(b)])
    return keras.Model([a, b], out), [PAIR_A, PAIR_B]


def _zero_where_masked(c):
    out = c.output("pick_b")[..., 0]
    zero_at_masked = bool(np.all(out[~PAIR_KEEP_B] == 0))
    kept_untouched = bool(np.allclose(out[PAIR_KEEP_B], PAIR_B[..., 0][PAIR_KEEP_B]))
    return zero_at_masked and kept_untouched, (f"pick_b at b's masked steps: {out[~PAIR_KEEP_B].round(3).tolist()} "
                                              f"(mask {bits(PAIR_KEEP_B)}); kept steps unchanged: {kept_untouched}")
