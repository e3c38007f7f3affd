"""Recurrent layers under masks: every cell (SimpleRNN, GRU with reset_after True and False, LSTM)
with each option that changes how masked steps are handled.

All families use the standard batch of scenarios/_common.py: the same kept values in each row, at
different positions (holes 101101, right padding 111100, left padding 001111, fully masked 000000).
The C4 expectations ask, for every variant, (a) whether a masked step shows as 0 or as the previous
output, and (b) whether masked steps are skipped: rows holding the same kept values must give the
same outputs at their kept steps, wherever the masked steps are.
"""

import numpy as np

from harness import scenario
from scenarios._common import (
    RNN_KINDS,
    RNN_TITLES,
    STANDARD_ROWS,
    bits,
    close,
    expect,
    kept_steps_agree,
    make_rnn,
    mask_is,
    masked_floats,
    masked_steps_zero,
    n_states,
    row_is_zero,
    rows_agree,
    standard_batch,
    values_equal,
    zero_or_previous,
)

UNITS = 3
X, KEEP = standard_batch(features=2, seed="rnn")
SAME_ROWS = (0, 1, 2)  # holes, right-pad, left-pad: same kept values
ALL_MASKED = STANDARD_ROWS.index("all-masked")


def _masked_input(keras, layers):
    inp = keras.Input((X.shape[1], X.shape[2]), name="x")
    return inp, layers.Masking(mask_value=0.0, name="masking")(inp)


def _seq_expectations(kind, probe="rnn", initial=None, **kw):
    title = RNN_TITLES[kind]
    return [
        expect(f"C4: {title} masked steps show 0 or the previous output",
               zero_or_previous(probe, KEEP, initial=initial, **kw), claim="C4"),
        expect(f"C4: {title} skips masked steps (kept outputs independent of padding)",
               kept_steps_agree(probe, KEEP, SAME_ROWS, **kw), claim="C4"),
    ]


# --- return_sequences=True --------------------------------------------------------------------
def _family_sequences(kind):
    @scenario(
        f"rnn/{kind}-sequences",
        description=f"Does {RNN_TITLES[kind]}(return_sequences=True) skip masked steps, holding the "
                    f"previous output (right/left padding, holes, fully masked row)?",
        tags=("rnn", kind, "masking", "C4"),
        expect=[*_seq_expectations(kind),
                expect("output mask equals the input mask", mask_is("rnn", KEEP))],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = make_rnn(kind, UNITS, "rnn", return_sequences=True)(m)
        return keras.Model(inp, out), [X]


# --- return_sequences=False -------------------------------------------------------------------
def _family_last(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-last",
        description=f"Is {title}'s last output the state after its last kept step, wherever the "
                    f"padding is, and 0 for a fully masked row?",
        tags=("rnn", kind, "masking", "C4"),
        expect=[
            expect(f"C4: {title} last output independent of padding", rows_agree("rnn", SAME_ROWS),
                   claim="C4"),
            expect(f"C4: {title} fully masked row shows 0", row_is_zero("rnn", ALL_MASKED), claim="C4"),
            expect("last output carries no mask", mask_is("rnn", None)),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = make_rnn(kind, UNITS, "rnn")(m)
        return keras.Model(inp, out), [X]


# --- return_state ------------------------------------------------------------------------------
def _last_kept_equals_state(kind):
    def check(c):
        seq, h = c.output("rnn"), c.output("rnn[1]")
        bad = []
        for b in range(KEEP.shape[0]):
            kept = np.flatnonzero(KEEP[b])
            want = seq[b, kept[-1]] if kept.size else np.zeros_like(h[b])
            if not close(h[b], want):
                bad.append(b)
        return not bad, f"state h vs output at last kept step: rows differing {bad or 'none'}"

    return check


def _states_have_no_mask(kind):
    def check(c):
        got = {f"rnn[{i}]": bits(c.mask(f"rnn[{i}]")) for i in range(1, n_states(kind) + 1)}
        return all(v == "no mask" for v in got.values()), ", ".join(f"{k} {v}" for k, v in got.items())

    return check


def _family_return_state(kind):
    title = RNN_TITLES[kind]
    state_checks = [expect(f"C4: {title} state {i} independent of padding", rows_agree(f"rnn[{i}]", SAME_ROWS),
                           claim="C4") for i in range(1, n_states(kind) + 1)]

    @scenario(
        f"rnn/{kind}-return-state",
        description=f"With return_state, is {title}'s final state the one after the last kept step "
                    f"(and the initial zeros for a fully masked row)?",
        tags=("rnn", kind, "masking", "return_state", "C4"),
        expect=[
            expect(f"C4: {title} final h equals the output at the last kept step",
                   _last_kept_equals_state(kind), claim="C4"),
            *state_checks,
            expect("states carry no mask", _states_have_no_mask(kind)),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        outs = make_rnn(kind, UNITS, "rnn", return_sequences=True, return_state=True)(m)
        return keras.Model(inp, outs), [X]


# --- go_backwards --------------------------------------------------------------------------------
def _family_go_backwards(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-go-backwards",
        description=f"Does {title}(go_backwards=True) skip masked steps in reverse order, and is the "
                    f"output mask reversed along with the outputs?",
        tags=("rnn", kind, "masking", "go_backwards", "C4"),
        expect=[
            *_seq_expectations(kind, reverse=True),
            expect("output mask is reversed along with the (reversed) outputs",
                   mask_is("rnn", KEEP[:, ::-1].copy())),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = make_rnn(kind, UNITS, "rnn", return_sequences=True, go_backwards=True)(m)
        return keras.Model(inp, out), [X]


# --- unroll --------------------------------------------------------------------------------------
def _family_unroll(kind):
    @scenario(
        f"rnn/{kind}-unroll",
        description=f"Does an unrolled {RNN_TITLES[kind]} (unroll=True) treat masked steps like the "
                    f"looped one?",
        tags=("rnn", kind, "masking", "unroll", "C4"),
        expect=[*_seq_expectations(kind),
                expect("output mask equals the input mask", mask_is("rnn", KEEP))],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = make_rnn(kind, UNITS, "rnn", return_sequences=True, unroll=True)(m)
        return keras.Model(inp, out), [X]


# --- zero_output_for_mask ------------------------------------------------------------------------
def _family_zero_output(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-zero-output",
        description=f"With zero_output_for_mask=True, are {title}'s masked steps exactly 0 while the "
                    f"state still skips them?",
        tags=("rnn", kind, "masking", "zero_output_for_mask", "C4"),
        expect=[*_seq_expectations(kind),
                expect("masked steps are exactly 0", masked_steps_zero("rnn", KEEP, atol=0.0))],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = make_rnn(kind, UNITS, "rnn", return_sequences=True, zero_output_for_mask=True)(m)
        return keras.Model(inp, out), [X]


# --- stacked -------------------------------------------------------------------------------------
def _family_stacked(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-stacked",
        description=f"In three stacked {title} layers, does the mask reach the second and third, "
                    f"so each skips the same steps?",
        tags=("rnn", kind, "masking", "stacked", "C4"),
        expect=[
            *_seq_expectations(kind, probe="rnn_1"),
            *[expect(f"C4: stacked {title} (rnn_2) masked steps show 0 or the previous output",
                     zero_or_previous("rnn_2", KEEP), claim="C4"),
              expect(f"C4: stacked {title} (rnn_2) skips masked steps",
                     kept_steps_agree("rnn_2", KEEP, SAME_ROWS), claim="C4"),
              expect(f"C4: stacked {title} (rnn_3) last output independent of padding",
                     rows_agree("rnn_3", SAME_ROWS), claim="C4")],
            expect("rnn_2 output mask equals the input mask", mask_is("rnn_2", KEEP)),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        h = make_rnn(kind, UNITS, "rnn_1", return_sequences=True)(m)
        h = make_rnn(kind, UNITS, "rnn_2", return_sequences=True)(h)
        out = make_rnn(kind, UNITS, "rnn_3")(h)
        return keras.Model(inp, out), [X]


# --- Bidirectional -------------------------------------------------------------------------------
def _family_bidirectional(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-bidirectional-sequences",
        description=f"Does Bidirectional({title}, return_sequences=True) skip masked steps in both "
                    f"directions and keep the mask aligned with the input?",
        tags=("rnn", kind, "masking", "bidirectional", "C4"),
        expect=[
            expect(f"C4: Bidirectional {title} forward half masked steps show 0 or previous",
                   zero_or_previous("birnn", KEEP, units_slice=slice(0, UNITS)), claim="C4"),
            expect(f"C4: Bidirectional {title} backward half masked steps show 0 or previous",
                   zero_or_previous("birnn", KEEP, units_slice=slice(UNITS, None), flip=True), claim="C4"),
            expect(f"C4: Bidirectional {title} skips masked steps (kept outputs independent of padding)",
                   kept_steps_agree("birnn", KEEP, SAME_ROWS), claim="C4"),
            expect("output mask equals the input mask", mask_is("birnn", KEEP)),
        ],
    )
    def build_sequences():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = layers.Bidirectional(make_rnn(kind, UNITS, "rnn", return_sequences=True), name="birnn")(m)
        return keras.Model(inp, out), [X]


def _family_bidirectional_last(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-bidirectional-last",
        description=f"Is Bidirectional({title})'s last state independent of the padding, and 0 for a "
                    f"fully masked row?",
        tags=("rnn", kind, "masking", "bidirectional", "C4"),
        expect=[
            expect(f"C4: Bidirectional {title} last output independent of padding",
                   rows_agree("birnn", SAME_ROWS), claim="C4"),
            expect(f"C4: Bidirectional {title} fully masked row shows 0", row_is_zero("birnn", ALL_MASKED),
                   claim="C4"),
        ],
    )
    def build_last():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        out = layers.Bidirectional(make_rnn(kind, UNITS, "rnn"), name="birnn")(m)
        return keras.Model(inp, out), [X]


# --- initial_state -------------------------------------------------------------------------------
def _initial_states(kind):
    # the same initial state in every row, so rows with the same kept values stay comparable
    base = np.array([[0.3, -0.2, 0.1]], dtype=np.float32)
    return [np.repeat(base * (i + 1), X.shape[0], axis=0) for i in range(n_states(kind))]


def _fully_masked_keeps_initial_state(kind):
    def check(c):
        states = _initial_states(kind)
        got = [c.output(f"rnn[{i + 1}]")[ALL_MASKED] for i in range(len(states))]
        ok = all(close(g, s[ALL_MASKED]) for g, s in zip(got, states))
        return ok, "fully masked row final state " + "; ".join(
            f"{np.round(g, 3).tolist()} vs initial {s[ALL_MASKED].tolist()}" for g, s in zip(got, states))

    return check


def _family_initial_state(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-initial-state",
        description=f"With an initial_state, what do {title}'s masked steps show, and does a fully "
                    f"masked row keep the initial state?",
        tags=("rnn", kind, "masking", "initial_state", "C4"),
        expect=[
            *_seq_expectations(kind, initial=_initial_states(kind)[0]),
            expect(f"C4: {title} fully masked row keeps the initial state",
                   _fully_masked_keeps_initial_state(kind), claim="C4"),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp, m = _masked_input(keras, layers)
        states_in = [keras.Input((UNITS,), name=f"s{i}") for i in range(n_states(kind))]
        outs = make_rnn(kind, UNITS, "rnn", return_sequences=True, return_state=True)(
            m, initial_state=states_in)
        return keras.Model([inp, *states_in], outs), [X, *_initial_states(kind)]


# --- all steps kept vs no mask -------------------------------------------------------------------
X_FULL = masked_floats(np.ones((2, X.shape[1]), dtype=bool), features=2, seed="rnn-full", same_values=False)


def _family_all_kept(kind):
    title = RNN_TITLES[kind]

    @scenario(
        f"rnn/{kind}-all-kept",
        description=f"With no masked step, is {title} behind Masking identical to {title} without "
                    f"any mask?",
        tags=("rnn", kind, "masking", "no-masked-step"),
        expect=[
            expect("masked path equals unmasked path", values_equal("with_mask", "without_mask")),
            expect("mask is all ones", mask_is("with_mask", np.ones(X_FULL.shape[:2], dtype=bool))),
        ],
    )
    def build():
        import keras
        from keras import layers

        inp = keras.Input(X_FULL.shape[1:], name="x")
        rnn = make_rnn(kind, UNITS, "rnn", return_sequences=True)  # shared: both paths, same weights
        a = rnn(layers.Masking(name="masking")(inp))
        b = rnn(inp)
        a = layers.Activation("linear", name="with_mask")(a)
        b = layers.Activation("linear", name="without_mask")(b)
        return keras.Model(inp, [a, b]), [X_FULL]


# every cell: the options whose masked-step handling is backend code (scan / unrolled loop /
# reversed scan); GRU and LSTM (the seed's cell and the one with two states): the rest
for _kind in RNN_KINDS:
    _family_sequences(_kind)
    _family_last(_kind)
    _family_go_backwards(_kind)
    _family_unroll(_kind)
for _kind in ("gru", "lstm"):
    _family_return_state(_kind)
    _family_zero_output(_kind)
    _family_bidirectional(_kind)
    _family_initial_state(_kind)
_family_bidirectional_last("lstm")
_family_stacked("gru")
_family_all_kept("gru")
