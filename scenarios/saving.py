"""saving/: masks after a round trip through the `.keras` format, across backends, and through export.

A model saved under one backend and loaded under another is the migration path itself. Each
backend's run loads the three committed archives (scenarios/data/saving/<backend>.keras, one saved
under each backend by make_archives.py there) and compares each loaded model's outputs and masks with
the same model built fresh in this process before any saving (same numpy weights): a 3x3 round
trip, one scenario per archive, the backend that loads it being the run's own. Masking with a scalar
and with a tensor mask_value round-trips in-process (keras-team/keras#20706, fixed by #20791), and
export to a SavedModel reloaded as TFSMLayer shows what that path keeps of the mask (#21133).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from harness import Expectation, scenario
from scenarios._common import bits, expect
from scenarios._saving_model import ARCHIVES, BACKENDS, FEATURE_KEEP, TOKEN_KEEP, archive, build_model, inputs

THEME = "theme:saving"
OUTPUTS = ("tagger", "pooled", "projection")  # the saved model's outputs: two with a mask, one without
EXPECTED_MASKS = {"tagger": TOKEN_KEEP, "projection": FEATURE_KEEP}


def _same_as_fresh(source: str) -> Expectation:
    """Every output and mask of the loaded model equals the fresh model's (same weights, same process)."""
    loaded = f"saved_on_{source}"

    def check(c):
        worst, masks = 0.0, []
        for out in OUTPUTS:
            fresh, again = c.probes[f"before_saving/{out}"], c.probes[f"{loaded}/{out}"]
            worst = max(worst, float(np.max(np.abs(fresh.values.astype(np.float64) - again.values))))
            same = (fresh.mask is None) == (again.mask is None) and (
                fresh.mask is None or np.array_equal(fresh.mask, again.mask))
            masks.append(f"{out} mask {bits(again.mask)}{'' if same else ' (fresh: ' + bits(fresh.mask) + ')'}")
            if not same:
                worst = float("inf")
        return worst <= 1e-6, f"{loaded} vs before_saving: max |diff| {worst:.2e}; " + "; ".join(masks)

    return expect(f"the archive saved on {source} reloads with the fresh model's outputs and masks", check)


def _masks_as_built(source: str) -> Expectation:
    loaded = f"saved_on_{source}"

    def check(c):
        got = {out: c.mask(f"{loaded}/{out}") for out in EXPECTED_MASKS}
        ok = all(m is not None and np.array_equal(m, EXPECTED_MASKS[o]) for o, m in got.items())
        return ok, "; ".join(f"{o} mask {bits(m)}, expected {bits(EXPECTED_MASKS[o])}" for o, m in got.items())

    return expect(f"the reloaded model's output masks are the input padding (archive from {source})", check)


def _writer(source: str) -> str:
    record = ARCHIVES / "versions.json"
    versions = json.loads(record.read_text()).get(source, {}) if record.exists() else {}
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "versions not recorded"


def _round_trip(source: str) -> None:
    @scenario(f"saving/load-{source}-archive", tags=(THEME, "saving", "pooling", "embedding", "masking"),
              upstream=("keras-team/keras#20706",),
              description=f"load the .keras archive saved under {source} ({_writer(source)}) and compare "
                          f"its outputs and masks with the same model built fresh in this backend",
              expect=[_same_as_fresh(source), _masks_as_built(source)], own_weights=True)
    def build():
        import keras

        fresh = build_model("before_saving")
        loaded = keras.saving.load_model(archive(source))
        tokens = keras.Input((None,), dtype="int32", name="tokens")
        features = keras.Input((None, 2), name="features")
        outputs = [*fresh([tokens, features]), *loaded([tokens, features])]
        return keras.Model([tokens, features], outputs, name=f"round_trip_{source}"), inputs()


for _source in BACKENDS:
    _round_trip(_source)


MASK_VALUE_X = np.array([[[0.0, 0.0], [0.5, 0.0], [0.0, 0.0], [0.25, -0.5]],
                         [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]], dtype=np.float32)
MASK_VALUE_KEEP = np.array([[False, True, False, True], [True, False, False, False]])


def _masking_round_trip(kind: str) -> None:
    def same_mask(c):
        before, after = c.mask("before_saving"), c.mask("reloaded")
        ok = before is not None and after is not None and np.array_equal(before, MASK_VALUE_KEEP) \
            and np.array_equal(after, MASK_VALUE_KEEP)
        return ok, f"mask before saving {bits(before)}, after reloading {bits(after)}, expected {bits(MASK_VALUE_KEEP)}"

    @scenario(f"saving/masking-{kind}-mask-value", tags=(THEME, "saving", "masking"),
              upstream=("keras-team/keras#20706", "keras-team/keras#20791"),
              description=f"Masking(mask_value=<{kind}>) saved to .keras and reloaded in the same backend: "
                          f"does the reloaded layer mask the same steps?",
              expect=[expect("the reloaded Masking masks the same steps", same_mask)])
    def build():
        import keras

        value = 0.0 if kind == "scalar" else keras.ops.zeros((2,))  # #20706: a tensor did not deserialize
        x = keras.Input((None, 2), name="x")
        saved = keras.Model(x, keras.layers.Masking(mask_value=value, name="reloaded")(x))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "masking.keras"
            saved.save(path)
            reloaded = keras.saving.load_model(path).get_layer("reloaded")  # the deserialized layer
        fresh = keras.layers.Masking(mask_value=value, name="before_saving")  # the same config, never saved
        return keras.Model(x, [fresh(x), reloaded(x)], name=f"masking_{kind}"), MASK_VALUE_X


for _kind in ("scalar", "tensor"):
    _masking_round_trip(_kind)


def _tfsm_mask(c):
    if c.error is not None:  # export or TFSMLayer unavailable on this backend: the mask is not kept here either
        return False, f"raised {c.error.type}: {c.error.message[:160]}"
    got = c.mask("tfsm")
    return got is not None, f"TFSMLayer output mask {bits(got)} (the exported model's: {bits(c.mask('exported'))})"


@scenario("saving/export-tfsmlayer", tags=(THEME, "saving", "export", "masking"),
          upstream=("keras-team/keras#21133",),
          description="model.export() to a SavedModel, reloaded with keras.layers.TFSMLayer: does the "
                      "reloaded output carry the Masking layer's mask? (TFSMLayer exists on TensorFlow only)",
          expect=[Expectation("the TFSMLayer output keeps the mask, as tf-keras SavedModels did", _tfsm_mask)])
def export_tfsmlayer():
    import keras

    x = keras.Input((None, 2), name="x")
    model = keras.Model(x, keras.layers.Masking(0.0, name="masking")(x), name="exported")
    with tempfile.TemporaryDirectory() as folder:
        model.export(folder, verbose=False)
        reloaded = keras.layers.TFSMLayer(folder, call_endpoint="serve", name="tfsm")
        outer = keras.Model(x, [model(x), reloaded(x)], name="export_round_trip")
        return outer, MASK_VALUE_X
