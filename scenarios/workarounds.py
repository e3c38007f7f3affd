"""Workarounds, run: each is the advice a known divergence gives (scenarios/known_divergences.toml,
`workaround` and `demonstrated_by`), applied to that divergence's own smallest case, on every backend.

A workaround counts as demonstrated only where the three backends then agree (the report checks the
scenario's pairs); one that does not work stays visible as a divergence here, which is a finding
about the advice, not about the harness.
"""

import copy

import numpy as np

from harness import scenario
from harness.compare.training_claims import FitSpec, Metric, Target, fit_expectations
from harness.define.registry import Fit
from scenarios import explicit_mask, fit
from scenarios._common import expect, zero_or_previous


# --- jax-rnn-masked-step-outputs-initial-state: unroll=True takes JAX's other RNN path ----------------
@scenario(
    "workaround/gru-initial-state-unroll",
    description="explicit/gru-initial-state-with-mask with unroll=True: do leading masked steps show 0 on "
                "every backend (JAX's unrolled path keeps a zero previous output)?",
    tags=("workaround", "explicit-mask", "gru", "initial_state", "unroll"),
    expect=[expect("leading masked steps show 0 (no previous output yet)",
                   zero_or_previous("rnn", explicit_mask.KEEP))],
)
def gru_initial_state_unroll():
    import keras
    from keras import layers

    x = keras.Input(explicit_mask._CLEAN.shape[1:], name="x")
    m = keras.Input(explicit_mask.KEEP.shape[1:], dtype="bool", name="mask")
    state = keras.Input((3,), name="s0")
    h = layers.Masking(name="masking")(x)
    out = layers.GRU(3, reset_after=True, return_sequences=True, return_state=True, unroll=True,
                     name="rnn")(h, initial_state=[state], mask=m)
    return keras.Model([x, m, state], out), [explicit_mask._CLEAN, explicit_mask.KEEP,
                                             *explicit_mask._initial("gru")]


def _spec(name: str, **rnn_args) -> dict:
    """A found case's spec with its RNN's arguments changed (found specs are data: scenarios/found/)."""
    spec = copy.deepcopy(_FOUND[name])
    spec["name"] = name
    for layer in spec["layers"]:
        if layer["op"] in ("GRU", "LSTM", "SimpleRNN"):
            layer["args"].update(rnn_args)
    return spec


# The found cases' specs, copied from scenarios/found/ (their module names are not importable).
_FOUND = {
    "workaround/gru-initial-state-all-masked-unroll": {
        "batch": 1, "dtype_policy": None, "seed": 998316617, "time": 1, "training": False, "version": 1,
        "inputs": [{"features": 4, "fill": None, "kind": "float", "name": "x1", "rows": ["right"]},
                   {"kind": "mask", "name": "m1", "rows": ["right"]}],
        "layers": [
            {"args": {}, "in": ["x1"], "name": "l1", "op": "GlobalAveragePooling1D"},
            {"args": {"go_backwards": False, "reset_after": True, "return_sequences": False,
                      "return_state": True, "units": 4, "unroll": False},
             "call": {"initial_state": {"refs": ["l1"]}, "mask": {"ref": "m1"}},
             "in": ["x1"], "name": "l3", "op": "GRU"}],
        "outputs": ["l3:0", "l3:1"],
    },
    "workaround/lstm-go-backwards-no-unroll": {
        "batch": 1, "dtype_policy": None, "seed": 304130445, "time": 1, "training": False, "version": 1,
        "inputs": [{"features": 1, "fill": None, "kind": "float", "name": "x0", "rows": ["none"]},
                   {"kind": "mask", "name": "m0", "rows": ["none"]}],
        "layers": [
            {"args": {"go_backwards": True, "return_sequences": True, "return_state": False, "units": 1,
                      "unroll": True},
             "call": {"mask": {"ref": "m0"}}, "in": ["x0"], "name": "l0", "op": "LSTM"}],
        "outputs": ["l0"],
    },
}

GRU_ALL_MASKED_UNROLL = _spec("workaround/gru-initial-state-all-masked-unroll", unroll=True)
LSTM_BACKWARDS_NO_UNROLL = _spec("workaround/lstm-go-backwards-no-unroll", unroll=False)


@scenario(
    GRU_ALL_MASKED_UNROLL["name"],
    description="found/differs-gru-jax-tf-torch-06160b with unroll=True: an all-masked row with an initial "
                "state; is the output 0 on every backend?",
    tags=("workaround", "gru", "initial_state", "unroll"),
)
def gru_all_masked_unroll():
    from harness.run import spec_build

    return spec_build.build(GRU_ALL_MASKED_UNROLL)


# --- torch-rnn-go-backwards-unroll-mask: unroll=False on PyTorch ------------------------------------
@scenario(
    LSTM_BACKWARDS_NO_UNROLL["name"],
    description="found/error-differs-error-torch-attributeerror-jax-tf-torch-1e7d1e with unroll=False: does a "
                "masked LSTM with go_backwards=True run on every backend?",
    tags=("workaround", "lstm", "go_backwards"),
)
def lstm_go_backwards_no_unroll():
    from harness.run import spec_build

    return spec_build.build(LSTM_BACKWARDS_NO_UNROLL)


def _register_fit(name, description, build, fit_args, spec, tags=()):
    scenario(name, description=description, tags=("workaround", "fit", "training", *tags), probes=("head",),
             expect=fit_expectations(spec), fit=fit_args)(build)


# --- jax-fit-metrics-read-padding: compute_metrics weighs by the padding mask -------------------------
def masked_dense_metrics_override():
    import keras
    from keras import layers

    class PaddingWeightedMetrics(keras.Model):
        """The workaround as a user writes it: weigh the (weighted) metrics by the padding mask, which
        this model's Masking derives from its input (a step is kept when any feature is not 0)."""

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            keep = keras.ops.cast(keras.ops.any(keras.ops.not_equal(x, 0.0), axis=-1), y_pred.dtype)
            weight = keep if sample_weight is None else sample_weight * keep
            return super().compute_metrics(x, y, y_pred, weight)

    x = keras.Input((3, 1), name="x")
    out = layers.Dense(1, name="head")(layers.Masking(name="masking")(x))
    return PaddingWeightedMetrics(x, out), [fit.MIN_X]


_register_fit(
    "workaround/metrics-compute-metrics-override",
    "fit/min-train-metric-reads-padding with the mae as a weighted metric and compute_metrics overridden to "
    "weigh it by the padding mask: is the mae that training reports over kept steps on every backend?",
    masked_dense_metrics_override,
    Fit(fit.MIN_Y, loss="mse", weighted_metrics=("mae",), learning_rate=0.1, steps=1, on_batch=True),
    FitSpec((fit.MIN_TARGET,), (Metric("mae", "mae", weighted=True),)),
    tags=("minimal", "sgd", "compute-metrics"),
)


# --- the advice "the same with jit_compile on and off", with an RNN --------------------------------
_register_fit(
    "workaround/metrics-no-jit-gru",
    "fit/regression-masking-mse-mae compiled with jit_compile=False (eager JAX train_step): does JAX's "
    "training mae still read the padding (targets of 10) when nothing is jitted?",
    fit.regression_gru,
    Fit(fit.REG_Y, loss="mse", metrics=("mae",), optimizer="SGD", learning_rate=0.05, steps=2,
        jit_compile=False, on_batch=True),
    FitSpec((fit.REG_TARGET,), (Metric("mae", "mae"),)),
    tags=("gru", "masking", "sgd", "no-jit"),
)


# --- row-sample-weight-times-mask: one weight per timestep ------------------------------------------
ROW_WEIGHT_2D = np.repeat(fit.MIN_ROW_WEIGHT[:, None], fit.MIN_X.shape[1], axis=1)

_register_fit(
    "workaround/row-weight-as-2d",
    "fit/min-row-weight-with-mask with the per-sequence weights repeated over time (2D, as the fit docstring "
    "documents for temporal data): does fit run on every backend, each row weighted, padding left out?",
    fit.masked_dense,
    Fit(fit.MIN_Y, loss="mse", learning_rate=0.1, steps=1, sample_weight=ROW_WEIGHT_2D),
    FitSpec((fit.MIN_TARGET,), sample_weight=ROW_WEIGHT_2D, on_batch=False),
    tags=("minimal", "sgd", "sample-weight"),
)


# --- torch-steps-per-execution: steps_per_execution=1 ----------------------------------------------
_register_fit(
    "workaround/regression-steps-per-execution-1",
    "fit/regression-steps-per-execution with steps_per_execution=1 and the loss only (no metric, so that "
    "JAX's training metrics are not in the picture): do the three backends train the same?",
    fit.regression_gru_8,
    Fit(fit.SPE_Y, loss="mse", optimizer="Adam", learning_rate=0.02, steps=fit.STEPS, batch_size=2),
    FitSpec((Target(fit.SPE_Y, fit.SPE_KEEP, "mse"),), one_batch=False, batch_size=2, on_batch=False),
    tags=("gru", "masking", "adam", "steps-per-execution"),
)
