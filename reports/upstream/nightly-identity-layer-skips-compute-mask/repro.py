"""keras-nightly: a layer whose call() returns its input and whose compute_mask() sets a new mask
passes the incoming mask on instead of its own.

Run: KERAS_BACKEND=torch python repro.py   (and tensorflow, jax; Keras 3.15.1 against keras-nightly)
"""
import numpy as np
import keras
from keras import layers


class SetMask(layers.Layer):
    """Returns its input unchanged and computes a mask of its own: a step is kept where any feature is nonzero."""

    def call(self, x):
        return x

    def compute_mask(self, x, mask=None):
        return keras.ops.any(keras.ops.not_equal(x, 0), axis=-1)


class MaskSeen(layers.Layer):
    """Passes its input through and keeps the mask Keras hands to call() (public API)."""

    supports_masking = True

    def call(self, x, mask=None):
        self.mask = mask
        return x


print("keras", keras.__version__, "backend", keras.backend.backend())
tokens = np.array([[1, 2, 0]])  # the Embedding masks step 2; its vector for token 0 is nonzero
embedding = layers.Embedding(3, 2, mask_zero=True)
embedding.build((None, 3))
embedding.embeddings.assign(np.array([[0.5, -0.5], [0.25, 0.75], [-1.0, 1.0]], "float32"))
inp = keras.Input((3,), dtype="int32")
probe = MaskSeen()
model = keras.Model(inp, probe(SetMask()(embedding(inp))))
seen = {}
for training in (False, None):
    model(tokens, training=training)
    seen[training] = keras.ops.convert_to_numpy(probe.mask).astype(int).tolist()
    print(f"model(tokens, training={training}): the layer after SetMask sees mask {seen[training]}")
print("RESULT: the mask after SetMask with training=False:", seen[False], "(SetMask's own mask is [[1, 1, 1]])")
