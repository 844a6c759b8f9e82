"""Augmentation: pure numpy/pandas kernels, a stateless keyed random generator, and (to come) the Spark layer."""
