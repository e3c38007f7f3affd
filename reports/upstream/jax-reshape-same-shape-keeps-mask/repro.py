"""On JAX, a layer without mask support whose op returns its input array itself keeps the input's mask:
Reshape to the shape the input already has, Cropping1D((0, 0)) and Permute((1, 2)).

Run: KERAS_BACKEND=jax python repro.py   (and tensorflow, torch to compare)
"""
import numpy as np
import keras
from keras import layers


class MaskSeen(keras.layers.Layer):
    """Passes its input through and keeps the mask Keras hands to call() (public API)."""

    supports_masking = True

    def call(self, x, mask=None):
        self.mask = mask
        return x


print("keras", keras.__version__, "backend", keras.backend.backend())
tokens = np.array([[1, 2, 0], [3, 0, 0]])
embedded = layers.Embedding(5, 2, mask_zero=True)(tokens)  # (2, 3, 2), mask [[1, 1, 0], [1, 0, 0]]
cases = {  # the identity form of each layer, then a form that changes the tensor (drops the mask everywhere)
    "Reshape((3, 2))": layers.Reshape((3, 2)), "Reshape((6, 1))": layers.Reshape((6, 1)),
    "Cropping1D((0, 0))": layers.Cropping1D((0, 0)), "Cropping1D((0, 1))": layers.Cropping1D((0, 1)),
    "Permute((1, 2))": layers.Permute((1, 2)), "Permute((2, 1))": layers.Permute((2, 1)),
}
kept = []
for form, layer in cases.items():
    probe = MaskSeen()
    probe(layer(embedded))
    mask = None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int).tolist()
    print(f"mask after {form}:", mask)
    if mask is not None:
        kept.append(form)
print("RESULT: layers that keep the mask:", ", ".join(kept) if kept else "none")
