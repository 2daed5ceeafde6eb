"""sklif: scikit-learn estimators made of leaky-integrate-and-fire neurons."""

from importlib.metadata import PackageNotFoundError, version

from . import layers
from ._threads import limit_tensorflow_threads
from .classifier import LIFClassifier
from .network import Recording
from .persistence import ModelFileError, load

try:
    __version__ = version("sklif")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

limit_tensorflow_threads()  # a joblib/Dask worker's share of the cores (OMP_NUM_THREADS)

__all__ = ["LIFClassifier", "ModelFileError", "Recording", "__version__", "layers", "load"]
