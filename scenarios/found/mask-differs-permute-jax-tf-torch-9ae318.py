"""Found by generation (harness fuzz): mask-differs, first at a Permute layer.

Diverging pairs: tensorflow-vs-jax, jax-vs-torch. Shrunk from 6 to 2 layers besides the inputs (case s8-20
of `harness fuzz --seed 8 --variants`: the JAX no-op mask class, the cause of found/mask-differs-reshape-*).
Standalone reproduction (keras + numpy only):
scenarios/found/repro/mask-differs-permute-jax-tf-torch-9ae318.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'tensorflow-vs-jax+jax-vs-torch|mask-differs|Permute'  # noqa: E501
CAUSE = 'jax|mask-differs|reshaping|identity'  # noqa: E501
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
    "dims": [
     1,
     2
    ]
   },
   "in": [
    "l0"
   ],
   "name": "l1",
   "op": "Permute"
  }
 ],
 "name": "found/mask-differs-permute-jax-tf-torch-9ae318",
 "outputs": [
  "l1"
 ],
 "seed": 1462553856,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s8-20"
}
""")


@scenario(
    SPEC["name"],
    description='generated: mask-differs (tensorflow-vs-jax jax-vs-torch) first at Permute; layers Embedding > Permute',  # noqa: E501
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
