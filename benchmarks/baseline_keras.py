"""The paper-style baseline: a LIF network written the straightforward per-time-step way.

This is how Gerum & Schilling (arXiv 2004.13532) and most Keras tutorials write a spiking
layer: the input is repeated over time, and a layer's ``call`` loops over the time steps,
computing each step's input current with its own matrix product and writing the spikes into a
``tf.TensorArray``; the spike is a Heaviside step whose gradient is replaced with
``tf.custom_gradient``; the network is trained with ``model.compile`` + ``model.fit``. (The
loop is an explicit ``tf.while_loop``: Keras 3 does not AutoGraph-convert a layer's ``call``.)

It computes the same function as ``sklif.LIFClassifier`` with the current encoding and the
membrane readout (same update, reset, surrogate, readout and weight initialisation)::

    beta = exp(-dt / tau)
    v[t] = beta * v[t-1] * (1 - s[t-1]) + (1 - beta) * (x[t] @ W + b)    # no gradient via s[t-1]
    s[t] = H(v[t] - threshold)          # backward: slope / (2 (1 + slope |v - threshold|)^2)
    o[t] = beta * o[t-1] + (1 - beta) * (s[t] @ W_out + b_out);   logits = mean_t o[t]

Only what a benchmark needs is here; it is not part of the sklif package.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

__all__ = ["LeakyOutput", "PaperLIF", "build_baseline"]


def _spike_fn(slope: float):
    """Heaviside step forward, SuperSpike's fast sigmoid backward."""

    @tf.custom_gradient
    def spike(x):
        def grad(dy):
            return dy * slope / (2.0 * tf.square(1.0 + slope * tf.abs(x)))

        return tf.cast(x >= 0.0, x.dtype), grad

    return spike


class PaperLIF(keras.layers.Layer):
    """Dense synapses + LIF neurons, looping over time; ``(batch, T, in) -> (batch, T, units)``."""

    def __init__(self, units: int, tau: float = 5.0, threshold: float = 1.0,
                 slope: float = 1.0, dt: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units, self.threshold = units, threshold
        self.beta = math.exp(-dt / tau)
        self.spike = _spike_fn(slope)

    def build(self, input_shape) -> None:
        fan_in = input_shape[-1]
        std = 2.0 * self.threshold / math.sqrt(fan_in)
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), initializer=keras.initializers.RandomNormal(0.0, std),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        n_steps = x.shape[1] or tf.shape(x)[1]  # static where known: XLA needs fixed sizes
        v = tf.zeros([tf.shape(x)[0], self.units], x.dtype)

        def step(t, v, s, out):
            current = tf.matmul(x[:, t], self.kernel) + self.bias
            v = self.beta * v * (1.0 - tf.stop_gradient(s)) + (1.0 - self.beta) * current
            s = self.spike(v - self.threshold)
            return t + 1, v, s, out.write(t, s)

        out = tf.TensorArray(x.dtype, size=n_steps)
        _, _, _, out = tf.while_loop(lambda t, *_: t < n_steps, step, (0, v, v, out),
                                     maximum_iterations=n_steps)
        return tf.transpose(out.stack(), [1, 0, 2])


class LeakyOutput(keras.layers.Layer):
    """Dense synapses + non-spiking leaky units, looping over time; mean membrane over time."""

    def __init__(self, units: int, tau: float = 5.0, dt: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.beta = math.exp(-dt / tau)

    def build(self, input_shape) -> None:
        fan_in = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / math.sqrt(fan_in)),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        n_steps = x.shape[1] or tf.shape(x)[1]
        v = tf.zeros([tf.shape(x)[0], self.units], x.dtype)

        def step(t, v, out):
            v = self.beta * v + (1.0 - self.beta) * (tf.matmul(x[:, t], self.kernel) + self.bias)
            return t + 1, v, out.write(t, v)

        out = tf.TensorArray(x.dtype, size=n_steps)
        _, _, out = tf.while_loop(lambda t, *_: t < n_steps, step, (0, v, out),
                                  maximum_iterations=n_steps)
        return tf.reduce_mean(out.stack(), axis=0)


def build_baseline(n_features: int, hidden: int, n_classes: int, n_steps: int, *,
                   tau: float = 5.0, threshold: float = 1.0, slope: float = 1.0,
                   learning_rate: float = 0.01, jit_compile: bool | str = "auto",
                   seed: int = 0) -> keras.Model:
    """The compiled paper-style model: standardised features ``(batch, n_features)`` in, logits out.

    ``jit_compile`` is passed to ``model.compile``; Keras' default ``"auto"`` uses XLA where
    every layer allows it.
    """
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((n_features,)),
        keras.layers.RepeatVector(n_steps),  # constant input current, repeated over time
        PaperLIF(hidden, tau=tau, threshold=threshold, slope=slope),
        LeakyOutput(n_classes, tau=tau),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


if __name__ == "__main__":  # a quick self-check: a few epochs on digits
    import time

    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    model = build_baseline(X.shape[1], 128, 10, 32)
    for epoch in range(3):
        start = time.perf_counter()
        history = model.fit(X, y, batch_size=64, epochs=1, verbose=0)
        print(f"epoch {epoch}: {time.perf_counter() - start:.3f}s "
              f"loss {history.history['loss'][-1]:.3f}")
