"""The masked model that scenarios/saving.py saves and loads, shared with the script that writes the
committed archives (scenarios/data/saving/make_archives.py). Not a scenario module ("_" prefix).

Weights come from numpy (harness.define.weights), seeded by one fixed key, so the model saved under
one backend and the model built fresh under another hold the same numbers: after a round trip the
outputs and masks must equal the fresh model's, up to float32 differences between backends.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.define.weights import weight_values
from scenarios._common import keep, masked_floats, masked_tokens

ARCHIVES = Path(__file__).parent / "data" / "saving"
BACKENDS = ("tensorflow", "jax", "torch")
WEIGHT_KEY = "saving/archive-model"  # one seed for every backend: the archives and the fresh model agree
TOKEN_KEEP = keep("111100", "101101", "001111", "111111")
FEATURE_KEEP = keep("111000", "110110", "000111", "111111")
TOKENS = masked_tokens(TOKEN_KEEP, vocab=6, seed="saving/tokens")
FEATURES = masked_floats(FEATURE_KEEP, features=2, seed="saving/features")


def build_model(name: str):
    """Embedding(mask_zero) -> Dense (the mask passes) and -> GlobalAveragePooling1D (the mask is used),
    beside Masking(0.0) -> Dense. No RNN: XLA-compiling one is most of a scenario's time on TensorFlow,
    and the rnn/ family already covers what an RNN does with a mask."""
    import keras
    from keras import layers

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    features = keras.Input((None, 2), name="features")
    x = layers.Embedding(6, 3, mask_zero=True, name="embedding")(tokens)
    tagger = layers.Dense(2, name="tagger")(x)
    pooled = layers.GlobalAveragePooling1D(name="pooled")(x)
    y = layers.Masking(0.0, name="masking")(features)
    y = layers.Dense(2, name="projection")(y)
    model = keras.Model([tokens, features], [tagger, pooled, y], name=name)
    for layer in model.layers:
        for index, variable in enumerate(layer.weights):
            if variable.trainable and "float" in str(variable.dtype):
                variable.assign(weight_values(WEIGHT_KEY, f"{layer.name}#{index}", tuple(variable.shape)))
    return model


def archive(backend: str) -> Path:
    return ARCHIVES / f"{backend}.keras"


def inputs() -> list[np.ndarray]:
    return [TOKENS, FEATURES]
