"""Training as users train: compile, evaluate, fit, evaluate, train_on_batch/test_on_batch (`Fit`).

Each scenario is a model users write (sequence tagging, a padded regression, seq2seq, a bag of
repeated tokens) trained for 5 steps from the harness's weights with no shuffling and fixed batches.
The checks (harness/compare/training_claims.py, claims T1..T5) recompute the loss and every compiled
metric in numpy from the captured predictions and the padding: targets at padded steps are chosen so
that a loss or metric that reads them is visibly off.
"""

import numpy as np

from harness import scenario
from harness.compare.training_claims import fit_expectations
from harness.define.fit import FitSpec, Metric, Target
from harness.define.registry import Fit
from harness.define.weights import random_inputs, seed_for
from scenarios._common import keep, masked_floats, masked_tokens

STEPS = 5
VOCAB, CLASSES, T = 8, 3, 6
TAG_KEEP = keep("right-pad", "left-pad", "holes", "none-masked")
TOKENS = masked_tokens(TAG_KEEP, vocab=VOCAB, seed="fit-tags", same_values=False)


def _labels(seed: str, shape: tuple[int, ...], classes: int = CLASSES) -> np.ndarray:
    return np.random.default_rng(seed_for("fit", seed)).integers(0, classes, size=shape).astype(np.int32)


TAGS = _labels("tags", TAG_KEEP.shape)
ROW_WEIGHT = np.array([1.0, 0.25, 2.0, 0.5], dtype=np.float32)  # sample_weight per sequence
STEP_WEIGHT = np.where(TAG_KEEP, random_inputs("fit-step-weight", TAG_KEEP.shape, 0.2, 2.0), 3.0
                       ).astype(np.float32)  # per timestep; padded steps get a large weight a mask must cancel
CLASS_WEIGHT = {0: 0.5, 1: 2.0, 2: 1.0}

ACCURACY = Metric("accuracy", "sparse_categorical_accuracy")
CROSSENTROPY = Metric("sparse_categorical_crossentropy", "sparse_categorical_crossentropy")


def _register(name, description, build, fit, spec, tags=(), probes=("head",)):
    # the output layers are probed: their masks are the ones the loss sees (and fit.py reuses them)
    scenario(name, description=description, tags=("fit", "training", *tags), probes=probes,
             expect=fit_expectations(spec), fit=fit)(build)


# --- sequence tagging: Embedding(mask_zero) -> RNN -> Dense softmax -----------------------------
def tagger_lstm():
    import keras
    from keras import layers

    tokens = keras.Input((T,), dtype="int32", name="tokens")
    e = layers.Embedding(VOCAB, 4, mask_zero=True, name="embedding")(tokens)
    h = layers.LSTM(5, return_sequences=True, name="rnn")(e)
    out = layers.Dense(CLASSES, activation="softmax", name="head")(h)
    return keras.Model(tokens, out), [TOKENS]


def tagger_gru():
    import keras
    from keras import layers

    tokens = keras.Input((T,), dtype="int32", name="tokens")
    e = layers.Embedding(VOCAB, 4, mask_zero=True, name="embedding")(tokens)
    h = layers.GRU(5, return_sequences=True, name="rnn")(e)
    out = layers.Dense(CLASSES, activation="softmax", name="head")(h)
    return keras.Model(tokens, out), [TOKENS]


TAG_TARGET = Target(TAGS, TAG_KEEP, "sparse_categorical_crossentropy")

_register(
    "fit/tagging-lstm-sgd",
    "Sequence tagging, Embedding(mask_zero) -> LSTM -> Dense softmax, sparse categorical crossentropy "
    "with accuracy and crossentropy metrics, 5 SGD steps of fit and of train_on_batch: do the loss and "
    "the metrics skip the padding?",
    tagger_lstm,
    Fit(TAGS, metrics=("accuracy", "sparse_categorical_crossentropy"), optimizer="SGD", learning_rate=0.5,
        steps=STEPS, on_batch=True),
    FitSpec((TAG_TARGET,), (ACCURACY, CROSSENTROPY)),
    tags=("lstm", "embedding", "sgd"),
)

_register(
    "fit/tagging-gru-adam-sample-weight",
    "Sequence tagging with a GRU, Adam, a sample_weight per sequence, accuracy as a metric and as a "
    "weighted metric: does each sequence's weight multiply the padding mask, in the loss and in the "
    "weighted metric only?",
    tagger_gru,
    Fit(TAGS, metrics=("accuracy",), weighted_metrics=("accuracy",), optimizer="Adam", learning_rate=0.05,
        steps=STEPS, sample_weight=ROW_WEIGHT),
    FitSpec((TAG_TARGET,), (ACCURACY, Metric("weighted_accuracy", "sparse_categorical_accuracy", weighted=True)),
            sample_weight=ROW_WEIGHT, on_batch=False),
    tags=("gru", "embedding", "adam", "sample-weight"),
)

_register(
    "fit/tagging-gru-temporal-sample-weight",
    "Sequence tagging with a GRU and a sample_weight per timestep that is large at the padded steps: "
    "does the mask cancel the weight of padded steps in the loss and the weighted metrics?",
    tagger_gru,
    Fit(TAGS, metrics=("accuracy",), weighted_metrics=("sparse_categorical_crossentropy",), optimizer="SGD",
        learning_rate=0.5, steps=STEPS, sample_weight=STEP_WEIGHT),
    FitSpec((TAG_TARGET,), (ACCURACY, Metric("sparse_categorical_crossentropy",
                                             "sparse_categorical_crossentropy", weighted=True)),
            sample_weight=STEP_WEIGHT, on_batch=False),
    tags=("gru", "embedding", "sgd", "sample-weight", "temporal"),
)

_register(
    "fit/tagging-lstm-class-weight",
    "Sequence tagging with class_weight={0: 0.5, 1: 2, 2: 1}, SGD, fit and train_on_batch: is each "
    "timestep weighted by its class, padded steps left out (class_weight is documented as weighting "
    "the loss during training only)?",
    tagger_lstm,
    Fit(TAGS, metrics=("accuracy",), weighted_metrics=("sparse_categorical_crossentropy",), optimizer="SGD",
        learning_rate=0.5, steps=STEPS, class_weight=CLASS_WEIGHT, on_batch=True),
    FitSpec((TAG_TARGET,), (ACCURACY, Metric("sparse_categorical_crossentropy",
                                             "sparse_categorical_crossentropy", weighted=True)),
            class_weight=CLASS_WEIGHT),
    tags=("lstm", "embedding", "sgd", "class-weight"),
)



def dense_tagger(data):
    import keras
    from keras import layers

    tokens = keras.Input((T,), dtype="int32", name="tokens")
    e = layers.Embedding(VOCAB, 4, mask_zero=True, name="embedding")(tokens)
    out = layers.Dense(CLASSES, activation="softmax", name="head")(e)
    return keras.Model(tokens, out), [data]


def tagger_dense():
    return dense_tagger(TOKENS)


_register(
    "fit/tagging-dense-no-jit",
    "Per-token tagging, Embedding(mask_zero) -> Dense softmax, compiled with jit_compile=False (eager "
    "JAX, tf.function without XLA, eager PyTorch), train_on_batch after test_on_batch: do the "
    "training-time metrics skip the padding? (no RNN: eager JAX would run one op at a time)",
    tagger_dense,
    Fit(TAGS, metrics=("accuracy",), optimizer="SGD", learning_rate=0.5, steps=STEPS, jit_compile=False,
        on_batch=True),
    FitSpec((TAG_TARGET,), (ACCURACY,)),
    tags=("embedding", "sgd", "no-jit"),
)


_register(
    "fit/tagging-jit-compile-adam",
    "Per-token tagging, Embedding(mask_zero) -> Dense softmax, compiled with jit_compile=True (XLA on "
    "TensorFlow and JAX; on PyTorch torch.compile only with HARNESS_TORCH_COMPILE=1): do the compiled "
    "loss and metrics still skip the padding? (No RNN: the harness's compiled pass covers RNN masks "
    "under XLA, and an XLA-compiled RNN training step costs tens of seconds on CPU.)",
    tagger_dense,
    Fit(TAGS, metrics=("accuracy",), optimizer="Adam", learning_rate=0.05, steps=STEPS, jit_compile=True),
    FitSpec((TAG_TARGET,), (ACCURACY,), on_batch=False),
    tags=("gru", "embedding", "adam", "jit-compile"),
)


# --- a padded regression: Masking -> GRU -> Dense, mse with mae/mse metrics ----------------------
REG_KEEP = keep("holes", "right-pad", "left-pad", "all-masked")
REG_X = masked_floats(REG_KEEP, features=2, seed="fit-reg")
REG_Y = np.where(REG_KEEP[..., None], random_inputs("fit-reg-y", (4, T, 1)), 10.0).astype(np.float32)
REG_TARGET = Target(REG_Y, REG_KEEP, "mse")


def gru_regressor(data):
    import keras
    from keras import layers

    x = keras.Input((T, 2), name="x")
    m = layers.Masking(name="masking")(x)
    h = layers.GRU(4, return_sequences=True, name="rnn")(m)
    out = layers.Dense(1, name="head")(h)
    return keras.Model(x, out), [data]


def regression_gru():
    return gru_regressor(REG_X)


_register(
    "fit/regression-masking-mse-mae",
    "Padded regression, Masking -> GRU -> Dense(1), mse loss with mae and mse metrics, targets of 10 at "
    "padded steps and a fully padded row, 5 SGD steps: do loss and metrics skip the padding?",
    regression_gru,
    Fit(REG_Y, loss="mse", metrics=("mae", "mse"), optimizer="SGD", learning_rate=0.05, steps=STEPS),
    FitSpec((REG_TARGET,), (Metric("mae", "mae"), Metric("mse", "mse")), on_batch=False),
    tags=("gru", "masking", "sgd", "mse", "mae"),
)

SPE_KEEP = np.concatenate([REG_KEEP, keep("111111", "011110", "110011", "100000")])
SPE_X = masked_floats(SPE_KEEP, features=2, seed="fit-spe", same_values=False)
SPE_Y = np.where(SPE_KEEP[..., None], random_inputs("fit-spe-y", (8, T, 1)), 10.0).astype(np.float32)


def regression_gru_8():
    return gru_regressor(SPE_X)


_register(
    "fit/regression-steps-per-execution",
    "Padded regression in 4 batches of 2 per epoch with steps_per_execution=2 and Adam, 5 epochs: do "
    "the loss and mae skip the padding, and do the backends report the same per-execution logs?",
    regression_gru_8,
    Fit(SPE_Y, loss="mse", metrics=("mae",), optimizer="Adam", learning_rate=0.02, steps=STEPS, batch_size=2,
        steps_per_execution=2),
    FitSpec((Target(SPE_Y, SPE_KEEP, "mse"),), (Metric("mae", "mae"),), one_batch=False, batch_size=2,
            on_batch=False),
    tags=("gru", "masking", "adam", "steps-per-execution"),
)


# --- seq2seq: padded source and padded target ----------------------------------------------------
SRC_KEEP = keep("111100", "001111", "111111", "110000")
DEC_KEEP = keep("111000", "111110", "110000", "111111")
SRC = masked_tokens(SRC_KEEP, vocab=VOCAB, seed="fit-src", same_values=False)
DEC_IN = masked_tokens(DEC_KEEP, vocab=VOCAB, seed="fit-dec", same_values=False)
DEC_Y = _labels("dec-y", DEC_KEEP.shape)
DEC_TARGET = Target(DEC_Y, DEC_KEEP, "sparse_categorical_crossentropy")


def seq2seq_initial_state():
    import keras
    from keras import layers

    src = keras.Input((T,), dtype="int32", name="source")
    dec = keras.Input((T,), dtype="int32", name="decoder_in")
    _, state = layers.GRU(4, return_state=True, name="encoder")(
        layers.Embedding(VOCAB, 3, mask_zero=True, name="src_embedding")(src))
    d = layers.Embedding(VOCAB, 3, mask_zero=True, name="dec_embedding")(dec)
    h = layers.GRU(4, return_sequences=True, name="decoder")(d, initial_state=state)
    out = layers.Dense(CLASSES, activation="softmax", name="head")(h)
    return keras.Model([src, dec], out), [SRC, DEC_IN]


_register(
    "fit/seq2seq-initial-state-adam",
    "Seq2seq as tutorials write it: padded source -> Embedding(mask_zero) -> GRU state -> decoder "
    "GRU(initial_state=state) over a padded decoder input -> Dense softmax; does the loss skip the "
    "padded target steps?",
    seq2seq_initial_state,
    Fit(DEC_Y, metrics=("accuracy",), optimizer="Adam", learning_rate=0.05, steps=STEPS),
    FitSpec((DEC_TARGET,), (ACCURACY,), on_batch=False),
    tags=("seq2seq", "gru", "embedding", "adam", "initial-state"),
)


# --- two outputs with loss_weights: tags (masked) and a per-sequence score ------------------------
SCORE = random_inputs("fit-score", (4, 1))


def tagger_and_score():
    import keras
    from keras import layers

    tokens = keras.Input((T,), dtype="int32", name="tokens")
    e = layers.Embedding(VOCAB, 4, mask_zero=True, name="embedding")(tokens)
    h = layers.GRU(5, return_sequences=True, name="rnn")(e)
    tags = layers.Dense(CLASSES, activation="softmax", name="tags")(h)
    score = layers.Dense(1, name="score")(layers.GlobalAveragePooling1D(name="pool")(h))
    return keras.Model(tokens, [tags, score]), [TOKENS]


_register(
    "fit/two-outputs-loss-weights",
    "Two outputs, masked tags (sparse categorical crossentropy, accuracy) and an unmasked per-sequence "
    "score (mse), loss_weights [1, 0.5], SGD: is the total loss the weighted sum, the tag loss over kept "
    "steps only?",
    tagger_and_score,
    Fit([TAGS, SCORE], loss=("sparse_categorical_crossentropy", "mse"), metrics=(("accuracy",), ()),
        loss_weights=[1.0, 0.5], optimizer="SGD", learning_rate=0.5, steps=STEPS),
    FitSpec((Target(TAGS, TAG_KEEP, "sparse_categorical_crossentropy", 1.0, output=0),
             Target(SCORE, None, "mse", 0.5, output=1)),
            (Metric("tags_accuracy", "sparse_categorical_accuracy"),), on_batch=False),
    tags=("gru", "embedding", "sgd", "multi-output", "loss-weights"),
    probes=("tags", "score"),
)


# --- repeated tokens: sparse embedding gradients under Adam -------------------------------------
REPEAT_KEEP = keep("111100", "111111", "011110", "000111")
REPEATS = np.array([[3, 3, 3, 5, 0, 0], [3, 5, 3, 5, 3, 5], [0, 2, 2, 2, 2, 0], [0, 0, 0, 7, 7, 3]],
                   dtype=np.int32)
REPEAT_Y = np.where(REPEAT_KEEP[..., None], random_inputs("fit-repeat-y", (4, T, 1)), 10.0).astype(np.float32)


def bag_of_repeats():
    import keras
    from keras import layers

    tokens = keras.Input((T,), dtype="int32", name="tokens")
    e = layers.Embedding(VOCAB, 3, mask_zero=True, name="embedding")(tokens)
    out = layers.Dense(1, name="head")(e)
    return keras.Model(tokens, out), [REPEATS]


_register(
    "fit/repeated-tokens-adam",
    "Embedding(mask_zero) -> Dense per step over rows that repeat the same token, mse, 5 Adam steps: "
    "do the sparse embedding gradients of repeated rows train the same on every backend?",
    bag_of_repeats,
    Fit(REPEAT_Y, loss="mse", metrics=("mae",), optimizer="Adam", learning_rate=0.05, steps=STEPS),
    FitSpec((Target(REPEAT_Y, REPEAT_KEEP, "mse"),), (Metric("mae", "mae"),), on_batch=False),
    tags=("embedding", "adam", "sparse-gradients"),
)

_register(
    "fit/repeated-tokens-sgd",
    "The same bag of repeated tokens with SGD: a control, as SGD's step is linear in the gradient.",
    bag_of_repeats,
    Fit(REPEAT_Y, loss="mse", metrics=("mae",), optimizer="SGD", learning_rate=0.1, steps=STEPS),
    FitSpec((Target(REPEAT_Y, REPEAT_KEEP, "mse"),), (Metric("mae", "mae"),), on_batch=False),
    tags=("embedding", "sgd", "sparse-gradients"),
)


# --- a sample_weight per sequence when the batch has as many rows as timesteps --------------------
SQUARE_KEEP = keep("111100", "001111", "101101", "111111", "111000", "011110")
SQUARE_TOKENS = masked_tokens(SQUARE_KEEP, vocab=VOCAB, seed="fit-square", same_values=False)
SQUARE_TAGS = _labels("square-tags", SQUARE_KEEP.shape)
SQUARE_WEIGHT = np.array([1.0, 0.1, 3.0, 0.5, 2.0, 0.25], dtype=np.float32)


def square_tagger():
    return dense_tagger(SQUARE_TOKENS)


_register(
    "fit/row-sample-weight-batch-equals-steps",
    "A sample_weight per sequence (documented: 1D, one weight per sample) on a masked (batch, time) "
    "output when the batch has as many rows (6) as timesteps (6): is each sequence weighted by its own "
    "weight? (With other batch sizes the same call raises: fit/tagging-gru-adam-sample-weight.)",
    square_tagger,
    Fit(SQUARE_TAGS, metrics=("accuracy",), weighted_metrics=("accuracy",), optimizer="SGD", learning_rate=0.5,
        steps=STEPS, sample_weight=SQUARE_WEIGHT),
    FitSpec((Target(SQUARE_TAGS, SQUARE_KEEP, "sparse_categorical_crossentropy"),),
            (ACCURACY, Metric("weighted_accuracy", "sparse_categorical_accuracy", weighted=True)),
            sample_weight=SQUARE_WEIGHT, on_batch=False),
    tags=("embedding", "sgd", "sample-weight"),
)


# --- minimal reproductions of what the scenarios above found ----------------------------------------
MIN_KEEP = np.array([[True, True, False], [True, False, False]])
MIN_X = np.array([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]]], dtype=np.float32)
MIN_Y = np.where(MIN_KEEP[..., None], 0.5 * MIN_X, 10.0).astype(np.float32)  # 10 at padded steps
MIN_TARGET = Target(MIN_Y, MIN_KEEP, "mse")


def masked_dense(data=MIN_X):
    import keras
    from keras import layers

    x = keras.Input((3, 1), name="x")
    out = layers.Dense(1, name="head")(layers.Masking(name="masking")(x))
    return keras.Model(x, out), [data]


_register(
    "fit/min-train-metric-reads-padding",
    "Minimal: Masking -> Dense(1), mse with an mae metric, one fit step and one train_on_batch step on 2 "
    "padded rows: is the mae that training reports over kept steps, as evaluate's is? (JAX: no)",
    masked_dense,
    Fit(MIN_Y, loss="mse", metrics=("mae",), learning_rate=0.1, steps=1, on_batch=True),
    FitSpec((MIN_TARGET,), (Metric("mae", "mae"),)),
    tags=("minimal", "sgd"),
)

MIN_ROW_WEIGHT = np.array([1.0, 3.0], dtype=np.float32)

_register(
    "fit/min-row-weight-with-mask",
    "Minimal: Masking -> Dense(1), mse, fit with a 1D sample_weight (one weight per sequence, as the fit "
    "docstring allows) on 2 rows of 3 masked steps: does the weight multiply the mask? (Every backend "
    "raises: (2,) times (2, 3).)",
    masked_dense,
    Fit(MIN_Y, loss="mse", learning_rate=0.1, steps=1, sample_weight=MIN_ROW_WEIGHT),
    FitSpec((MIN_TARGET,), sample_weight=MIN_ROW_WEIGHT, on_batch=False),
    tags=("minimal", "sgd", "sample-weight"),
)

SQUARE_MIN_KEEP = np.array([[True, True, False], [True, False, False], [True, True, True]])
SQUARE_MIN_X = np.array([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]], [[1.0], [1.0], [2.0]]], dtype=np.float32)
SQUARE_MIN_Y = np.where(SQUARE_MIN_KEEP[..., None], 0.5 * SQUARE_MIN_X, 10.0).astype(np.float32)
SQUARE_MIN_WEIGHT = np.array([1.0, 3.0, 0.5], dtype=np.float32)


def masked_dense_square():
    return masked_dense(SQUARE_MIN_X)


_register(
    "fit/min-row-weight-square-batch",
    "Minimal: the same 1D sample_weight with 3 rows of 3 steps: TensorFlow and JAX weigh step t by the "
    "weight of row t (the (3,) weights broadcast along time); PyTorch raises (an in-place multiply).",
    masked_dense_square,
    Fit(SQUARE_MIN_Y, loss="mse", learning_rate=0.1, steps=1, sample_weight=SQUARE_MIN_WEIGHT),
    FitSpec((Target(SQUARE_MIN_Y, SQUARE_MIN_KEEP, "mse"),), sample_weight=SQUARE_MIN_WEIGHT, on_batch=False),
    tags=("minimal", "sgd", "sample-weight"),
)
