"""The seed's conclusions C1-C6 (../shared/SEED.md) as executable claims.

Each expectation with claim="Cn" encodes what the seed *claims*, not what Keras 3 does; a failing
one is a finding ("does not hold"), never a reason to change the expectation. Every scenario is
built so that the claim and its plausible alternatives give different data:
- C1 pairs "mask travels layer by layer" with layers that cannot take a mask, recording whether an
  error is raised, whether a warning is, and whether a downstream layer still sees a mask.
- C2 feeds rows with zeros in the middle, no zero at all, and only zeros.
- C3 puts an RNN after Dense / Concatenate: unmasked, it would change state at the masked steps
  (Dense(0) is its bias, not 0).
- C4 lives in scenarios/rnn.py (every recurrent variant) and scenarios/dtypes.py.
- C5 concatenates inputs whose masks differ, so "masked in any input" and "masked in all inputs"
  give different masks.
- C6 puts Masking after an Embedding, after a Dense, and after another Masking with a different
  mask_value, so "redefines" and "combines with" give different masks.
"""

import numpy as np

from harness import scenario
from harness.define.weights import weight_values
from scenarios._common import (
    bits,
    expect,
    has_mask,
    keep,
    kept_steps_agree,
    mask_is,
    masked_floats,
    masked_tokens,
    raised,
    warned,
    zero_or_previous,
)

# ---------------------------------------------------------------------------------------------
# C1: a mask travels with each output, layer by layer; a layer that cannot accept one raises
# ---------------------------------------------------------------------------------------------
C1_KEEP = keep("holes", "right-pad", "left-pad")
C1_X = masked_floats(C1_KEEP, features=2, seed="c1")
C1_CHAIN = ("masking", "dense", "activation", "dropout", "layer_norm", "rnn")


def _mask_on_every_probe(names, expected):
    def check(c):
        got = {n: bits(c.mask(n)) for n in names}
        bad = [n for n in names if c.mask(n) is None or not np.array_equal(c.mask(n), expected)]
        return not bad, ("masks " + ", ".join(f"{n} {got[n]}" for n in names[:3]) + " ..."
                         + (f" differing: {bad}" if bad else f" all {bits(expected)}"))

    return check


def _mask_in_compiled(names, expected):
    def check(c):
        jit = [n for n in names if f"jit/{n}" in c.probes]
        if not jit:
            return True, "no compiled probes on this backend (nothing to compare)"
        bad = [n for n in jit if c.mask(f"jit/{n}") is None
               or not np.array_equal(c.mask(f"jit/{n}"), expected)]
        return not bad, f"compiled call: {len(jit) - len(bad)}/{len(jit)} probes carry the mask {bad or ''}"

    return check


@scenario(
    "claims/c1-mask-travels",
    description="C1: is the mask created by Masking carried with each output through Dense, "
                "Activation, Dropout, LayerNormalization and into a GRU?",
    tags=("claims", "C1", "masking", "dense", "gru"),
    expect=[
        expect("C1: the mask travels with every layer's output", _mask_on_every_probe(C1_CHAIN, C1_KEEP),
               claim="C1"),
        expect("C1: the GRU at the end of the chain still skips masked steps",
               zero_or_previous("rnn", C1_KEEP), claim="C1"),
        expect("the compiled call carries the same masks", _mask_in_compiled(C1_CHAIN, C1_KEEP)),
    ],
)
def c1_mask_travels():
    import keras
    from keras import layers

    inp = keras.Input(C1_X.shape[1:], name="x")
    h = layers.Masking(name="masking")(inp)
    h = layers.Dense(3, name="dense")(h)
    h = layers.Activation("tanh", name="activation")(h)
    h = layers.Dropout(0.5, name="dropout")(h)
    h = layers.LayerNormalization(name="layer_norm")(h)
    out = layers.GRU(3, return_sequences=True, name="rnn")(h)
    return keras.Model(inp, out), [C1_X]


def _c1_layer(kind):
    """(layer under test, whether its output still has a time axis), keras imported by caller."""
    import keras
    from keras import layers

    if kind == "conv1d":
        return layers.Conv1D(2, 2, padding="same", name="under_test"), True
    if kind == "flatten":
        return layers.Flatten(name="under_test"), False
    if kind == "reshape":
        return layers.Reshape((C1_X.shape[1] * C1_X.shape[2],), name="under_test"), False
    if kind == "lambda":
        return layers.Lambda(lambda t: t * 2.0, name="under_test"), True
    if kind == "global-max-pool":
        return layers.GlobalMaxPooling1D(name="under_test"), False
    if kind == "custom":
        class Doubler(keras.layers.Layer):  # no supports_masking, no compute_mask
            def call(self, inputs):
                return inputs * 2.0

        return Doubler(name="under_test"), True
    if kind == "custom-mask-arg":
        class MaskReader(keras.layers.Layer):  # reads mask= in call but never declares support
            def call(self, inputs, mask=None):
                if mask is None:
                    return inputs
                return inputs * keras.ops.expand_dims(keras.ops.cast(mask, inputs.dtype), -1)

        return MaskReader(name="under_test"), True
    raise ValueError(kind)


C1_TITLES = {"conv1d": "Conv1D", "flatten": "Flatten", "reshape": "Reshape", "lambda": "Lambda",
             "global-max-pool": "GlobalMaxPooling1D", "custom": "a custom layer without supports_masking",
             "custom-mask-arg": "a custom layer taking mask= without supports_masking"}


def _c1_family(kind):
    title = C1_TITLES[kind]

    @scenario(
        f"claims/c1-{kind}",
        description=f"C1: does {title} after Masking raise an error, warn, or silently drop the mask "
                    f"for the layer after it?",
        tags=("claims", "C1", "masking", kind),
        expect=[
            expect(f"C1: {title} after Masking raises an error", raised(), claim="C1", needs_output=False),
            expect(f"{title} warns that it destroys the mask", warned("does not support masking"),
                   needs_output=False),
            expect("the layer after it still sees a mask", has_mask("after")),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(C1_X.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        layer, _ = _c1_layer(kind)
        out = layers.Dense(2, name="after")(layer(m))
        return keras.Model(inp, out), [C1_X]


for _kind in C1_TITLES:
    _c1_family(_kind)


# ---------------------------------------------------------------------------------------------
# C2: Embedding(mask_zero=True) creates a mask
# ---------------------------------------------------------------------------------------------
C2_KEEP = keep("holes", "right-pad", "none-masked", "all-masked")
C2_CODES = masked_tokens(C2_KEEP, vocab=7, seed="c2", same_values=False)
C2_EXPECTED = C2_CODES != 0


def _row_mask(row, want):
    def check(c):
        m = c.mask("embedding")
        ok = m is not None and bool(np.all(m[row] == want))
        return ok, f"codes {C2_CODES[row].tolist()} -> mask {bits(None if m is None else m[row])}"

    return check


def _mask_shape(c):
    m = c.mask("embedding")
    return (m is not None and m.shape == C2_CODES.shape,
            f"mask shape {None if m is None else m.shape}, codes shape {C2_CODES.shape}")


@scenario(
    "claims/c2-embedding-mask-zero",
    description="C2: does Embedding(mask_zero=True) create a (batch, timesteps) mask that is False "
                "exactly at code 0, for rows with holes, no zero, and only zeros?",
    tags=("claims", "C2", "embedding", "gru"),
    expect=[
        expect("C2: Embedding(mask_zero=True) creates a mask", has_mask("embedding"), claim="C2"),
        expect("C2: the mask has shape (batch, timesteps)", _mask_shape, claim="C2"),
        expect("C2: the mask is False exactly where the code is 0", mask_is("embedding", C2_EXPECTED),
               claim="C2"),
        expect("C2: a row with no zero is fully kept", _row_mask(2, True), claim="C2"),
        expect("C2: a row of only zeros is fully masked", _row_mask(3, False), claim="C2"),
        expect("C2: a GRU after the Embedding skips the code-0 steps",
               zero_or_previous("rnn", C2_EXPECTED), claim="C2"),
    ],
)
def c2_embedding_mask_zero():
    import keras
    from keras import layers

    inp = keras.Input(C2_CODES.shape[1:], dtype="int32", name="codes")
    e = layers.Embedding(7, 2, mask_zero=True, name="embedding")(inp)
    out = layers.GRU(3, return_sequences=True, name="rnn")(e)
    return keras.Model(inp, out), [C2_CODES]


@scenario(
    "claims/c2-embedding-no-mask-zero",
    description="Contrast for C2: with mask_zero=False, is there no mask, so the GRU reads code 0 "
                "like any other code?",
    tags=("claims", "C2", "embedding", "gru"),
    expect=[expect("no mask without mask_zero", mask_is("embedding", None)),
            expect("GRU output has no mask", mask_is("rnn", None))],
)
def c2_embedding_no_mask_zero():
    import keras
    from keras import layers

    inp = keras.Input(C2_CODES.shape[1:], dtype="int32", name="codes")
    e = layers.Embedding(7, 2, mask_zero=False, name="embedding")(inp)
    out = layers.GRU(3, return_sequences=True, name="rnn")(e)
    return keras.Model(inp, out), [C2_CODES]


# ---------------------------------------------------------------------------------------------
# C3: Masking before Dense / Concatenate: outputs look unaffected, the mask passes on
# ---------------------------------------------------------------------------------------------
C3_KEEP = keep("holes", "right-pad", "left-pad")
C3_X = masked_floats(C3_KEEP, features=2, seed="c3")
C3_Y = masked_floats(C3_KEEP, features=1, seed="c3-b")


def _dense_is_plain(scenario_name, probe, x):
    def check(c):
        kernel = weight_values(scenario_name, f"{probe}#0", (x.shape[-1], c.output(probe).shape[-1]))
        bias = weight_values(scenario_name, f"{probe}#1", (c.output(probe).shape[-1],))
        want = x.astype(np.float64) @ kernel + bias
        worst = float(np.max(np.abs(c.output(probe) - want)))
        at_masked = c.output(probe)[~C3_KEEP]
        return worst <= 1e-5, (f"{probe} vs x@W+b: max |diff| {worst:.1e}; masked steps hold the bias "
                               f"(e.g. {np.round(at_masked[0], 3).tolist()}), not 0")

    return check


@scenario(
    "claims/c3-dense-then-gru",
    description="C3: after Masking, does Dense compute every step as usual (masked steps = bias) "
                "yet pass the mask on, so a GRU after it still skips the masked steps?",
    tags=("claims", "C3", "masking", "dense", "gru"),
    expect=[
        expect("C3: Dense output looks unaffected by the mask (x@W+b at every step)",
               _dense_is_plain("claims/c3-dense-then-gru", "dense", C3_X), claim="C3"),
        expect("C3: the mask is passed on through Dense", mask_is("dense", C3_KEEP), claim="C3"),
        expect("C3: the GRU after Dense shows the mask (masked steps 0 or repeat)",
               zero_or_previous("rnn", C3_KEEP), claim="C3"),
        expect("C3: the GRU after Dense skips masked steps (kept outputs independent of padding)",
               kept_steps_agree("rnn", C3_KEEP), claim="C3"),
    ],
)
def c3_dense_then_gru():
    import keras
    from keras import layers

    inp = keras.Input(C3_X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    d = layers.Dense(3, name="dense")(m)
    out = layers.GRU(3, return_sequences=True, name="rnn")(d)
    return keras.Model(inp, out), [C3_X]


def _concat_is_plain(c):
    want = np.concatenate([C3_X, C3_Y], axis=-1)
    worst = float(np.max(np.abs(c.output("concat") - want)))
    return worst == 0.0, f"concat vs np.concatenate(inputs): max |diff| {worst:.1e}"


@scenario(
    "claims/c3-concat-then-gru",
    description="C3: does Concatenate of two masked inputs (same mask) leave the values untouched "
                "and pass the mask on to a GRU that skips the masked steps?",
    tags=("claims", "C3", "masking", "concatenate", "gru"),
    expect=[
        expect("C3: Concatenate output looks unaffected by the mask", _concat_is_plain, claim="C3"),
        expect("C3: the mask is passed on through Concatenate", mask_is("concat", C3_KEEP), claim="C3"),
        expect("C3: the GRU after Concatenate shows the mask (masked steps 0 or repeat)",
               zero_or_previous("rnn", C3_KEEP), claim="C3"),
        expect("C3: the GRU after Concatenate skips masked steps",
               kept_steps_agree("rnn", C3_KEEP), claim="C3"),
    ],
)
def c3_concat_then_gru():
    import keras
    from keras import layers

    a = keras.Input(C3_X.shape[1:], name="a")
    b = keras.Input(C3_Y.shape[1:], name="b")
    ma = layers.Masking(name="mask_a")(a)
    mb = layers.Masking(name="mask_b")(b)
    x = layers.Concatenate(axis=-1, name="concat")([ma, mb])
    out = layers.GRU(3, return_sequences=True, name="rnn")(x)
    return keras.Model([a, b], out), [C3_X, C3_Y]


@scenario(
    "claims/c3-dense-concat-gru",
    description="C3 in the seed's shape: Masking -> Dense on two inputs, Concatenate, GRU: does the "
                "mask survive both layers?",
    tags=("claims", "C3", "masking", "dense", "concatenate", "gru"),
    expect=[
        expect("C3: the mask is passed on through Dense and Concatenate", mask_is("concat", C3_KEEP),
               claim="C3"),
        expect("C3: the GRU after Dense+Concatenate shows the mask", zero_or_previous("rnn", C3_KEEP),
               claim="C3"),
    ],
)
def c3_dense_concat_gru():
    import keras
    from keras import layers

    a = keras.Input(C3_X.shape[1:], name="a")
    b = keras.Input(C3_Y.shape[1:], name="b")
    da = layers.Dense(2, name="dense_a")(layers.Masking(name="mask_a")(a))
    db = layers.Dense(2, name="dense_b")(layers.Masking(name="mask_b")(b))
    x = layers.Concatenate(axis=-1, name="concat")([da, db])
    out = layers.GRU(3, return_sequences=True, name="rnn")(x)
    return keras.Model([a, b], out), [C3_X, C3_Y]


# ---------------------------------------------------------------------------------------------
# C5: a timestep masked in one concatenated input is masked in the whole output
# ---------------------------------------------------------------------------------------------
C5_KEEP_A = keep("110011", "111100", "101010", "000000")
C5_KEEP_B = keep("011110", "001111", "101010", "000000")
C5_AND = C5_KEEP_A & C5_KEEP_B  # what C5 claims: masked if masked in any input
C5_OR = C5_KEEP_A | C5_KEEP_B
C5_A = masked_floats(C5_KEEP_A, features=2, seed="c5-a", same_values=False)
C5_B = masked_floats(C5_KEEP_B, features=1, seed="c5-b", same_values=False)


def _c5_mask(probe, expected):
    def check(c):
        got = c.mask(probe)
        ok = got is not None and np.array_equal(got, expected)
        rule = ("AND (masked in any)" if got is not None and np.array_equal(got, C5_AND) else
                "OR (masked only in all)" if got is not None and np.array_equal(got, C5_OR) else "other")
        return ok, f"{probe} mask {bits(got)} = {rule}; inputs {bits(C5_KEEP_A)} and {bits(C5_KEEP_B)}"

    return check


@scenario(
    "claims/c5-concat-different-masks",
    description="C5: when the concatenated inputs mask different steps, is a step masked in one "
                "input masked in the concatenation?",
    tags=("claims", "C5", "masking", "concatenate"),
    expect=[
        expect("C5: a step masked in one input is masked in the concatenation", _c5_mask("concat", C5_AND),
               claim="C5"),
        expect("concatenated values are the inputs side by side",
               lambda c: (np.array_equal(c.output("concat"), np.concatenate([C5_A, C5_B], -1)),
                          "concat == np.concatenate")),
    ],
)
def c5_concat_different_masks():
    import keras
    from keras import layers

    a = keras.Input(C5_A.shape[1:], name="a")
    b = keras.Input(C5_B.shape[1:], name="b")
    x = layers.Concatenate(axis=-1, name="concat")([layers.Masking(name="mask_a")(a),
                                                    layers.Masking(name="mask_b")(b)])
    return keras.Model([a, b], x), [C5_A, C5_B]


def values_equal_masks(p, q):
    def check(c):
        a, b = c.mask(p), c.mask(q)
        ok = (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
        return ok, f"{p} mask {bits(a)}, {q} mask {bits(b)}"

    return check


@scenario(
    "claims/c5-concat-then-gru",
    description="C5: does a GRU after Concatenate skip a step that is masked in only one of the inputs?",
    tags=("claims", "C5", "masking", "concatenate", "gru"),
    expect=[
        expect("C5: the GRU skips steps masked in any one input (0 or repeat there)",
               zero_or_previous("rnn", C5_AND), claim="C5"),
        expect("the GRU output mask is the concatenation's mask", values_equal_masks("rnn", "concat")),
    ],
)
def c5_concat_then_gru():
    import keras
    from keras import layers

    a = keras.Input(C5_A.shape[1:], name="a")
    b = keras.Input(C5_B.shape[1:], name="b")
    x = layers.Concatenate(axis=-1, name="concat")([layers.Masking(name="mask_a")(a),
                                                    layers.Masking(name="mask_b")(b)])
    out = layers.GRU(3, return_sequences=True, name="rnn")(x)
    return keras.Model([a, b], out), [C5_A, C5_B]


C5_PLAIN = masked_floats(np.ones_like(C5_KEEP_A), features=1, seed="c5-plain", same_values=False)


def _c5_mask_plain(c):
    got = c.mask("concat")
    ok = got is not None and np.array_equal(got, C5_KEEP_A)
    return ok, f"concat mask {bits(got)}, masked input {bits(C5_KEEP_A)}, other input has no mask"


@scenario(
    "claims/c5-concat-masked-and-unmasked",
    description="C5: concatenating a masked input with an input that has no mask, are the first "
                "input's masked steps still masked?",
    tags=("claims", "C5", "masking", "concatenate"),
    expect=[
        expect("C5: steps masked in the masked input stay masked", _c5_mask_plain, claim="C5"),
    ],
)
def c5_concat_masked_and_unmasked():
    import keras
    from keras import layers

    a = keras.Input(C5_A.shape[1:], name="a")
    b = keras.Input(C5_PLAIN.shape[1:], name="b")
    x = layers.Concatenate(axis=-1, name="concat")([layers.Masking(name="mask_a")(a), b])
    return keras.Model([a, b], x), [C5_A, C5_PLAIN]


# the seed's own model, but with masks that differ between its three inputs
SEED_NUM_KEEP = keep("01011", "11110")
SEED_CODE_KEEP = keep("11011", "01111")
SEED_MISS_KEEP = keep("11111", "11101")
SEED_AND = SEED_NUM_KEEP & SEED_CODE_KEEP & SEED_MISS_KEEP


def _seed_inputs():
    num = masked_floats(SEED_NUM_KEEP, features=3, seed="c5-seed", same_values=False)
    version = masked_tokens(SEED_CODE_KEEP, vocab=180, seed="c5-version", same_values=False)
    missing = masked_tokens(SEED_MISS_KEEP, vocab=4, seed="c5-missing", same_values=False)
    return [num, version[..., None].astype(np.float32), missing[..., None].astype(np.float32)]


def _seed_concat_mask(c):
    got = c.mask("concate")
    ok = got is not None and np.array_equal(got, SEED_AND)
    return ok, (f"concate mask {bits(got)}; inputs num {bits(SEED_NUM_KEEP)}, version {bits(SEED_CODE_KEEP)}, "
                f"missing {bits(SEED_MISS_KEEP)}; any-masked would be {bits(SEED_AND)}")


@scenario(
    "claims/c5-seed-model-different-masks",
    description="C5 on the seed's model: with num, version and missing masked at different steps, "
                "is every step masked in any input masked in 'concate' and skipped by gru_1?",
    tags=("claims", "C5", "seed", "concatenate", "gru", "embedding"),
    probes=("M_num", "M_version", "M_missing", "concate", "gru_1"),
    expect=[
        expect("C5: seed model: concate masks every step masked in any input", _seed_concat_mask, claim="C5"),
        expect("C5: seed model: gru_1 skips every step masked in any input",
               zero_or_previous("gru_1", SEED_AND), claim="C5"),
    ],
)
def c5_seed_model_different_masks():
    from scenarios.seed import build_seed_model

    return build_seed_model(), _seed_inputs()


# ---------------------------------------------------------------------------------------------
# C6: a second Masking redefines the mask; after an Embedding masked steps are not 0
# ---------------------------------------------------------------------------------------------
C6_KEEP = keep("holes", "right-pad", "none-masked")
C6_CODES = masked_tokens(C6_KEEP, vocab=5, seed="c6", same_values=False)


def _embedding_zero_code_not_zero(c):
    out = c.output("embedding")[~C6_KEEP]
    smallest = float(np.min(np.max(np.abs(out), axis=-1)))
    return smallest > 0, f"embedding output at code-0 steps: smallest max|v| {smallest:.3f} (not 0)"


@scenario(
    "claims/c6-masking-after-embedding",
    description="C6: does Masking(0) after Embedding(mask_zero=True) redefine the mask, unmasking "
                "code-0 steps whose embedding is not 0?",
    tags=("claims", "C6", "embedding", "masking", "gru"),
    expect=[
        expect("C6: after an Embedding the masked steps are not 0", _embedding_zero_code_not_zero,
               claim="C6"),
        expect("C6: the Embedding's own mask marks the code-0 steps", mask_is("embedding", C6_KEEP),
               claim="C6"),
        expect("C6: Masking(0) after Embedding redefines the mask (no step masked)",
               mask_is("masking", np.ones_like(C6_KEEP)), claim="C6"),
        expect("the GRU after it sees the redefined mask", mask_is("rnn", np.ones_like(C6_KEEP))),
    ],
)
def c6_masking_after_embedding():
    import keras
    from keras import layers

    inp = keras.Input(C6_CODES.shape[1:], dtype="int32", name="codes")
    e = layers.Embedding(5, 2, mask_zero=True, name="embedding")(inp)
    m = layers.Masking(mask_value=0.0, name="masking")(e)
    out = layers.GRU(3, return_sequences=True, name="rnn")(m)
    return keras.Model(inp, out), [C6_CODES]


# Masking after Masking with a different mask_value: steps of all 0.5 are masked by the second
C6_KEEP_FIRST = keep("110111", "111100")
C6_X = masked_floats(C6_KEEP_FIRST, features=2, seed="c6-x", same_values=False)
C6_X[0, 3] = 0.5
C6_X[1, 1] = 0.5
C6_KEEP_SECOND = ~np.all(C6_X == 0.5, axis=-1)  # computed from values alone


@scenario(
    "claims/c6-masking-after-masking",
    description="C6: does a second Masking (mask_value=0.5) replace the first Masking's mask rather "
                "than combine with it?",
    tags=("claims", "C6", "masking"),
    expect=[
        expect("first Masking masks the zero steps", mask_is("masking_1", C6_KEEP_FIRST)),
        expect("C6: a second Masking redefines the mask (zero steps unmasked, 0.5 steps masked)",
               mask_is("masking_2", C6_KEEP_SECOND), claim="C6"),
    ],
)
def c6_masking_after_masking():
    import keras
    from keras import layers

    inp = keras.Input(C6_X.shape[1:], name="x")
    m1 = layers.Masking(mask_value=0.0, name="masking_1")(inp)
    m2 = layers.Masking(mask_value=0.5, name="masking_2")(m1)
    return keras.Model(inp, m2), [C6_X]


@scenario(
    "claims/c6-masking-after-dense",
    description="C6: after Masking -> Dense, masked steps hold the bias, not 0: does a second "
                "Masking(0) then unmask them?",
    tags=("claims", "C6", "masking", "dense"),
    expect=[
        expect("Dense passes the first mask on", mask_is("dense", C6_KEEP_FIRST)),
        expect("C6: Masking(0) after Dense redefines the mask (no step masked)",
               mask_is("masking_2", np.ones_like(C6_KEEP_FIRST)), claim="C6"),
    ],
)
def c6_masking_after_dense():
    import keras
    from keras import layers

    inp = keras.Input(C6_X.shape[1:], name="x")
    m1 = layers.Masking(mask_value=0.0, name="masking_1")(inp)
    d = layers.Dense(2, name="dense")(m1)
    m2 = layers.Masking(mask_value=0.0, name="masking_2")(d)
    return keras.Model(inp, m2), [C6_X]

