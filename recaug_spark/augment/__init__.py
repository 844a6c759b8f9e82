"""Augmentation: pure numpy/pandas kernels, the op recipes, and the Spark layer that applies them."""
