"""A small padded tagging model to try `harness check` on (docs/check.md, "A worked example").

    KERAS_BACKEND=jax python docs/examples/check_tagger.py tagger/

writes tagger/tagger.keras (Embedding(mask_zero=True) -> GRU(return_sequences=True) -> Dense,
compiled with a metric; saved under JAX, its compile says jit_compile=True), tagger/x.npz (4 padded
rows of token ids, 0 = padding), tagger/y.npz (a tag per step) and tagger/w.npz (one weight per
row, a 1D sample_weight).
"""

import sys
from pathlib import Path

import keras
import numpy as np

STEPS, VOCABULARY, TAGS = 6, 20, 3


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    ids = keras.Input((STEPS,), dtype="int32", name="ids")
    x = keras.layers.Embedding(VOCABULARY, 8, mask_zero=True, name="emb")(ids)
    x = keras.layers.GRU(8, return_sequences=True, name="gru")(x)
    tags = keras.layers.Dense(TAGS, activation="softmax", name="tags")(x)
    model = keras.Model(ids, tags)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.save(folder / "tagger.keras")

    rng = np.random.default_rng(0)
    x, y = np.zeros((4, STEPS), "int32"), np.zeros((4, STEPS), "int32")
    for row, length in enumerate([6, 4, 3, 1]):  # right-padded sequences of different lengths
        x[row, :length] = rng.integers(1, VOCABULARY, length)
        y[row, :length] = rng.integers(0, TAGS, length)
    np.savez(folder / "x.npz", ids=x)
    np.savez(folder / "y.npz", tags=y)
    np.savez(folder / "w.npz", tags=np.array([1.0, 2.0, 0.5, 1.0], "float32"))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tagger"))
