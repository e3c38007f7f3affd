"""GlobalAveragePooling1D returns NaN for a sequence whose every step is masked (0 / 0).

Run: KERAS_BACKEND=tensorflow python repro.py   (and jax, torch)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
x = np.array([[[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]],     # two kept steps
              [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]],    # an all-padding sequence
             "float32")
pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Masking(0.0)(x))
pooled = keras.ops.convert_to_numpy(pooled)
print("row 0 (2 kept steps):", pooled[0].tolist())
print("row 1 (all masked):  ", pooled[1].tolist())
print("RESULT: an all-masked row pools to", "NaN" if np.isnan(pooled[1]).any() else "finite values")
