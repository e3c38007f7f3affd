"""Found by generation (harness fuzz): differs, first at a custom.ConsumeMask layer.

Diverging pairs: keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu. Shrunk from 6 to 3 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/differs-custom-consumemask-keras-3-15-1-torch-cpu-keras-nightly-3-16-0-0fc5d7.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|differs|custom.ConsumeMask'  # noqa: E501
CAUSE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|differs|custom|all-masked-row'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "inputs": [
  {
   "kind": "tokens",
   "name": "x0",
   "rows": [
    "right"
   ],
   "vocab": 2
  }
 ],
 "layers": [
  {
   "args": {
    "input_dim": 2,
    "mask_zero": true,
    "output_dim": 1
   },
   "in": [
    "x0"
   ],
   "name": "l0",
   "op": "Embedding"
  },
  {
   "args": {},
   "in": [
    "l0"
   ],
   "name": "l4",
   "op": "custom.SetMask"
  },
  {
   "args": {},
   "in": [
    "l4"
   ],
   "name": "l5",
   "op": "custom.ConsumeMask"
  }
 ],
 "name": "found/differs-custom-consumemask-keras-3-15-1-torch-cpu-keras-nightly-3-16-0-0fc5d7",
 "outputs": [
  "l5"
 ],
 "seed": 1593225766,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s0-512"
}
""")


@scenario(
    SPEC["name"],
    description='generated: differs (keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu) first at custom.ConsumeMask; layers Embedding > custom.SetMask > custom.ConsumeMask',  # noqa: E501
    tags=('generated', 'found', 'differs'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
