"""MultiHeadAttention removes the mask from the tensors it is called on, in place: a second layer
reading the same masked tensor (a second attention layer, a residual branch) gets no mask.

Run: KERAS_BACKEND=tensorflow python repro.py   (and jax, torch)
"""
import numpy as np
import keras


class MaskSeen(keras.layers.Layer):
    """Passes its input through and keeps the mask Keras hands to call() (public API)."""

    supports_masking = True

    def call(self, x, mask=None):
        self.mask = mask
        return x


def mask_of(tensor):
    probe = MaskSeen()
    probe(tensor)
    return None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int).tolist()


print("keras", keras.__version__, "backend", keras.backend.backend())
tokens = np.array([[1, 2, 3, 0, 0]])
x = keras.layers.Embedding(5, 4, mask_zero=True, embeddings_initializer="glorot_uniform")(tokens)
print("mask of x before attention:", mask_of(x))
first = keras.layers.MultiHeadAttention(num_heads=1, key_dim=4)
out1 = keras.ops.convert_to_numpy(first(x, x))
print("mask of x after first(x, x):", mask_of(x))
second = keras.layers.MultiHeadAttention(num_heads=1, key_dim=4)
second(x, x)  # build, then give it the first layer's weights
second.set_weights(first.get_weights())
out2 = keras.ops.convert_to_numpy(second(x, x))
print("same weights, kept steps 0-2: first", out1[0, :3, 0].astype(float).round(4).tolist(), "second",
      out2[0, :3, 0].astype(float).round(4).tolist())
same = np.allclose(out1[0, :3], out2[0, :3], atol=1e-5)
print(f"RESULT: the input keeps its mask after MultiHeadAttention: {mask_of(x) is not None}; "
      f"a second identical attention layer {'agrees' if same else 'differs'} at kept steps")
