"""The scenario suite: one module per topic. Modules starting with '_' are helpers, not scenarios."""
