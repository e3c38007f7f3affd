"""Generate: the grammar of masking models (data), the generator, mutator, shrinker and the fuzzing
campaign. Drives run-stage workers; never imports keras itself."""
