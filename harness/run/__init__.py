"""Run: the only stage that imports keras. Backends, capture, autodiff, the worker and its
supervisor; each run writes one artifact."""
