"""Define: what a case is. Scenarios, the registry, expectations, tolerances, specs, numpy weights,
scenario data (fit specs) and the captured-results model they are judged on. Imports nothing of the
harness but safety; never imports keras."""
