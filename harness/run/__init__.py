"""Run: the only stage that imports keras. Backends, capture, autodiff, the workers, the one process
supervisor (processes.py) and the scenario loader (loader.py); each run writes one artifact."""
