"""Merge layers' output masks in Keras 3: Concatenate keeps a step kept in ANY input (Keras 2: in
ALL inputs), and Add of a masked and an unmasked input has no mask at all (Keras 2: the masked
input's mask).

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


def seen(tensor):
    probe = MaskSeen()
    probe(tensor)
    return None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int)[0].tolist()


print("keras", keras.__version__, "backend", keras.backend.backend())
a = keras.layers.Masking(0.0)(np.array([[[1.0], [1.0], [0.0]]], "float32"))  # mask 1 1 0
b = keras.layers.Masking(0.0)(np.array([[[1.0], [0.0], [0.0]]], "float32"))  # mask 1 0 0
plain = np.ones((1, 3, 1), "float32")  # no mask
concat = seen(keras.layers.Concatenate()([a, b]))
added = seen(keras.layers.Add()([a, plain]))
print("Concatenate([mask 110, mask 100]) mask:", concat)
print("Add([mask 110, unmasked]) mask:        ", added)
rule = {str([1, 1, 0]): "any", str([1, 0, 0]): "all"}.get(str(concat), str(concat))
print(f"RESULT: Concatenate keeps a step kept in {rule} input(s); Add(masked, unmasked) mask is "
      f"{'None' if added is None else added}")
