"""keras-mask-harness: run Keras masking scenarios under each backend and compare the results.

`import harness` never imports keras: the decorator only registers a scenario. Keras is imported
by the run stage, after the backend has been chosen.
"""

from harness.define.registry import Expectation, Scenario, Tolerance, Train, scenario

__version__ = "0.1.0"
__all__ = ["Expectation", "Scenario", "Tolerance", "Train", "scenario", "__version__"]
