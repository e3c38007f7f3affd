"""Found by generation (harness fuzz): error-differs, first at a error(torch:AttributeError) layer.

Diverging pairs: tensorflow-vs-torch, jax-vs-torch. Shrunk from 8 to 1 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/error-differs-error-torch-attributeerror-jax-tf-torch-1e7d1e.py
"""

import json

from harness import scenario

SIGNATURE = 'tensorflow-vs-torch+jax-vs-torch|error-differs|error(torch:AttributeError)'  # noqa: E501
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
    "go_backwards": true,
    "return_sequences": true,
    "return_state": false,
    "units": 1,
    "unroll": true
   },
   "call": {
    "mask": {
     "ref": "m0"
    }
   },
   "in": [
    "x0"
   ],
   "name": "l0",
   "op": "LSTM"
  }
 ],
 "name": "found/error-differs-error-torch-attributeerror-jax-tf-torch-1e7d1e",
 "outputs": [
  "l0"
 ],
 "seed": 304130445,
 "time": 1,
 "training": false,
 "version": 1
}
""")


@scenario(
    SPEC["name"],
    description='generated: error-differs (tensorflow-vs-torch jax-vs-torch) first at error(torch:AttributeError); layers LSTM',  # noqa: E501
    tags=('generated', 'found', 'error-differs', 'lstm', 'go_backwards', 'unroll'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
