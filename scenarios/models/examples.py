"""Keras's own example architectures that use masks, at tiny sizes: text classification
(Embedding(mask_zero=True) into LSTM, GRU and Bidirectional layers) and a sequence-to-sequence
model with attention (encoder states into the decoder, Attention over the encoder with both masks).
Shapes follow the keras.io examples; sizes are cut down so that each runs in about a second."""

import numpy as np

from harness import Expectation, scenario
from scenarios._common import keep, masked_tokens

TAGS = ("models", "keras-examples")
VOCAB = 20
SOURCE_KEEP = keep("111111", "111100", "110000", "111110")  # right padding, as tokenizers pad
TARGET_KEEP = keep("11111", "11100", "11110", "10000")
SOURCE = masked_tokens(SOURCE_KEEP, vocab=VOCAB, seed="models/source")
TARGET = masked_tokens(TARGET_KEEP, vocab=VOCAB, seed="models/target")


def _holds_at_padding(probe: str, keep_mask: np.ndarray):
    """C4 on a right-padded batch: a padded step shows 0 or repeats the row's last kept output."""
    def check(c):
        out = c.output(probe)
        held = [np.allclose(out[row, step], 0.0) or np.allclose(out[row, step], out[row, keep_mask[row].sum() - 1])
                for row in range(len(out)) for step in range(keep_mask.shape[1]) if not keep_mask[row, step]]
        return all(held), f"{probe}: {sum(held)} of {len(held)} padded steps are 0 or the last kept output"
    # Not tied to the seed's C4: the suite's own scenarios judge the claims; this one shows a real model.
    return Expectation(f"{probe} skips masked steps (padded steps: 0 or the last kept output)", check)


@scenario("models/text-classifier", tags=TAGS, expect=[_holds_at_padding("bilstm", SOURCE_KEEP)],
          description="keras.io text classification: Embedding(mask_zero) -> Bidirectional(LSTM, "
                      "sequences) -> GRU -> Dense(sigmoid); right-padded token ids")
def text_classifier():
    import keras
    from keras import layers

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = layers.Embedding(VOCAB, 4, mask_zero=True, name="embedding")(tokens)
    x = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bilstm")(x)
    x = layers.GRU(3, name="gru")(x)
    out = layers.Dense(1, activation="sigmoid", name="score")(x)
    return keras.Model(tokens, out, name="text_classifier"), [SOURCE]


# The keras.io decoder is called with initial_state=: Keras then passes it no mask (the suite's
# rnn/*-initial-state and scenarios/surprises.toml), so this expectation fails on every backend.
@scenario("models/seq2seq-attention", tags=TAGS, expect=[_holds_at_padding("decoder", TARGET_KEEP)],
          description="keras.io sequence-to-sequence with attention: LSTM encoder (mask_zero tokens) "
                      "hands its states to an LSTM decoder; Attention over the encoder outputs with "
                      "both masks; Concatenate -> Dense(softmax)")
def seq2seq_attention():
    import keras
    from keras import layers

    source = keras.Input((None,), dtype="int32", name="source")
    target = keras.Input((None,), dtype="int32", name="target")
    enc = layers.Embedding(VOCAB, 4, mask_zero=True, name="source_embedding")(source)
    enc_seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True, name="encoder")(enc)
    dec = layers.Embedding(VOCAB, 4, mask_zero=True, name="target_embedding")(target)
    dec_seq = layers.LSTM(4, return_sequences=True, name="decoder")(dec, initial_state=[h, c])
    context = layers.Attention(name="attention")([dec_seq, enc_seq])
    x = layers.Concatenate(name="concat")([dec_seq, context])
    out = layers.Dense(VOCAB, activation="softmax", name="next_token")(x)
    return keras.Model([source, target], out, name="seq2seq"), [SOURCE, TARGET]

