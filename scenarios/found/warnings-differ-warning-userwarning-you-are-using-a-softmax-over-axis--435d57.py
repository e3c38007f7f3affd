"""Found by generation (harness fuzz): warnings-differ, first at a warning(UserWarning: You are using a softmax over axis -N of a tensor of shape (N, N, N). This axis h) layer.

Diverging pairs: tensorflow-vs-torch, jax-vs-torch. Shrunk from 14 to 1 layers besides the inputs.
Standalone reproduction (keras + numpy only):
scenarios/found/repro/warnings-differ-warning-userwarning-you-are-using-a-softmax-over-axis--435d57.py
"""

import json

from harness import scenario
from harness.define import spec as specs
from harness.generate import fitmode

SIGNATURE = 'tensorflow-vs-torch+jax-vs-torch|warnings-differ|warning(UserWarning: You are using a softmax over axis -N of a tensor of shape (N, N, N). This axis h)'  # noqa: E501
CAUSE = 'torch|warnings-differ|warning(UserWarning: You are using a softmax over axis -N of a tensor of shape (N, N, N). This axis h)|-'  # noqa: E501
SPEC = json.loads(r"""
{
 "batch": 1,
 "dtype_policy": null,
 "inputs": [
  {
   "features": 1,
   "fill": 0.0,
   "kind": "float",
   "name": "x0",
   "rows": [
    "none"
   ]
  }
 ],
 "layers": [
  {
   "args": {},
   "in": [
    "x0",
    "x0"
   ],
   "name": "l1",
   "op": "AdditiveAttention"
  }
 ],
 "name": "found/warnings-differ-warning-userwarning-you-are-using-a-softmax-over-axis--435d57",
 "outputs": [
  "l1"
 ],
 "seed": 1451384732,
 "time": 1,
 "training": false,
 "version": 1,
 "weight_seed": "fuzz/s26-171"
}
""")


@scenario(
    SPEC["name"],
    description='generated: warnings-differ (tensorflow-vs-torch jax-vs-torch) first at warning(UserWarning: You are using a softmax over axis -N of a tensor of shape (N, N, N). This axis h); layers AdditiveAttention',  # noqa: E501
    tags=('generated', 'found', 'warnings-differ', 'family:warning', 'source:none', 'mode:forward', 'keras:3.15.1'),
    dtype_policy=SPEC["dtype_policy"],
    training=SPEC["training"],
    weight_seed=SPEC.get("weight_seed"),
    fit=specs.fit_of(SPEC),  # fit mode: compile, fit, evaluate, train_on_batch; judged by claims T1..T5
    expect=fitmode.expectations(SPEC),
)
def build():
    from harness.run import spec_build

    return spec_build.build(SPEC)
