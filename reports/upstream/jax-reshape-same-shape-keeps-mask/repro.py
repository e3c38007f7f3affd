"""On JAX, Reshape to the shape its input already has keeps the input's mask.

Run: KERAS_BACKEND=jax python repro.py   (and tensorflow, torch to compare)
"""
import numpy as np
import keras


class MaskSeen(keras.layers.Layer):
    """Passes its input through and keeps the mask Keras hands to call() (public API)."""

    supports_masking = True

    def call(self, x, mask=None):
        self.mask = mask
        return x


print("keras", keras.__version__, "backend", keras.backend.backend())
tokens = np.array([[1, 2, 0], [3, 0, 0]])
embedded = keras.layers.Embedding(5, 2, mask_zero=True)(tokens)
probes = {}
for target in [(3, 2), (6, 1)]:  # the same shape, then another shape
    probe = MaskSeen()
    probe(keras.layers.Reshape(target)(embedded))
    mask = None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int).tolist()
    probes[target] = mask
    print(f"mask after Reshape{target}:", mask)
print("RESULT: Reshape to the same shape", "keeps the mask" if probes[(3, 2)] is not None else "drops the mask")
