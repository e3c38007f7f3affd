"""With initial_state and a mask, JAX's RNN outputs the initial state at masked steps before the
first kept step (and for an all-masked sequence); TensorFlow and PyTorch output zeros.

Run: KERAS_BACKEND=jax python repro.py   (and tensorflow, torch to compare)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
x = np.linspace(-1, 1, 2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
mask = np.array([[False, False, True, True],    # left padding: two masked steps, then kept ones
                 [False, False, False, False]])  # an all-padding sequence
initial_state = np.full((2, 2), 0.5, "float32")
found = []
for unroll in (False, True):
    gru = keras.layers.GRU(2, return_sequences=True, unroll=unroll, kernel_initializer="ones",
                           recurrent_initializer="zeros", bias_initializer="zeros")
    seq = keras.ops.convert_to_numpy(gru(x, initial_state=initial_state, mask=mask))
    gru_last = keras.layers.GRU(2, unroll=unroll, kernel_initializer="ones",
                                recurrent_initializer="zeros", bias_initializer="zeros")
    last = keras.ops.convert_to_numpy(gru_last(x, initial_state=initial_state, mask=mask))
    print(f"unroll={unroll}: outputs at the masked steps 0-1 of row 0:", seq[0, :2].tolist())
    print(f"unroll={unroll}: return_sequences=False output of the all-masked row 1:", last[1].tolist())
    def name(v):
        return "initial state" if np.allclose(v, 0.5) else "zeros" if np.allclose(v, 0) else "other"
    found.append(f"unroll={unroll}: masked steps {name(seq[0, :2])}, all-masked row {name(last[1])}")
print("RESULT:", "; ".join(found))
