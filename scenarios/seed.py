"""The seed experiment (../shared/SEED.md), in Keras 3 spelling: three masked inputs, concatenated,
three stacked GRUs, a dense head. The test input masks timesteps 0, 2 and 4 in all three inputs."""

import numpy as np

from harness import Expectation, Train, scenario

SEED_MASK = np.array([[False, True, False, True, False]])
NUM = np.array([[[0, 0, 0], [1, 2, 3], [0, 0, 0], [1, 2, 3], [0, 0, 0]]], dtype="float32")
CODES = np.array([[[0], [1], [0], [1], [0]]], dtype="float32")
Y = np.array([[0.0, 1.0]], dtype="float32")


def build_seed_model():
    import keras
    from keras import layers

    num = keras.Input((5, 3), name="num")
    version = keras.Input((5, 1), name="version")
    missing = keras.Input((5, 1), name="missing")
    m_num = layers.Masking(mask_value=0.0, name="M_num")(num)
    v = layers.Reshape((5,), name="reshape_version")(version)
    m_version = layers.Embedding(180, 2, mask_zero=True, name="M_version")(v)
    m = layers.Reshape((5,), name="reshape_missing")(missing)
    m_missing = layers.Embedding(4, 1, mask_zero=True, name="M_missing")(m)
    x = layers.concatenate([m_num, m_version, m_missing], axis=-1, name="concate")
    x = layers.GRU(3, return_sequences=True, name="gru_1")(x)
    x = layers.GRU(3, return_sequences=True, name="gru_2")(x)
    x = layers.GRU(3, name="gru_3")(x)
    x = layers.Dense(2, name="dense_ft")(x)
    outputs = layers.Activation("softmax", name="outputs")(x)
    return keras.Model([num, version, missing], outputs, name="rnn_model")


def _mask_is_seed_pattern(probe):
    def check(c):
        mask = c.mask(probe)
        shown = "no mask" if mask is None else "".join("1" if m else "0" for m in mask[0])
        return mask is not None and np.array_equal(mask, SEED_MASK), f"{probe} mask {shown}"

    return Expectation(f"{probe} mask is 01010", check)


def _gru_holds_previous_step(c):
    """C4, as the seed saw it: a masked step repeats the previous output (or 0 before any kept step)."""
    out = c.output("gru_1")[0]
    zero_first = np.allclose(out[0], 0.0)
    repeats = np.allclose(out[2], out[1]) and np.allclose(out[4], out[3])
    return zero_first and repeats, (f"gru_1 step0 {'=0' if zero_first else '!=0'}, "
                                   f"steps 2,4 {'repeat' if repeats else 'differ from'} steps 1,3")


@scenario(
    "seed/rnn-model",
    description="The seed's model and input: are masks 0,1,0,1,0 and do the backends agree?",
    tags=("seed", "rnn", "gru", "embedding", "masking", "concatenate"),
    expect=[
        *(_mask_is_seed_pattern(p) for p in ("M_num", "M_version", "M_missing", "concate",
                                              "gru_1", "gru_2")),
        Expectation("gru_1 masked steps hold the previous output", _gru_holds_previous_step,
                    claim="C4"),
    ],
)
def seed_rnn_model():
    return build_seed_model(), [NUM, CODES, CODES]


@scenario(
    "seed/rnn-model-train",
    description="The seed's model, categorical cross-entropy and one Adam step: same gradients?",
    tags=("seed", "training", "gradients", "adam", "embedding"),
    probes=("gru_1", "outputs"),
    train=Train(targets=Y, loss="CategoricalCrossentropy", optimizer="Adam", learning_rate=1e-4),
)
def seed_rnn_model_train():
    return build_seed_model(), [NUM, CODES, CODES]


@scenario(
    "seed/adam-repeated-index",
    description="Minimal form of the seed-train divergence: one Adam step on an Embedding row used twice",
    tags=("seed", "training", "optimizer", "embedding", "adam"),
    train=Train(targets=np.zeros((1, 2, 1), dtype="float32"), loss="MeanSquaredError",
                optimizer="Adam", learning_rate=1e-3),
)
def seed_adam_repeated_index():
    import keras

    codes = keras.Input((2,), dtype="int32", name="codes")
    vectors = keras.layers.Embedding(4, 1, name="embedding")(codes)
    return keras.Model(codes, vectors), [np.array([[1, 1]], dtype="int32")]
