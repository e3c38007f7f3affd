"""An RNN called with initial_state= gets no mask: it reads the padded steps of an input that
carries a mask (from Embedding(mask_zero=True) or Masking), on every backend.

Run: KERAS_BACKEND=tensorflow python repro.py   (and jax, torch)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
tokens = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])  # right-padded with 0
embedded = keras.layers.Embedding(4, 3, mask_zero=True, embeddings_initializer="ones")(tokens)
gru = keras.layers.GRU(2, kernel_initializer="ones", recurrent_initializer="zeros", bias_initializer="ones")
zeros = np.zeros((2, 2), "float32")  # the default initial state, passed explicitly
plain = keras.ops.convert_to_numpy(gru(embedded))
with_state = keras.ops.convert_to_numpy(gru(embedded, initial_state=zeros))
explicit = keras.ops.convert_to_numpy(gru(embedded, initial_state=zeros, mask=tokens != 0))
print("gru(x)                             :", plain.astype(float).round(5).tolist())
print("gru(x, initial_state=zeros)        :", with_state.astype(float).round(5).tolist())
print("gru(x, initial_state=zeros, mask=m):", explicit.astype(float).round(5).tolist())
same = np.allclose(plain, with_state)
print("RESULT: initial_state= call", "uses the input's mask" if same else "ignores the input's mask")
