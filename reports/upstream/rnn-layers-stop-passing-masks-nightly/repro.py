"""keras-nightly: RNN layers (and Bidirectional, TimeDistributed) no longer pass the mask on, so a
masked loss after GRU(return_sequences=True) counts the padded timesteps. Keras 3.15.1 passes it.

Run: KERAS_BACKEND=jax python repro.py   (and tensorflow, torch; compare keras 3.15.1 with keras-nightly)
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
x = np.array([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]]], "float32")  # padded with 0
y = np.where(x != 0, 0.0, 100.0).astype("float32")  # padded targets far off: counted, they dominate the loss
probe = MaskSeen()
probe(keras.layers.GRU(1, return_sequences=True)(keras.layers.Masking(0.0)(x)))
print("mask after GRU(return_sequences=True):",
      None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int).tolist())
inputs = keras.Input((3, 1))
hidden = keras.layers.GRU(1, return_sequences=True, kernel_initializer="zeros",
                          recurrent_initializer="zeros")(keras.layers.Masking(0.0)(inputs))
model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="zeros")(hidden))
model.compile(optimizer="sgd", loss="mse")
loss = model.evaluate(x, y, verbose=0)  # predictions are 0: kept steps add 0, padded steps 100**2 each
print("evaluate loss (mse):", loss, "(0 over the kept steps; 10000 per padded step counted)")
passed = "passes the mask on" if probe.mask is not None else "passes no mask"
print(f"RESULT: GRU(return_sequences=True) {passed}; the loss {'skips' if loss < 1 else 'counts'} padded steps")
