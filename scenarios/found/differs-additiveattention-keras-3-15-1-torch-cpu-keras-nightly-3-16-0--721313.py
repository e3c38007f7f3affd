"""Found by generation (harness fuzz): differs, first at a AdditiveAttention layer.

Diverging pairs: keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu. Shrunk from 9 to 2 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/differs-additiveattention-keras-3-15-1-torch-cpu-keras-nightly-3-16-0--721313.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|differs|AdditiveAttention'  # noqa: E501
CAUSE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|differs|attention|-'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 2,
 "dtype_policy": null,
 "inputs": [
  {
   "features": 1,
   "fill": 0.0,
   "kind": "float",
   "name": "x0",
   "rows": [
    "none",
    "left"
   ]
  }
 ],
 "layers": [
  {
   "args": {
    "mask_value": 0.0
   },
   "in": [
    "x0"
   ],
   "name": "l0",
   "op": "Masking"
  },
  {
   "args": {},
   "call": {
    "use_causal_mask": true
   },
   "in": [
    "x0",
    "l0"
   ],
   "name": "l1",
   "op": "AdditiveAttention"
  }
 ],
 "name": "found/differs-additiveattention-keras-3-15-1-torch-cpu-keras-nightly-3-16-0--721313",
 "outputs": [
  "l1"
 ],
 "seed": 1200341723,
 "time": 2,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s0-34"
}
""")


@scenario(
    SPEC["name"],
    description='generated: differs (keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu) first at AdditiveAttention; layers Masking > AdditiveAttention',  # noqa: E501
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
