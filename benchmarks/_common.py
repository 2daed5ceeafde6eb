"""Shared by the benchmark scripts: data, timing and memory helpers (NumPy and sklearn only)."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = [
    "Data",
    "RssMeter",
    "digits",
    "median",
    "rss_mib",
    "synthetic",
    "timed",
]


class Data(NamedTuple):
    """A train/test split plus the rows whose prediction is timed (raw, unscaled features)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_predict: np.ndarray
    name: str


def digits(n_predict: int = 10_000, seed: int = 0) -> Data:
    """sklearn's digits (64 features, 10 classes), a stratified 75/25 split; the rows to
    predict are the whole data set tiled to ``n_predict`` rows."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    X_predict = np.resize(X, (n_predict, X.shape[1]))  # repeats the rows
    return Data(X_train, y_train, X_test, y_test, X_predict, "digits")


def synthetic(n_train: int, n_test: int, n_features: int, n_classes: int, n_predict: int,
              seed: int = 0) -> Data:
    """Gaussian features labelled by a random linear teacher (learnable, of any shape)."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((n_features, n_classes))
    X = rng.standard_normal((n_train + n_test, n_features)).astype(np.float32)
    y = np.argmax(X @ teacher, axis=1)
    X_predict = np.resize(X, (n_predict, n_features))
    return Data(X[:n_train], y[:n_train], X[n_train:], y[n_train:], X_predict, "synthetic")


def timed(fn: Callable[[], object]) -> float:
    """Wall time of ``fn()`` in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def _status_kib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kib() -> float:
    scale = 1 / 1024 if sys.platform == "darwin" else 1  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def rss_mib() -> float:
    """Resident memory of this process now, in MiB (peak so far where /proc is missing)."""
    kib = _status_kib("VmRSS")
    return (kib if kib is not None else _maxrss_kib()) / 1024


class RssMeter:
    """Peak resident memory of this process in a phase, in MiB above the resident memory at
    :meth:`start` (taken after imports and data loading).

    On Linux the kernel's peak (``VmHWM``) is reset by writing ``5`` to
    ``/proc/self/clear_refs``, so :meth:`lap` can close one phase and open the next. Elsewhere
    the peak is ``ru_maxrss``, the peak since the process started (``exact`` is then False).
    """

    def __init__(self) -> None:
        self.base = 0.0
        self.exact = False

    def _reset_peak(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
            self.exact = _status_kib("VmHWM") is not None
        except OSError:
            self.exact = False

    def start(self) -> None:
        """Take the current resident memory as the base and open a phase."""
        self.base = rss_mib()
        self._reset_peak()

    def lap(self) -> float:
        """Close the phase (its peak above the base, MiB) and open the next one."""
        peak = self.stop()
        self._reset_peak()
        return peak

    def stop(self) -> float:
        """Peak resident memory of the phase above the base, in MiB."""
        kib = _status_kib("VmHWM") if self.exact else None
        peak = (kib if kib is not None else _maxrss_kib()) / 1024
        return max(peak - self.base, 0.0)
