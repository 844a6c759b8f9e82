"""Recommendation evaluation: numpy reference kernels for ranking metrics and the paired bootstrap."""
