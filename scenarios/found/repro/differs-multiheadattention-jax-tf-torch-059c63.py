"""harness fuzz finding differs-multiheadattention-jax-tf-torch-059c63: differs between tensorflow-vs-
torch, jax-vs-torch, first at MultiHeadAttention (l5).

Run it under each backend and compare the printed outputs and masks:
    for b in tensorflow jax torch; do KERAS_BACKEND=$b python THIS_FILE.py; done
"""

import hashlib

import keras
import numpy as np
from keras import layers
from keras.src.backend import get_keras_mask  # the mask Keras attached to a tensor


def seed_for(*parts: str) -> int:
    """A stable 64-bit seed from strings (Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def weight_values(scenario: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform in [-0.5, 0.5): large enough to exercise the layers, small enough not to saturate."""
    rng = np.random.default_rng(seed_for(scenario, key))
    return rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)


LAMBDAS = {"double": lambda x: x * 2.0, "square": lambda x: x * x, "identity": lambda x: x}


NAME = 'fuzz/s0-316'  # seeds the weights, as the harness does
TRAINING = False

keras.config.set_dtype_policy('mixed_float16')
x0 = np.array([[[-0.512448251247406, -0.41718751192092896], [0.0, 0.0]]], dtype='float32')

t_x0 = keras.Input((2, 2), dtype='float32', name='x0')
l0 = layers.Masking(mask_value=0.0, name='l0')
t_l0 = l0(t_x0)
l1 = layers.Dense(units=2, name='l1')
t_l1 = l1(t_l0)
l2 = layers.Concatenate(axis=1, name='l2')
t_l2 = l2([t_l0, t_l1])
l5 = layers.MultiHeadAttention(key_dim=2, num_heads=2, name='l5')
t_l5 = l5(t_l2, t_l2)
l6 = layers.Lambda(function=LAMBDAS['double'], name='l6')
t_l6 = l6(t_l5)
model = keras.Model([t_x0], [t_l6])

# The harness's weights: numpy values seeded by the case's weight seed and variable, the same on every backend.
for layer in model.layers:
    for index, variable in enumerate(layer.weights):
        if variable.trainable and 'float' in str(variable.dtype):
            values = weight_values(NAME, f'{layer.name}#{index}', tuple(variable.shape))
            variable.assign(values.astype(keras.backend.standardize_dtype(variable.dtype)))

probed = [la for la in model.layers
          if not isinstance(la, keras.layers.InputLayer) and len(la._inbound_nodes) == 1]
outs = [t for la in probed for t in (la.output if isinstance(la.output, list) else [la.output])]
names = [f'{la.name}[{i}]' if i else la.name for la in probed
         for i in range(len(la.output) if isinstance(la.output, list) else 1)]
results = keras.Model(model.inputs, outs)([x0], training=TRAINING)
np.set_printoptions(precision=5, suppress=True, linewidth=120)
print('backend:', keras.backend.backend(), 'keras', keras.__version__)
for name, value in zip(names, results if isinstance(results, list) else [results]):
    mask = get_keras_mask(value)
    mask = None if mask is None else keras.ops.convert_to_numpy(mask)
    shown = 'none' if mask is None else mask.astype(int).tolist()
    print(f'{name}: shape {tuple(value.shape)}, mask', shown)
    print(np.asarray(keras.ops.convert_to_numpy(value), dtype='float64'))
