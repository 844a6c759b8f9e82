"""recaug-spark: PySpark jobs that augment e-commerce recommendation data on Delta Lake."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("recaug-spark")
except PackageNotFoundError:  # running from a --py-files zip without package metadata
    __version__ = "0.1.0"

__all__ = ["__version__"]
