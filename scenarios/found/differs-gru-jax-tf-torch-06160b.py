"""Found by generation (harness fuzz): differs, first at a GRU layer.

Diverging pairs: tensorflow-vs-jax, jax-vs-torch. Shrunk from 6 to 2 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/differs-gru-jax-tf-torch-06160b.py
"""

import json

from harness import scenario

SIGNATURE = 'tensorflow-vs-jax+jax-vs-torch|differs|GRU'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "inputs": [
  {
   "features": 4,
   "fill": null,
   "kind": "float",
   "name": "x1",
   "rows": [
    "right"
   ]
  },
  {
   "kind": "mask",
   "name": "m1",
   "rows": [
    "right"
   ]
  }
 ],
 "layers": [
  {
   "args": {},
   "in": [
    "x1"
   ],
   "name": "l1",
   "op": "GlobalAveragePooling1D"
  },
  {
   "args": {
    "go_backwards": false,
    "reset_after": true,
    "return_sequences": false,
    "return_state": true,
    "units": 4,
    "unroll": false
   },
   "call": {
    "initial_state": {
     "refs": [
      "l1"
     ]
    },
    "mask": {
     "ref": "m1"
    }
   },
   "in": [
    "x1"
   ],
   "name": "l3",
   "op": "GRU"
  }
 ],
 "name": "found/differs-gru-jax-tf-torch-06160b",
 "outputs": [
  "l3:0",
  "l3:1"
 ],
 "seed": 998316617,
 "time": 1,
 "training": false,
 "version": 1
}
""")


@scenario(
    SPEC["name"],
    description='generated: differs (tensorflow-vs-jax jax-vs-torch) first at GRU; layers GlobalAveragePooling1D > GRU',  # noqa: E501
    tags=('generated', 'found', 'differs', 'gru', 'initial_state'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
