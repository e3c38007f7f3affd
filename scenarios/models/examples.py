"""Keras's own example architectures that use masks, at tiny sizes: text classification
(Embedding(mask_zero=True) into LSTM, GRU and Bidirectional layers) and a sequence-to-sequence
model with attention (encoder states into the decoder, Attention over the encoder with both masks).
Shapes follow the keras.io examples; sizes are cut down so that each runs in about a second."""

from harness import scenario
from scenarios._common import keep, masked_tokens

TAGS = ("models", "keras-examples")
VOCAB = 20
SOURCE_KEEP = keep("111111", "111100", "110000", "111110")  # right padding, as tokenizers pad
TARGET_KEEP = keep("11111", "11100", "11110", "10000")
SOURCE = masked_tokens(SOURCE_KEEP, vocab=VOCAB, seed="models/source")
TARGET = masked_tokens(TARGET_KEEP, vocab=VOCAB, seed="models/target")


@scenario("models/text-classifier", tags=TAGS,
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


@scenario("models/seq2seq-attention", tags=TAGS,
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

