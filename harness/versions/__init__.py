"""Versions: runtimes (Keras 2, Keras 3 releases), their cached environments, and bisect."""
