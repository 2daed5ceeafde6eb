"""From hyperparameters to a network: its structure, its weights, its forward pass, its Keras model.

The estimator trains a *functional* network: weights are a flat tuple of tensors and the
hyperparameters that are numbers (``tau``, ``threshold``, ``dt``, ``surrogate_slope``) are
tensors too, so one compiled function serves every value of them (see
:mod:`sklif.training`). What fixes the graph is a :class:`Spec`. The same network as a Keras
model, with the fitted weights, comes from :func:`build_model`; both compute the same function.

Weight layout, per hidden layer ``kernel, bias[, log_tau]``, then the output ``kernel, bias``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from . import layers
from .dynamics import LIFParameters, leaky_integrate, lif_scan, readout_weights
from .encoders import encode

__all__ = [
    "Hyper",
    "Recording",
    "Spec",
    "build_model",
    "forward",
    "init_weights",
    "simulate",
    "weight_bytes",
    "weight_shapes",
]

READOUTS = ("membrane", "spike_count")


class Spec(NamedTuple):
    """What fixes the shape of the computation (a change compiles a new graph)."""

    n_features: int
    hidden_layer_sizes: tuple[int, ...]
    n_outputs: int
    n_steps: int
    encoding: str = "current"
    readout: str = "membrane"
    surrogate: str = "fast_sigmoid"
    reset: str = "zero"
    clamp: bool = False
    trainable_tau: bool = False


class Hyper(NamedTuple):
    """Numbers fed to the compiled graph as values; scalar tensors or floats."""

    tau: tf.Tensor | float
    threshold: tf.Tensor | float
    dt: tf.Tensor | float
    surrogate_slope: tf.Tensor | float


class Recording(NamedTuple):
    """What a network did over time, batch-major NumPy arrays (see ``LIFClassifier.record``).

    Attributes
    ----------
    input : ndarray of shape (n_samples, n_steps, n_features)
        The encoded input (the constant current repeated, or the input spikes).
    spikes : list of ndarray of shape (n_samples, n_steps, units)
        Spikes of each spiking layer.
    membrane : list of ndarray of shape (n_samples, n_steps, units)
        Membrane potential of each layer, the readout included, before reset.
    names : list of str
        Layer names, in the order of ``membrane``.
    threshold : float
        The firing threshold.
    """

    input: np.ndarray
    spikes: list
    membrane: list
    names: list
    threshold: float


def _layer_sizes(spec: Spec) -> list[tuple[int, int]]:
    sizes = [spec.n_features, *spec.hidden_layer_sizes, spec.n_outputs]
    return list(zip(sizes[:-1], sizes[1:]))


def _spiking_layers(spec: Spec) -> int:
    """Number of LIF layers: the hidden ones, and the output under the spike-count readout."""
    return len(spec.hidden_layer_sizes) + (spec.readout == "spike_count")


def init_weights(
    spec: Spec, tau: float, threshold: float, rng: np.random.Generator, dt: float = 1.0
) -> list[np.ndarray]:
    """Draw initial weights (float32 NumPy arrays) in the layout of :mod:`sklif.network`.

    Kernels of spiking layers are Gaussian with standard deviation
    ``2 * threshold / sqrt(fan_in)``: the input current of a neuron then spreads over about
    two thresholds, so some neurons fire from the first steps on. Where the input is sparse
    in time (the first layer under the latency encoding, where each input spikes once) and
    where the output must spike to count (the spike-count readout), a spike moves the
    membrane by only ``(1 - beta)`` of its weight, so those kernels are scaled up by
    ``1 / (1 - beta)``. The membrane readout's kernel has
    standard deviation ``1 / sqrt(fan_in)``. Biases start at zero; learned time constants
    start at ``tau``.
    """
    weights = []
    n_spiking = _spiking_layers(spec)
    charge = 1.0 / -math.expm1(-dt / tau)  # 1 / (1 - beta)
    for index, (fan_in, fan_out) in enumerate(_layer_sizes(spec)):
        spiking = index < n_spiking
        scale = (2.0 * threshold if spiking else 1.0) / math.sqrt(fan_in)
        sparse_input = index == 0 and spec.encoding == "latency"
        counting = spiking and index == n_spiking - 1 and spec.readout == "spike_count"
        if sparse_input or counting:
            scale *= charge
        weights.append(rng.normal(0.0, scale, size=(fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, np.float32))
        if spiking and spec.trainable_tau:
            weights.append(np.full(fan_out, math.log(tau), np.float32))
    return weights


def weight_shapes(spec: Spec) -> list[tuple[int, ...]]:
    """Shapes of the weights in the layout of :func:`init_weights`, without allocating them."""
    shapes: list[tuple[int, ...]] = []
    n_spiking = _spiking_layers(spec)
    for index, (fan_in, fan_out) in enumerate(_layer_sizes(spec)):
        shapes += [(fan_in, fan_out), (fan_out,)]
        if index < n_spiking and spec.trainable_tau:
            shapes.append((fan_out,))
    return shapes


def weight_bytes(spec: Spec) -> int:
    """Memory of the float32 weights with Adam's two moment estimates (three copies)."""
    return 3 * 4 * sum(math.prod(shape) for shape in weight_shapes(spec))


def _unpack(spec: Spec, weights):
    """Split the flat weights into ``(kernel, bias, log_tau or None)`` per layer."""
    out, i = [], 0
    n_spiking = _spiking_layers(spec)
    for index in range(len(_layer_sizes(spec))):
        kernel, bias = weights[i], weights[i + 1]
        i += 2
        log_tau = None
        if index < n_spiking and spec.trainable_tau:
            log_tau = weights[i]
            i += 1
        out.append((kernel, bias, log_tau))
    return out


def _params(spec: Spec, hyper: Hyper, log_tau) -> LIFParameters:
    return LIFParameters(
        tau=hyper.tau if log_tau is None else tf.exp(log_tau),
        threshold=hyper.threshold,
        dt=hyper.dt,
        surrogate=spec.surrogate,
        surrogate_slope=hyper.surrogate_slope,
        reset=spec.reset,
        clamp=spec.clamp,
    )


def _project(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """``x @ kernel + bias`` for 2-D ``x`` or time-major 3-D ``x`` (as one matrix product)."""
    if x.shape.rank == 2:
        return x @ kernel + bias
    steps, batch = tf.shape(x)[0], tf.shape(x)[1]
    flat = tf.reshape(x, [-1, x.shape[-1]]) @ kernel + bias
    return tf.reshape(flat, [steps, batch, kernel.shape[-1]])


def _input(spec: Spec, x: tf.Tensor, seed: tf.Tensor | None) -> tf.Tensor:
    """Encoded input; the constant current stays 2-D (``lif_scan`` holds it over time)."""
    if spec.encoding == "current":
        return x
    return encode(x, spec.encoding, spec.n_steps, seed)


def _run(spec: Spec, weights, hyper: Hyper, x: tf.Tensor, seed, record: bool):
    """Shared forward pass; with ``record`` it also returns every layer's traces."""
    layers_ = _unpack(spec, weights)
    h = _input(spec, x, seed)
    traces = []
    n_spiking = _spiking_layers(spec)
    for kernel, bias, log_tau in layers_[:n_spiking]:
        spikes, membrane = lif_scan(
            _project(h, kernel, bias), _params(spec, hyper, log_tau), spec.n_steps
        )
        if record:
            traces.append((spikes, membrane))
        h = spikes
    if spec.readout == "spike_count":
        return tf.reduce_sum(h, axis=0), traces
    kernel, bias, _ = layers_[-1]
    if record:
        membrane = leaky_integrate(_project(h, kernel, bias), hyper.tau, hyper.dt)
        traces.append((None, membrane))
        return tf.reduce_mean(membrane, axis=0), traces
    w = readout_weights(spec.n_steps, hyper.tau, hyper.dt, h.dtype)
    pooled = tf.reduce_sum(h * w[:, tf.newaxis, tf.newaxis], axis=0)
    return pooled @ kernel + bias * tf.reduce_sum(w), traces


def forward(spec: Spec, weights, hyper: Hyper, x: tf.Tensor, seed=None) -> tf.Tensor:
    """Class scores (logits) of shape ``(batch, n_outputs)`` for rows ``x``.

    Parameters
    ----------
    spec : Spec
    weights : sequence of tensors
        In the layout of :func:`init_weights`.
    hyper : Hyper
    x : tensor of shape (batch, n_features)
        Scaled features.
    seed : int tensor of shape (2,), optional
        Seed of the Poisson encoder.
    """
    return _run(spec, weights, hyper, x, seed, record=False)[0]


def simulate(spec: Spec, weights, hyper: Hyper, x: tf.Tensor, seed=None):
    """Logits, the encoded input and, per layer, ``(spikes, membrane)`` time-major traces.

    The encoded input is 2-D (the constant current) under the current encoding; the readout
    layer's spikes are ``None`` under the membrane readout.
    """
    logits, traces = _run(spec, weights, hyper, x, seed, record=True)
    return logits, _input(spec, x, seed), traces


def build_model(
    spec: Spec,
    weights,
    *,
    tau: float,
    threshold: float,
    dt: float,
    surrogate_slope: float,
    offset: np.ndarray,
    scale: np.ndarray,
    seed: int | None = None,
) -> keras.Model:
    """The network as a Keras model with the given weights, from raw features to logits.

    The first layer rescales the features as the estimator does (``(x - offset) / scale``).
    """
    lif = dict(
        tau=tau,
        threshold=threshold,
        dt=dt,
        surrogate=spec.surrogate,
        surrogate_slope=surrogate_slope,
        reset=spec.reset,
        clamp=spec.clamp,
        trainable_tau=spec.trainable_tau,
    )
    encoder = {
        "current": layers.CurrentEncoder,
        "latency": layers.LatencyEncoder,
        "poisson": lambda n_steps, name: layers.PoissonEncoder(n_steps, seed=seed, name=name),
    }[spec.encoding]
    stack = [
        keras.Input((spec.n_features,)),
        keras.layers.Normalization(
            mean=np.asarray(offset, np.float32),
            variance=np.square(np.asarray(scale, np.float32)),
            name="scaling",
        ),
        encoder(n_steps=spec.n_steps, name="encoder"),
    ]
    for i, units in enumerate(spec.hidden_layer_sizes):
        stack.append(layers.LIF(units, name=f"lif_{i}", **lif))
    if spec.readout == "spike_count":
        stack += [layers.LIF(spec.n_outputs, name="output", **lif), layers.SpikeCount(name="count")]
    else:
        stack.append(layers.LeakyReadout(spec.n_outputs, tau=tau, dt=dt, name="output"))
    model = keras.Sequential(stack, name="lif_network")
    model.set_weights(list(_model_weights(model, weights)))
    return model


def _model_weights(model: keras.Model, weights):
    """Yield the Normalization layer's own weights, then ours in order."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Normalization):
            yield from layer.get_weights()
    yield from (np.asarray(w) for w in weights)
