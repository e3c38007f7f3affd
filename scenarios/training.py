"""Training through masks: masked losses under each reduction, gradients with respect to inputs and
weights through masked timesteps, and one optimizer step.

Targets hold a large value (10) at masked steps: a loss that reads them is far from one that skips
them. The "none" reduction gives a per-step tensor, not a scalar, so it is not run (the harness
differentiates a scalar loss); "mean_with_sample_weight" stands in as the fourth reduction.
"""

import numpy as np

from harness import Train, scenario
from harness.define.weights import random_inputs, weight_values
from scenarios._common import (
    RNN_TITLES,
    expect,
    keep,
    make_rnn,
    masked_floats,
    masked_tokens,
)

KEEP = keep("holes", "right-pad", "left-pad", "all-masked")
X = masked_floats(KEEP, features=2, seed="train")
Y_SEQ = np.where(KEEP[..., None], random_inputs("train-y", (4, 6, 1)), 10.0).astype(np.float32)

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight")


def _expected_loss(per_step, k, reduction):
    kept = per_step[k]
    if reduction == "sum":
        return kept.sum()
    return kept.sum() / k.sum()


def _loss_matches(reduction, y, k):
    def check(c):
        pred = c.output("head").astype(np.float64)
        per_step = np.mean((y.astype(np.float64) - pred) ** 2, axis=-1)
        want = _expected_loss(per_step, k, reduction)
        unmasked = per_step.sum() if reduction == "sum" else per_step.mean()
        got = float(c.output("loss"))
        ok = abs(got - want) <= 1e-5 * max(1.0, abs(want))
        return ok, f"loss {got:.6g}; over kept steps {want:.6g}; over all steps {unmasked:.6g} ({reduction})"

    return check


def _head_has_mask(c):
    m = c.mask("head")
    return m is not None and np.array_equal(m, KEEP), f"head mask {'none' if m is None else 'present'}"


def _loss_family(reduction):
    @scenario(
        f"train/gru-masked-loss-{reduction}",
        description=f"Mean squared error on a masked GRU sequence output, reduction={reduction!r}: does "
                    f"the loss leave masked steps out and normalize as documented?",
        tags=("training", "loss", "gru", "masking", reduction),
        probes=("rnn", "head"),
        expect=[
            expect("the output the loss sees carries the mask", _head_has_mask),
            expect(f"loss is the {reduction} over kept steps only", _loss_matches(reduction, Y_SEQ, KEEP)),
        ],
        train=Train(targets=Y_SEQ, loss="MeanSquaredError", reduction=reduction, optimizer="SGD",
                    learning_rate=0.1),
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(X.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        h = layers.GRU(3, return_sequences=True, name="rnn")(m)
        out = layers.Dense(1, name="head")(h)
        return keras.Model(inp, out), [X]


for _r in REDUCTIONS:
    _loss_family(_r)


# --- gradients with respect to inputs through masked steps (explicit mask, garbage inputs) ----
X_GARBAGE = np.where(KEEP[..., None], X, random_inputs("train-garbage", X.shape, 0.5, 1.5)).astype(np.float32)


def _input_grad_zero_at_masked(c):
    g = c.output("grad/input/x")
    at_masked = float(np.max(np.abs(g[~KEEP])))
    at_kept = float(np.max(np.abs(g[KEEP])))
    return at_masked == 0.0 and at_kept > 0.0, (f"|d loss / d x| max at masked steps {at_masked:.1e}, "
                                                f"at kept steps {at_kept:.1e}")


def _grads_finite(c):
    keys = [k for k in c.probes if k.startswith("grad/")]
    bad = [k for k in keys if not np.all(np.isfinite(c.output(k)))]
    return not bad and bool(keys), f"{len(keys)} gradients, non-finite: {bad or 'none'}"


def _input_grad_family(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"train/{kind}-input-grad-masked-steps",
        description=f"{title} with an explicit mask and garbage at masked steps: is the gradient of the "
                    f"loss with respect to the masked inputs exactly 0?",
        tags=("training", "gradients", kind, "explicit-mask"),
        probes=("rnn", "head"),
        expect=[
            expect("gradient wrt masked input steps is exactly 0", _input_grad_zero_at_masked),
            expect("all gradients are finite", _grads_finite),
            expect("loss is the mean over kept steps", _loss_matches("sum_over_batch_size", Y_SEQ, KEEP)),
        ],
        train=Train(targets=Y_SEQ, loss="MeanSquaredError", optimizer="SGD", learning_rate=0.1),
    )
    def build():
        import keras
        from keras import layers

        x = keras.Input(X_GARBAGE.shape[1:], name="x")
        m = keras.Input(KEEP.shape[1:], dtype="bool", name="mask")
        h = make_rnn(kind, 3, "rnn", return_sequences=True)(x, mask=m)
        out = layers.Dense(1, name="head")(h)
        return keras.Model([x, m], out), [X_GARBAGE, KEEP]


for _kind in ("simple_rnn", "lstm"):
    _input_grad_family(_kind)


# --- embedding: the row of code 0 gets no gradient ----------------------------------------------
CODES = masked_tokens(KEEP, vocab=5, seed="train-codes", same_values=False)
Y_LAST = random_inputs("train-y-last", (4, 1))


def _code0_no_grad(c):
    g = c.output("grad/embedding#0")
    row0 = float(np.max(np.abs(g[0])))
    used = float(np.max(np.abs(g[1:])))
    return row0 == 0.0 and used > 0.0, f"|grad| of embedding row 0 (masked code) {row0:.1e}, other rows {used:.1e}"


@scenario(
    "train/embedding-masked-code-grad",
    description="Embedding(mask_zero=True) -> GRU -> Dense: does the embedding vector of the masked "
                "code 0 get exactly zero gradient?",
    tags=("training", "gradients", "embedding", "gru"),
    probes=("embedding", "rnn", "head"),
    expect=[expect("embedding row of code 0 gets zero gradient", _code0_no_grad),
            expect("all gradients are finite", _grads_finite)],
    train=Train(targets=Y_LAST, loss="MeanSquaredError", optimizer="SGD", learning_rate=0.1),
)
def embedding_masked_code_grad():
    import keras
    from keras import layers

    codes = keras.Input(CODES.shape[1:], dtype="int32", name="codes")
    e = layers.Embedding(5, 2, mask_zero=True, name="embedding")(codes)
    h = layers.GRU(3, name="rnn")(e)
    out = layers.Dense(1, name="head")(h)
    return keras.Model(codes, out), [CODES]


# --- one optimizer step ---------------------------------------------------------------------------
def _optimizer_step(scenario_name, rule, formula):
    """Check every "step/" probe against `rule(before, grad)`: the weights the harness set, moved
    by the optimizer's documented first step."""

    def check(c):
        worst, n = 0.0, 0
        for key in c.probes:
            if not key.startswith("step/"):
                continue
            var = key[len("step/"):]
            grad = c.output(f"grad/{var}").astype(np.float64)
            before = weight_values(scenario_name, var, grad.shape)
            worst = max(worst, float(np.max(np.abs(c.output(key) - rule(before, grad)))))
            n += 1
        return n > 0 and worst <= 1e-6, f"{n} variables: |after - ({formula})| max {worst:.1e}"

    return check


def _sgd_step(scenario_name, lr):
    return _optimizer_step(scenario_name, lambda before, grad: before - lr * grad, "before - lr*grad")


@scenario(
    "train/lstm-last-sgd-step",
    description="Masking -> LSTM(last) -> Dense, one SGD step: are the gradients finite and is each "
                "weight moved by exactly -lr * gradient?",
    tags=("training", "optimizer", "lstm", "masking"),
    probes=("rnn", "head"),
    expect=[expect("all gradients are finite", _grads_finite),
            expect("SGD step is before - lr * grad", _sgd_step("train/lstm-last-sgd-step", 0.1))],
    train=Train(targets=Y_LAST, loss="MeanSquaredError", optimizer="SGD", learning_rate=0.1),
)
def lstm_last_sgd_step():
    import keras
    from keras import layers

    inp = keras.Input(X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = layers.LSTM(3, name="rnn")(m)
    out = layers.Dense(1, name="head")(h)
    return keras.Model(inp, out), [X]


def _adam_first_step(scenario_name, lr, beta_2=0.999, epsilon=1e-7):
    """Keras Adam's first step: lr * sqrt(1 - b2) * g / (sqrt(1 - b2) * |g| + eps) (b1 cancels)."""
    root = np.sqrt(1 - beta_2)
    return _optimizer_step(scenario_name,
                           lambda before, grad: before - lr * root * grad / (root * np.abs(grad) + epsilon),
                           "Adam formula")


@scenario(
    "train/gru-sequence-adam-step",
    description="Masking -> GRU(sequences) -> Dense with a masked loss, one Adam step: do the "
                "backends move every weight the same way?",
    tags=("training", "optimizer", "gru", "masking", "adam"),
    probes=("rnn", "head"),
    expect=[expect("all gradients are finite", _grads_finite),
            expect("Adam's first step follows the Adam formula",
                   _adam_first_step("train/gru-sequence-adam-step", 0.01))],
    train=Train(targets=Y_SEQ, loss="MeanSquaredError", optimizer="Adam", learning_rate=0.01),
)
def gru_sequence_adam_step():
    import keras
    from keras import layers

    inp = keras.Input(X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = layers.GRU(3, return_sequences=True, name="rnn")(m)
    out = layers.Dense(1, name="head")(h)
    return keras.Model(inp, out), [X]


# --- a fully masked row through GlobalAveragePooling1D ------------------------------------------
def _loss_finite(c):
    loss = float(c.output("loss"))
    return bool(np.isfinite(loss)), f"loss {loss}"


@scenario(
    "train/global-average-fully-masked-row",
    description="Masking -> Dense -> GlobalAveragePooling1D with a fully masked row: does its 0/0 "
                "poison the loss and every gradient with NaN?",
    tags=("training", "gradients", "pooling", "global-average-pooling", "masking"),
    probes=("pool",),
    expect=[expect("loss is finite", _loss_finite),
            expect("all gradients are finite", _grads_finite)],
    train=Train(targets=random_inputs("train-gap-y", (4, 2)), loss="MeanSquaredError", optimizer="SGD",
                learning_rate=0.1),
)
def global_average_fully_masked_row():
    import keras
    from keras import layers

    inp = keras.Input(X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = layers.Dense(2, name="dense")(m)
    out = layers.GlobalAveragePooling1D(name="pool")(h)
    return keras.Model(inp, out), [X]
