"""harness fuzz finding differs-gru-jax-tf-torch-06160b: differs between tensorflow-vs-jax, jax-vs-
torch, first at GRU (l3).

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


NAME = 'found/differs-gru-jax-tf-torch-06160b'  # seeds the weights, as the harness does
TRAINING = False

x1 = np.array([[[2.791330575942993, 2.9773600101470947, 2.2906253337860107, 2.200789451599121]]], dtype='float32')
m1 = np.array([[False]], dtype='bool')

t_x1 = keras.Input((1, 4), dtype='float32', name='x1')
t_m1 = keras.Input((1,), dtype='bool', name='m1')
l1 = layers.GlobalAveragePooling1D(name='l1')
t_l1 = l1(t_x1)
l3 = layers.GRU(units=4, return_sequences=False, go_backwards=False, unroll=False, return_state=True, reset_after=True, name='l3')  # noqa: E501
t_l3 = l3(t_x1, mask=t_m1, initial_state=[t_l1])
model = keras.Model([t_x1, t_m1], [t_l3[0], t_l3[1]])

# The harness's weights: numpy values seeded by case name and variable, the same on every backend.
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
results = keras.Model(model.inputs, outs)([x1, m1], training=TRAINING)
np.set_printoptions(precision=5, suppress=True, linewidth=120)
print('backend:', keras.backend.backend(), 'keras', keras.__version__)
for name, value in zip(names, results if isinstance(results, list) else [results]):
    mask = get_keras_mask(value)
    mask = None if mask is None else keras.ops.convert_to_numpy(mask)
    shown = 'none' if mask is None else mask.astype(int).tolist()
    print(f'{name}: shape {tuple(value.shape)}, mask', shown)
    print(np.asarray(keras.ops.convert_to_numpy(value), dtype='float64'))
