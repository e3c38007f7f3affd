"""Found by generation (harness fuzz): mask-differs, first at a Dense layer.

Diverging pairs: tensorflow-vs-jax, jax-vs-torch. Shrunk from 4 to 4 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/mask-differs-dense-jax-tf-torch-440036.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'tensorflow-vs-jax+jax-vs-torch|mask-differs|Dense'  # noqa: E501
CAUSE = 'jax|mask-differs|elementwise|-'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "inputs": [
  {
   "kind": "tokens",
   "name": "x0",
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
    "output_dim": 1
   },
   "in": [
    "x0"
   ],
   "name": "l0",
   "op": "Embedding"
  },
  {
   "args": {
    "target_shape": [
     1,
     1
    ]
   },
   "in": [
    "l0"
   ],
   "name": "l1",
   "op": "Reshape"
  },
  {
   "args": {
    "layer": "l1"
   },
   "in": [
    "l1"
   ],
   "name": "l6",
   "op": "shared"
  },
  {
   "args": {
    "activation": null,
    "units": 1
   },
   "in": [
    "l6"
   ],
   "name": "l7",
   "op": "Dense"
  }
 ],
 "name": "found/mask-differs-dense-jax-tf-torch-440036",
 "outputs": [
  "l7"
 ],
 "seed": 1876920893,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s26-419"
}
""")


@scenario(
    SPEC["name"],
    description='generated: mask-differs (tensorflow-vs-jax jax-vs-torch) first at Dense; layers Embedding > Reshape > Dense',  # noqa: E501
    tags=('generated', 'found', 'mask-differs', 'family:elementwise', 'source:embedding', 'boundary:Embedding', 'boundary:Dense', 'mode:forward', 'keras:3.15.1'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
