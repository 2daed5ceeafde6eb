"""Data-parallel training on several devices through a ``tf.distribute`` strategy.

Pass a strategy the Keras way, by fitting inside its scope::

    strategy = tf.distribute.MirroredStrategy()  # every GPU of this machine
    with strategy.scope():
        clf.fit(X, y)

Each minibatch is split into one shard per replica. Every replica computes, with an
XLA-compiled function, the gradient of its part of the batch loss ``sum(sw * ce) / W``
(``W`` the weight of the whole batch); the parts are summed across replicas, the gradient of
the L2 penalty ``0.5 * alpha * sum(kernel ** 2) / W`` is added once, and one Adam step is
taken. The step is therefore the single-device step of :func:`sklif.training.train` up to
float rounding. The epochs, the stopping rule, best weights, divergence and Ctrl-C are
handled in Python, one compiled call per minibatch.

What differs from :func:`sklif.training.train`: the rows are shuffled with NumPy's
permutation rather than in the graph, so the batches (not their statistics) differ for one
``random_state``; under the ``"poisson"`` encoding each replica draws its own noise.
"""

from __future__ import annotations

import collections
import math
import time
import weakref

import numpy as np
import tensorflow as tf

from ._compile import TRACES, compiled
from .inference import hyper_tensor, predict_logits
from .network import Hyper, Spec, forward
from .training import (
    AdamState,
    Data,
    History,
    _kernel_indices,
    _penalised_step,
    micro_batch_size,
    pad_rows,
    warn_diverged,
)

__all__ = ["REPLICA_TRACES", "train_distributed"]

# Devices the per-replica step was traced for, counted (one count per replica and new graph).
REPLICA_TRACES: collections.Counter = collections.Counter()

# strategy -> {(spec, shard rows, piece rows): step}; weak: a dropped strategy drops its graphs.
_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _gradient_builder(spec: Spec, micro: int):
    def gradient(w, hyper, X, Y, sw, seed, n_pieces, denom):
        """Gradient of ``sum(sw * ce) / denom`` on one shard, and ``sum(sw * ce)``.

        The shard is processed in ``n_pieces`` pieces of ``micro`` rows whose gradients are
        summed, so backpropagation through time holds one piece at a time.
        """
        hyper = Hyper(*tf.unstack(hyper))

        def piece(j, ce_sum, grads):
            rows = j * micro + tf.range(micro)
            with tf.GradientTape() as tape:
                tape.watch(w)
                logits = forward(
                    spec, w, hyper, tf.gather(X, rows), tf.stack([seed[0], seed[1] * 7919 + j])
                )
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.gather(Y, rows), logits)
                part = tf.reduce_sum(tf.gather(sw, rows) * ce)
                scaled = part / denom
            g = tape.gradient(scaled, w, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return j + 1, ce_sum + part, tuple(a + b for a, b in zip(grads, g))

        zeros = tuple(tf.zeros_like(wi) for wi in w)
        _, ce_sum, grads = tf.while_loop(
            lambda j, *_: j < n_pieces, piece, (tf.constant(0), tf.constant(0.0), zeros)
        )
        return grads, ce_sum

    return gradient


def _step_builder(spec: Spec, rows: int, micro: int, strategy: tf.distribute.Strategy):
    gradient = compiled("distributed", (spec, rows, micro), lambda: _gradient_builder(spec, micro))
    kernel_at = _kernel_indices(spec)
    sum_ = tf.distribute.ReduceOp.SUM

    def replica(w, hyper, denom, shard):
        replica_id = tf.get_static_value(
            tf.distribute.get_replica_context().replica_id_in_sync_group
        )
        REPLICA_TRACES[strategy.extended.worker_devices[int(replica_id)]] += 1  # at tracing only
        return gradient(w, hyper, *shard, denom)

    def step(w, adam, hyper, settings, denom, shards):
        """One Adam step on a batch split in ``shards``; returns weights, Adam state, loss."""
        TRACES["distributed_step"] += 1  # at tracing only
        lr, alpha = settings[0], settings[1]
        grads, ce_sum = strategy.run(replica, args=(w, hyper, denom, shards))
        grads = list(strategy.reduce(sum_, grads, axis=None))
        loss = strategy.reduce(sum_, ce_sum, axis=None) / denom
        w, adam, loss = _penalised_step(kernel_at, w, adam, grads, loss, lr, alpha, denom)
        return w, adam, loss

    return tf.function(step)


def _step(spec: Spec, rows: int, micro: int, strategy: tf.distribute.Strategy):
    """The compiled step for shards of ``rows`` rows in pieces of ``micro`` (cached)."""
    steps = _STEPS.setdefault(strategy, {})
    if (spec, rows, micro) not in steps:
        steps[spec, rows, micro] = _step_builder(spec, rows, micro, strategy)
    return steps[spec, rows, micro]


def _shards(strategy, X, Y, sw, rows: int, micro: int, seed: np.ndarray):
    """Split one batch evenly into per-replica shards of ``rows`` rows (zero-weight padded).

    Each shard comes with its seed and its number of ``micro``-row pieces holding real rows.
    """
    parts = np.array_split(np.arange(len(Y)), strategy.num_replicas_in_sync)

    def value(ctx):
        i = ctx.replica_id_in_sync_group
        idx = parts[i]
        with tf.device(strategy.extended.worker_devices[i]):
            return (
                *pad_rows(X[idx], Y[idx], sw[idx], rows),
                tf.constant([seed[0] + i * 7919, seed[1]], tf.int32),
                tf.constant(-(-len(idx) // micro), tf.int32),
            )

    return strategy.experimental_distribute_values_from_function(value)


def _accuracy(spec, weights, hyper, validation, seed, device) -> float:
    Xv, yv, swv = validation
    Xv = np.asarray(Xv, np.float32)
    logits = predict_logits(spec, weights, hyper, Xv, seed, device)
    hit = np.argmax(logits, axis=1) == np.asarray(yv)
    swv = np.asarray(swv, np.float64)
    return float(np.sum(hit * swv) / max(np.sum(swv), 1e-12))


def _finite(loss: float, weights) -> bool:
    return math.isfinite(loss) and all(bool(np.isfinite(w).all()) for w in weights)


def train_distributed(
    strategy: tf.distribute.Strategy,
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
    max_memory_bytes: float = 2**31,
    best_loss: float = np.inf,
    validation: tuple | None = None,
    predict_seed=(0, 0),
    verbose: bool = False,
):
    """Train as :func:`sklif.training.train` does, each minibatch split across ``strategy``.

    Parameters
    ----------
    strategy : tf.distribute.Strategy
        Its replicas share each minibatch (e.g. ``tf.distribute.MirroredStrategy``).
    spec, weights, adam, hyper, data
        As for :func:`sklif.training.train`; the zero-weight padding rows of ``data`` are
        dropped.
    lr, alpha, max_iter, rng, tol, n_iter_no_change, best_loss, validation, predict_seed, verbose
        As for :func:`sklif.training.train`.
    max_memory_bytes : float
        Bound on the memory of backpropagation through time per replica: a shard that needs
        more is processed in pieces whose gradients are summed (the same step).
    device : str
        Where the validation accuracy is computed; training runs on the strategy's devices.

    Returns
    -------
    weights, adam, best_loss, best_validation_score, history
        As :func:`sklif.training.train` returns them.

    Raises
    ------
    ValueError
        For a strategy over several workers (machines): each would train on all the data.
    """
    if len(strategy.extended.worker_devices) != strategy.num_replicas_in_sync:
        raise ValueError(
            "sklif trains on the replicas of one machine only (e.g. MirroredStrategy); "
            f"{type(strategy).__name__} spans several workers."
        )
    n = data.n_samples
    X, Y, sw = data.X.numpy()[:n], data.Y.numpy()[:n], data.sw.numpy()[:n]
    batch_size = data.batch_size
    shard_rows = math.ceil(batch_size / strategy.num_replicas_in_sync)
    micro = micro_batch_size(spec, shard_rows, max_memory_bytes)
    shard_rows = micro * math.ceil(shard_rows / micro)
    step = _step(spec, shard_rows, micro, strategy)
    hyper_t = hyper_tensor(hyper)
    settings = tf.constant([lr, alpha], tf.float32)
    weights = tuple(tf.constant(w) for w in weights)
    best_w = weights
    best_score, no_improvement = -np.inf, 0
    losses, scores, stopped = [], [], "max_iter"
    for epoch in range(max_iter):
        start = time.perf_counter()
        try:
            perm = rng.permutation(n)
            seed = rng.integers(0, 2**30, size=2)
            w, state, loss_sum, weight_sum = weights, adam, 0.0, 0.0
            for b in range(data.n_batches):
                idx = perm[b * batch_size : (b + 1) * batch_size]
                total = float(np.sum(sw[idx], dtype=np.float64))
                shards = _shards(
                    strategy, X[idx], Y[idx], sw[idx], shard_rows, micro, seed + [0, b + 1]
                )
                denom = tf.constant(max(total, 1e-12), tf.float32)
                w, state, loss = step(w, state, hyper_t, settings, denom, shards)
                loss_sum += float(loss) * total
                weight_sum += total
            loss = loss_sum / max(weight_sum, 1e-12)
            finite = _finite(loss, w)
            value = None
            if finite and validation is not None:
                value = _accuracy(spec, w, hyper, validation, predict_seed, device)
        except KeyboardInterrupt:
            stopped = "interrupted"
            break
        if not finite:
            stopped = "diverged"
            warn_diverged(epoch + 1)
            break
        weights, adam = w, state
        losses.append(loss)
        if validation is not None:
            scores.append(value)
            if value > best_score:
                best_w = weights
            improved = value > best_score + tol
            best_score = max(best_score, value)
        else:
            improved = loss < best_loss - tol
        best_loss = min(best_loss, loss)
        no_improvement = 0 if improved else no_improvement + 1
        if verbose:
            line = f"Epoch {epoch + 1}/{max_iter} - loss: {loss:.4f}"
            if validation is not None:
                line += f" - validation score: {value:.4f}"
            print(f"{line} - {time.perf_counter() - start:.3f}s", flush=True)
        if no_improvement > n_iter_no_change:
            stopped = "converged"
            if verbose:
                print(f"Stopping: no improvement above tol={tol} for {n_iter_no_change} epochs.")
            break
    if validation is not None and scores:
        weights = best_w
    history = History(losses, scores, len(losses), stopped)
    return weights, adam, float(best_loss), float(best_score), history
