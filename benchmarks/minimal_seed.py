"""The hand-written baseline for the harness-overhead benchmark (issue 7, first target).

The least a person would write to do what `python -m harness run --select seed/rnn-model
--no-compiled` does for its data: import keras with one backend, build the seed model, set the
harness's weights, one forward pass that captures every probe's output and mask through one
multi-output keras.Model, save them with np.savez.

    python benchmarks/minimal_seed.py BACKEND OUT.npz [--freeze-at-exit]

--freeze-at-exit (not part of the minimal script; for a stricter comparison) ends with gc.freeze(),
as the harness's worker does after its imports: interpreter shutdown then skips collecting the
objects the imports made, about a second on torch.
"""

import os
import sys

backend, out = sys.argv[1], sys.argv[2]
os.environ["KERAS_BACKEND"] = backend
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.backend import get_keras_mask  # noqa: E402

from harness.define.weights import weight_values  # noqa: E402
from scenarios.seed import CODES, NUM, build_seed_model  # noqa: E402

model = build_seed_model()
for layer in model.layers:
    for index, variable in enumerate(layer.weights):
        if variable.trainable and "float" in str(variable.dtype):
            variable.assign(weight_values("seed/rnn-model", f"{layer.name}#{index}", tuple(variable.shape)))

probed = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
probe_model = keras.Model(model.inputs, [layer.output for layer in probed])
results = probe_model([NUM, CODES, CODES], training=False)

arrays = {}
for layer, tensor in zip(probed, results):
    arrays[f"{layer.name}.values"] = keras.ops.convert_to_numpy(tensor)
    mask = get_keras_mask(tensor)
    if mask is not None:
        arrays[f"{layer.name}.mask"] = keras.ops.convert_to_numpy(mask).astype(bool)
np.savez(out, **arrays)
if "--freeze-at-exit" in sys.argv:
    import gc

    gc.freeze()
