"""Attention under masks: MultiHeadAttention (automatic masks from masked query/value, causal mask,
explicit attention_mask, scores and the fused dot_product_attention path) and the Attention layer.

Attention has no positional information, so rows can be built to tell "masked keys ignored" from
"masked keys attended": row 0 holds v0 v1 v2 then three masked steps, row 1 holds them at steps
0, 2, 4, and row 2 holds v0 v1 v2 v0 v1 v2 with nothing masked. A softmax over {v0,v1,v2} equals one
over the same keys twice, so when masked keys are ignored, the outputs for query v_i agree across
all three rows; an attended masked key (a zero vector, projected to the bias) would change them.
"""

import numpy as np

from harness import scenario
from harness.define.weights import random_inputs
from scenarios._common import bits, expect, keep, mask_is

F = 2
_V = random_inputs("attn-values", (3, F), low=0.2, high=1.0) * np.array([1.0, -1.0], dtype=np.float32)
_W = random_inputs("attn-other", (3, F), low=0.2, high=1.0)

ATT_KEEP = keep("111000", "101010", "111111", "000000")
ATT_X = np.zeros((4, 6, F), dtype=np.float32)
ATT_X[0, :3] = _V
ATT_X[1, [0, 2, 4]] = _V
ATT_X[2, :3] = _V
ATT_X[2, 3:] = _V
# (row, steps) holding the queries v0, v1, v2 in order
ATT_GROUPS = [(0, [0, 1, 2]), (1, [0, 2, 4]), (2, [0, 1, 2]), (2, [3, 4, 5])]


def _queries_agree(probe):
    def check(c):
        out = c.output(probe).astype(np.float64)
        ref = out[ATT_GROUPS[0][0], ATT_GROUPS[0][1]]
        worst = max(float(np.max(np.abs(out[r, s] - ref))) for r, s in ATT_GROUPS[1:])
        return worst <= 1e-5, (f"{probe}: outputs for queries v0,v1,v2 in rows 111000/101010/duplicated "
                               f"differ by {worst:.1e} (0 if masked keys are ignored)")

    return check


def _fully_masked_row_finite(probe, row=3):
    def check(c):
        v = c.output(probe)[row]
        bad = int(v.size - np.count_nonzero(np.isfinite(v)))
        return bad == 0, f"{probe} fully masked row: {bad} NaN/inf of {v.size}; first {np.round(v[0], 3).tolist()}"

    return check


def _scores_zero_where(probe_scores, allowed):
    """allowed: bool (B, T, S) of query/key pairs that may get weight; the rest must be 0."""

    def check(c):
        s = c.output(probe_scores)  # (B, heads, T, S) for MultiHeadAttention, (B, T, S) for Attention
        forbidden = ~allowed if s.ndim == 3 else ~allowed[:, None, :, :]
        forbidden = np.broadcast_to(forbidden, s.shape)
        worst = float(np.max(np.abs(s[forbidden]))) if forbidden.any() else 0.0
        return worst <= 1e-7, f"{probe_scores}: largest weight on a forbidden (masked) key {worst:.1e}"

    return check


def _kept_rows_sum_to_one(probe_scores, q_keep, allowed):
    def check(c):
        s = c.output(probe_scores).astype(np.float64)
        sums = s.sum(-1)  # (B, heads, T)
        want = np.broadcast_to((q_keep[:, None, :] & allowed.any(-1)[:, None, :]), sums.shape)
        worst = float(np.max(np.abs(sums[want] - 1.0))) if want.any() else 0.0
        return worst <= 1e-5, f"kept queries' weights sum to 1 within {worst:.1e}"

    return check


def _mha(name="mha", **kw):
    from keras import layers

    return layers.MultiHeadAttention(num_heads=2, key_dim=2, name=name, **kw)


# ---------------------------------------------------------------------------------------------
@scenario(
    "attn/mha-self-masked",
    description="MultiHeadAttention(x, x) on a Masking output (fused dot_product_attention path): are "
                "masked keys ignored, is the output mask the query mask, is a fully masked row finite?",
    tags=("attention", "mha", "masking"),
    expect=[
        expect("masked keys are ignored (same output for the same query whatever the padding)",
               _queries_agree("mha")),
        expect("output mask is the query mask", mask_is("mha", ATT_KEEP)),
        expect("fully masked row is finite", _fully_masked_row_finite("mha")),
    ],
)
def mha_self_masked():
    import keras
    from keras import layers

    inp = keras.Input(ATT_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    out = _mha()(m, m)
    return keras.Model(inp, out), [ATT_X]


ATT_ALLOWED = ATT_KEEP[:, :, None] & ATT_KEEP[:, None, :]


@scenario(
    "attn/mha-self-masked-scores",
    description="MultiHeadAttention with return_attention_scores (explicit softmax path): do masked "
                "keys get exactly zero weight, and what do fully masked queries get?",
    tags=("attention", "mha", "masking", "scores"),
    expect=[
        expect("masked keys get zero weight", _scores_zero_where("mha[1]", ATT_ALLOWED)),
        expect("kept queries' weights sum to 1", _kept_rows_sum_to_one("mha[1]", ATT_KEEP, ATT_ALLOWED)),
        expect("masked keys are ignored in the output", _queries_agree("mha")),
        expect("fully masked row is finite", _fully_masked_row_finite("mha")),
    ],
)
def mha_self_masked_scores():
    import keras
    from keras import layers

    inp = keras.Input(ATT_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    out = _mha()(m, m, return_attention_scores=True)
    return keras.Model(inp, out), [ATT_X]


# cross attention: unmasked query, value masked by Embedding(mask_zero=True)
CROSS_CODES = np.array([[1, 2, 3, 0, 0, 0], [1, 0, 2, 0, 3, 0], [1, 2, 3, 1, 2, 3], [0, 0, 0, 0, 0, 0]],
                       dtype=np.int32)
CROSS_Q = random_inputs("attn-cross-q", (4, 3, F))
CROSS_Q[:] = CROSS_Q[0]  # the same queries in every row


def _cross_rows_agree(c):
    out = c.output("mha").astype(np.float64)
    worst = max(float(np.max(np.abs(out[r] - out[0]))) for r in (1, 2))
    return worst <= 1e-5, f"value rows 123000/102030/123123 give outputs differing by {worst:.1e}"


@scenario(
    "attn/mha-cross-value-masked",
    description="MultiHeadAttention with an unmasked query and a value from Embedding(mask_zero=True): "
                "are code-0 values ignored, and does the output carry no mask?",
    tags=("attention", "mha", "embedding", "cross-attention"),
    expect=[
        expect("code-0 values are ignored (rows agree)", _cross_rows_agree),
        expect("output has no mask (the query had none)", mask_is("mha", None)),
        expect("fully masked value row is finite", _fully_masked_row_finite("mha")),
    ],
)
def mha_cross_value_masked():
    import keras
    from keras import layers

    q = keras.Input(CROSS_Q.shape[1:], name="q")
    codes = keras.Input(CROSS_CODES.shape[1:], dtype="int32", name="codes")
    v = layers.Embedding(4, F, mask_zero=True, name="embedding")(codes)
    out = _mha()(q, v)
    return keras.Model([q, codes], out), [CROSS_Q, CROSS_CODES]


# causal: rows share a prefix; later steps differ or are padded
CAUSAL_KEEP = keep("111111", "111111", "111100", "001111")
CAUSAL_X = np.zeros((4, 6, F), dtype=np.float32)
_P = random_inputs("attn-causal", (6, F), low=0.2, high=1.0)
CAUSAL_X[0] = _P
CAUSAL_X[1, :4] = _P[:4]
CAUSAL_X[1, 4:] = _W[:2]
CAUSAL_X[2, :4] = _P[:4]
CAUSAL_X[3, 2:] = _P[:4]
# (row, steps) whose outputs must equal row 0 at steps 0..3
CAUSAL_GROUPS = [(1, [0, 1, 2, 3]), (2, [0, 1, 2, 3]), (3, [2, 3, 4, 5])]


def _causal_prefix_agrees(probe, groups):
    def check(c):
        out = c.output(probe).astype(np.float64)
        ref = out[0, :4]
        diffs = {r: float(np.max(np.abs(out[r, s] - ref))) for r, s in groups}
        return max(diffs.values()) <= 1e-5, (f"{probe}: prefix outputs vs row 0: "
                                             + ", ".join(f"row{r} {d:.1e}" for r, d in diffs.items()))

    return check


@scenario(
    "attn/mha-causal-masked",
    description="MultiHeadAttention(use_causal_mask=True) on a padded input: does step t ignore later "
                "steps and padded steps (right and left padding)?",
    tags=("attention", "mha", "masking", "causal"),
    expect=[expect("causal + padding: prefix outputs independent of later and padded steps",
                   _causal_prefix_agrees("mha", CAUSAL_GROUPS)),
            expect("output mask is the query mask", mask_is("mha", CAUSAL_KEEP))],
)
def mha_causal_masked():
    import keras
    from keras import layers

    inp = keras.Input(CAUSAL_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    out = _mha()(m, m, use_causal_mask=True)
    return keras.Model(inp, out), [CAUSAL_X]


@scenario(
    "attn/mha-causal-only",
    description="MultiHeadAttention(use_causal_mask=True) with no padding mask (the backend's native "
                "causal kernel): does step t ignore later steps on every backend?",
    tags=("attention", "mha", "causal"),
    expect=[expect("causal only: prefix outputs independent of later steps",
                   _causal_prefix_agrees("mha", CAUSAL_GROUPS[:1]))],
)
def mha_causal_only():
    import keras

    inp = keras.Input(CAUSAL_X.shape[1:], name="x")
    out = _mha()(inp, inp, use_causal_mask=True)
    return keras.Model(inp, out), [CAUSAL_X[:2]]


# explicit attention_mask combined with the automatic padding mask
EXPLICIT_AM = np.ones((4, 6, 6), dtype=bool)
EXPLICIT_AM[:, :, 5] = False  # no query may look at the last key
EXPLICIT_AM[:, 0, 1] = False  # query 0 may not look at key 1
EXPLICIT_ALLOWED = EXPLICIT_AM & ATT_ALLOWED


@scenario(
    "attn/mha-attention-mask-and-padding",
    description="MultiHeadAttention with an explicit attention_mask and a padded (Masking) input: are "
                "both masks applied (a key is ignored if either forbids it)?",
    tags=("attention", "mha", "masking", "attention_mask", "scores"),
    expect=[
        expect("keys forbidden by either mask get zero weight", _scores_zero_where("mha[1]", EXPLICIT_ALLOWED)),
        expect("padding mask still applies on top of attention_mask",
               _scores_zero_where("mha[1]", ATT_ALLOWED)),
        expect("explicit attention_mask applies", _scores_zero_where("mha[1]", EXPLICIT_AM)),
    ],
)
def mha_attention_mask_and_padding():
    import keras
    from keras import layers

    inp = keras.Input(ATT_X.shape[1:], name="x")
    am = keras.Input((6, 6), dtype="bool", name="attention_mask")
    m = layers.Masking(name="masking")(inp)
    out = _mha()(m, m, attention_mask=am, return_attention_scores=True)
    return keras.Model([inp, am], out), [ATT_X, EXPLICIT_AM]


@scenario(
    "attn/mha-attention-mask-fused",
    description="The same explicit attention_mask + padding on the fused path (no scores returned): "
                "is a key ignored when either mask forbids it, on every backend?",
    tags=("attention", "mha", "masking", "attention_mask"),
    expect=[expect("padding mask still applies with an all-True attention_mask", _queries_agree("mha")),
            expect("fully masked row is finite", _fully_masked_row_finite("mha"))],
)
def mha_attention_mask_fused():
    import keras
    from keras import layers

    inp = keras.Input(ATT_X.shape[1:], name="x")
    am = keras.Input((6, 6), dtype="bool", name="attention_mask")
    m = layers.Masking(name="masking")(inp)
    out = _mha()(m, m, attention_mask=am)
    return keras.Model([inp, am], out), [ATT_X, np.ones((4, 6, 6), dtype=bool)]


# residual connection around MultiHeadAttention (the Transformer block shape)
def _residual_mask(c):
    got = c.mask("residual")
    return got is not None and np.array_equal(got, ATT_KEEP), f"residual Add mask {bits(got)}"


@scenario(
    "attn/mha-residual-add",
    description="Masking -> MultiHeadAttention -> Add([x, attention]) (a Transformer residual): does "
                "the residual sum still carry the padding mask?",
    tags=("attention", "mha", "masking", "add", "residual"),
    expect=[
        expect("attention output carries the query mask", mask_is("mha", ATT_KEEP)),
        expect("the residual Add keeps the padding mask", _residual_mask),
        expect("LayerNormalization after the residual sees the mask", mask_is("norm", ATT_KEEP)),
    ],
)
def mha_residual_add():
    import keras
    from keras import layers

    inp = keras.Input(ATT_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    a = _mha()(m, m)
    r = layers.Add(name="residual")([m, a])
    out = layers.LayerNormalization(name="norm")(r)
    return keras.Model(inp, out), [ATT_X]


# keras.layers.Attention (dot-product, Luong-style): only the value mask restricts the weights
ATT_VALUE_KEPT = np.broadcast_to(ATT_KEEP[:, None, :], (4, 6, 6))
@scenario(
    "attn/attention-layer",
    description="keras.layers.Attention([q, v]) on masked inputs: do masked values get zero weight and "
                "does the output carry the query mask?",
    tags=("attention", "masking", "scores"),
    expect=[
        expect("masked values get zero weight", _scores_zero_where("attention[1]", ATT_VALUE_KEPT)),
        expect("masked values are ignored in the output", _queries_agree("attention")),
        expect("output mask is the query mask", mask_is("attention", ATT_KEEP)),
        expect("fully masked row is finite", _fully_masked_row_finite("attention")),
    ],
)
def attention_layer():
    import keras
    from keras import layers

    inp = keras.Input(ATT_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    out = layers.Attention(name="attention")([m, m], return_attention_scores=True)
    return keras.Model(inp, out), [ATT_X]


# causal attention over a padded value with an unmasked query: the fuzz finding of the versions campaign
def _no_allowed_key_steps_finite(c):
    """Row 3 is left-padded: its steps 0 and 1 may attend only to keys that are padding. Their values
    (3.15.1: the average over every key; the nightly: 0) go in the evidence line."""
    out = {p: c.output(p)[3, :2] for p in ("attention", "additive")}
    finite = all(bool(np.isfinite(v).all()) for v in out.values())
    return finite, "steps 0-1 of the left-padded row (no allowed key): " + "; ".join(
        f"{p} {np.round(v, 3).tolist()}" for p, v in out.items())


@scenario(
    "attn/causal-value-padding",
    description="Attention and AdditiveAttention([x, Masking(x)], use_causal_mask=True): an unmasked query over "
                "a padded value. Kept steps must ignore later and padded steps. A left-padded row's first "
                "steps have no allowed key: Keras 3.15.1 spreads their weights over every key, future ones "
                "included (a causality leak); keras-nightly from 3.16.0.dev2026101404 gives them 0. The "
                "evidence line prints those steps; the next-Keras comparison shows the change",
    tags=("attention", "masking", "causal", "additive"),
    expect=[
        expect("causal + value padding: prefix outputs independent of later and padded steps (Attention)",
               _causal_prefix_agrees("attention", CAUSAL_GROUPS)),
        expect("causal + value padding: prefix outputs independent of later and padded steps (AdditiveAttention)",
               _causal_prefix_agrees("additive", CAUSAL_GROUPS)),
        expect("the output has no mask (the query had none)", mask_is("attention", None)),
        expect("steps with no allowed key are finite", _no_allowed_key_steps_finite),
    ],
)
def causal_value_padding():
    import keras
    from keras import layers

    inp = keras.Input(CAUSAL_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    dot = layers.Attention(name="attention")([inp, m], use_causal_mask=True)
    additive = layers.AdditiveAttention(name="additive")([inp, m], use_causal_mask=True)
    return keras.Model(inp, [dot, additive]), [CAUSAL_X]
