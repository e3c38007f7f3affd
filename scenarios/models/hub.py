"""keras-hub backbones (BERT, RoBERTa, DistilBERT, GPT-2, Llama) at tiny configurations,
built from their classes (no preset, nothing downloaded) and weighted by the harness.

Transformers take the padding as an explicit `padding_mask` input rather than a Keras mask; the
batch pads its rows differently (full, right-padded, mostly padding) so that the attention masks,
and the causal mask of the decoders, are exercised. keras-hub is installed with --no-deps (see
docs/check.md); a backend where it cannot be imported records that as the scenario's error.
"""

import numpy as np

from harness import Expectation, scenario

VOCAB, HIDDEN, HEADS, LAYERS, FFN, MAX_LEN = 40, 8, 2, 1, 16, 12  # one layer: compiling is the cost
LENGTHS = (7, 5, 2, 5)  # kept tokens per row; the rest is padding
STEPS = 7
TOKENS = np.array([[(7 * row + 3 * step) % (VOCAB - 1) + 1 if step < length else 0
                    for step in range(STEPS)] for row, length in enumerate(LENGTHS)], dtype="int32")
PADDING = (TOKENS != 0).astype("int32")
# Row 3 is row 1 with token ids, not zeros, at its padded steps (padding_mask still 0 there): where
# the padding mask is honoured, its kept outputs equal row 1's.
TOKENS[3] = TOKENS[1]
TOKENS[3, LENGTHS[3]:] = [5, 9]
ENCODER_INPUTS = {"token_ids": TOKENS, "padding_mask": PADDING}
TAGS = ("models", "keras-hub")
LAST = f"transformer_layer_{LAYERS - 1}"


def _padding_hidden(probe: str) -> Expectation:
    def check(c):
        out = c.output(probe)
        kept = slice(0, LENGTHS[1])
        gap = float(np.max(np.abs(out[1, kept] - out[3, kept])))
        return gap <= 1e-5, f"{probe}: kept outputs of rows 1 and 3 differ by at most {gap:.2g}"
    return Expectation(f"{probe}: the padding mask hides what the padded steps hold", check)


def _hub():
    import keras_hub  # imported in the worker only: a backend without it records the error

    return keras_hub.models


@scenario("models/bert-classifier", tags=TAGS, expect=[_padding_hidden(f"bert/{LAST}")],
          description="keras-hub BertBackbone (1 layer) nested in a functional classifier: pooled "
                      "output -> Dense; token, segment and padding inputs")
def bert_classifier():
    import keras

    backbone = _hub().BertBackbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS,
                                   hidden_dim=HIDDEN, intermediate_dim=FFN, max_sequence_length=MAX_LEN,
                                   name="bert")
    inputs = {name: keras.Input((None,), dtype="int32", name=name)
              for name in ("token_ids", "segment_ids", "padding_mask")}
    pooled = backbone(inputs)["pooled_output"]
    logits = keras.layers.Dense(2, name="classifier")(pooled)
    model = keras.Model(inputs, logits, name="bert_classifier")
    return model, {**ENCODER_INPUTS, "segment_ids": np.zeros_like(TOKENS)}


@scenario("models/roberta", tags=TAGS, expect=[_padding_hidden(LAST)],
          description="keras-hub RobertaBackbone (1 layer): token ids with padding, padding mask")
def roberta():
    return _hub().RobertaBackbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS,
                                  hidden_dim=HIDDEN, intermediate_dim=FFN,
                                  max_sequence_length=MAX_LEN), ENCODER_INPUTS


@scenario("models/distilbert", tags=TAGS, expect=[_padding_hidden(LAST)],
          description="keras-hub DistilBertBackbone (1 layer): token ids with padding, padding mask")
def distilbert():
    return _hub().DistilBertBackbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS,
                                     hidden_dim=HIDDEN, intermediate_dim=FFN,
                                     max_sequence_length=MAX_LEN), ENCODER_INPUTS


@scenario("models/gpt2", tags=TAGS, expect=[_padding_hidden(LAST)],
          description="keras-hub GPT2Backbone (1 layer): causal self-attention combined with the "
                      "padding mask")
def gpt2():
    return _hub().GPT2Backbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_heads=HEADS,
                               hidden_dim=HIDDEN, intermediate_dim=FFN,
                               max_sequence_length=MAX_LEN), ENCODER_INPUTS


@scenario("models/llama", tags=TAGS, expect=[_padding_hidden(LAST)],
          description="keras-hub LlamaBackbone (1 layer): rotary positions, grouped-query attention "
                      "(2 query heads, 1 key/value head), causal and padding masks")
def llama():
    return _hub().LlamaBackbone(vocabulary_size=VOCAB, num_layers=LAYERS, num_query_heads=HEADS,
                                num_key_value_heads=1, hidden_dim=HIDDEN,
                                intermediate_dim=FFN), ENCODER_INPUTS
