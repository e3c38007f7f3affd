"""hub-layers/: keras-hub's own masking layers, as a text model uses them.

What users report: TransformerEncoder documented to take the implicit mask of
Embedding(mask_zero=True) but ignoring it (keras-team/keras-hub#2220): with keras-hub 0.32 an encoder
does use it, but of two layers reading one masked tensor the one Keras runs second gets no mask
(MultiHeadAttention deletes its inputs' masks in place since keras-team/keras#20562); the "will therefore destroy
the mask" UserWarning that TokenAndPositionEmbedding and TransformerDecoder raise for the default
mask_zero path (keras-hub#2141, open; core Keras's MultiHeadAttention had the same, keras#20455);
left padding, where position embeddings count the padding and the kept tokens' outputs change
(keras-hub#571; left padding requested in keras-hub#1781, PR keras-hub#2343).

keras-hub is installed with --no-deps in the backend environments; where it cannot be imported the
scenario records that error. The twin encoders of the first scenario share one set of numpy weights
(own_weights), so their outputs differ only by how the mask reaches them.
"""

from __future__ import annotations

import numpy as np

from harness import scenario
from harness.define.weights import weight_values
from scenarios._common import bits, expect, mask_is, no_warning

THEME = "theme:hub-layers"
VOCAB, LENGTH, DIM, HEADS, FFN = 12, 6, 4, 2, 8
RIGHT = np.array([[3, 5, 7, 0, 0, 0], [4, 1, 0, 0, 0, 0], [2, 9, 6, 8, 1, 0], [3, 5, 7, 2, 0, 0]], dtype=np.int32)
RIGHT_KEEP = RIGHT != 0
DESTROY = "will therefore destroy the mask"


def _hub():
    import keras_hub  # in the worker only: a backend without it records the error

    return keras_hub.layers


def _shared_weights(model, groups: dict[str, str]) -> None:
    """numpy weights keyed by group, not by layer name: twin layers get the same values."""
    for layer in model.layers:
        for index, variable in enumerate(layer.weights):
            if variable.trainable and "float" in str(variable.dtype):
                key = f"{groups.get(layer.name, layer.name)}#{index}"
                variable.assign(weight_values("hub-layers", key, tuple(variable.shape)))


def _kept_equal(a: str, b: str, keep_mask: np.ndarray):
    def check(c):
        x, y = c.output(a).astype(np.float64), c.output(b).astype(np.float64)
        worst = float(np.max(np.abs(x[keep_mask] - y[keep_mask])))
        return worst <= 1e-5, f"{a} vs {b} at kept steps ({bits(keep_mask)}): max |diff| {worst:.2e}"
    return check


@scenario("hub-layers/encoder-implicit-mask", tags=(THEME, "keras-hub", "attention", "embedding"),
          upstream=("keras-team/keras-hub#2220",), own_weights=True,
          description="TokenAndPositionEmbedding(mask_zero=True) -> TransformerEncoder with no padding_mask, "
                      "beside a twin encoder (same weights) given padding_mask= explicitly: does the implicit "
                      "mask reach the attention, as the docstring says?",
          expect=[expect("TokenAndPositionEmbedding sets the padding mask", mask_is("embedding", RIGHT_KEEP)),
                  expect("the encoder's output carries the padding mask", mask_is("implicit", RIGHT_KEEP)),
                  expect("implicit mask == explicit padding_mask at kept steps",
                         _kept_equal("implicit", "explicit", RIGHT_KEEP))])
def encoder_implicit_mask():
    import keras

    hub = _hub()
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    padding = keras.Input((None,), dtype="int32", name="padding_mask")
    # one embedding per encoder (same weights): MultiHeadAttention clears its inputs' masks in place,
    # so a shared input would reach the second encoder without its mask whatever the first did
    x = hub.TokenAndPositionEmbedding(VOCAB, LENGTH, DIM, mask_zero=True, name="embedding")(tokens)
    twin = hub.TokenAndPositionEmbedding(VOCAB, LENGTH, DIM, mask_zero=True, name="twin_embedding")(tokens)
    implicit = hub.TransformerEncoder(FFN, HEADS, name="implicit")(x)
    explicit = hub.TransformerEncoder(FFN, HEADS, name="explicit")(twin, padding_mask=padding)
    model = keras.Model([tokens, padding], [implicit, explicit])
    _shared_weights(model, {"implicit": "encoder", "explicit": "encoder", "twin_embedding": "embedding"})
    return model, [RIGHT, RIGHT_KEEP.astype(np.int32)]


@scenario("hub-layers/two-encoders-one-masked-input", tags=(THEME, "keras-hub", "attention", "embedding"),
          upstream=("keras-team/keras-hub#2220",), own_weights=True,
          description="one TokenAndPositionEmbedding(mask_zero=True) output fed to two TransformerEncoders with "
                      "the same weights and no padding_mask (two heads over one encoder input): do both get "
                      "the implicit mask?",
          expect=[expect("both encoders give the same outputs at kept steps",
                         _kept_equal("first", "second", RIGHT_KEEP)),
                  expect("the first encoder's output carries the padding mask", mask_is("first", RIGHT_KEEP)),
                  expect("the second encoder's output carries the padding mask", mask_is("second", RIGHT_KEEP))])
def two_encoders_one_input():
    import keras

    hub = _hub()
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = hub.TokenAndPositionEmbedding(VOCAB, LENGTH, DIM, mask_zero=True, name="embedding")(tokens)
    first = hub.TransformerEncoder(FFN, HEADS, name="first")(x)
    second = hub.TransformerEncoder(FFN, HEADS, name="second")(x)
    model = keras.Model(tokens, [first, second])
    _shared_weights(model, {"first": "encoder", "second": "encoder"})
    return model, RIGHT


@scenario("hub-layers/two-attention-layers-one-masked-input", tags=(THEME, "attention", "mha", "embedding"),
          upstream=("keras-team/keras#20562", "keras-team/keras-hub#2220"), own_weights=True,
          description="the mechanism under the keras-hub case, in core Keras: one Embedding(mask_zero=True) "
                      "output as query and value of two MultiHeadAttention layers with the same weights",
          expect=[expect("both attention layers give the same outputs at kept steps",
                         _kept_equal("attention_a", "attention_b", RIGHT_KEEP)),
                  expect("both outputs carry the padding mask",
                         lambda c: (c.mask("attention_a") is not None and c.mask("attention_b") is not None,
                                    f"attention_a mask {bits(c.mask('attention_a'))}, "
                                    f"attention_b mask {bits(c.mask('attention_b'))}"))])
def two_attention_layers_one_input():
    import keras

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCAB, DIM, mask_zero=True, name="embedding")(tokens)
    a = keras.layers.MultiHeadAttention(HEADS, 2, name="attention_a")(x, x)
    b = keras.layers.MultiHeadAttention(HEADS, 2, name="attention_b")(x, x)
    model = keras.Model(tokens, [a, b])
    _shared_weights(model, {"attention_a": "attention", "attention_b": "attention"})
    return model, RIGHT


@scenario("hub-layers/decoder-mask-zero-warnings", tags=(THEME, "keras-hub", "attention", "warnings"),
          upstream=("keras-team/keras-hub#2141", "keras-team/keras#20455"),
          description="TokenAndPositionEmbedding(mask_zero=True) -> TransformerDecoder (causal, no cross "
                      "attention), the default masking path: warnings raised, and the mask after the decoder",
          expect=[expect("no 'will destroy the mask' warning on the default mask_zero path", no_warning(DESTROY)),
                  expect("the decoder output carries the padding mask", mask_is("decoder", RIGHT_KEEP)),
                  expect("MultiHeadAttention after Masking warns nothing about destroying the mask (keras#20455)",
                         no_warning("of type EinsumDense"))])
def decoder_warnings():
    import keras

    hub = _hub()
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = hub.TokenAndPositionEmbedding(VOCAB, LENGTH, DIM, mask_zero=True, name="embedding")(tokens)
    out = hub.TransformerDecoder(FFN, HEADS, name="decoder")(x)
    mha = keras.layers.MultiHeadAttention(HEADS, 2, name="mha")
    masked = keras.layers.Masking(0.0, name="masking")(out)
    return keras.Model(tokens, [out, mha(masked, masked)]), RIGHT


# The same kept tokens right-padded (rows 0, 1) and left-padded (rows 2, 3).
SIDES = np.array([[3, 5, 7, 2, 0, 0], [4, 1, 8, 0, 0, 0], [0, 0, 3, 5, 7, 2], [0, 0, 0, 4, 1, 8]], dtype=np.int32)
SIDES_KEEP = SIDES != 0


def _sides_agree(probe: str):
    def check(c):
        out = c.output(probe).astype(np.float64)
        worst = max(float(np.max(np.abs(out[r][SIDES_KEEP[r]] - out[r + 2][SIDES_KEEP[r + 2]]))) for r in (0, 1))
        return worst <= 1e-5, (f"{probe}: kept outputs, right- vs left-padded copies of the same tokens: "
                               f"max |diff| {worst:.2e}")
    return check


@scenario("hub-layers/left-vs-right-padding", tags=(THEME, "keras-hub", "attention", "padding-side"),
          upstream=("keras-team/keras-hub#571", "keras-team/keras-hub#1781", "keras-team/keras-hub#2343"),
          description="PositionEmbedding added to token embeddings (mask_zero), then TransformerDecoder with "
                      "the padding mask: the same tokens right-padded and left-padded in one batch",
          expect=[expect("the padding mask is the tokens' nonzeros on both sides",
                         mask_is("tokens_embedding", SIDES_KEEP)),
                  expect("kept outputs do not depend on the padding side", _sides_agree("decoder"))])
def left_vs_right():
    import keras

    hub = _hub()
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    padding = keras.Input((None,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(VOCAB, DIM, mask_zero=True, name="tokens_embedding")(tokens)
    x = keras.layers.Add(name="add_positions")([x, hub.PositionEmbedding(LENGTH, name="positions")(x)])
    out = hub.TransformerDecoder(FFN, HEADS, name="decoder")(x, decoder_padding_mask=padding)
    return keras.Model([tokens, padding], out), [SIDES, SIDES_KEEP.astype(np.int32)]
