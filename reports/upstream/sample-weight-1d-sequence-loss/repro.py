"""A 1D sample_weight (one weight per sequence) on a masked (batch, time) output raises, or when
batch == timesteps is silently applied per timestep (step t gets row t's weight).

Run: KERAS_BACKEND=tensorflow python repro.py   (and jax, torch)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())


def evaluate(x, y, weight, masked=True):
    inputs = keras.Input(x.shape[1:])
    hidden = keras.layers.Masking(0.0)(inputs) if masked else inputs
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="zeros")(hidden))
    model.compile(optimizer="sgd", loss="mse")
    try:
        return f"{model.evaluate(x, y, sample_weight=weight, verbose=0):.4f}"
    except Exception as exc:  # the behaviour under report: print it, do not stop
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"


outcomes = []
for batch, steps in [(2, 3), (3, 3)]:
    rng = np.random.default_rng(0)
    x = rng.integers(1, 4, size=(batch, steps, 1)).astype("float32")
    x[0, -1] = 0.0  # one padded (masked) step
    y = rng.normal(size=(batch, steps, 1)).astype("float32")
    w = np.arange(1, batch + 1, dtype="float32")  # one weight per sequence, as the fit docstring allows
    w2d = np.repeat(w[:, None], steps, axis=1)  # the same weights, one per step
    one_d, two_d = evaluate(x, y, w), evaluate(x, y, w2d)
    print(f"batch={batch} steps={steps} weights={w.tolist()}: masked 1D -> {one_d}; masked 2D -> {two_d}; "
          f"unmasked 1D -> {evaluate(x, y, w, False)}; unmasked 2D -> {evaluate(x, y, w2d, False)}")
    outcome = "same as 2D" if one_d == two_d else one_d.split(":")[0] if ":" in one_d else "not the 2D loss"
    outcomes.append(f"{batch}x{steps} {outcome}")
print("RESULT: 1D sample_weight on a masked sequence:", "; ".join(outcomes))
