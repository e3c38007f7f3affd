"""Mixed precision (mixed_float16, mixed_bfloat16) for the main recurrent cases, plus the float32
baseline where a dtype changes what Masking sees.

Masked steps are still selected with `where`, so "repeats the previous output" stays exact; the
agreement of kept outputs across rows is checked with a tolerance fitted to 16-bit arithmetic.
"""

import numpy as np

from harness import scenario
from scenarios._common import (
    RNN_TITLES,
    expect,
    kept_steps_agree,
    make_rnn,
    mask_is,
    standard_batch,
    zero_or_previous,
)

POLICIES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
LOW_ATOL = {"float16": 5e-3, "bfloat16": 3e-2}
X, KEEP = standard_batch(features=2, seed="dtypes")
SAME_ROWS = (0, 1, 2)


def _computed_in(probe, dtype):
    def check(c):
        got = c.probes[probe].dtype
        return got == dtype, f"{probe} dtype {got}"

    return check


def _sequences(kind, policy):
    title = RNN_TITLES[kind]
    dtype = POLICIES[policy]

    @scenario(
        f"dtypes/{kind}-sequences-{policy}",
        description=f"Under {policy}, does {title}(return_sequences=True) still skip masked steps, "
                    f"holding the previous output?",
        tags=("dtypes", policy, "rnn", kind, "masking", "C4"),
        dtype_policy=policy,
        expect=[
            expect(f"C4: {title} under {policy}: masked steps show 0 or the previous output",
                   zero_or_previous("rnn", KEEP), claim="C4"),
            expect(f"C4: {title} under {policy}: kept outputs independent of padding",
                   kept_steps_agree("rnn", KEEP, SAME_ROWS, atol=LOW_ATOL[dtype]), claim="C4"),
            expect(f"output computed in {dtype}", _computed_in("rnn", dtype)),
            expect("output mask equals the input mask", mask_is("rnn", KEEP)),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(X.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        out = make_rnn(kind, 3, "rnn", return_sequences=True)(m)
        return keras.Model(inp, out), [X]


# a step of tiny values: 1e-8 is below float16's smallest subnormal (6e-8) and becomes 0 there
TINY = np.array([[[0.5, -0.5], [1e-8, 1e-8], [0.0, 0.0], [0.25, 0.75]],
                 [[3e-8, 0.0], [0.1, 0.2], [1e-8, -1e-8], [0.0, 0.0]]], dtype=np.float32)
TINY_KEEP = np.any(TINY != 0.0, axis=-1)  # what float32 Masking(0) gives


def _tiny(policy):
    label = policy or "float32"

    @scenario(
        f"dtypes/masking-tiny-values-{label}",
        description=f"Under {label}, does Masking(0) keep a step whose values are tiny but nonzero "
                    f"(1e-8), as float32 does, or do they round to 0 and get masked?",
        tags=("dtypes", label, "masking"),
        dtype_policy=policy,
        expect=[expect("steps with tiny nonzero values stay kept (float32 mask)", mask_is("masking", TINY_KEEP))],
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(TINY.shape[1:], name="x")
        m = layers.Masking(name="masking")(inp)
        out = layers.GRU(2, return_sequences=True, name="rnn")(m)
        return keras.Model(inp, out), [TINY]


for _policy in POLICIES:
    _sequences("gru", _policy)
    _sequences("lstm", _policy)
for _policy in (None, *POLICIES):
    _tiny(_policy)
