"""Compiled training and prediction, and the epoch loop with early stopping.

One XLA-compiled function runs a whole epoch (every minibatch: forward pass, backpropagation
through time, Adam update), another predicts. Both are functional: weights, optimizer state,
the hyperparameters ``tau``, ``threshold``, ``dt``, ``surrogate_slope``, the learning rate and
``alpha`` go in as tensors and come out as tensors. The compiled functions are cached by
what fixes the graph (:class:`sklif.network.Spec`, batch size, padded data shape, device), so
the fits of a grid search over those numbers reuse one compilation.

Data are padded to a power-of-two number of batches (padding rows carry zero weight), and
predictions run in power-of-two chunks, so data sets of similar size share a graph too.
"""

from __future__ import annotations

import collections
import math
import time
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from .network import Hyper, Spec, forward, simulate

__all__ = [
    "AdamState",
    "History",
    "clear_cache",
    "predict_logits",
    "record",
    "trace_count",
    "train",
]

ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-8
_PREDICT_BYTES = 256 * 2**20  # bound on the traces held while predicting one chunk

_CACHE: dict[tuple, Callable] = {}
_TRACES: collections.Counter = collections.Counter()


def trace_count(kind: str | None = None) -> int:
    """How many times a training (``"epoch"``), prediction (``"predict"``) or recording
    (``"record"``) function has been traced in this process; all kinds when ``kind`` is None."""
    return _TRACES[kind] if kind else sum(_TRACES.values())


def clear_cache() -> None:
    """Forget every compiled function (they are compiled again on next use)."""
    _CACHE.clear()


class AdamState(NamedTuple):
    """Adam's moment estimates (one per weight) and its step count."""

    m: tuple
    v: tuple
    step: tf.Tensor

    @classmethod
    def zeros(cls, weights) -> AdamState:
        m = tuple(tf.zeros_like(w) for w in weights)
        v = tuple(tf.zeros_like(w) for w in weights)
        return cls(m, v, tf.constant(0.0))


def _device_scope(device: str):
    return tf.device({"cpu": "/CPU:0", "gpu": "/GPU:0"}[device]) if device != "auto" else _null()


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _kernels(spec: Spec, weights) -> list:
    """The kernels (the weights that ``alpha`` penalises), every ``kernel`` of the layout."""
    out, i = [], 0
    n_spiking = len(spec.hidden_layer_sizes) + (spec.readout == "spike_count")
    for index in range(len(spec.hidden_layer_sizes) + 1):
        out.append(weights[i])
        i += 3 if (index < n_spiking and spec.trainable_tau) else 2
    return out


class _Entry:
    """A cache entry's Python function. TensorFlow keys its retracing statistics by the code
    of a plain function, which all entries share; a callable object gives each its own, so
    the intended one-trace-per-entry does not trigger "frequent retracing" warnings."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


def _compiled(kind: str, key: tuple, build: Callable) -> Callable:
    full_key = (kind, *key)
    if full_key not in _CACHE:
        _CACHE[full_key] = tf.function(_Entry(build()), jit_compile=True, reduce_retracing=False)
    return _CACHE[full_key]


def _epoch_builder(spec: Spec, batch_size: int):
    def epoch(weights, adam, hyper, lr, alpha, X, Y, sw, perm, n_batches, seed):
        _TRACES["epoch"] += 1
        hyper = Hyper(*tf.unstack(hyper))

        def loss_fn(w, xb, yb, wb, bseed):
            logits = forward(spec, w, hyper, xb, bseed)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits)
            total = tf.reduce_sum(wb)
            denom = tf.maximum(total, 1e-12)
            l2 = tf.add_n([tf.reduce_sum(tf.square(k)) for k in _kernels(spec, w)])
            return tf.reduce_sum(wb * ce) / denom + 0.5 * alpha * l2 / denom, total

        def body(i, w, m, v, step, loss_sum, weight_sum):
            idx = tf.slice(perm, [i * batch_size], [batch_size])
            xb, yb, wb = tf.gather(X, idx), tf.gather(Y, idx), tf.gather(sw, idx)
            bseed = tf.stack([seed[0], seed[1] + i])
            with tf.GradientTape() as tape:
                tape.watch(w)
                loss, total = loss_fn(w, xb, yb, wb, bseed)
            grads = tape.gradient(loss, w)
            step = step + 1.0
            rate = lr * tf.sqrt(1.0 - ADAM_BETA_2**step) / (1.0 - ADAM_BETA_1**step)
            m = tuple(ADAM_BETA_1 * mi + (1.0 - ADAM_BETA_1) * g for mi, g in zip(m, grads))
            v = tuple(ADAM_BETA_2 * vi + (1.0 - ADAM_BETA_2) * g * g for vi, g in zip(v, grads))
            w = tuple(wi - rate * mi / (tf.sqrt(vi) + ADAM_EPSILON) for wi, mi, vi in zip(w, m, v))
            return i + 1, w, m, v, step, loss_sum + loss * total, weight_sum + total

        zero = tf.constant(0.0)
        _, w, m, v, step, loss_sum, weight_sum = tf.while_loop(
            lambda i, *_: i < n_batches,
            body,
            (tf.constant(0), tuple(weights), adam.m, adam.v, adam.step, zero, zero),
        )
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(wi)) for wi in w])
        loss = loss_sum / tf.maximum(weight_sum, 1e-12)
        return w, AdamState(m, v, step), loss, finite

    return lambda: epoch


def _predict_builder(spec: Spec):
    def predict(weights, hyper, X, seed):
        _TRACES["predict"] += 1
        return forward(spec, weights, Hyper(*tf.unstack(hyper)), X, seed)

    return lambda: predict


def _record_builder(spec: Spec):
    def record_fn(weights, hyper, X, seed):
        _TRACES["record"] += 1
        logits, encoded, traces = simulate(spec, weights, Hyper(*tf.unstack(hyper)), X, seed)
        empty = tf.zeros([0], X.dtype)
        return logits, encoded, [(empty if s is None else s, v) for s, v in traces]

    return lambda: record_fn


def _pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def _chunk_rows(spec: Spec) -> int:
    """Rows per prediction chunk: a power of two, bounded by :data:`_PREDICT_BYTES`."""
    width = max((*spec.hidden_layer_sizes, spec.n_outputs, spec.n_features))
    per_row = 4 * 4 * spec.n_steps * width
    rows = max(8, min(4096, _PREDICT_BYTES // per_row))
    return 1 << int(math.log2(rows))


def _hyper_tensor(hyper: Hyper) -> tf.Tensor:
    return tf.constant([hyper.tau, hyper.threshold, hyper.dt, hyper.surrogate_slope], tf.float32)


def _chunks(X: np.ndarray, spec: Spec):
    """Yield ``(padded chunk, number of real rows)`` in power-of-two sizes."""
    rows = _chunk_rows(spec)
    for start in range(0, len(X), rows):
        part = X[start : start + rows]
        size = min(rows, max(8, _pow2(len(part))))
        padded = np.zeros((size, X.shape[1]), np.float32)
        padded[: len(part)] = part
        yield padded, len(part)


def predict_logits(
    spec: Spec, weights, hyper: Hyper, X: np.ndarray, seed, device: str
) -> np.ndarray:
    """Logits for scaled features ``X`` (float32, 2-D) with the compiled prediction function."""
    hyper_t = _hyper_tensor(hyper)
    seed_t = tf.constant(seed, tf.int32)
    out = []
    with _device_scope(device):
        for padded, n in _chunks(X, spec):
            fn = _compiled("predict", (spec, len(padded), device), _predict_builder(spec))
            out.append(fn(tuple(weights), hyper_t, tf.constant(padded), seed_t).numpy()[:n])
    return np.concatenate(out) if out else np.zeros((0, spec.n_outputs), np.float32)


def record(spec: Spec, weights, hyper: Hyper, X: np.ndarray, seed, device: str):
    """Simulate on scaled ``X``; return logits, encoded input and per-layer traces.

    Everything comes back batch-major, ``(n_samples, n_steps, ...)``; the traces are a list
    of ``(spikes or None, membrane)`` per layer.
    """
    hyper_t, seed_t = _hyper_tensor(hyper), tf.constant(seed, tf.int32)
    parts = []
    with _device_scope(device):
        for padded, n in _chunks(X, spec):
            fn = _compiled("record", (spec, len(padded), device), _record_builder(spec))
            logits, encoded, traces = fn(tuple(weights), hyper_t, tf.constant(padded), seed_t)
            encoded = encoded.numpy()
            if encoded.ndim == 2:
                encoded = np.broadcast_to(encoded[np.newaxis], (spec.n_steps, *encoded.shape))
            arrays = [encoded] + [a.numpy() for pair in traces for a in pair]
            parts.append(
                [logits.numpy()[:n]]
                + [np.swapaxes(a[:, :n], 0, 1) if a.ndim == 3 else None for a in arrays]
            )
    columns = [None if column[0] is None else np.concatenate(column) for column in zip(*parts)]
    logits, encoded, flat = columns[0], columns[1], columns[2:]
    return logits, encoded, list(zip(flat[0::2], flat[1::2]))


class History(NamedTuple):
    """What :func:`train` did: the loss per epoch and, with a validation set, its accuracy."""

    loss_curve: list
    validation_scores: list
    n_epochs: int
    stopped: str  # "converged", "max_iter", "interrupted" or "diverged"


class Data(NamedTuple):
    """Training data padded for the compiled epoch function."""

    X: tf.Tensor
    Y: tf.Tensor
    sw: tf.Tensor
    n_samples: int
    batch_size: int
    n_batches: int


def pad_data(X: np.ndarray, y: np.ndarray, sw: np.ndarray, batch_size: int) -> Data:
    """Pad to ``batch_size * 2**k`` rows with zero-weight rows."""
    n = len(X)
    batch_size = max(1, min(batch_size, n))
    n_batches = math.ceil(n / batch_size)
    rows = batch_size * _pow2(n_batches)
    Xp = np.zeros((rows, X.shape[1]), np.float32)
    Xp[:n] = X
    Yp = np.zeros(rows, np.int32)
    Yp[:n] = y
    swp = np.zeros(rows, np.float32)
    swp[:n] = sw
    return Data(tf.constant(Xp), tf.constant(Yp), tf.constant(swp), n, batch_size, n_batches)


def run_epoch(
    spec: Spec,
    weights,
    adam: AdamState,
    hyper: Hyper,
    lr: float,
    alpha: float,
    data: Data,
    rng: np.random.Generator,
    device: str,
):
    """One pass over ``data`` in shuffled minibatches; returns ``(weights, adam, mean loss)``.

    The loss is NaN when the loss or any weight stopped being finite.
    """
    rows = int(data.X.shape[0])
    fn = _compiled(
        "epoch", (spec, data.batch_size, rows, device), _epoch_builder(spec, data.batch_size)
    )
    perm = np.arange(rows, dtype=np.int32)
    perm[: data.n_samples] = rng.permutation(data.n_samples)
    seed = rng.integers(0, 2**31 - 1, size=2).astype(np.int32)
    with _device_scope(device):
        w, adam, loss, finite = fn(
            tuple(weights),
            adam,
            _hyper_tensor(hyper),
            tf.constant(lr, tf.float32),
            tf.constant(alpha, tf.float32),
            data.X,
            data.Y,
            data.sw,
            tf.constant(perm),
            tf.constant(data.n_batches, tf.int32),
            tf.constant(seed),
        )
    loss = float(loss) if bool(finite) else float("nan")
    return w, adam, loss


def train(
    spec: Spec,
    weights,
    adam: AdamState,
    hyper: Hyper,
    data: Data,
    *,
    lr: float,
    alpha: float,
    max_iter: int,
    rng: np.random.Generator,
    device: str,
    tol: float,
    n_iter_no_change: int,
    best_loss: float = np.inf,
    validate: Callable | None = None,
    verbose: bool = False,
):
    """Run epochs until ``max_iter``, early stopping, divergence or Ctrl-C.

    Without ``validate``, training stops once the loss has not improved by ``tol`` for
    ``n_iter_no_change`` epochs in a row (as sklearn's MLP). With ``validate(weights) ->
    score``, it stops once the validation score has not improved by ``tol`` that long, and
    the weights of the best score are returned.

    Returns
    -------
    weights, adam, best_loss, best_validation_score, history
    """
    losses, scores = [], []
    best_score, best_weights = -np.inf, None
    no_improvement, stopped = 0, "max_iter"
    for epoch in range(max_iter):
        start = time.perf_counter()
        try:
            new_w, new_adam, loss = run_epoch(
                spec, weights, adam, hyper, lr, alpha, data, rng, device
            )
        except KeyboardInterrupt:
            stopped = "interrupted"
            break
        if not np.isfinite(loss):
            warnings.warn(
                f"Training diverged in epoch {epoch + 1} (non-finite loss or weights); "
                "keeping the last finite weights. Lower learning_rate_init or change "
                "tau/threshold/surrogate_slope.",
                RuntimeWarning,
                stacklevel=3,
            )
            stopped = "diverged"
            break
        weights, adam = new_w, new_adam
        losses.append(loss)
        message = f"Epoch {epoch + 1}/{max_iter} - loss: {loss:.4f}"
        if validate is not None:
            score = validate(weights)
            scores.append(score)
            message += f" - validation score: {score:.4f}"
            if score > best_score:
                best_weights = weights
            improved = score > best_score + tol
            best_score = max(best_score, score)
        else:
            improved = loss < best_loss - tol
        best_loss = min(best_loss, loss)
        no_improvement = 0 if improved else no_improvement + 1
        if verbose:
            print(f"{message} - {time.perf_counter() - start:.3f}s", flush=True)
        if no_improvement > n_iter_no_change:
            stopped = "converged"
            if verbose:
                print(f"Stopping: no improvement above tol={tol} for {n_iter_no_change} epochs.")
            break
    if validate is not None and best_weights is not None:
        weights = best_weights
    history = History(losses, scores, len(losses), stopped)
    return weights, adam, best_loss, best_score, history
