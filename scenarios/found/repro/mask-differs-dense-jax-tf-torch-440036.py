"""harness fuzz finding mask-differs-dense-jax-tf-torch-440036: mask-differs between tensorflow-vs-jax,
jax-vs-torch, first at Dense (l7).

Run it under each backend and compare the printed outputs and masks:
    for b in tensorflow jax torch; do KERAS_BACKEND=$b python THIS_FILE.py; done
"""

import hashlib

import keras
import numpy as np
from keras import layers


def get_keras_mask(tensor):
    """The mask Keras attached to a tensor, wherever this Keras keeps it (it moved in 3.16)."""
    import importlib

    for module in ('keras.src.backend', 'keras.src.backend.common.masking', 'keras.src.backend.common'):
        try:
            return getattr(importlib.import_module(module), 'get_keras_mask')(tensor)
        except (ImportError, AttributeError):
            continue
    return getattr(tensor, '_keras_mask', None)


def seed_for(*parts: str) -> int:
    """A stable 64-bit seed from strings (Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def weight_values(scenario: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform in [-0.5, 0.5): large enough to exercise the layers, small enough not to saturate."""
    rng = np.random.default_rng(seed_for(scenario, key))
    return rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)


NAME = 'fuzz/s26-419'  # seeds the weights, as the harness does
TRAINING = False

x0 = np.array([[1]], dtype='int32')

t_x0 = keras.Input((1,), dtype='int32', name='x0')
l0 = layers.Embedding(input_dim=2, output_dim=1, mask_zero=True, name='l0')
t_l0 = l0(t_x0)
l1 = layers.Reshape(target_shape=(1, 1), name='l1')
t_l1 = l1(t_l0)
t_l6 = l1(t_l1)
l7 = layers.Dense(units=1, activation=None, name='l7')
t_l7 = l7(t_l6)
model = keras.Model([t_x0], [t_l7])

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
