"""Found by generation (harness fuzz): warnings-differ, first at a warning(UserWarning: You are using a softmax over axis -N of a tensor of shape torch.Size([N, N, N]).) layer.

Diverging pairs: keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu. Shrunk from 8 to 1 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/warnings-differ-warning-userwarning-you-are-using-a-softmax-over-axis--f53b09.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|warnings-differ|warning(UserWarning: You are using a softmax over axis -N of a tensor of shape torch.Size([N, N, N]).)'  # noqa: E501
CAUSE = 'keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu|warnings-differ|warning(UserWarning: You are using a softmax over axis -N of a tensor of shape torch.Size([N, N, N]).)|-'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "inputs": [
  {
   "features": 1,
   "fill": 0.0,
   "kind": "float",
   "name": "x1",
   "rows": [
    "none"
   ]
  }
 ],
 "layers": [
  {
   "args": {},
   "in": [
    "x1",
    "x1"
   ],
   "name": "l7",
   "op": "AdditiveAttention"
  }
 ],
 "name": "found/warnings-differ-warning-userwarning-you-are-using-a-softmax-over-axis--f53b09",
 "outputs": [
  "l7"
 ],
 "seed": 1787187888,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s0-110"
}
""")


@scenario(
    SPEC["name"],
    description='generated: warnings-differ (keras-3.15.1-torch-cpu-vs-keras-nightly-3.16.0.dev2026102704-torch-cpu) first at warning(UserWarning: You are using a softmax over axis -N of a tensor of shape torch.Size([N, N, N]).); layers AdditiveAttention',  # noqa: E501
    tags=('generated', 'found', 'warnings-differ'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
