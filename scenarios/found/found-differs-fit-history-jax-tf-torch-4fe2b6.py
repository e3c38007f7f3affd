"""Found by generation (harness fuzz): differs, first at a fit/history layer.

Diverging pairs: tensorflow-vs-jax, tensorflow-vs-torch. Shrunk from 3 to 1 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/found-differs-fit-history-jax-tf-torch-4fe2b6.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'tensorflow-vs-jax+tensorflow-vs-torch|differs|fit/history'  # noqa: E501
CAUSE = 'tensorflow|differs|fit/history|Adam'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "fit": {
  "learning_rate": 0.05,
  "loss": "mse",
  "metrics": [],
  "on_batch": false,
  "optimizer": "Adam",
  "sample_weight_rank": null,
  "steps": 1,
  "units": 2,
  "weighted_metrics": [
   "mae",
   "mse"
  ]
 },
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
    "output_dim": 2
   },
   "in": [
    "x0"
   ],
   "name": "l0",
   "op": "Embedding"
  }
 ],
 "name": "fit/found-differs-fit-history-jax-tf-torch-4fe2b6",
 "outputs": [
  "l0"
 ],
 "seed": 1670336421,
 "time": 3,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s26-339"
}
""")


@scenario(
    SPEC["name"],
    description='generated: differs (tensorflow-vs-jax tensorflow-vs-torch) first at fit/history; layers Embedding',  # noqa: E501
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
