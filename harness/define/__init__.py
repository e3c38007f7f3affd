"""Define: what a case is. Scenarios, the registry, expectations, tolerances, numpy weights and the
captured-results model they are judged on. Never imports keras."""
