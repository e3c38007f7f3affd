"""Found by generation (harness fuzz): mask-differs, first at a Reshape layer.

Diverging pairs: tensorflow-vs-jax, jax-vs-torch. Shrunk from 3 to 2 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/mask-differs-reshape-jax-tf-torch-a21362.py
"""

import json

from harness import scenario

SIGNATURE = 'tensorflow-vs-jax+jax-vs-torch|mask-differs|Reshape'  # noqa: E501
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
  }
 ],
 "name": "found/mask-differs-reshape-jax-tf-torch-a21362",
 "outputs": [
  "l1"
 ],
 "seed": 1,
 "time": 1,
 "training": false,
 "version": 1
}
""")


@scenario(
    SPEC["name"],
    description='generated: mask-differs (tensorflow-vs-jax jax-vs-torch) first at Reshape; layers Embedding > Reshape',  # noqa: E501
    tags=('generated', 'found', 'mask-differs', 'embedding', 'reshape'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
