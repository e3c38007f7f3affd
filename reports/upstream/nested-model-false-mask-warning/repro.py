"""A Functional model used as a layer on a masked input warns that it "does not support masking and
will therefore destroy the mask information", yet the layers inside it get the mask and its output
carries it.

Run: KERAS_BACKEND=tensorflow python repro.py   (and jax, torch)
"""
import warnings

import numpy as np
import keras


class MaskSeen(keras.layers.Layer):
    """Passes its input through and keeps the mask Keras hands to call() (public API)."""

    supports_masking = True

    def call(self, x, mask=None):
        self.mask = mask
        return x


print("keras", keras.__version__, "backend", keras.backend.backend())
inner_in = keras.Input((3, 2))
inner = keras.Model(inner_in, keras.layers.Dense(2)(inner_in), name="inner")
x = keras.layers.Masking(0.0)(np.array([[[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]]], "float32"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    y = inner(x)
destroy = [str(w.message) for w in caught if "destroy the mask" in str(w.message)]
probe = MaskSeen()
probe(y)
mask = None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int).tolist()
print("warnings saying the mask is destroyed:", destroy)
print("mask on the nested model's output:", mask)
print(f"RESULT: nested model warns the mask is destroyed: {bool(destroy)}; its output mask: {mask}")
