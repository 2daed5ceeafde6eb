"""Compiled prediction and recording on scaled features.

Rows are processed in power-of-two chunks (at most :data:`PREDICT_BYTES` of traces per
chunk), so data sets of similar size share one compiled function.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from ._compile import compiled, device_scope
from .network import Hyper, Spec, forward, simulate

__all__ = ["hyper_tensor", "pow2", "predict_logits", "record"]

PREDICT_BYTES = 256 * 2**20  # bound on the traces held while predicting one chunk


def pow2(n: int) -> int:
    """The smallest power of two ``>= n`` (1 for ``n <= 1``)."""
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def hyper_tensor(hyper: Hyper) -> tf.Tensor:
    """``tau, threshold, dt, surrogate_slope`` as one float32 tensor (a value, not a constant)."""
    return tf.constant([hyper.tau, hyper.threshold, hyper.dt, hyper.surrogate_slope], tf.float32)


def _chunk_rows(spec: Spec) -> int:
    width = max((*spec.hidden_layer_sizes, spec.n_outputs, spec.n_features))
    per_row = 4 * 4 * spec.n_steps * width
    rows = max(8, min(4096, PREDICT_BYTES // per_row))
    return 1 << int(math.log2(rows))


def _chunks(X: np.ndarray, spec: Spec):
    """Yield ``(padded chunk, number of real rows)`` in power-of-two sizes."""
    rows = _chunk_rows(spec)
    for start in range(0, len(X), rows):
        part = X[start : start + rows]
        padded = np.zeros((min(rows, max(8, pow2(len(part)))), X.shape[1]), np.float32)
        padded[: len(part)] = part
        yield padded, len(part)


def _predict_builder(spec: Spec):
    def predict(weights, hyper, X, seed):
        return forward(spec, weights, Hyper(*tf.unstack(hyper)), X, seed)

    return predict


def _record_builder(spec: Spec):
    def record_fn(weights, hyper, X, seed):
        logits, encoded, traces = simulate(spec, weights, Hyper(*tf.unstack(hyper)), X, seed)
        empty = tf.zeros([0], X.dtype)
        return logits, encoded, [(empty if s is None else s, v) for s, v in traces]

    return record_fn


def predict_logits(
    spec: Spec, weights, hyper: Hyper, X: np.ndarray, seed, device: str
) -> np.ndarray:
    """Logits for scaled features ``X`` (float32, 2-D) from the compiled prediction function."""
    hyper_t, seed_t = hyper_tensor(hyper), tf.constant(seed, tf.int32)
    weights = tuple(weights)
    out = []
    with device_scope(device):
        for padded, n in _chunks(X, spec):
            fn = compiled("predict", (spec, len(padded), device), lambda: _predict_builder(spec))
            out.append(fn(weights, hyper_t, tf.constant(padded), seed_t).numpy()[:n])
    return np.concatenate(out) if out else np.zeros((0, spec.n_outputs), np.float32)


def record(spec: Spec, weights, hyper: Hyper, X: np.ndarray, seed, device: str):
    """Simulate on scaled ``X``; return logits, encoded input and per-layer traces.

    Everything comes back batch-major, ``(n_samples, n_steps, ...)``; the traces are a list
    of ``(spikes or None, membrane)`` per layer.
    """
    hyper_t, seed_t = hyper_tensor(hyper), tf.constant(seed, tf.int32)
    parts = []
    with device_scope(device):
        for padded, n in _chunks(X, spec):
            fn = compiled("record", (spec, len(padded), device), lambda: _record_builder(spec))
            logits, encoded, traces = fn(tuple(weights), hyper_t, tf.constant(padded), seed_t)
            encoded = encoded.numpy()
            if encoded.ndim == 2:
                encoded = np.broadcast_to(encoded[np.newaxis], (spec.n_steps, *encoded.shape))
            arrays = [encoded] + [a.numpy() for pair in traces for a in pair]
            parts.append(
                [logits.numpy()[:n]]
                + [np.swapaxes(a[:, :n], 0, 1) if a.ndim == 3 else None for a in arrays]
            )
    columns = [None if c[0] is None else np.concatenate(c) for c in zip(*parts)]
    logits, encoded, flat = columns[0], columns[1], columns[2:]
    return logits, encoded, list(zip(flat[0::2], flat[1::2]))
