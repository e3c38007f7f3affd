"""The report's legend: every word the report uses, said once (verdicts, probes, masks, tolerances)."""

from __future__ import annotations

from harness.compare.verdicts import DEFAULT_TOLERANCES, VERDICTS
from harness.report import markdown as md
from harness.report.model import ReportModel

# One line per verdict; tests/test_report.py fails when a verdict has none.
MEANINGS = {
    "match": "the two backends agree: same status, shapes, dtypes and masks, and values within tolerance. "
             "It says the backends agree, not that Keras is right: the seed conclusions and each "
             "scenario's expectations are where correctness is judged.",
    "known": "they differ for an understood reason recorded in `scenarios/known_divergences.toml` "
             "(see [Known divergences](#known-divergences)), and the entry's fingerprint describes all of "
             "the difference: the raw verdict, the probes, the odd backend, the band and direction, the "
             "error or warning message, the Keras versions. The cell says what differs (\"known: mask\", "
             "\"known: warnings\", \"known: error\", \"known: values, max abs 0.3\"); not counted as a "
             "finding. A pair an entry names but does not describe keeps its own verdict, with the reason.",
    "both-error": "both backends raise the same exception type (the expectations say whether an error "
                  "was the expected outcome).",
    "differs": "values at kept steps differ beyond tolerance.",
    "differs-masked-only": "values differ only at masked steps; kept steps agree.",
    "mask-differs": "the masks differ (one backend drops or changes the mask).",
    "shape-differs": "a probe has different shapes.",
    "dtype-differs": "a probe has different dtypes.",
    "missing": "a scenario or a probe exists on one side only (not run, or a layer missing).",
    "error-differs": "one backend raises and the other does not, or they raise different exception types.",
    "nondeterministic": "values differ, and a backend gave different results on two identical calls.",
    "warnings-differ": "values agree, but the backends emit different warnings.",
    "mask-unreadable": "values agree, but the harness could not read a backend's masks on this Keras "
                       "(a failure of the harness, not a Keras divergence; masks were not compared).",
}

CLAIM_VERDICTS = {
    "holds": "every check of the claim passes on that backend",
    "partly": "some checks pass and some fail (the details list which)",
    "does not hold": "no check passes",
    "untested": "no scenario checks the claim",
}


def render(model: ReportModel) -> str:
    del model  # the legend is the same for every report
    verdicts = [[md.code(v, cell=True), MEANINGS.get(v, "")] for v in VERDICTS]
    defaults = "; ".join(f"{dtype} atol {atol:g}, rtol {rtol:g}"
                         for dtype, (atol, rtol) in DEFAULT_TOLERANCES.items())
    return "\n".join([
        "## How to read this report",
        "",
        "- **Comparison**: one scenario under two backends (a pair of runs). Its verdict is the most "
        "severe over the scenario's probes; a scenario's verdict is the most severe over its pairs.",
        "- **Probe**: a tensor the harness captures by name: each layer's output (`gru` or, for a "
        "layer with several outputs, `gru[1]`) and the mask it carries. Training scenarios add `loss`, "
        "`grad/<layer>#<i>` (the gradient of the layer's i-th weight), `grad/input/<name>` and "
        "`step/<layer>#<i>` (the weight after one optimizer step). `jit/<probe>` is the same probe from "
        "the compiled model (`tf.function(jit_compile=True)`, `jax.jit`; `torch.compile` only on request).",
        "- **Masks** are drawn as one string of 0 and 1 per sequence, one digit per timestep: **1 = kept**, "
        "0 = masked; sequences are separated by spaces (or `|` in evidence text). `no mask` means the "
        "tensor carries none. *Kept steps* are those both backends' masks keep; the others are *masked steps*.",
        f"- **Tolerance**: values match when |a − b| ≤ atol + rtol·max(|a|, |b|). Defaults by dtype: "
        f"{defaults}; ints and bools exact. A scenario's own overrides are given in its section. The matrix "
        "and the heatmap measure a difference in tolerances: 1 is the limit, 0.1 is a tenth of it; the probe "
        "tables in each scenario's section give the largest absolute difference, and the differences "
        "beyond tolerance are itemized below them.",
        "- **Claims**: the seed's six conclusions (C1-C6), judged per backend from the scenarios' checks: "
        + "; ".join(f"*{k}*: {v}" for k, v in CLAIM_VERDICTS.items()) + ".",
        "",
        md.table(["verdict", "meaning"], verdicts),
    ])
