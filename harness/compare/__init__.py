"""Compare: artifacts in, verdicts out. Tolerances, mask-aware metrics, known divergences, claims (seed
and training), migration paths, baseline changes, the Keras timeline and bisect's differences. numpy only."""
