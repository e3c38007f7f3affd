"""Found by generation (harness fuzz): differs, first at a fit/history layer.

Diverging pairs: tensorflow-vs-jax, jax-vs-torch. Shrunk from 3 to 3 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/found-differs-fit-history-jax-tf-torch-661a30.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'tensorflow-vs-jax+jax-vs-torch|differs|fit/history'  # noqa: E501
CAUSE = 'jax|differs|fit/history|Adam,sample-weight-rank-3'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "fit": {
  "learning_rate": 0.05,
  "loss": "sparse_categorical_crossentropy",
  "metrics": [],
  "on_batch": true,
  "optimizer": "Adam",
  "sample_weight_rank": 3,
  "steps": 2,
  "units": 3,
  "weighted_metrics": [
   "sparse_categorical_crossentropy"
  ]
 },
 "inputs": [
  {
   "kind": "tokens",
   "name": "x0",
   "rows": [
    "middle"
   ],
   "vocab": 3
  }
 ],
 "layers": [
  {
   "args": {
    "input_dim": 3,
    "mask_zero": true,
    "output_dim": 2
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
   "name": "l1",
   "op": "BatchNormalization"
  },
  {
   "args": {
    "activation": "softmax",
    "units": 3
   },
   "in": [
    "l1"
   ],
   "name": "l2",
   "op": "Dense"
  }
 ],
 "name": "fit/found-differs-fit-history-jax-tf-torch-661a30",
 "outputs": [
  "l2"
 ],
 "seed": 805992443,
 "time": 3,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s26-139"
}
""")


@scenario(
    SPEC["name"],
    description='generated: differs (tensorflow-vs-jax jax-vs-torch) first at fit/history; layers Embedding > BatchNormalization > Dense',  # noqa: E501
    tags=('generated', 'found', 'differs', 'family:fit/history', 'source:embedding', 'mode:fit', 'keras:3.15.1'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
