"""RNN(go_backwards=True, return_sequences=True) returns its outputs in reversed time order, but the
mask it passes on is the input's mask in the original order.

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


print("keras", keras.__version__, "backend", keras.backend.backend())
x = np.array([[[1.0], [2.0], [0.0], [0.0]]], "float32")  # two real steps, then padding
masked = keras.layers.Masking(0.0)(x)
rnn = keras.layers.SimpleRNN(1, go_backwards=True, return_sequences=True, kernel_initializer="ones",
                             recurrent_initializer="zeros", bias_initializer="zeros")
probe = MaskSeen()
out = keras.ops.convert_to_numpy(probe(rnn(masked)))[0, :, 0]
mask = None if probe.mask is None else keras.ops.convert_to_numpy(probe.mask).astype(int)[0].tolist()
print("input mask:               ", [1, 1, 0, 0])
print("output (reversed in time):", out.astype(float).round(4).tolist())
print("mask passed on:           ", mask)
real = [i for i, v in enumerate(out) if abs(v) > 0]  # where the real steps' outputs landed
print("positions holding outputs of real steps:", real)
if mask is None:
    print("RESULT: output mask is absent")
else:
    aligned = all(mask[i] == 1 for i in real)
    print("RESULT: output mask", "follows the reversed output" if aligned else "is the unreversed input mask")
