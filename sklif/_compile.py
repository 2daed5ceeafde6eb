"""The cache of XLA-compiled functions, and how often they were traced."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable

import tensorflow as tf

__all__ = ["clear_cache", "compiled", "trace_count"]

KINDS = ("train", "predict", "record", "distributed", "distributed_step")
_CACHE: dict[tuple, Callable] = {}
TRACES: collections.Counter = collections.Counter()


def trace_count(kind: str | None = None) -> int:
    """How many times a compiled function was traced in this process.

    ``kind`` is one of :data:`KINDS` (``"distributed"`` and ``"distributed_step"`` are the
    multi-device training's); None counts them all.
    """
    if kind not in (None, *KINDS):
        raise ValueError(f"Unknown kind {kind!r}; choose one of {KINDS}.")
    return TRACES[kind] if kind else sum(TRACES.values())


def clear_cache() -> None:
    """Forget every compiled function (they are compiled again on next use)."""
    _CACHE.clear()


class _Entry:
    """A cache entry's Python function. TensorFlow keys its retracing statistics by the code
    of a plain function, which all entries share; a callable object gives each its own, so
    the intended one-trace-per-entry does not trigger "frequent retracing" warnings."""

    def __init__(self, kind: str, fn: Callable):
        self.kind, self.fn = kind, fn

    def __call__(self, *args):
        TRACES[self.kind] += 1  # runs only while TensorFlow traces
        return self.fn(*args)


def compiled(kind: str, key: tuple, build: Callable[[], Callable]) -> Callable:
    """The XLA-compiled function for ``(kind, *key)``, built by ``build()`` on first use.

    ``key`` must hold everything that fixes the graph; every number that may change between
    calls must be passed to the function as a tensor.
    """
    full_key = (kind, *key)
    if full_key not in _CACHE:
        _CACHE[full_key] = tf.function(_Entry(kind, build()), jit_compile=True)
    return _CACHE[full_key]


def device_scope(device: str):
    """``tf.device`` for ``"cpu"``/``"gpu"``; TensorFlow's own placement for ``"auto"``."""
    if device == "auto":
        return contextlib.nullcontext()
    return tf.device({"cpu": "/CPU:0", "gpu": "/GPU:0"}[device])
