"""A masked RNN with go_backwards=True and unroll=True raises AttributeError on PyTorch.

Run: KERAS_BACKEND=torch python repro.py   (and tensorflow, jax to compare)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
x = np.arange(1, 13, dtype="float32").reshape(2, 3, 2) / 10
mask = np.array([[True, True, False], [True, False, False]])
results = {}
for layer_class in (keras.layers.SimpleRNN, keras.layers.GRU, keras.layers.LSTM):
    rnn = layer_class(2, go_backwards=True, unroll=True, kernel_initializer="ones",
                      recurrent_initializer="zeros")
    try:
        out = keras.ops.convert_to_numpy(rnn(x, mask=mask))
        results[layer_class.__name__] = "ok"
        print(f"{layer_class.__name__}: output", out.astype(float).round(4).tolist())
    except Exception as exc:  # the behaviour under report: print it, do not stop
        results[layer_class.__name__] = type(exc).__name__
        print(f"{layer_class.__name__}: {type(exc).__name__}: {exc}")
failed = sorted({r for r in results.values() if r != "ok"})
print("RESULT: go_backwards + unroll + mask", "raises " + ", ".join(failed) if failed else "runs")
