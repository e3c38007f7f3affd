"""`harness check` says only what its runs show (issue 24): a backend that failed is an error with its
innermost cause, fewer than two backends with outputs is no comparison (non-zero exit), NaN and Inf
are named where they are, and the report carries nothing but the checked model. Synthetic
artifacts: no backend runs here."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.compare import check_model
from harness.compare.known import load_known
from harness.define.captured import ErrorInfo
from harness.report import check as check_report
from harness.run import check_cli as checking
from tests.helpers.factories import make_artifact, make_probe, make_record

ROOT = Path(__file__).resolve().parents[1]
KNOWN = load_known(ROOT / "scenarios" / "known_divergences.toml")
MODEL = "m.keras"
MASK = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
LOAD_ERROR = ErrorInfo("TypeError", "Could not deserialize class 'Functional'", (),
                       ("TypeError: Could not locate class 'Skew'", "ValueError: layer Skew refuses jax",
                        "OSError: no such device"))


def layers(shift: float = 0.0) -> dict:
    return {"emb": make_probe(np.ones((2, 3, 2), np.float32), MASK),
            "dense": make_probe(np.full((2, 3, 2), 0.5 + shift, np.float32), MASK)}


def judge(*runs):
    return check_model.judge(list(runs), MODEL, KNOWN)


def report(facts, runs) -> str:
    return check_report.render_check(check_report.CheckReportInput(facts, list(runs), "python -m harness check m.keras",
                                                                   "random:0"))


def outcome(facts, capsys) -> tuple[int, str, str]:
    code = checking._print_outcome(facts, Path("out"), argparse.Namespace(strict=False))
    out, err = capsys.readouterr()
    return code, out, err


def test_one_backend_that_cannot_load_is_no_match_and_exits_non_zero(capsys):
    jax = make_artifact("jax-cpu", [make_record(MODEL, error=LOAD_ERROR)])
    facts = judge(jax)
    assert not facts.compared() and facts.problems
    code, out, err = outcome(facts, capsys)
    assert code == 1
    assert "match" not in out and "agrees" not in out
    assert "OSError: no such device" in err  # the innermost cause, not Keras's wrapper
    assert "fewer than the two a comparison needs" in err
    text = report(facts, [jax])
    assert "**Not compared**" in text and "OSError: no such device" in text
    assert "bit-identical" not in text  # an errored backend made no eager calls


def test_error_differs_names_the_cause_and_keeps_the_layer_table_of_the_backend_that_ran(capsys):
    tf = make_artifact("tensorflow-cpu", [make_record(MODEL, layers(), deterministic=True)])
    jax = make_artifact("jax-cpu", [make_record(MODEL, error=LOAD_ERROR)])
    facts = judge(tf, jax)
    [path] = facts.paths
    assert path.verdict == "differs" and path.why == "error-differs: jax-cpu failed (TypeError)"
    assert path.difference.known is None  # no registry entry's error patterns describe it: new
    assert facts.states["forward"]["jax-cpu"].cause == "OSError: no such device"
    assert path.first_divergent is None
    code, out, err = outcome(facts, capsys)
    assert code == 1 and "error-differs: jax-cpu failed (TypeError)" in out and "new: please report" in out
    text = report(facts, [tf, jax])
    assert "every layer agrees" not in text and "(none)" not in text
    assert "compared with no other backend" in text and "`dense`" in text  # tensorflow's layer table
    # the chain, one line each, outermost first
    chain = [line for line in text.splitlines() if "jax-cpu" in line and "innermost" in line][0]
    assert chain.index("Could not deserialize") < chain.index("refuses jax") < chain.rindex("no such device")
    assert text.count("bit-identical") == 1  # tensorflow's two calls only


def test_three_backends_one_failing_compare_the_two_that_ran():
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers())]),
            make_artifact("jax-cpu", [make_record(MODEL, layers(shift=1.0))]),
            make_artifact("torch-cpu", [make_record(MODEL, error=LOAD_ERROR)])]
    facts = judge(*runs)
    assert facts.compared() and not facts.problems
    by = {(v.a, v.b): v for v in facts.paths}
    assert by[("tensorflow-cpu", "jax-cpu")].verdict == "differs"
    assert by[("tensorflow-cpu", "jax-cpu")].first_divergent == "dense"
    assert by[("tensorflow-cpu", "jax-cpu")].difference.known is None  # new: nothing explains it
    assert {by[p].verdict for p in by if "torch-cpu" in p} == {"differs"}
    assert {by[p].why for p in by if "torch-cpu" in p} == {"error-differs: torch-cpu failed (TypeError)"}
    assert "New: please report" in report(facts, runs)


def test_nan_and_inf_are_reported_per_probe_where_they_are_even_when_the_backends_agree():
    values = np.ones((2, 3, 2), np.float32)
    values[0, 2, 0] = np.nan  # a masked step
    values[1, 0, 1] = np.inf  # a kept step
    probes = {"softmax": make_probe(values, MASK)}
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, probes)]),
            make_artifact("jax-cpu", [make_record(MODEL, probes)])]
    facts = judge(*runs)
    assert [v.verdict for v in facts.paths] == ["same"]
    [found] = facts.states["forward"]["jax-cpu"].nonfinite
    assert (found.probe, found.nan_kept, found.nan_masked, found.inf_kept, found.inf_masked) == ("softmax", 0, 1, 1, 0)
    text = report(facts, runs)
    assert "1 NaN at masked steps, 1 Inf at kept steps" in text


def test_the_check_report_carries_only_the_checked_model():
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers())]),
            make_artifact("jax-cpu", [make_record(MODEL, layers())])]
    text = report(judge(*runs), runs)
    for noise in ("untested", "no longer seen", "stale", "_probes", "weights are set by the harness", "C1", "seed"):
        assert noise not in text, noise


def fit_record(metric_shift: float = 0.0) -> object:
    probes = {"fit/history/loss": make_probe(np.array([1.0, 0.9], np.float32)),
              "fit/history/accuracy": make_probe(np.array([0.5, 0.5 + metric_shift], np.float32)),
              "fit/evaluate/after/loss": make_probe(np.array(0.8, np.float32))}
    return make_record(MODEL + "/fit", probes)


def test_jax_logged_metrics_match_the_known_divergence_by_its_pattern_and_the_loss_agrees():
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers()), fit_record()]),
            make_artifact("jax-cpu", [make_record(MODEL, layers()), fit_record(0.25)])]
    facts = judge(*runs)
    training = [v for v in facts.paths if v.part == "training"][0]
    assert training.verdict == "differs" and training.difference.probes == ("fit/history/accuracy",)
    assert training.difference.known is not None and "padded timesteps on JAX" in training.difference.known.what
    text = report(facts, runs)
    row = [line for line in text.splitlines() if line.startswith("| tensorflow-cpu vs jax-cpu")][0]
    assert row.split("|")[2].strip() == "agree" and "**differ**" in row.split("|")[3]
    assert "- Still the same on both: loss" in text


def test_a_difference_on_the_other_backend_or_in_the_loss_is_not_that_known_divergence():
    torch_shift = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers()), fit_record()]),
                   make_artifact("torch-cpu", [make_record(MODEL, layers()), fit_record(0.25)])]
    training = [v for v in judge(*torch_shift).paths if v.part == "training"][0]
    assert training.verdict == "differs" and training.difference.known is None
    loss = make_record(MODEL + "/fit", {"fit/history/loss": make_probe(np.array([1.0, 0.5], np.float32))})
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers()), fit_record()]),
            make_artifact("jax-cpu", [make_record(MODEL, layers()), loss])]
    training = [v for v in judge(*runs).paths if v.part == "training"][0]
    assert training.difference.known is None


def test_training_that_raises_everywhere_is_reported_per_backend_and_matched_by_error_patterns(capsys):
    """A 1D sample weight on a masked sequence output, as each backend words its failure: the
    registry's entry for it describes the errors by type and message, so the check names it."""
    raised = {"tensorflow-cpu": ("ValueError", "Dimensions must be equal, but are 4 and 6 for '{{node mul}}'"),
              "jax-cpu": ("ValueError", "Incompatible shapes for broadcasting: shapes=[(4,), (4, 6)]"),
              "torch-cpu": ("RuntimeError", "The size of tensor a (4) must match the size of tensor b (6)")}
    runs = [make_artifact(label, [make_record(MODEL, layers()), make_record(MODEL + "/fit", error=e)])
            for label, e in raised.items()]
    facts = judge(*runs)
    assert any(p.startswith("training: 0 of 3") for p in facts.problems)
    by = {(v.a, v.b, v.part): v for v in facts.paths}
    assert by[("tensorflow-cpu", "jax-cpu", "training")].verdict == "same error"
    torch = by[("tensorflow-cpu", "torch-cpu", "training")]
    assert torch.verdict == "differs" and torch.difference.known is not None
    assert torch.difference.known.id == "row-sample-weight-times-mask"
    assert "np.repeat" in report(facts, runs)  # its workaround
    code, out, err = outcome(facts, capsys)
    assert code == 1 and "torch-cpu error: RuntimeError: The size of tensor a (4)" in err
    # another torch error is not that cause
    other = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers()), make_record(MODEL + "/fit",
                                                                                      error=raised["tensorflow-cpu"])]),
             make_artifact("torch-cpu", [make_record(MODEL, layers()),
                                         make_record(MODEL + "/fit", error=("RuntimeError", "CUDA out of memory"))])]
    assert [v.difference.known for v in judge(*other).paths if v.part == "training"] == [None]


ERROR_CHAIN = """
import json
from harness.run.capture import error_info

try:
    try:
        try:
            raise OSError("disk")
        except OSError as inner:
            raise ValueError("layer") from inner
    except ValueError:
        raise TypeError("Could not deserialize")  # raised while handling: the context
except TypeError as exc:
    info = error_info(exc)
print(json.dumps(info.causes))
"""


def test_error_chain_is_recorded_innermost_last():
    # harness.run.capture imports keras: in a child, on the quickest backend to import, so that this process
    # never holds a backend (it would cost 10-40 s here, and `list`/`run` could no longer fork their loader)
    backend = next((b for b in ("jax", "torch", "tensorflow") if importlib.util.find_spec(b)), None)
    if importlib.util.find_spec("keras") is None or backend is None:
        pytest.skip("needs keras and a backend")
    done = subprocess.run([sys.executable, "-c", ERROR_CHAIN], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["ValueError: layer", "OSError: disk"]


def test_console_says_agree_only_when_everything_ran_and_matched(capsys):
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers())]),
            make_artifact("jax-cpu", [make_record(MODEL, layers())])]
    code, out, _ = outcome(judge(*runs), capsys)
    assert code == 0 and "every backend agrees" in out


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_other_keras_releases_are_a_column_each_with_what_changes_for_the_model():
    here = [make_artifact("jax-cpu", [make_record(MODEL, layers()), fit_record()])]
    older = [make_artifact("keras-3.10.0-jax-cpu", [make_record(MODEL, error=LOAD_ERROR),
                                                   make_record(MODEL + "/fit", error=LOAD_ERROR)], backend="jax")]
    newer = [make_artifact("keras-3.16.0-jax-cpu", [make_record(MODEL, layers(shift=1.0)), fit_record()],
                           backend="jax")]
    cells = check_model.judge_versions(here, MODEL, [("3.10.0", older, ""), ("3.16.0", newer, ""),
                                                     ("nightly", [], "jax: no wheel")])
    by = {(c.version, c.part): c for c in cells}
    assert by[("3.10.0", "forward")].verdict == "error" and "no such device" in by[("3.10.0", "forward")].detail
    assert by[("3.16.0", "forward")].verdict == "differs" and by[("3.16.0", "forward")].detail == "differs: dense"
    assert by[("3.16.0", "training")].verdict == "same"
    assert by[("nightly", "forward")].verdict == "cannot run" and "no wheel" in by[("nightly", "forward")].detail
    facts = judge(*here)
    text = check_report.render_check(check_report.CheckReportInput(facts, here, "cmd", "random:0", versions=cells))
    header = [line for line in text.splitlines() if line.startswith("| backend | part")][0]
    assert "Keras 3.10.0" in header and "Keras 3.16.0" in header and "Keras nightly" in header


def test_the_models_warnings_are_listed_and_the_probe_models_are_not():
    warned = [("UserWarning", "Layer 'conv' does not support masking, the mask is dropped"),
              ("UserWarning", "The structure of `inputs` doesn't match the expected structure of functional_3_probes")]
    runs = [make_artifact("tensorflow-cpu", [make_record(MODEL, layers(), warnings=warned)]),
            make_artifact("jax-cpu", [make_record(MODEL, layers(), warnings=warned[:1])])]
    text = report(judge(*runs), runs)
    assert "does not support masking" in text and "tensorflow-cpu, jax-cpu" in text
    assert "functional_3_probes" not in text and "1 about the harness's own probe models left out" in text
    # the only warning one backend gave alone is about the probe model: not a difference of the model
    assert [v.verdict for v in judge(*runs).paths] == ["same"]
