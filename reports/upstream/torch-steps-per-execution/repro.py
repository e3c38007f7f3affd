"""compile(steps_per_execution=2) then fit: raises ValueError on PyTorch; TensorFlow and JAX train.

Run: KERAS_BACKEND=torch python repro.py   (and tensorflow, jax to compare)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
x = np.ones((8, 3), "float32")
y = np.zeros((8, 1), "float32")
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
try:
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    print("fit loss:", history["loss"])
    outcome = "trains"
except Exception as exc:  # the behaviour under report: print it, do not stop
    print(f"{type(exc).__name__}: {exc}")
    outcome = f"raises {type(exc).__name__}"
print("RESULT: fit with steps_per_execution=2", outcome)
