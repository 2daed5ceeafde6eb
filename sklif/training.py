"""Compiled training: minibatch Adam on backpropagation through time, with early stopping.

One XLA-compiled function runs many epochs in one call: every minibatch (forward pass,
backpropagation through time, Adam update), the loss-based or validation-based stopping rule
of sklearn's MLP, keeping the best weights, and stopping with the last finite weights when
training diverges. It is functional: weights, optimizer state, the hyperparameters ``tau``,
``threshold``, ``dt``, ``surrogate_slope``, the learning rate, ``alpha`` and ``tol`` go in as
tensors and come out as tensors. Compiled functions are cached by what fixes the graph
(:class:`sklif.network.Spec`, batch and data shapes, device: see :mod:`sklif._compile`), so
the fits of a grid search over those numbers reuse one compilation.

Data are padded with zero-weight rows: a single batch to at least :data:`MIN_ROWS` rows (a
power of two), several batches to a power-of-two number of batches, so data sets of similar
size (the folds of a cross-validation, the final refit) share a graph. A padded single batch
is computed in pieces of :data:`PIECE_ROWS` rows whose gradients are summed, and pieces
holding only padding are skipped, so the padding costs no compute.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from ._compile import clear_cache, compiled, device_scope, trace_count
from .encoders import uniform
from .inference import hyper_tensor, pow2, predict_logits, record
from .network import Hyper, Spec, forward

__all__ = [
    "AdamState",
    "Data",
    "bptt_bytes",
    "micro_batch_size",
    "History",
    "clear_cache",
    "pad_data",
    "predict_logits",
    "record",
    "trace_count",
    "train",
]

ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-8
MIN_ROWS = 256  # a single batch is padded to at least this many rows
PIECE_ROWS = 64  # a padded single batch runs in pieces of this many rows, skipping padding
CHUNK_SECONDS = 1.0  # aim of one compiled call's length, so Ctrl-C is answered promptly
MAX_CHUNK = 256  # epochs per compiled call at most (a static size: XLA compiles array sizes in)
RUNNING, CONVERGED, DIVERGED = 0, 1, 2


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


class Data(NamedTuple):
    """Rows padded for the compiled function: features, class indices, weights."""

    X: tf.Tensor
    Y: tf.Tensor
    sw: tf.Tensor
    n_samples: int
    batch_size: int
    n_batches: int


class History(NamedTuple):
    """What :func:`train` did: the loss per epoch and, with validation, the accuracy."""

    loss_curve: list
    validation_scores: list
    n_epochs: int
    stopped: str  # "converged", "max_iter", "interrupted" or "diverged"


def pad_rows(X: np.ndarray, y: np.ndarray, sw: np.ndarray, rows: int) -> tuple[tf.Tensor, ...]:
    """``X``, ``y``, ``sw`` as float32/int32/float32 tensors of ``rows`` rows; the rows added
    at the end are zeros and so carry zero weight."""
    n = len(X)
    Xp = np.zeros((rows, X.shape[1]), np.float32)
    Xp[:n] = X
    yp = np.zeros(rows, np.int32)
    yp[:n] = y
    swp = np.zeros(rows, np.float32)
    swp[:n] = sw
    return tf.constant(Xp), tf.constant(yp), tf.constant(swp)


def pad_data(X: np.ndarray, y: np.ndarray, sw: np.ndarray, batch_size: int) -> Data:
    """Pad ``X``, ``y``, ``sw`` with zero-weight rows into the shapes the graph expects."""
    n = len(X)
    batch_size = max(1, min(batch_size, n))
    n_batches = math.ceil(n / batch_size)
    if n_batches == 1:
        batch_size = rows = max(MIN_ROWS, pow2(n))
    else:
        rows = batch_size * pow2(n_batches)
    return Data(*pad_rows(X, y, sw, rows), n, batch_size, n_batches)


def _kernel_indices(spec: Spec) -> list[int]:
    """Positions of the kernels (the weights that ``alpha`` penalises) in the weight layout."""
    out, i = [], 0
    n_spiking = len(spec.hidden_layer_sizes) + (spec.readout == "spike_count")
    for index in range(len(spec.hidden_layer_sizes) + 1):
        out.append(i)
        i += 3 if (index < n_spiking and spec.trainable_tau) else 2
    return out


def bptt_bytes(spec: Spec, rows: int) -> int:
    """Estimated memory that backpropagation through time holds for a batch of ``rows`` rows.

    Per row and step, every spiking layer keeps its membrane (forward), the gradient flowing
    into its spikes and into its membrane (backward) and its input current, four float32
    values per neuron; spike encodings add the encoded input and its gradient.
    """
    widths = list(spec.hidden_layer_sizes)
    if spec.readout == "spike_count":
        widths.append(spec.n_outputs)
    per_step = 4 * sum(widths) + (2 * spec.n_features if spec.encoding != "current" else 0)
    return 4 * spec.n_steps * rows * per_step


def micro_batch_size(spec: Spec, batch_size: int, limit_bytes: float) -> int:
    """Rows per gradient-accumulation piece so that one piece stays within ``limit_bytes``.

    Returns ``batch_size`` when the whole batch fits; raises ``ValueError`` when not even a
    single row does.
    """
    if bptt_bytes(spec, batch_size) <= limit_bytes:
        return batch_size
    if bptt_bytes(spec, 1) > limit_bytes:
        raise ValueError(
            f"Backpropagation through time needs about {bptt_bytes(spec, 1) / 2**20:.0f} MiB "
            f"for a single sample with n_steps={spec.n_steps} and layers "
            f"{spec.hidden_layer_sizes}, more than max_memory_mb="
            f"{limit_bytes / 2**20:.0f}. Raise max_memory_mb, or lower n_steps or "
            "hidden_layer_sizes."
        )
    pieces = math.ceil(bptt_bytes(spec, batch_size) / limit_bytes)
    return max(1, math.ceil(batch_size / pieces))


def _adam_update(w, adam: AdamState, grads, lr):
    step = adam.step + 1.0
    rate = lr * tf.sqrt(1.0 - ADAM_BETA_2**step) / (1.0 - ADAM_BETA_1**step)
    m = tuple(ADAM_BETA_1 * mi + (1.0 - ADAM_BETA_1) * g for mi, g in zip(adam.m, grads))
    v = tuple(ADAM_BETA_2 * vi + (1.0 - ADAM_BETA_2) * g * g for vi, g in zip(adam.v, grads))
    w = tuple(wi - rate * mi / (tf.sqrt(vi) + ADAM_EPSILON) for wi, mi, vi in zip(w, m, v))
    return w, AdamState(m, v, step)


def _penalised_step(kernel_at, w, adam: AdamState, grads, loss, lr, alpha, denom):
    """Add the L2 penalty ``0.5 alpha sum(kernel^2) / denom`` and its gradient, then step Adam.

    Returns the new weights, the new Adam state and the penalised loss.
    """
    grads = list(grads)
    for k in kernel_at:
        grads[k] = grads[k] + alpha * w[k] / denom
        loss += 0.5 * alpha * tf.reduce_sum(tf.square(w[k])) / denom
    w, adam = _adam_update(w, adam, grads, lr)
    return w, adam, loss


def warn_diverged(epoch: int) -> None:
    """The warning for a loss or weight that stopped being finite in ``epoch`` (1-based)."""
    warnings.warn(
        f"Training diverged in epoch {epoch} (non-finite loss or weights); keeping the last "
        "finite weights. Lower learning_rate_init or change tau/threshold/surrogate_slope.",
        RuntimeWarning,
        stacklevel=5,  # the user's call of fit
    )


def _train_builder(spec: Spec, batch_size: int, micro: int, validation: bool):
    kernel_at = _kernel_indices(spec)

    def data_loss(w, hyper, X, Y, weights, idx, denom, seed):
        """``sum(sw * cross-entropy) / denom`` over rows ``idx`` and its gradient."""
        xb, yb = tf.gather(X, idx), tf.gather(Y, idx)
        with tf.GradientTape() as tape:
            tape.watch(w)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
                yb, forward(spec, w, hyper, xb, seed)
            )
            loss = tf.reduce_sum(weights * ce) / denom
        return loss, tape.gradient(loss, w)

    def epoch(w, adam, hyper, lr, alpha, data, n_real, n_batches, seed):
        """One shuffled pass; returns new weights, Adam state and the mean loss."""
        X, Y, sw = data
        rows = tf.shape(Y)[0]
        keys = tf.where(tf.range(rows) < n_real, uniform(tf.reshape(rows, [1]), seed), 2.0)
        perm = tf.argsort(keys)
        if micro < batch_size:  # pieces may reach past the end: pad with masked rows
            perm = tf.concat([perm, tf.zeros([micro], perm.dtype)], 0)

        def batch(i, w, adam, loss_sum, weight_sum):
            start = i * batch_size
            idx = tf.slice(perm, [start], [batch_size])
            total = tf.reduce_sum(tf.gather(sw, idx))
            denom = tf.maximum(total, 1e-12)
            bseed = tf.stack([seed[0], seed[1] + i + 1])
            if micro == batch_size:
                loss, grads = data_loss(w, hyper, X, Y, tf.gather(sw, idx), idx, denom, bseed)
            else:
                # gradient accumulation over pieces of `micro` rows (bounded memory)
                n_pieces = (tf.minimum(batch_size, n_real - start) + micro - 1) // micro

                def piece(j, loss, grads):
                    offset = j * micro
                    pidx = tf.slice(perm, [start + offset], [micro])
                    inside = tf.cast(offset + tf.range(micro) < batch_size, sw.dtype)
                    part, g = data_loss(
                        w,
                        hyper,
                        X,
                        Y,
                        tf.gather(sw, pidx) * inside,
                        pidx,
                        denom,
                        tf.stack([bseed[0], bseed[1] * 7919 + j]),
                    )
                    return j + 1, loss + part, tuple(a + b for a, b in zip(grads, g))

                zeros = tuple(tf.zeros_like(wi) for wi in w)
                _, loss, grads = tf.while_loop(
                    lambda j, *_: j < n_pieces, piece, (tf.constant(0), tf.constant(0.0), zeros)
                )
            w, adam, loss = _penalised_step(kernel_at, w, adam, grads, loss, lr, alpha, denom)
            return i + 1, w, adam, loss_sum + loss * total, weight_sum + total

        zero = tf.constant(0.0)
        _, w, adam, loss_sum, weight_sum = tf.while_loop(
            lambda i, *_: i < n_batches, batch, (tf.constant(0), w, adam, zero, zero)
        )
        return w, adam, loss_sum / tf.maximum(weight_sum, 1e-12)

    def score(w, hyper, val, seed):
        Xv, Yv, swv = val
        hit = tf.cast(
            tf.argmax(forward(spec, w, hyper, Xv, seed), axis=1, output_type=tf.int32) == Yv,
            tf.float32,
        )
        return tf.reduce_sum(hit * swv) / tf.maximum(tf.reduce_sum(swv), 1e-12)

    def run(weights, adam, best_weights, hyper, settings, data, sizes, seed, val, vseed, progress):
        """Up to ``max_epochs`` epochs; stops early by the rule, or on divergence."""
        hyper = Hyper(*tf.unstack(hyper))
        lr, alpha, tol = settings[0], settings[1], settings[2]
        n_real, n_batches, max_epochs, patience = tf.unstack(sizes)
        best_loss, best_score, no_improvement = progress

        def body(e, w, adam, best_w, best_loss, best_score, no_imp, status, losses, scores):
            eseed = tf.stack([seed[0], seed[1] + e * 1_000_003])
            new_w, new_adam, loss = epoch(w, adam, hyper, lr, alpha, data, n_real, n_batches, eseed)
            finite = tf.math.is_finite(loss)
            for wi in new_w:
                finite &= tf.reduce_all(tf.math.is_finite(wi))
            keep = lambda new, old: tf.nest.map_structure(  # noqa: E731
                lambda a, b: tf.where(finite, a, b), new, old
            )
            w, adam = keep(new_w, w), keep(new_adam, adam)
            if validation:
                value = score(w, hyper, val, vseed)
                better = value > best_score
                best_w = tf.nest.map_structure(
                    lambda a, b: tf.where(better & finite, a, b), w, best_w
                )
                improved = value > best_score + tol
                best_score = tf.where(finite, tf.maximum(best_score, value), best_score)
            else:
                value = tf.constant(0.0)
                improved = loss < best_loss - tol
            best_loss = tf.where(finite, tf.minimum(best_loss, loss), best_loss)
            no_imp = tf.where(improved, 0, no_imp + 1)
            status = tf.where(~finite, DIVERGED, tf.where(no_imp > patience, CONVERGED, RUNNING))
            done = tf.where(finite, 1, 0)
            losses = losses.write(e, loss)
            scores = scores.write(e, value)
            return e + done, w, adam, best_w, best_loss, best_score, no_imp, status, losses, scores

        arrays = [tf.TensorArray(tf.float32, size=MAX_CHUNK) for _ in range(2)]
        result = tf.while_loop(
            lambda e, *rest: (e < max_epochs) & tf.equal(rest[6], RUNNING),
            body,
            (
                tf.constant(0),
                tuple(weights),
                adam,
                tuple(best_weights),
                best_loss,
                best_score,
                no_improvement,
                tf.constant(RUNNING),
                *arrays,
            ),
        )
        e, w, adam, best_w, best_loss, best_score, no_imp, status, losses, scores = result
        return (
            w,
            adam,
            best_w,
            e,
            status,
            losses.stack(),
            scores.stack(),
            (best_loss, best_score, no_imp),
        )

    return run


def _pad_validation(validation):
    if validation is None:
        return (tf.zeros([8, 1]), tf.zeros([8], tf.int32), tf.zeros([8])), 0
    rows = max(8, pow2(len(validation[0])))
    return pad_rows(*validation, rows), rows


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
    max_memory_bytes: float = 2**31,
    best_loss: float = np.inf,
    validation: tuple | None = None,
    predict_seed=(0, 0),
    verbose: bool = False,
):
    """Train until ``max_iter`` epochs, the stopping rule, divergence or Ctrl-C.

    Without ``validation``, training stops once the loss has not improved by ``tol`` for
    more than ``n_iter_no_change`` epochs in a row (as sklearn's MLP). With ``validation =
    (X, y, sample_weight)``, it stops once the validation accuracy has not improved by
    ``tol`` that long, and the weights of the best accuracy are returned. A ``KeyboardInterrupt``
    keeps the weights of the last finished epoch. A batch whose backpropagation through time
    would hold more than ``max_memory_bytes`` (see :func:`bptt_bytes`) is processed in pieces
    whose gradients are summed before the update: the same step in bounded memory.

    Returns
    -------
    weights, adam, best_loss, best_validation_score, history
    """
    val, val_rows = _pad_validation(validation)
    micro = micro_batch_size(spec, data.batch_size, max_memory_bytes)
    if data.n_batches == 1 and data.batch_size > data.n_samples:
        # pieces that hold only padding are skipped, so a small data set costs its own size
        micro = min(micro, PIECE_ROWS)
    fn = compiled(
        "train",
        (spec, data.batch_size, micro, int(data.X.shape[0]), val_rows, device),
        lambda: _train_builder(spec, data.batch_size, micro, validation is not None),
    )
    settings = tf.constant([lr, alpha, tol], tf.float32)
    hyper_t = hyper_tensor(hyper)
    data_t = (data.X, data.Y, data.sw)
    vseed = tf.constant(predict_seed, tf.int32)
    weights = tuple(weights)
    best_w = weights
    progress = (
        tf.constant(best_loss, tf.float32),
        tf.constant(-np.inf, tf.float32),
        tf.constant(0),
    )
    losses, scores, stopped, chunk, done = [], [], "max_iter", 1, 0
    while done < max_iter:
        chunk = 1 if verbose else min(chunk, max_iter - done)
        patience = min(n_iter_no_change, 2**30)  # an int32 in the graph
        sizes = tf.constant([data.n_samples, data.n_batches, chunk, patience], tf.int32)
        seed = tf.constant(rng.integers(0, 2**31 - 1, size=2), tf.int32)
        start = time.perf_counter()
        try:
            with device_scope(device):
                out = fn(
                    weights,
                    adam,
                    best_w,
                    hyper_t,
                    settings,
                    data_t,
                    sizes,
                    seed,
                    val,
                    vseed,
                    progress,
                )
            out = [tf.nest.map_structure(lambda t: t.numpy(), part) for part in out]
        except KeyboardInterrupt:
            stopped = "interrupted"
            break
        elapsed = time.perf_counter() - start
        w, adam_np, best_np, n, status, chunk_losses, chunk_scores, progress_np = out
        weights = tuple(tf.constant(a) for a in w)
        adam = AdamState(
            tuple(tf.constant(a) for a in adam_np.m),
            tuple(tf.constant(a) for a in adam_np.v),
            tf.constant(adam_np.step),
        )
        best_w = tuple(tf.constant(a) for a in best_np)
        progress = tuple(tf.constant(a) for a in progress_np)
        n = int(n)
        for e in range(n):
            losses.append(float(chunk_losses[e]))
            if validation is not None:
                scores.append(float(chunk_scores[e]))
            if verbose:
                line = f"Epoch {done + e + 1}/{max_iter} - loss: {losses[-1]:.4f}"
                if validation is not None:
                    line += f" - validation score: {scores[-1]:.4f}"
                print(f"{line} - {elapsed / max(n, 1):.3f}s", flush=True)
        done += n
        if status == DIVERGED:
            stopped = "diverged"
            warn_diverged(done + 1)
            break
        if status == CONVERGED:
            stopped = "converged"
            if verbose:
                print(f"Stopping: no improvement above tol={tol} for {n_iter_no_change} epochs.")
            break
        # after a call that compiled nothing, size the next so one call takes ~CHUNK_SECONDS
        per_epoch = elapsed / max(n, 1)
        chunk = (
            1 if done <= 1 else max(1, min(MAX_CHUNK, int(CHUNK_SECONDS / max(per_epoch, 1e-6))))
        )
    if validation is not None and scores:
        weights = best_w
    best_loss, best_score = float(progress[0]), float(progress[1])
    return weights, adam, best_loss, best_score, History(losses, scores, len(losses), stopped)
