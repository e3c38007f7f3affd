"""jit-custom/: a custom masked pooling layer, predicted with and without jit_compile.

keras-team/keras#20165: Masking(-99) -> a custom MaskedGlobalAveragePooling1D gave the masked mean
eagerly but, on JAX with compile(jit_compile=True) and predict_on_batch, a mean that counted the
masked steps (as zeros); TensorFlow agreed with the eager result. The issue's own input and layer
(in keras.ops), then a Dense head; Keras's predict (through the harness's Fit) with jit_compile True and False, and the
harness's own compiled forward pass (jit/ probes), are each compared with the eager call.
"""

from __future__ import annotations

import numpy as np

from harness import scenario
from harness.define.registry import Fit
from scenarios._common import expect, fmt

THEME = "theme:jit-custom"
X = np.array([[[1], [2], [3]], [[1], [2], [-99]], [[1], [-99], [-99]]], dtype=np.float32)  # the input
MASKED_MEAN = np.array([[2.0], [1.5], [1.0]])  # mean over the steps that are not -99
Y = np.zeros((3, 1), dtype=np.float32)


def _pool_is_masked_mean(c):
    got = c.output("pool").astype(np.float64)
    return bool(np.allclose(got, MASKED_MEAN, atol=1e-5)), (f"pool {fmt(got.ravel())}, "
                                                             f"masked mean {fmt(MASKED_MEAN.ravel())}")


def _same_as_eager(probe: str):
    """The issue's own check: np.allclose(model(x), jit-compiled prediction)."""
    def check(c):
        if probe not in c.probes:  # torch: the harness compiles only with HARNESS_TORCH_COMPILE=1
            return True, f"{probe} not captured on this backend (no compiled pass was run)"
        eager, other = c.output("head").astype(np.float64), c.output(probe).astype(np.float64)
        return bool(np.allclose(eager, other, atol=1e-5)), (f"{probe} {fmt(other.ravel())}, "
                                                            f"eager head {fmt(eager.ravel())}")
    return check


def _jit_case(jit: bool) -> None:
    @scenario(f"jit-custom/masked-mean-pool-{'jit' if jit else 'no-jit'}",
              tags=(THEME, "custom", "pooling", "jit_compile" if jit else "eager"),
              upstream=("keras-team/keras#20165",),
              fit=Fit(Y, loss="mse", optimizer="SGD", learning_rate=0.0, steps=1, jit_compile=jit),
              description=f"Masking(-99) -> custom masked average pooling (keras.ops, supports_masking) -> Dense; "
                          f"compile(jit_compile={jit}) then predict: what the eager call gives?",
              expect=[expect("eager call: the pooled value is the masked mean", _pool_is_masked_mean),
                      expect(f"predict with jit_compile={jit} equals the eager call",
                             _same_as_eager("fit/predict/before")),
                      expect("the harness's compiled forward pass (where it runs) equals the eager call",
                             _same_as_eager("jit/head"))])
    def build():
        import keras
        from keras import layers, ops

        class MaskedGlobalAveragePooling1D(layers.Layer):  # keras-team/keras#20165's layer
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.supports_masking = True

            def call(self, x, mask=None):
                if mask is None:
                    return ops.mean(x, axis=1)
                weights = ops.expand_dims(ops.cast(mask, x.dtype), -1)
                return ops.sum(x * weights, axis=1) / ops.sum(weights, axis=1)

            def compute_mask(self, x, mask=None):
                return None

        x = keras.Input((3, 1), name="x")
        pooled = MaskedGlobalAveragePooling1D(name="pool")(layers.Masking(-99.0, name="masking")(x))
        # a trainable head, so that fit has something to train (and Keras no warning to give)
        return keras.Model(x, layers.Dense(1, name="head")(pooled)), X


for _jit in (True, False):
    _jit_case(_jit)
