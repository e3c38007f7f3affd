"""Found by generation (harness fuzz): mask-differs, first at a Cropping1D layer.

Diverging pairs: tensorflow-vs-jax, jax-vs-torch. Shrunk from 6 to 2 layers besides the inputs (case s3-10
of `harness fuzz --seed 3 --variants`: the JAX no-op mask class, the cause of found/mask-differs-reshape-*).
Standalone reproduction (keras + numpy only):
scenarios/found/repro/mask-differs-cropping1d-jax-tf-torch-6eadf4.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'tensorflow-vs-jax+jax-vs-torch|mask-differs|Cropping1D'  # noqa: E501
CAUSE = 'jax|mask-differs|reshaping|identity'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "inputs": [
  {
   "features": 1,
   "fill": null,
   "kind": "float",
   "name": "x0",
   "rows": [
    "none"
   ]
  },
  {
   "kind": "mask",
   "name": "m0",
   "rows": [
    "none"
   ]
  }
 ],
 "layers": [
  {
   "args": {
    "go_backwards": false,
    "return_sequences": true,
    "return_state": true,
    "units": 1,
    "unroll": false
   },
   "call": {
    "mask": {
     "ref": "m0"
    }
   },
   "in": [
    "x0"
   ],
   "name": "l1",
   "op": "SimpleRNN"
  },
  {
   "args": {
    "cropping": [
     0,
     0
    ]
   },
   "in": [
    "l1:0"
   ],
   "name": "l5",
   "op": "Cropping1D"
  }
 ],
 "name": "found/mask-differs-cropping1d-jax-tf-torch-6eadf4",
 "outputs": [
  "l1:1",
  "l5"
 ],
 "seed": 144657007,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s3-10"
}
""")


@scenario(
    SPEC["name"],
    description='generated: mask-differs (tensorflow-vs-jax jax-vs-torch) first at Cropping1D; layers SimpleRNN > Cropping1D',  # noqa: E501
    tags=('generated', 'found', 'mask-differs'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
