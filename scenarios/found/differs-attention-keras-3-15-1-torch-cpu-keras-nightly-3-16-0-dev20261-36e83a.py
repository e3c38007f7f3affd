"""Found by generation (harness fuzz): differs, first at a Attention layer.

Diverging pairs: keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu. Shrunk from 4 to 3 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/differs-attention-keras-3-15-1-torch-cpu-keras-nightly-3-16-0-dev20261-36e83a.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|differs|Attention'  # noqa: E501
CAUSE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|differs|attention|all-masked-row'  # noqa: E501
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
  },
  {
   "kind": "tokens",
   "name": "x1",
   "rows": [
    "none"
   ],
   "vocab": 2
  }
 ],
 "layers": [
  {
   "args": {
    "input_dim": 2,
    "mask_zero": true,
    "output_dim": 4
   },
   "in": [
    "x0"
   ],
   "name": "l0",
   "op": "Embedding"
  },
  {
   "args": {
    "input_dim": 2,
    "mask_zero": true,
    "output_dim": 4
   },
   "in": [
    "x1"
   ],
   "name": "l1",
   "op": "Embedding"
  },
  {
   "args": {
    "use_scale": false
   },
   "in": [
    "l1",
    "l0"
   ],
   "name": "l2",
   "op": "Attention"
  }
 ],
 "name": "found/differs-attention-keras-3-15-1-torch-cpu-keras-nightly-3-16-0-dev20261-36e83a",
 "outputs": [
  "l2"
 ],
 "seed": 945368448,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s0-713"
}
""")


@scenario(
    SPEC["name"],
    description='generated: differs (keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu) first at Attention; layers Embedding > Embedding > Attention',  # noqa: E501
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
