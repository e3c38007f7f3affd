"""timedistributed/: TimeDistributed given a mask whose number of timesteps is not the input's.

keras-team/keras#22037 (open): Keras 3.8.0 raised ValueError ("`TimeDistributed` Layer should be
passed a `mask` of shape (batch, timesteps, ...)"), 3.9.0 to 3.13.1 accept the wrong mask silently;
#22039 (merged) restores the check. The version runs show which releases raise. A matching mask is
the control: the wrapped Dense keeps it.
"""

from __future__ import annotations

import numpy as np

from harness import scenario
from scenarios._common import expect, keep, mask_is, masked_floats, raised

THEME = "theme:timedistributed"
X = np.linspace(-1.0, 1.0, 4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
WRONG_MASK = np.ones((4, 6), dtype=bool)  # one timestep too many, as in the issue
RIGHT_KEEP = keep("11100", "10101", "00111", "11111")


@scenario("timedistributed/mask-wrong-timesteps", tags=(THEME, "timedistributed", "explicit-mask"),
          upstream=("keras-team/keras#22037", "keras-team/keras#22039"),
          description="TimeDistributed(Dense) called on (4, 5, 3) inputs with an explicit (4, 6) mask: "
                      "does it refuse the mask, as Keras 3.8 did?",
          expect=[expect("a mask with the wrong number of timesteps raises ValueError", raised("ValueError"),
                         needs_output=False)])
def wrong_timesteps():
    import keras
    from keras import layers

    x = keras.Input((5, 3), name="x")
    mask = keras.Input((6,), dtype="bool", name="mask")
    out = layers.TimeDistributed(layers.Dense(2, name="dense"), name="td")(x, mask=mask)
    return keras.Model([x, mask], out), [X, WRONG_MASK]


@scenario("timedistributed/mask-after-masking", tags=(THEME, "timedistributed", "masking"),
          upstream=("keras-team/keras#22037",),
          description="Masking -> TimeDistributed(Dense): the control, a mask with the right timesteps, kept "
                      "by the wrapper",
          expect=[expect("TimeDistributed's output mask is the Masking mask", mask_is("td", RIGHT_KEEP))])
def after_masking():
    import keras
    from keras import layers

    x = keras.Input((5, 3), name="x")
    out = layers.TimeDistributed(layers.Dense(2), name="td")(layers.Masking(0.0, name="masking")(x))
    return keras.Model(x, out), masked_floats(RIGHT_KEEP, features=3, seed="timedistributed/x")
