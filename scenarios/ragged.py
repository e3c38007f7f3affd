"""ragged/: variable-length sequences made dense, then masked.

Keras 3 has no ragged tensors on JAX or PyTorch (keras-team/keras#20073, open); on TensorFlow a
tf.RaggedTensor given to Keras is densified by padding with zeros at the end (#20757). A user
moving such a model to another backend pads the lists with keras.utils.pad_sequences, whose default
pads at the front. The batch holds both: rows 0-2 are the ragged rows made dense (on TensorFlow
through keras.ops.convert_to_tensor of a tf.RaggedTensor, elsewhere pad_sequences(padding="post")),
rows 3-5 the same lists through pad_sequences' defaults. With Embedding(mask_zero=True) a masked GRU
should not care where the padding went.
"""

from __future__ import annotations

import numpy as np

from harness import scenario
from scenarios._common import bits, expect

THEME = "theme:ragged"
ROWS = [[3, 1, 4], [1, 5], [9, 2, 6, 5]]
POST_KEEP = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)
PRE_KEEP = POST_KEEP[:, ::-1]


def _densified_rows_right_padded(c):
    got = c.mask("embedding")
    ok = got is not None and np.array_equal(got[:3], POST_KEEP) and np.array_equal(got[3:], PRE_KEEP)
    return ok, (f"embedding mask {bits(got)}; expected {bits(POST_KEEP)} (dense from ragged) "
                f"then {bits(PRE_KEEP)} (pad_sequences)")


def _final_state_ignores_padding_side(c):
    out = c.output("gru").astype(np.float64)
    worst = float(np.max(np.abs(out[:3] - out[3:])))
    return worst <= 1e-5, f"gru final outputs, ragged-dense rows vs pad_sequences rows: max |diff| {worst:.2e}"


@scenario("ragged/dense-from-ragged-vs-pad-sequences", tags=(THEME, "ragged", "padding-side", "rnn", "embedding"),
          upstream=("keras-team/keras#20073", "keras-team/keras#20757"),
          description="the same variable-length token lists, densified from a ragged tensor (end padding) and "
                      "padded by keras.utils.pad_sequences' defaults (front padding), into "
                      "Embedding(mask_zero=True) -> GRU",
          expect=[expect("ragged rows are zero-padded at the end, pad_sequences rows at the front",
                         _densified_rows_right_padded),
                  expect("the masked GRU's final output does not depend on where the padding is",
                         _final_state_ignores_padding_side)])
def dense_from_ragged():
    import keras
    from keras import layers

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        dense = keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(tf.ragged.constant(ROWS)))
    else:  # no ragged tensors here (keras-team/keras#20073): what a user writes instead
        dense = keras.utils.pad_sequences(ROWS, padding="post")
    batch = np.concatenate([dense, keras.utils.pad_sequences(ROWS)]).astype(np.int32)
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    x = layers.Embedding(10, 3, mask_zero=True, name="embedding")(tokens)
    return keras.Model(tokens, layers.GRU(3, name="gru")(x)), batch
