"""Known divergences are fingerprints: the registry's loader, and matching that fails when loosened.

For each real entry of scenarios/known_divergences.toml, a synthetic pair shaped like the real
divergence is known, and a planted difference of the wrong direction, size, backend, message or probe
next to it is reported as new (its raw verdict, with the entry's reason), never absorbed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.compare import verdicts
from harness.compare.known import KnownDivergenceError, load_known, load_surprises
from harness.compare.version_range import VersionRangeError, in_range, version_key
from tests.helpers.factories import JAX, TF, TORCH, expectation, make_artifact, make_probe, make_record, three_runs
from tests.helpers.known_builders import entry

REGISTRY = Path(__file__).resolve().parents[1] / "scenarios" / "known_divergences.toml"


@pytest.fixture(scope="module")
def real():
    return load_known(REGISTRY)


def judged(runs, known):
    return verdicts.compare(runs, known)


def assert_known(result, scenario, pair, entry_id):
    got = result.get(scenario, *pair)
    assert got.verdict == "known", (got.raw_verdict, got.known_note)
    assert entry_id in [e.id for e in got.explained_by]


def assert_new(result, scenario, pair, raw, reason=""):
    """Reported as its raw verdict (a finding), with the entry's reason when one named it."""
    got = result.get(scenario, *pair)
    assert (got.verdict, got.raw_verdict) == (raw, raw)
    assert got.known is None and got.explained_by == ()
    assert reason in got.known_note and reason in got.detail
    assert verdicts.scenario_verdict(result, scenario) not in verdicts.EXPECTED


# ---- the JAX RNN initial-state rule ------------------------------------------------------------------
KEEP = np.array([[False, True, True], [True, True, False]])


def rnn_probe(masked_value: float = 0.0, kept_shift: float = 0.0, at=(0, 0)):
    values = np.linspace(0.1, 0.6, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3) * KEEP[..., None]
    values[at + (1,)] += np.float32(masked_value)
    values[1, 1, 0] += np.float32(kept_shift)
    return make_probe(values, KEEP)


def initial_state_runs(tf=None, jax=None, torch=None, name="explicit/gru-initial-state-with-mask"):
    base = {"rnn": rnn_probe()}
    return three_runs(*([make_record(name, probes or base)] for probes in (tf, jax, torch)))


def test_initial_state_rule_is_known_as_described(real):
    result = judged(initial_state_runs(jax={"rnn": rnn_probe(0.3)}), real)
    for pair in ((TF, JAX), (JAX, TORCH)):
        assert_known(result, "explicit/gru-initial-state-with-mask", pair, "jax-rnn-masked-step-outputs-initial-state")
    assert result.get("explicit/gru-initial-state-with-mask", TF, TORCH).verdict == "match"


@pytest.mark.parametrize("planted,raw,reason", [
    ({"torch": {"rnn": rnn_probe(0.3)}}, "differs-masked-only", ""),  # torch is the odd one: no entry names it
    ({"jax": {"rnn": rnn_probe(50.0)}}, "differs-masked-only", "outside [0.01, 10]"),  # too large
    ({"jax": {"rnn": rnn_probe(0.003)}}, "differs-masked-only", "outside [0.01, 10]"),  # too small
    ({"jax": {"rnn": rnn_probe(0.3)}, "tf": {"rnn": rnn_probe(0.1)}}, "differs-masked-only",
     "not 0 where they differ"),  # TensorFlow is not 0 there: another rule
    ({"jax": {"rnn": rnn_probe(0.3, kept_shift=0.2)}}, "differs", "probe rnn is differs"),  # kept steps too
    ({"jax": {"rnn": rnn_probe(0.3), "other": rnn_probe(0.3)}, "tf": {"rnn": rnn_probe(), "other": rnn_probe()}},
     "differs-masked-only", "probe other is not one this cause touches"),  # another probe differs the same way
])
def test_initial_state_rule_refuses_a_planted_difference(real, planted, raw, reason):
    runs = initial_state_runs(**planted)
    result = judged(runs, real)
    odd_pair = (TF, TORCH) if "torch" in planted else (TF, JAX)
    assert_new(result, "explicit/gru-initial-state-with-mask", odd_pair, raw, reason)


# ---- the TensorFlow Adam step on repeated Embedding rows ------------------------------------------------
def adam_probes(step_delta: float = 0.0, grad_delta: float = 0.0):
    grad = np.array([[0.0], [-0.16274728], [0.0], [0.0]], dtype=np.float32)
    step = np.array([[0.49299228], [-0.08037367], [-0.24487674], [0.1153647]], dtype=np.float32)
    step[1, 0] += np.float32(step_delta)
    grad[1, 0] += np.float32(grad_delta)
    return {"grad/embedding#0": make_probe(grad), "step/embedding#0": make_probe(step)}


def adam_runs(tf=None, jax=None, torch=None):
    name = "seed/adam-repeated-index"
    return three_runs(*([make_record(name, p or adam_probes())] for p in (tf, jax, torch)))


def test_tf_adam_step_is_known_as_described(real):
    result = judged(adam_runs(tf=adam_probes(4.142e-4)), real)  # (sqrt(2) - 1) * lr, along -grad
    for pair in ((TF, JAX), (TF, TORCH)):
        assert_known(result, "seed/adam-repeated-index", pair, "tf-adam-sparse-embedding-step")


@pytest.mark.parametrize("planted,pair,reason", [
    ({"tf": adam_probes(-4.142e-4)}, (TF, JAX), "further along the descent direction"),  # wrong direction
    ({"tf": adam_probes(1e-3)}, (TF, JAX), "outside [0.0004, 0.00042]"),  # wrong size
    ({"jax": adam_probes(4.142e-4)}, (TF, JAX), ""),  # JAX is the odd one: the entry names TensorFlow
    ({"tf": adam_probes(4.142e-4, grad_delta=0.01)}, (TF, JAX), "not one this cause touches"),  # gradients too
])
def test_tf_adam_step_refuses_a_planted_difference(real, planted, pair, reason):
    assert_new(judged(adam_runs(**planted), real), "seed/adam-repeated-index", pair, "differs", reason)


def fit_probes(embedding: float = 0.0, head: float = 0.0, mae: float = 0.0, loss: float = 0.0, t5=True):
    probes = {
        "fit/history/loss": make_probe(np.array([0.5, 0.4], np.float32) + np.float32(loss)),
        "fit/history/mae": make_probe(np.array([0.6, 0.5], np.float32) + np.float32(mae)),
        "fit/evaluate/before/loss": make_probe(np.float32(0.5)),
        "fit/weights/embedding#0": make_probe(np.linspace(-1, 1, 8, dtype=np.float32) + np.float32(embedding)),
        "fit/weights/head#0": make_probe(np.linspace(-1, 1, 4, dtype=np.float32) + np.float32(head)),
    }
    return probes, [expectation("fit: evaluate and the training step agree", "T5", t5)]


def fit_runs(name, **per_backend):
    records = []
    for backend in ("tf", "jax", "torch"):
        probes, expectations = fit_probes(**per_backend.get(backend, {}))
        records.append([make_record(name, probes, expectations=expectations)])
    return three_runs(*records)


def test_tf_adam_through_fit_needs_the_embedding_to_differ(real):
    name = "fit/repeated-tokens-adam"
    ok = judged(fit_runs(name, tf={"embedding": 0.1, "head": 0.02, "loss": 0.01}), real)
    assert_known(ok, name, (TF, TORCH), "tf-adam-sparse-embedding-step")
    # the same drift with the Embedding rows equal is not this cause
    assert_new(judged(fit_runs(name, tf={"head": 0.02, "loss": 0.01}), real), name, (TF, TORCH), "differs",
               "no differing probe matches 'fit/weights/*embedding#0'")
    # a step that already differs before training (evaluate before) is not this cause either
    runs = fit_runs(name, tf={"embedding": 0.1})
    runs[0].records[name].captured.probes["fit/evaluate/before/loss"] = make_probe(np.float32(0.7))
    assert_new(judged(runs, real), name, (TF, TORCH), "differs", "fit/evaluate/before/loss is not one")


# ---- JAX's training metrics ---------------------------------------------------------------------------
def test_jax_training_metrics_are_known_as_described(real):
    name = "fit/tagging-lstm-sgd"
    result = judged(fit_runs(name, jax={"mae": 2.8, "t5": False}), real)
    for pair in ((TF, JAX), (JAX, TORCH)):
        assert_known(result, name, pair, "jax-fit-metrics-read-padding")


@pytest.mark.parametrize("planted,pair,reason", [
    ({"jax": {"mae": 2.8}}, (TF, JAX), "expected the odd backend alone to fail"),  # T5 passes: not shown
    ({"jax": {"mae": 2.8, "loss": 0.3, "t5": False}}, (TF, JAX), "fit/history/loss is not one"),  # the loss too
    ({"torch": {"mae": 2.8, "t5": False}}, (TF, TORCH), ""),  # PyTorch is the odd one: not this entry
    ({"jax": {"mae": 2.8, "t5": False}, "tf": {"t5": False}}, (TF, JAX), "alone to fail"),  # T5 fails elsewhere too
    ({"jax": {"mae": 500.0, "t5": False}}, (TF, JAX), "outside [0.0001, 100]"),  # wrong size
])
def test_jax_training_metrics_refuse_a_planted_difference(real, planted, pair, reason):
    name = "fit/tagging-lstm-sgd"
    assert_new(judged(fit_runs(name, **planted), real), name, pair, "differs", reason)


def test_jax_metrics_without_t5_need_the_direction(real):
    """fit/regression-steps-per-execution has no T5 check: there JAX's mae must be the larger."""
    name = "fit/regression-steps-per-execution"
    runs = lambda delta: three_runs(*([make_record(name, {
        "fit/history/mae": make_probe(np.array([0.5, 0.4], np.float32) + np.float32(d))})] for d in (0.0, delta, 0.0)))
    assert_known(judged(runs(4.0), real), name, (TF, JAX), "jax-fit-metrics-read-padding")
    assert_new(judged(runs(-0.45 - 0.6), real), name, (TF, JAX), "differs", "not larger")


# ---- errors: PyTorch's steps_per_execution, the 1D sample weight, go_backwards with unroll --------------
def error_runs(name, tf=None, jax=None, torch=None):
    return three_runs(*([make_record(name, {"x": make_probe(np.zeros(2, np.float32))}) if e is None
                         else make_record(name, error=e)] for e in (tf, jax, torch)))


SPE = "`steps_per_execution` must be 1 with the PyTorch backend. Received: steps_per_execution=2"


def test_errors_are_known_as_described(real):
    name = "fit/regression-steps-per-execution"
    assert_known(judged(error_runs(name, torch=("ValueError", SPE)), real), name, (TF, TORCH),
                 "torch-steps-per-execution")
    name = "fit/min-row-weight-with-mask"
    runs = error_runs(name, tf=("ValueError", "Dimensions must be equal, but are 2 and 3"),
                      jax=("ValueError", "Incompatible shapes for broadcasting: shapes=[(2, 3), (2,)]"),
                      torch=("RuntimeError", "The size of tensor a (3) must match the size of tensor b (2)"))
    result = judged(runs, real)
    for pair in ((TF, TORCH), (JAX, TORCH)):
        assert_known(result, name, pair, "row-sample-weight-times-mask")
    assert result.get(name, TF, JAX).verdict == "both-error"
    name = "found/error-differs-error-torch-attributeerror-jax-tf-torch-1e7d1e"
    assert_known(judged(error_runs(name, torch=("AttributeError", "Exception encountered when calling LSTM.call().")),
                        real), name, (JAX, TORCH), "torch-rnn-go-backwards-unroll-mask")


@pytest.mark.parametrize("name,errors,pair,reason", [
    ("fit/regression-steps-per-execution", {"torch": ("ValueError", "steps must be positive")}, (TF, TORCH),
     "which no error pattern matches"),  # wrong message
    ("fit/regression-steps-per-execution", {"torch": ("TypeError", SPE)}, (TF, TORCH),
     "which no error pattern matches"),  # wrong type
    ("fit/regression-steps-per-execution", {"jax": ("ValueError", SPE)}, (TF, JAX), ""),  # wrong backend
    ("fit/min-row-weight-with-mask", {"tf": ("ValueError", "Shapes are incompatible"),
                                      "torch": ("RuntimeError", "must match the size of tensor b (2)")},
     (TF, TORCH), "tensorflow raised"),  # the other side fails with another message
    ("fit/min-row-weight-with-mask", {"tf": ("ValueError", "Dimensions must be equal")}, (TF, TORCH),
     "the odd backend (torch) did not fail"),  # the odd backend did not raise
    ("found/error-differs-error-torch-attributeerror-jax-tf-torch-1e7d1e",
     {"torch": ("RuntimeError", "Exception encountered when calling LSTM.call().")}, (TF, TORCH), "no error pattern"),
])
def test_errors_refuse_a_planted_difference(real, name, errors, pair, reason):
    assert_new(judged(error_runs(name, **errors), real), name, pair, "error-differs", reason)


# ---- warnings: PyTorch's numpy-2 DeprecationWarning ----------------------------------------------------
COPY = ("DeprecationWarning", "__array__ implementation doesn't accept a copy keyword, so passing copy=False "
        "failed. __array__ must implement 'dtype' and 'copy' keyword arguments.")


def warning_runs(name, tf=(), torch=()):
    probes = {"head": make_probe(np.ones(3, np.float32))}
    return three_runs([make_record(name, probes, warnings=tf)], [make_record(name, probes)],
                      [make_record(name, probes, warnings=torch)])


def test_the_torch_copy_warning_is_known_by_its_message(real):
    result = judged(warning_runs("fit/tagging-lstm-sgd", torch=[COPY]), real)
    assert_known(result, "fit/tagging-lstm-sgd", (TF, TORCH), "torch-array-copy-deprecation-warning")


def test_a_torch_only_warning_nobody_recorded_under_fit_is_reported(real):
    """The issue's case: any new torch-only warning in a fit scenario was labelled known."""
    new = ("DeprecationWarning", "torch.cuda.amp.GradScaler is deprecated")
    result = judged(warning_runs("fit/tagging-lstm-sgd", torch=[COPY, new]), real)
    assert_new(result, "fit/tagging-lstm-sgd", (TF, TORCH), "warnings-differ", "a warning no pattern matches")
    other_category = ("UserWarning", COPY[1])
    assert_new(judged(warning_runs("fit/x", torch=[other_category]), real), "fit/x", (TF, TORCH),
               "warnings-differ", "a warning no pattern matches")
    on_tf = judged(warning_runs("fit/x", tf=[COPY]), real)  # the same warning on TensorFlow only
    assert on_tf.get("fit/x", TF, TORCH).verdict == "warnings-differ"
    assert on_tf.get("fit/x", TF, JAX).verdict == "warnings-differ"


# ---- warnings every backend gives, worded per backend: the softmax over one key -------------------------
SOFTMAX = "found/warnings-differ-warning-userwarning-you-are-using-a-softmax-over-axis--f53b09"


def softmax_warning(shape: str) -> tuple[str, str]:
    return ("UserWarning", f"You are using a softmax over axis -1 of a tensor of shape {shape}. This axis has size 1. "
            "The softmax operation will always return the value 1, which is likely not what you intended.")


def test_a_warning_each_backend_words_its_own_way_is_known_when_each_text_is_described(real):
    tf_text, torch_text = softmax_warning("(1, 1, 1)"), softmax_warning("torch.Size([1, 1, 1])")
    probes = {"l7": make_probe(np.ones((1, 1, 1), np.float32))}
    runs = three_runs(*([make_record(SOFTMAX, probes, warnings=[w])] for w in (tf_text, tf_text, torch_text)))
    result = judged(runs, real)
    for pair in ((TF, TORCH), (JAX, TORCH)):
        assert_known(result, SOFTMAX, pair, "torch-softmax-size-one-warning-shape-text")
    assert result.get(SOFTMAX, TF, JAX).verdict == "match"


@pytest.mark.parametrize("tf_warns,torch_warns,reason", [
    # TensorFlow words it for another shape: its own text is not the one described
    ([softmax_warning("(2, 1, 1)")], [softmax_warning("torch.Size([1, 1, 1])")], "a warning only on the other backend"),
    # PyTorch's text on TensorFlow: a pattern that names torch describes only torch's side
    ([softmax_warning("torch.Size([1, 1, 1])")], [softmax_warning("(1, 1, 1)")], "a warning only on the other backend"),
    # a second PyTorch warning that no pattern describes
    ([], [softmax_warning("torch.Size([1, 1, 1])"), ("UserWarning", "something else")], "a warning no pattern matches"),
    # only PyTorch warns: the entry says every backend warns, each in its own words
    ([], [softmax_warning("torch.Size([1, 1, 1])")], "tensorflow does not give its own text of the warning"),
])
def test_a_per_backend_warning_pattern_absorbs_nothing_else(real, tf_warns, torch_warns, reason):
    probes = {"l7": make_probe(np.ones((1, 1, 1), np.float32))}
    runs = three_runs(*([make_record(SOFTMAX, probes, warnings=w)] for w in (tf_warns, tf_warns, torch_warns)))
    assert_new(judged(runs, real), SOFTMAX, (TF, TORCH), "warnings-differ", reason)


# ---- masks: Reshape to the same shape on JAX ------------------------------------------------------------
def test_reshape_mask_is_known_only_when_jax_has_the_mask(real):
    name = "found/mask-differs-reshape-jax-tf-torch-a21362"
    values = np.ones((1, 2, 3), np.float32)
    with_mask = make_probe(values, np.array([[True, False]]))
    without = make_probe(values)
    runs = lambda tf, jax, torch, probe="l1": three_runs(*([make_record(name, {probe: p})] for p in (tf, jax, torch)))
    assert_known(judged(runs(without, with_mask, without), real), name, (TF, JAX), "jax-reshape-same-shape-keeps-mask")
    assert_new(judged(runs(with_mask, without, with_mask), real), name, (TF, JAX), "mask-differs",
               "expected odd-only")  # JAX drops a mask the others keep: the other direction
    assert_new(judged(runs(without, with_mask, without, probe="l2"), real), name, (TF, JAX), "mask-differs",
               "not one this cause touches")


# ---- version ranges: an entry does not apply outside them (issue 25) ----------------------------------
def test_an_entry_outside_its_keras_range_is_reported_as_not_applying():
    known = [entry("s", "torch", probes="gru_*", keras=">=3.6, <=3.15.1", id="torch-gru")]
    probes = lambda shift: {"gru_1": make_probe(np.array([1.0, 2.0 + shift], np.float32))}

    def runs(keras):
        return [make_artifact(label, [make_record("s", probes(0.5 if label == TORCH else 0.0))], keras=keras)
                for label in (TF, JAX, TORCH)]

    inside = judged(runs("3.15.1"), known)
    assert inside.get("s", TF, TORCH).verdict == "known"
    for keras in ("3.16.0.dev2026102704", "3.16.0", "3.3.3"):
        outside = judged(runs(keras), known)
        pair = outside.get("s", TF, TORCH)
        assert pair.verdict == "differs"
        assert f"does not apply on this runtime: Keras {keras} is outside its range '>=3.6, <=3.15.1'" in pair.known_note
        assert outside.stale_known == known


def test_an_entry_outside_its_backend_range_is_reported_as_not_applying():
    known = [entry("s", "torch", probes="*", backend_versions="<2.13")]
    runs = three_runs([make_record("s", {"x": make_probe(np.zeros(1, np.float32))})],
                      [make_record("s", {"x": make_probe(np.zeros(1, np.float32))})],
                      [make_record("s", {"x": make_probe(np.ones(1, np.float32))})])
    runs[2].environment["backend_version"] = "2.13.0+cpu"
    assert "torch 2.13.0+cpu is outside its range '<2.13'" in judged(runs, known).get("s", TF, TORCH).known_note
    runs[2].environment["backend_version"] = "2.12.1+cpu"
    assert judged(runs, known).get("s", TF, TORCH).verdict == "known"


def test_the_real_registry_says_which_keras_versions_each_entry_holds_for(real):
    assert real and all(e.keras for e in real)
    assert all(s.keras for s in load_surprises(REGISTRY.with_name("surprises.toml")))
    assert len({e.id for e in real}) == len(real)


@pytest.mark.parametrize("version,spec,inside", [
    ("3.15.1", ">=3.6.0", True), ("3.6", ">=3.6.0", True), ("3.5.9", ">=3.6.0", False),
    ("3.16.0.dev2026102704", "<3.16", True),  # a nightly comes before its release
    ("3.16.0rc1", "<3.16", True), ("3.16.0", "<3.16", False), ("3.16.0.dev2026102704", ">=3.15.1", True),
    ("2.13.0+cpu", "==2.13.0", True), ("3.15.1", "", True), ("3.15.1", ">=3.0, !=3.15.1", False),
])
def test_version_ranges(version, spec, inside):
    assert in_range(version, spec) is inside


def test_pep440_order_of_the_forms_the_harness_meets():
    order = ["3.15.1", "3.16.0.dev2026010101", "3.16.0.dev2026102704", "3.16.0rc1", "3.16.0", "3.16.0.post1", "3.16.1"]
    assert sorted(order, key=version_key) == order


@pytest.mark.parametrize("bad", ["3.x", ">=", "~=3.6", "latest"])
def test_an_unreadable_range_is_refused(bad):
    with pytest.raises(VersionRangeError):
        in_range("3.15.1", bad)


# ---- the loader -----------------------------------------------------------------------------------------
ONE = '''
[[divergence]]
id = "a"
odd = "jax"
what = "w"
why = "y"
keras = ">=3.6"

  [[divergence.fingerprint]]
  scenario = "s/*"
  verdicts = ["differs"]
  probes = ["rnn"]
'''


def write(tmp_path, text):
    path = tmp_path / "known.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_real_registry_loads_with_one_entry_per_cause(real):
    ids = [e.id for e in real]
    assert "jax-rnn-masked-step-outputs-initial-state" in ids and "tf-adam-sparse-embedding-step" in ids
    # the two causes the published report listed twice are one entry each, with several fingerprints
    by_id = {e.id: e for e in real}
    assert len(by_id["jax-rnn-masked-step-outputs-initial-state"].fingerprints) == 2
    assert len(by_id["tf-adam-sparse-embedding-step"].fingerprints) == 4  # + the seed-26 fuzz case 4fe2b6


def test_loader_reads_fingerprints(tmp_path):
    (loaded,) = load_known(write(tmp_path, ONE))
    assert (loaded.id, loaded.odd, loaded.keras) == ("a", "jax", ">=3.6")
    assert loaded.fingerprints[0].probes == ("rnn",) and loaded.fingerprints[0].verdicts == ("differs",)


@pytest.mark.parametrize("change,message", [
    (('odd = "jax"', 'odd = "mxnet"'), "odd 'mxnet' is not one of"),
    (('keras = ">=3.6"', 'keras = "3.x"'), "not a version range"),
    (('probes = ["rnn"]', ''), "needs `probes`"),
    (('verdicts = ["differs"]', 'verdicts = ["known"]'), "are not raw verdicts"),
    (('verdicts = ["differs"]', 'verdicts = ["error-differs"]'), "needs `errors`"),
    (('verdicts = ["differs"]', 'verdicts = ["warnings-differ"]'), "needs `warnings`"),
    (('probes = ["rnn"]', 'probes = ["rnn"]\n  abs_range = [2.0, 1.0]'), "abs_range"),
    (('probes = ["rnn"]', 'probes = ["rnn"]\n  direction = "up"'), "direction 'up'"),
    (('probes = ["rnn"]', 'probes = ["rnn"]\n  probe_glob = "x"'), "not part of the schema"),
    (('what = "w"', ''), "lacks 'what'"),
])
def test_loader_refuses_a_malformed_entry_naming_it(tmp_path, change, message):
    path = write(tmp_path, ONE.replace(*change))
    with pytest.raises(KnownDivergenceError, match=message) as info:
        load_known(path)
    assert str(path) in str(info.value) and "#1" in str(info.value)


def test_loader_refuses_an_error_pattern_that_is_not_a_regex(tmp_path):
    text = ONE.replace('verdicts = ["differs"]\n  probes = ["rnn"]',
                       'verdicts = ["error-differs"]\n  errors = [{ type = "ValueError", message = "(" }]')
    with pytest.raises(KnownDivergenceError):
        load_known(write(tmp_path, text))


def test_loader_refuses_two_entries_with_one_id(tmp_path):
    with pytest.raises(KnownDivergenceError, match="share an id"):
        load_known(write(tmp_path, ONE + ONE))


def test_older_flat_entries_load_as_one_fingerprint(tmp_path):
    text = '[[divergence]]\nscenario = "s"\nbackends = ["torch"]\nprobes = "gru_*"\nwhat = "w"\nwhy = "y"\n'
    (loaded,) = load_known(write(tmp_path, text))
    assert loaded.odd == "torch" and loaded.fingerprints[0].probes == ("gru_*",)
    two = text.replace('["torch"]', '["torch", "jax"]')
    with pytest.raises(KnownDivergenceError, match="name the one odd backend"):
        load_known(write(tmp_path, two))


def test_missing_or_malformed_registry(tmp_path):
    assert load_known(tmp_path / "absent.toml") == []
    with pytest.raises(KnownDivergenceError, match="not valid TOML"):
        load_known(write(tmp_path, "[[divergence]\n"))


# ---- two fingerprints of one entry explain a pair together; neither alone does ----------------------
def test_attention_row_needs_both_of_its_fingerprints(real):
    name = "found/differs-multiheadattention-jax-tf-torch-059c63"
    keep = np.array([[True, False]])
    l5 = lambda d: make_probe(np.array([[[0.4], [0.41 + d]]], np.float32), keep)  # step 1 is masked
    l6 = lambda d: make_probe(np.array([[[0.8], [0.82 + d]]], np.float32))  # no mask: step 1 reads as kept
    runs = lambda torch: three_runs(*([make_record(name, p)] for p in ({"l5": l5(0), "l6": l6(0)},
                                                                        {"l5": l5(0), "l6": l6(0)}, torch)))
    assert_known(judged(runs({"l5": l5(0.04), "l6": l6(0.08)}), real), name, (TF, TORCH),
                 "torch-float16-all-masked-attention-row")
    kept = make_probe(np.array([[[0.45], [0.45]]], np.float32), keep)  # the kept step differs too
    assert_new(judged(runs({"l5": kept, "l6": l6(0.08)}), real), name, (TF, TORCH), "differs", "probe l5 is differs")


# ---- a workaround counts as shown only where the comparison shows it ----------------------------------
def test_a_workaround_is_demonstrated_only_where_the_backends_then_agree():
    from harness.compare.demonstrated import demonstrations

    cause = entry("s/*", "torch", probes="x", demonstrated_by=("w/fixed",), id="c", workaround="do this")
    fixed = {"x": make_probe(np.ones(2, np.float32))}
    runs = three_runs(*([make_record("s/a", {"x": make_probe(np.full(2, v, np.float32))}), make_record("w/fixed", fixed)]
                        for v in (1.0, 1.0, 2.0)))
    [shown] = demonstrations(cause, judged(runs, [cause]), runs)
    assert (shown.scenario, shown.shown) == ("w/fixed", True)
    still = three_runs(*([make_record("w/fixed", {"x": make_probe(np.full(2, v, np.float32))})] for v in (1.0, 1.0, 2.0)))
    relabelled = entry("w/*", "torch", probes="x", demonstrated_by=("w/fixed",), id="c2")
    [not_shown] = demonstrations(relabelled, judged(still, [relabelled]), still)
    assert not not_shown.shown and "still there" in not_shown.detail
    [unexpected] = demonstrations(cause, judged(still, [cause]), still)
    assert not unexpected.shown and "differs" in unexpected.detail
    [two_agree] = demonstrations(cause, judged(still[:2], [cause]), still[:2])
    assert (two_agree.shown, two_agree.detail) == (True, "")  # TensorFlow and JAX alone agree
    missing = demonstrations(entry("s/*", "torch", probes="x", demonstrated_by=("w/none",)), judged(still, []), still)
    assert not missing[0].shown and "not run by" in missing[0].detail


def test_an_entry_whose_odd_backend_is_the_one_that_works(real):
    """export-needs-tensorflow: JAX and PyTorch raise ImportError, TensorFlow exports."""
    name = "saving/export-tfsmlayer"
    missing = ("ImportError", "This requires the tensorflow module for SavedModel export")
    result = judged(error_runs(name, jax=missing, torch=missing), real)
    assert_known(result, name, (TF, JAX), "export-needs-tensorflow")
    assert result.get(name, JAX, TORCH).verdict == "both-error"
    assert_new(judged(error_runs(name, jax=("ImportError", "No module named 'h5py'"), torch=missing), real),
               name, (TF, JAX), "error-differs", "no error pattern matches")
    assert_new(judged(error_runs(name, tf=missing), real), name, (TF, JAX), "error-differs",
               "the odd backend (tensorflow) failed")


# ---- each entry on the newest nightly: holds, changed, fixed, does not apply ---------------------------
def test_each_entry_is_judged_on_another_runtime():
    from harness.compare.known_runtime import on_runtime

    values = lambda shift: {"gru_1": make_probe(np.array([1.0, 2.0 + shift], np.float32))}

    def runs(keras, shifts_by_scenario):
        return [make_artifact(label, [make_record(name, values(shifts[i])) for name, shifts in shifts_by_scenario.items()],
                              keras=keras) for i, label in enumerate((TF, JAX, TORCH))]

    known = [entry("a", "torch", probes="gru_*", id="holds", fingerprint={"abs_range": (0.4, 0.6)}),
             entry("b", "torch", probes="gru_*", id="changed", fingerprint={"abs_range": (0.4, 0.6)}),
             entry("c", "torch", probes="gru_*", id="fixed"),
             entry("d", "torch", probes="gru_*", id="too-old", keras=">=3.6, <=3.15.1")]
    release = runs("3.15.1", {s: (0, 0, 0.5) for s in "abcd"})
    reference = judged(release, known)
    nightly = runs("3.16.0.dev2026102704", {"a": (0, 0, 0.5), "b": (0, 0, 5.0), "c": (0, 0, 0), "d": (0, 0, 0.5)})
    found = {x.entry.id: x for x in on_runtime(known, reference, release, nightly)}
    assert found["holds"].status == "holds" and "2 of 2 pairs still as described" in found["holds"].detail
    assert found["changed"].status == "changed" and "outside [0.4, 0.6]" in found["changed"].detail
    assert found["fixed"].status == "fixed" and "c tensorflow vs torch (match)" in found["fixed"].detail
    assert found["too-old"].status == "does not apply" and "outside its range" in found["too-old"].detail


def test_the_jax_metrics_fingerprints_never_cover_what_their_explanation_says_agrees(real):
    """The cause leaves the training loss, evaluate, test_on_batch and the predictions equal: a glob that
    covered them (as `fit/[hbo][ian]*[!s]` covered test_on_batch and predictions) would hide them."""
    import fnmatch

    (metrics,) = [e for e in real if e.id == "jax-fit-metrics-read-padding"]
    agree = ["fit/history/loss", "fit/batch/loss", "fit/on_batch/train/loss", "fit/evaluate/after/mae",
             "fit/evaluate/before/mae", "fit/on_batch/test/mae", "fit/on_batch/predict", "fit/predict/after",
             "fit/weights/head#0", "fit/history/head_loss"]
    for fp in metrics.fingerprints:
        covered = [p for p in agree if any(fnmatch.fnmatchcase(p, g) for g in fp.probes)
                   and not any(fnmatch.fnmatchcase(p, g) for g in fp.except_probes)]
        assert covered == [], (fp.scenario, covered)
    assert any(fnmatch.fnmatchcase("fit/on_batch/train/mae", g) for fp in metrics.fingerprints for g in fp.probes)
