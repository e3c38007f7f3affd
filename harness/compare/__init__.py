"""Compare: artifacts in, verdicts out. Tolerances, mask-aware metrics, known divergences, claims.
numpy only."""
