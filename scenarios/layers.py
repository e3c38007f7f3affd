"""Pass-through and mask-destroying layers between a Masking layer and a GRU.

A pass-through layer keeps the mask, so the GRU after it still skips masked steps (the layer's
output at a masked step is not 0 in general, so an unmasked GRU would move there). A layer that
does not support masking drops it with a warning (the C1 scenarios ask whether it should raise).
Also: custom layers that declare supports_masking or compute their own mask, Lambda with mask=,
time-changing layers (cropping, padding, upsampling, pooling), and Masking's own rule (a step is
masked only if *every* feature equals mask_value).
"""

import numpy as np

from harness import scenario
from scenarios._common import (
    bits,
    expect,
    keep,
    kept_steps_agree,
    mask_is,
    masked_floats,
    no_warning,
    warned,
    zero_or_previous,
)

KEEP = keep("holes", "right-pad", "left-pad")
X = masked_floats(KEEP, features=2, seed="layers")

PASS_THROUGH = {
    "dense": ("Dense", lambda L: L.Dense(3, name="under_test")),
    "time-distributed-dense": ("TimeDistributed(Dense)",
                               lambda L: L.TimeDistributed(L.Dense(3, name="inner_dense"), name="under_test")),
    "layer-normalization": ("LayerNormalization", lambda L: L.LayerNormalization(name="under_test")),
    "dropout": ("Dropout", lambda L: L.Dropout(0.5, name="under_test")),
    "activation": ("Activation(sigmoid)", lambda L: L.Activation("sigmoid", name="under_test")),
}


def _pass_through(key):
    title, make = PASS_THROUGH[key]

    @scenario(
        f"layers/pass-{key}",
        description=f"Does {title} between Masking and a GRU pass the mask on unchanged, so the GRU "
                    f"still skips the masked steps?",
        tags=("layers", "pass-through", "masking", "gru", key),
        expect=[
            expect(f"{title} passes the mask on unchanged", mask_is("under_test", KEEP)),
            expect(f"the GRU after {title} skips masked steps", zero_or_previous("rnn", KEEP)),
            expect(f"the GRU after {title}: kept outputs independent of padding", kept_steps_agree("rnn", KEEP)),
            expect("no 'destroys the mask' warning", no_warning("does not support masking"),
                   needs_output=False),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(X.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        h = make(layers)(m)
        out = layers.GRU(3, return_sequences=True, name="rnn")(h)
        return keras.Model(inp, out), [X]


for _key in PASS_THROUGH:
    _pass_through(_key)


DESTROYING = {
    "permute": ("Permute((2, 1))", lambda L: L.Permute((2, 1), name="under_test"), False),
    "cropping1d": ("Cropping1D((1, 1))", lambda L: L.Cropping1D((1, 1), name="under_test"), True),
    "max-pooling1d": ("MaxPooling1D(2)", lambda L: L.MaxPooling1D(2, name="under_test"), True),
}


def _destroying(key):
    title, make, has_time = DESTROYING[key]

    @scenario(
        f"layers/drop-{key}",
        description=f"Does {title} after Masking warn and drop the mask (nothing reaches the layer after "
                    f"it), or adapt the mask to its output?",
        tags=("layers", "mask-destroying", "masking", key),
        expect=[
            expect(f"{title} warns that it drops the mask", warned("does not support masking"),
                   needs_output=False),
            expect(f"the layer after {title} still sees a mask", lambda c: (
                c.mask("after") is not None, f"after mask {bits(c.mask('after'))}")),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(X.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        h = make(layers)(m)
        out = layers.Dense(2, name="after")(h) if has_time else layers.Activation("linear", name="after")(h)
        return keras.Model(inp, out), [X]


for _key in DESTROYING:
    _destroying(_key)


# --- Lambda with mask= ------------------------------------------------------------------------
@scenario(
    "layers/lambda-mask-passthrough",
    description="Lambda(fn, mask=lambda inputs, mask: mask): does the mask reach a GRU after it?",
    tags=("layers", "lambda", "masking", "gru"),
    expect=[
        expect("Lambda with mask= passes the mask", mask_is("under_test", KEEP)),
        expect("the GRU after it skips masked steps", zero_or_previous("rnn", KEEP)),
        expect("no 'destroys the mask' warning", no_warning("does not support masking"), needs_output=False),
    ],
)
def lambda_mask_passthrough():
    import keras
    from keras import layers

    inp = keras.Input(X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = layers.Lambda(lambda t: t * 2.0 + 1.0, mask=lambda inputs, mask: mask, name="under_test")(m)
    out = layers.GRU(3, return_sequences=True, name="rnn")(h)
    return keras.Model(inp, out), [X]


# Lambda computing a new mask: keep only steps whose first feature is positive (and were kept)
LAMBDA_KEEP = KEEP & (X[..., 0] > 0)


def _lambda_mask_function(name, fn, title):
    @scenario(
        f"layers/{name}",
        description=f"Lambda({title}) with a mask function that narrows the mask (first feature > 0): "
                    f"does the GRU after it follow the new mask?",
        tags=("layers", "lambda", "masking", "gru", "compute_mask"),
        expect=[
            expect("Lambda's mask function sets the mask", mask_is("under_test", LAMBDA_KEEP)),
            expect("the GRU follows the narrowed mask", zero_or_previous("rnn", LAMBDA_KEEP)),
        ],
    )
    def build():
        import keras
        from keras import layers

        def narrow(inputs, mask):
            return keras.ops.logical_and(mask, inputs[..., 0] > 0)

        inp = keras.Input(X.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        h = layers.Lambda(fn, mask=narrow, name="under_test")(m)
        out = layers.GRU(3, return_sequences=True, name="rnn")(h)
        return keras.Model(inp, out), [X]


# a new tensor, and the input tensor itself (which already carries the Masking layer's mask)
_lambda_mask_function("lambda-mask-function", lambda t: t * 1.0, "lambda t: t * 1.0")
_lambda_mask_function("lambda-identity-mask-function", lambda t: t, "lambda t: t")


# --- custom layers ------------------------------------------------------------------------------
@scenario(
    "layers/custom-supports-masking",
    description="A custom layer that only sets supports_masking=True: is the incoming mask passed on "
                "to the GRU after it?",
    tags=("layers", "custom", "masking", "gru"),
    expect=[
        expect("custom layer passes the mask", mask_is("under_test", KEEP)),
        expect("the GRU after it skips masked steps", zero_or_previous("rnn", KEEP)),
    ],
)
def custom_supports_masking():
    import keras
    from keras import layers

    class Shift(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return inputs + 1.0

    inp = keras.Input(X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = Shift(name="under_test")(m)
    out = layers.GRU(3, return_sequences=True, name="rnn")(h)
    return keras.Model(inp, out), [X]


DROP_FIRST_KEEP = KEEP[:, 1:]


@scenario(
    "layers/custom-compute-mask",
    description="A custom layer that drops the first timestep and slices the mask in compute_mask: "
                "does the GRU after it follow the sliced mask?",
    tags=("layers", "custom", "masking", "gru", "compute_mask"),
    expect=[
        expect("compute_mask's sliced mask is attached", mask_is("under_test", DROP_FIRST_KEEP)),
        expect("the GRU follows the sliced mask", zero_or_previous("rnn", DROP_FIRST_KEEP)),
    ],
)
def custom_compute_mask():
    import keras
    from keras import layers

    class DropFirstStep(keras.layers.Layer):
        def call(self, inputs):
            return inputs[:, 1:]

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else mask[:, 1:]

        def compute_output_shape(self, input_shape):
            return (input_shape[0], None if input_shape[1] is None else input_shape[1] - 1, input_shape[2])

    inp = keras.Input(X.shape[1:], name="x")
    m = layers.Masking(name="masking")(inp)
    h = DropFirstStep(name="under_test")(m)
    out = layers.GRU(3, return_sequences=True, name="rnn")(h)
    return keras.Model(inp, out), [X]


# --- Masking's own rule ---------------------------------------------------------------------------
MV_X = np.array([[[-1.0, -1.0], [-1.0, 0.5], [0.0, 0.0], [0.3, -1.0], [-1.0, -1.0]],
                 [[0.2, 0.4], [-1.0, -1.0], [-1.0, -1.0], [0.0, -1.0], [0.7, 0.1]]], dtype=np.float32)
MV_KEEP = ~np.all(MV_X == -1.0, axis=-1)


def _masked_steps_zeroed(c):
    out = c.output("masking")
    worst = float(np.max(np.abs(out[~MV_KEEP])))
    kept_same = bool(np.array_equal(out[MV_KEEP], MV_X[MV_KEEP]))
    return worst == 0.0 and kept_same, (f"masked steps max |out| {worst}; kept steps "
                                        f"{'unchanged' if kept_same else 'changed'}")


@scenario(
    "layers/masking-mask-value",
    description="Masking(mask_value=-1): is a step masked only when every feature equals -1 (a step "
                "with one -1, or all zeros, stays kept), and are masked steps' values set to 0?",
    tags=("layers", "masking"),
    expect=[
        expect("masked exactly where every feature is -1", mask_is("masking", MV_KEEP)),
        expect("masked steps are output as 0, kept steps unchanged", _masked_steps_zeroed),
        expect("the GRU after it skips those steps", zero_or_previous("rnn", MV_KEEP)),
    ],
)
def masking_mask_value():
    import keras
    from keras import layers

    inp = keras.Input(MV_X.shape[1:], name="x")
    m = layers.Masking(mask_value=-1.0, name="masking")(inp)
    out = layers.GRU(3, return_sequences=True, name="rnn")(m)
    return keras.Model(inp, out), [MV_X]
