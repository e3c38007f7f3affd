"""Explicit `mask=` call arguments versus masks propagated from Embedding / Masking.

The explicit masks come in as boolean model inputs. Inputs carry arbitrary (nonzero) values at the
masked steps, different in every row, so a layer that reads a masked step shows it; rows share their
kept values, so a layer that skips masked steps gives the same outputs at the kept steps of every row.
"""

import numpy as np

from harness import scenario
from harness.define.weights import random_inputs
from scenarios._common import (
    RNN_TITLES,
    bits,
    close,
    expect,
    keep,
    kept_steps_agree,
    make_rnn,
    mask_is,
    masked_floats,
    masked_tokens,
    n_states,
    raised,
    values_equal,
    zero_or_previous,
)

KEEP = keep("holes", "right-pad", "left-pad", "all-masked")
SAME_ROWS = (0, 1, 2)
_CLEAN = masked_floats(KEEP, features=2, seed="explicit")
X_GARBAGE = np.where(KEEP[..., None], _CLEAN, random_inputs("explicit-garbage", _CLEAN.shape, 0.5, 1.5))
X_GARBAGE = X_GARBAGE.astype(np.float32)


def _gru(name="rnn", **kw):
    from keras import layers

    return layers.GRU(3, return_sequences=True, name=name, **kw)


@scenario(
    "explicit/gru-mask-input",
    description="GRU(x, mask=m) with m a boolean model input and garbage at the masked steps: does the "
                "GRU skip them exactly as with a propagated mask?",
    tags=("explicit-mask", "gru"),
    expect=[
        expect("masked steps show 0 or the previous output", zero_or_previous("rnn", KEEP)),
        expect("garbage at masked steps has no effect (kept outputs independent of padding)",
               kept_steps_agree("rnn", KEEP, SAME_ROWS)),
        expect("output mask is the explicit mask", mask_is("rnn", KEEP)),
    ],
)
def gru_mask_input():
    import keras

    x = keras.Input(X_GARBAGE.shape[1:], name="x")
    m = keras.Input(KEEP.shape[1:], dtype="bool", name="mask")
    out = _gru()(x, mask=m)
    return keras.Model([x, m], out), [X_GARBAGE, KEEP]


@scenario(
    "explicit/gru-float-mask-input",
    description="GRU(x, mask=m) with m a float32 0/1 input instead of bool: is it treated the same as "
                "a boolean mask on every backend?",
    tags=("explicit-mask", "gru", "dtype"),
    expect=[
        expect("masked steps show 0 or the previous output", zero_or_previous("rnn", KEEP)),
        expect("garbage at masked steps has no effect", kept_steps_agree("rnn", KEEP, SAME_ROWS)),
    ],
)
def gru_float_mask_input():
    import keras

    x = keras.Input(X_GARBAGE.shape[1:], name="x")
    m = keras.Input(KEEP.shape[1:], dtype="float32", name="mask")
    out = _gru()(x, mask=m)
    return keras.Model([x, m], out), [X_GARBAGE, KEEP.astype(np.float32)]


# explicit mask that differs from the propagated one
OTHER_KEEP = keep("111111", "110011", "011110", "101010")


@scenario(
    "explicit/explicit-overrides-propagated",
    description="GRU(masking_output, mask=other): when an explicit mask and a propagated Masking mask "
                "disagree, which one does the GRU follow, and which one does its output carry?",
    tags=("explicit-mask", "gru", "masking"),
    expect=[
        expect("the GRU follows the explicit mask", zero_or_previous("rnn", OTHER_KEEP)),
        expect("the output carries the explicit mask", mask_is("rnn", OTHER_KEEP)),
    ],
)
def explicit_overrides_propagated():
    import keras
    from keras import layers

    x = keras.Input(_CLEAN.shape[1:], name="x")
    m = keras.Input(OTHER_KEEP.shape[1:], dtype="bool", name="mask")
    h = layers.Masking(name="masking")(x)
    out = _gru()(h, mask=m)
    return keras.Model([x, m], out), [_CLEAN, OTHER_KEEP]


def _reads_every_step(c):
    out = c.output("rnn").astype(np.float64)
    repeats = sum(close(out[b, t], out[b, t - 1]) or close(out[b, t], 0 * out[b, t])
                  for b in range(3) for t in range(1, out.shape[1]) if not KEEP[b, t])
    return repeats == 0, f"masked steps that still show 0 / repeat the previous output: {repeats}"


@scenario(
    "explicit/mask-none-argument",
    description="GRU(masking_output, mask=None): does passing mask=None explicitly turn masking off?",
    tags=("explicit-mask", "gru", "masking"),
    expect=[
        expect("mask=None turns masking off (the GRU reads every step)", _reads_every_step),
        expect("output carries no mask", mask_is("rnn", None)),
    ],
)
def mask_none_argument():
    import keras
    from keras import layers

    x = keras.Input(_CLEAN.shape[1:], name="x")
    h = layers.Masking(name="masking")(x)
    out = _gru()(h, mask=None)
    return keras.Model(x, out), [_CLEAN]


# the same Embedding output fed to one shared GRU twice: propagated mask vs explicit equal mask
CODES = masked_tokens(KEEP, vocab=6, seed="explicit-codes")


@scenario(
    "explicit/propagated-equals-explicit",
    description="One shared GRU on an Embedding(mask_zero=True) output, once with the propagated mask "
                "and once with an equal explicit mask: are the outputs identical?",
    tags=("explicit-mask", "gru", "embedding"),
    expect=[
        expect("propagated and explicit masks give the same output", values_equal("propagated", "explicit")),
        expect("both carry the same mask", lambda c: (
            bits(c.mask("propagated")) == bits(c.mask("explicit")),
            f"propagated {bits(c.mask('propagated'))}, explicit {bits(c.mask('explicit'))}")),
    ],
)
def propagated_equals_explicit():
    import keras
    from keras import layers

    codes = keras.Input(CODES.shape[1:], dtype="int32", name="codes")
    m = keras.Input(CODES.shape[1:], dtype="bool", name="mask")
    e = layers.Embedding(6, 2, mask_zero=True, name="embedding")(codes)
    rnn = _gru()
    a = layers.Activation("linear", name="propagated")(rnn(e))
    b = layers.Activation("linear", name="explicit")(rnn(e, mask=m))
    return keras.Model([codes, m], [a, b]), [CODES, CODES != 0]


# initial_state disables automatic mask passing (two tensor arguments); an explicit mask restores it
def _initial(kind):
    base = np.array([[0.3, -0.2, 0.1]], dtype=np.float32)
    return [np.repeat(base * (i + 1), KEEP.shape[0], axis=0) for i in range(n_states(kind))]


def _fully_masked_keeps_initial(kind):
    def check(c):
        init = _initial(kind)
        got = [c.output(f"rnn[{i + 1}]")[3] for i in range(len(init))]
        ok = all(close(g, s[3]) for g, s in zip(got, init))
        return ok, "fully masked row final state " + "; ".join(
            f"{np.round(g, 3).tolist()} vs initial {s[3].tolist()}" for g, s in zip(got, init))

    return check


def _initial_state_with_mask(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"explicit/{kind}-initial-state-with-mask",
        description=f"{title}(masking_output, initial_state=s, mask=m): with the mask passed explicitly, "
                    f"are masked steps skipped, and what do leading masked steps show?",
        tags=("explicit-mask", kind, "initial_state", "masking"),
        expect=[
            expect("masked steps show 0 or the previous output (or the initial state at step 0)",
                   zero_or_previous("rnn", KEEP, initial=_initial(kind)[0])),
            expect("leading masked steps show 0 (no previous output yet)",
                   zero_or_previous("rnn", KEEP)),
            expect("kept outputs independent of padding", kept_steps_agree("rnn", KEEP, SAME_ROWS)),
            expect("fully masked row keeps the initial state", _fully_masked_keeps_initial(kind)),
        ],
    )
    def build():
        import keras
        from keras import layers

        x = keras.Input(_CLEAN.shape[1:], name="x")
        m = keras.Input(KEEP.shape[1:], dtype="bool", name="mask")
        states = [keras.Input((3,), name=f"s{i}") for i in range(n_states(kind))]
        h = layers.Masking(name="masking")(x)
        out = make_rnn(kind, 3, "rnn", return_sequences=True, return_state=True)(
            h, initial_state=states, mask=m)
        return keras.Model([x, m, *states], out), [_CLEAN, KEEP, *_initial(kind)]


for _kind in ("gru", "lstm"):
    _initial_state_with_mask(_kind)


def _kept_mean(c):
    out = c.output("pool")
    want = np.stack([X_GARBAGE[b][KEEP[b]].mean(axis=0) for b in range(3)])
    worst = float(np.max(np.abs(out[:3] - want)))
    return worst <= 1e-6, f"rows 0-2 vs mean over kept steps: max |diff| {worst:.1e}"


@scenario(
    "explicit/global-average-mask-input",
    description="GlobalAveragePooling1D()(x, mask=m) with garbage at masked steps: is the average "
                "taken over the explicitly kept steps only?",
    tags=("explicit-mask", "pooling", "global-average-pooling"),
    expect=[expect("average over explicitly kept steps only", _kept_mean)],
)
def global_average_mask_input():
    import keras
    from keras import layers

    x = keras.Input(X_GARBAGE.shape[1:], name="x")
    m = keras.Input(KEEP.shape[1:], dtype="bool", name="mask")
    out = layers.GlobalAveragePooling1D(name="pool")(x, mask=m)
    return keras.Model([x, m], out), [X_GARBAGE, KEEP]


# MultiHeadAttention with explicit query_mask / value_mask (no Keras mask on the tensors)
_V = random_inputs("explicit-attn", (3, 2), low=0.2, high=1.0)
ATT_KEEP = keep("111000", "101010", "111111")
ATT_X = random_inputs("explicit-attn-garbage", (3, 6, 2), 0.5, 1.5)
ATT_X[0, :3] = _V
ATT_X[1, [0, 2, 4]] = _V
ATT_X[2, :3] = _V
ATT_X[2, 3:] = _V


def _attn_queries_agree(c):
    out = c.output("mha").astype(np.float64)
    ref = out[0, [0, 1, 2]]
    worst = max(float(np.max(np.abs(out[r, s] - ref))) for r, s in ((1, [0, 2, 4]), (2, [0, 1, 2]),
                                                                     (2, [3, 4, 5])))
    return worst <= 1e-5, f"outputs for the same queries across rows differ by {worst:.1e}"


@scenario(
    "explicit/mha-value-mask-argument",
    description="MultiHeadAttention(x, x, value_mask=m) with garbage at masked steps: are the "
                "explicitly masked keys ignored?",
    tags=("explicit-mask", "attention", "mha"),
    expect=[expect("explicitly masked keys are ignored", _attn_queries_agree)],
)
def mha_value_mask_argument():
    import keras
    from keras import layers

    x = keras.Input(ATT_X.shape[1:], name="x")
    m = keras.Input(ATT_KEEP.shape[1:], dtype="bool", name="mask")
    out = layers.MultiHeadAttention(num_heads=2, key_dim=2, name="mha")(x, x, value_mask=m)
    return keras.Model([x, m], out), [ATT_X, ATT_KEEP]


@scenario(
    "explicit/mask-to-dense",
    description="Dense(3)(x, mask=m): can an explicit mask be handed to a layer whose call() has no "
                "mask argument, or is that an error?",
    tags=("explicit-mask", "dense"),
    expect=[expect("raises TypeError (Dense.call takes no mask)", raised("TypeError"), needs_output=False)],
)
def mask_to_dense():
    import keras
    from keras import layers

    x = keras.Input(_CLEAN.shape[1:], name="x")
    m = keras.Input(KEEP.shape[1:], dtype="bool", name="mask")
    out = layers.Dense(3, name="dense")(x, mask=m)
    return keras.Model([x, m], out), [_CLEAN, KEEP]
