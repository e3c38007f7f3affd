"""losses/: SparseCategoricalCrossentropy(ignore_class=...) beside Keras masks.

Token taggers mark padding twice: the input's zeros give Embedding(mask_zero=True) its mask, and
the labels use an "ignore" class at the same steps. keras-team/keras#22284 (merged) added
ignore_class to the SparseCategoricalCrossentropy metric; the loss has had it since Keras 3.0 and
marks the ignored steps with a mask of its own, which the loss then combines with y_pred's.
Here the labels also use class 0 at some kept steps and real classes at some padded steps, so the
three ways of leaving steps out give three different means, and each scenario's loss (the
harness's loss, "sum_over_batch_size") is checked against the one it should be, computed from the
captured probabilities.
"""

from __future__ import annotations

import numpy as np

from harness import Train, scenario
from scenarios._common import bits, expect, keep, masked_tokens

THEME = "theme:losses"
KEEP = keep("11100", "11110", "10000", "11111")
TOKENS = masked_tokens(KEEP, vocab=6, seed="losses/tokens")
LABELS = np.array([[1, 0, 2, 2, 1],   # kept steps 0-2 (one labelled 0, the ignored class); padded 3-4 labelled
                   [2, 1, 1, 0, 2],
                   [0, 1, 2, 1, 0],
                   [1, 2, 0, 1, 2]], dtype=np.int32)
IGNORED = LABELS == 0
CASES = {  # name: (mask_zero, ignore_class, the steps whose losses the mean should cover)
    "mask-alone": (True, None, KEEP),
    "ignore-class-alone": (False, 0, ~IGNORED),
    "ignore-class-beside-mask": (True, 0, KEEP & ~IGNORED),
}


def _loss_is_mean_over(steps: np.ndarray, what: str):
    def check(c):
        probs = c.output("tagger").astype(np.float64)
        picked = np.take_along_axis(probs, LABELS[..., None], axis=-1)[..., 0]
        ce = -np.log(picked)
        means = {"kept steps": ce[KEEP].mean(), "steps not labelled 0": ce[~IGNORED].mean(),
                 "kept and not labelled 0": ce[KEEP & ~IGNORED].mean(), "every step": ce.mean()}
        got = float(c.output("loss"))
        return bool(np.isclose(got, ce[steps].mean(), rtol=1e-5, atol=1e-6)), (
            f"loss {got:.6f}; mean over " + ", ".join(f"{k} {v:.6f}" for k, v in means.items())
            + f" (mask {bits(KEEP)})")
    return expect(f"the loss is the mean over {what}", check)


def _case(name: str) -> None:
    mask_zero, ignore_class, steps = CASES[name]
    what = {"mask-alone": "kept steps", "ignore-class-alone": "steps not labelled 0",
            "ignore-class-beside-mask": "kept steps not labelled 0"}[name]
    config = {} if ignore_class is None else {"ignore_class": ignore_class}

    @scenario(f"losses/{name}", tags=(THEME, "losses", "embedding", "training"),
              upstream=("keras-team/keras#22284",),
              train=Train(targets=LABELS, loss="SparseCategoricalCrossentropy", loss_config=config),
              description=f"Embedding(mask_zero={mask_zero}) -> Dense(softmax) tagger, "
                          f"SparseCategoricalCrossentropy({'ignore_class=0' if config else ''}): which steps "
                          f"does the loss average over?",
              expect=[_loss_is_mean_over(steps, what)])
    def build():
        import keras
        from keras import layers

        tokens = keras.Input((None,), dtype="int32", name="tokens")
        x = layers.Embedding(6, 3, mask_zero=mask_zero, name="embedding")(tokens)
        return keras.Model(tokens, layers.Dense(3, activation="softmax", name="tagger")(x)), TOKENS


for _name in CASES:
    _case(_name)
