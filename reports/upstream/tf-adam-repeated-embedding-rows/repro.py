"""On TensorFlow, one Adam step moves an Embedding row looked up k times in the batch by up to
sqrt(k) * learning_rate; JAX and PyTorch move it by learning_rate (Adam on the summed gradient).

Run: KERAS_BACKEND=tensorflow python repro.py   (and jax, torch to compare)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
lr = 1e-3
ids = np.array([[1, 1, 2]])  # row 1 is looked up twice, row 2 once, rows 0 and 3 never
model = keras.Sequential([keras.Input((3,), dtype="int32"),
                          keras.layers.Embedding(4, 2, embeddings_initializer="ones")])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
before = keras.ops.convert_to_numpy(model.layers[0].embeddings).copy()
model.train_on_batch(ids, np.zeros((1, 3, 2), "float32"))  # every lookup gets the same gradient
moved = np.abs(keras.ops.convert_to_numpy(model.layers[0].embeddings) - before).max(axis=1)
print("learning rate:", lr)
print("row 1 (looked up twice) moved by:", f"{moved[1]:.7f}", f"= {moved[1] / lr:.3f} * lr")
print("row 2 (looked up once)  moved by:", f"{moved[2]:.7f}", f"= {moved[2] / lr:.3f} * lr")
print(f"RESULT: one Adam step moves a row looked up twice by {moved[1] / lr:.3f} * lr")
