"""PyTorch backend, float16: a query row whose attention mask is all False gets the unmasked
attention in keras.ops.dot_product_attention (and MultiHeadAttention under mixed_float16);
TensorFlow and JAX, and PyTorch in float32, give the uniform average of the values.

Run: KERAS_BACKEND=torch python repro.py   (and tensorflow, jax to compare)
"""
import numpy as np
import keras

print("keras", keras.__version__, "backend", keras.backend.backend())
rng = np.random.default_rng(0)
q, k, v = (rng.normal(size=(1, 3, 1, 2)) * s for s in (3, 3, 1))  # (batch, steps, heads, head_dim)
mask = np.ones((1, 1, 3, 3), bool)
mask[0, 0, 0, :] = False  # query step 0 may attend to nothing (a masked query step)
uniform = v[0, :, 0].mean(axis=0)
unmasked = keras.ops.convert_to_numpy(keras.ops.dot_product_attention(q, k, v))[0, 0, 0]
found = []
for dtype in ("float32", "float16"):
    out = keras.ops.dot_product_attention(*(keras.ops.convert_to_tensor(t, dtype) for t in (q, k, v)),
                                          mask=mask)
    row = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))[0, 0, 0]
    name = ("uniform average" if np.allclose(row, uniform, atol=1e-2) else
            "unmasked attention" if np.allclose(row, unmasked, atol=1e-2) else "other")
    print(f"{dtype}: all-masked query row -> {row.astype(float).round(3).tolist()} ({name})")
    found.append(f"{dtype} {name}")
print("uniform average of the values:", uniform.round(3).tolist(), "; unmasked attention:",
      unmasked.astype(float).round(3).tolist())
print("RESULT: all-masked attention row:", ", ".join(found))
