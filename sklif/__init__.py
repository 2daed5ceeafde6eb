"""sklif: scikit-learn estimators made of leaky-integrate-and-fire neurons."""

from importlib.metadata import PackageNotFoundError, version

from . import layers
from .classifier import LIFClassifier
from .network import Recording

try:
    __version__ = version("sklif")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["LIFClassifier", "Recording", "__version__", "layers"]
