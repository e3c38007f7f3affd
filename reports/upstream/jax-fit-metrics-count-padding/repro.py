"""fit() and train_on_batch() report metrics over masked (padded) timesteps on JAX.

Run: KERAS_BACKEND=jax python repro.py   (and tensorflow, torch to compare)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
# Two sequences of 3 steps; the padded steps (x == 0) are masked by Masking, their targets are 9.
x = np.array([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]]], "float32")
y = np.array([[[1.0], [1.0], [9.0]], [[2.0], [9.0], [9.0]]], "float32")
inputs = keras.Input((3, 1))
outputs = keras.layers.Dense(1, kernel_initializer="zeros")(keras.layers.Masking(0.0)(inputs))
model = keras.Model(inputs, outputs)
# learning_rate=0: the weights never move, so every pass sees the same predictions (all 0).
model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=["mae"])

fit_logs = model.fit(x, y, batch_size=2, epochs=1, verbose=0).history
batch_logs = model.train_on_batch(x, y, return_dict=True)
eval_logs = model.evaluate(x, y, batch_size=2, verbose=0, return_dict=True)
print("kept-step mae (numpy):     ", f"{np.abs(y[x != 0]).mean():.4f}")
print("fit mae:                   ", f"{float(fit_logs['mae'][0]):.4f}")
print("train_on_batch mae:        ", f"{float(batch_logs['mae']):.4f}")
print("evaluate mae:              ", f"{float(eval_logs['mae']):.4f}")
print("fit loss / evaluate loss:  ", f"{fit_logs['loss'][0]:.4f} / {eval_logs['loss']:.4f}")
same = np.isclose(fit_logs["mae"][0], eval_logs["mae"]) and np.isclose(batch_logs["mae"], eval_logs["mae"])
print("RESULT: fit and train_on_batch metrics", "equal evaluate's" if same else "differ from evaluate's")
