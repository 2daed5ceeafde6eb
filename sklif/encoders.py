"""Encoders: turn rows of features into the input of the first LIF layer over ``n_steps`` steps.

- ``"current"``: each feature is a constant input current for all steps (the default; no noise).
- ``"poisson"``: rate coding. A feature value ``p`` in [0, 1] spikes at each step with
  probability ``p``, independently; the noise comes from a seed, so it is reproducible.
- ``"latency"``: each feature spikes exactly once, at step ``round((1 - p) (n_steps - 1))``:
  larger values spike earlier.

Spike encoders expect values in [0, 1] and clip anything outside; the estimator scales each
feature to that range with the minimum and maximum seen in ``fit``. All outputs are time-major,
``(n_steps, batch, features)``.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["ENCODINGS", "current", "encode", "latency", "poisson", "uniform"]

ENCODINGS = ("current", "poisson", "latency")


def current(x: tf.Tensor, n_steps: int) -> tf.Tensor:
    """Hold each row as a constant current: ``(batch, features) -> (n_steps, batch, features)``."""
    x = tf.convert_to_tensor(x)
    return tf.broadcast_to(x[tf.newaxis], tf.concat([[n_steps], tf.shape(x)], 0))


def _mix(h: tf.Tensor) -> tf.Tensor:
    """MurmurHash3's 32-bit finaliser: every input bit flips each output bit with p ~ 1/2."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16)) * tf.constant(
        0x85EBCA6B, tf.uint32
    )
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13)) * tf.constant(
        0xC2B2AE35, tf.uint32
    )
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def uniform(shape: tf.Tensor, seed: tf.Tensor, dtype=tf.float32) -> tf.Tensor:
    """Uniform numbers in [0, 1) from a counter-based hash of (position, seed).

    The same ``shape`` and ``seed`` (int tensor of shape (2,)) always give the same numbers.
    A hash of each element's index is as good as a generator for rate coding and, compiled
    with XLA on a CPU, about a hundred times faster than ``tf.random.stateless_uniform``.
    It is not a cryptographic generator.
    """
    seed = tf.bitcast(tf.cast(seed, tf.int32), tf.uint32)
    index = tf.bitcast(tf.range(tf.reduce_prod(shape)), tf.uint32)
    h = _mix(tf.bitwise.bitwise_xor(index * tf.constant(0x9E3779B1, tf.uint32), seed[0]))
    h = _mix(h + seed[1] * tf.constant(0x85EBCA77, tf.uint32) + tf.constant(1, tf.uint32))
    bits = tf.cast(tf.bitwise.right_shift(h, 8), dtype)  # 24 bits: exact in float32
    return tf.reshape(bits * (1.0 / 16777216.0), shape)


def poisson(x: tf.Tensor, n_steps: int, seed: tf.Tensor) -> tf.Tensor:
    """Rate-code ``x`` in [0, 1] as Bernoulli spikes with probability ``x`` per step.

    Parameters
    ----------
    x : tensor of shape (batch, features)
    n_steps : int
    seed : int tensor of shape (2,)
        Seed of the noise (see :func:`uniform`): the same seed gives the same spikes.

    Returns
    -------
    tensor of shape (n_steps, batch, features), zeros and ones in the dtype of ``x``
    """
    x = tf.convert_to_tensor(x)
    rate = tf.clip_by_value(x, 0.0, 1.0)
    shape = tf.concat([[n_steps], tf.shape(x)], 0)
    noise = uniform(shape, seed, x.dtype)
    return tf.cast(noise < rate[tf.newaxis], x.dtype)


def latency(x: tf.Tensor, n_steps: int) -> tf.Tensor:
    """One spike per feature, at step ``round((1 - x) (n_steps - 1))`` for ``x`` clipped to [0, 1].

    Returns
    -------
    tensor of shape (n_steps, batch, features)
    """
    x = tf.convert_to_tensor(x)
    value = tf.clip_by_value(x, 0.0, 1.0)
    step = tf.cast(tf.round((1.0 - value) * (n_steps - 1)), tf.int32)
    return tf.transpose(tf.one_hot(step, n_steps, dtype=x.dtype), [2, 0, 1])


def encode(x: tf.Tensor, encoding: str, n_steps: int, seed: tf.Tensor | None = None) -> tf.Tensor:
    """Encode ``x`` of shape (batch, features) as ``(n_steps, batch, features)`` by name.

    ``seed`` is needed for ``"poisson"`` only.
    """
    if encoding == "current":
        return current(x, n_steps)
    if encoding == "poisson":
        if seed is None:
            raise ValueError("The poisson encoding needs a seed.")
        return poisson(x, n_steps, seed)
    if encoding == "latency":
        return latency(x, n_steps)
    raise ValueError(f"Unknown encoding {encoding!r}; choose one of {ENCODINGS}.")
