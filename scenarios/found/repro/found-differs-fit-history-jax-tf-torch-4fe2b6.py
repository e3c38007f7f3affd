"""harness fuzz finding found-differs-fit-history-jax-tf-torch-4fe2b6: differs between tensorflow-vs-
jax, tensorflow-vs-torch, first at fit/history (fit/history/mae).

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


NAME = 'fuzz/s26-339'  # seeds the weights, as the harness does
TRAINING = False

x0 = np.array([[1, 1, 0]], dtype='int32')

t_x0 = keras.Input((3,), dtype='int32', name='x0')
l0 = layers.Embedding(input_dim=2, output_dim=2, mask_zero=True, name='l0')
t_l0 = l0(t_x0)
model = keras.Model([t_x0], [t_l0])

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

# Training as the harness runs it: whole-batch steps, no shuffling, from the harness's weights.
y = np.array([[[-0.8219632506370544, -0.8358508944511414], [-0.49290981888771057, -0.12896578013896942], [-0.22038283944129944, -0.7282370328903198]]], dtype='float32')
sample_weight = None
class_weight = None
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss='mse', metrics=None, weighted_metrics=['mae', 'mse'])
print('evaluate before', model.evaluate([x0], y, batch_size=1, verbose=0, return_dict=True))
history = model.fit([x0], y, batch_size=1, epochs=1, shuffle=False, verbose=0, sample_weight=sample_weight, class_weight=class_weight)
print('history', history.history)
print('evaluate after', model.evaluate([x0], y, batch_size=1, verbose=0, return_dict=True))
