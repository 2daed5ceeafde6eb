"""Keras 3 layers of LIF neurons, for models of your own.

Sequences here are **batch-major**, as in Keras' recurrent layers: ``(batch, n_steps, features)``.
A network is an encoder (features -> input over time), one or more :class:`LIF` layers, and a
readout (:class:`LeakyReadout` or :class:`SpikeCount`)::

    model = keras.Sequential([
        keras.Input((64,)),
        sklif.layers.CurrentEncoder(n_steps=32),
        sklif.layers.LIF(128, tau=10.0, threshold=1.0),
        sklif.layers.LeakyReadout(10),
    ])

The layers compute with TensorFlow (Keras must run on its TensorFlow backend); they are
registered with Keras under the package ``"sklif"``, so models built from them survive
``model.save`` and ``keras.models.load_model`` once ``sklif`` is imported.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from . import encoders
from .dynamics import RESETS, LIFParameters, leaky_integrate, lif_scan
from .surrogates import SURROGATES

__all__ = [
    "LIF",
    "CurrentEncoder",
    "LatencyEncoder",
    "LeakyReadout",
    "PoissonEncoder",
    "SpikeCount",
]

_PACKAGE = "sklif"


def _time_major(x: tf.Tensor) -> tf.Tensor:
    return tf.transpose(x, [1, 0, 2])


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}.")


def _check_steps(n_steps: int) -> None:
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")


class _Synapses(keras.layers.Layer):
    """Base of the layers with dense synapses: ``units``, ``kernel``, ``bias``."""

    def __init__(self, units: int, kernel_initializer, bias_initializer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}.")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer=self.kernel_initializer
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,), initializer=self.bias_initializer
        )

    def _time_major_input(self, inputs) -> tf.Tensor:
        """The input as a time-major tensor, building the weights on first use."""
        x = _time_major(tf.convert_to_tensor(inputs, self.compute_dtype))
        if not self.built:
            self.build((None, None, x.shape[-1]))
            self.built = True
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LIF(_Synapses):
    """Dense synapses followed by leaky-integrate-and-fire neurons, run over time.

    Input currents ``I[t] = x[t] @ kernel + bias`` for all steps come from one matrix product;
    then the membrane recurrence of :func:`sklif.dynamics.lif_scan` runs over time, trained
    through its surrogate gradient.

    Parameters
    ----------
    units : int
        Number of neurons.
    tau : float, default=10.0
        Membrane time constant, in units of ``dt``'s unit.
    threshold : float, default=1.0
        Firing threshold.
    dt : float, default=1.0
        Simulation step.
    surrogate : str, default="fast_sigmoid"
        Surrogate derivative of the spike (see :mod:`sklif.surrogates`).
    surrogate_slope : float, default=1.0
        Steepness of the surrogate.
    reset : {"zero", "subtract"}, default="zero"
        Reset after a spike.
    clamp : bool, default=False
        Hold the membrane potential at or above zero.
    trainable_tau : bool, default=False
        Learn one time constant per neuron (stored as its logarithm, ``log_tau``), starting
        at ``tau``.
    kernel_initializer, bias_initializer : initializer, default="glorot_uniform", "zeros"
        Keras initializers of the synaptic weights.
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``, ...).

    Notes
    -----
    Input shape: ``(batch, n_steps, features)``. Output shape: ``(batch, n_steps, units)``,
    the spikes (zeros and ones).
    """

    def __init__(
        self,
        units: int,
        tau: float = 10.0,
        threshold: float = 1.0,
        dt: float = 1.0,
        surrogate: str = "fast_sigmoid",
        surrogate_slope: float = 1.0,
        reset: str = "zero",
        clamp: bool = False,
        trainable_tau: bool = False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(units, kernel_initializer, bias_initializer, **kwargs)
        _check_positive(tau=tau, threshold=threshold, dt=dt, surrogate_slope=surrogate_slope)
        if surrogate not in SURROGATES:
            raise ValueError(f"surrogate must be one of {sorted(SURROGATES)}, got {surrogate!r}.")
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {reset!r}.")
        self.tau = float(tau)
        self.threshold = float(threshold)
        self.dt = float(dt)
        self.surrogate = surrogate
        self.surrogate_slope = float(surrogate_slope)
        self.reset = reset
        self.clamp = bool(clamp)
        self.trainable_tau = bool(trainable_tau)

    def build(self, input_shape):
        super().build(input_shape)
        if self.trainable_tau:
            self.log_tau = self.add_weight(
                name="log_tau",
                shape=(self.units,),
                initializer=keras.initializers.Constant(math.log(self.tau)),
            )

    def parameters(self) -> LIFParameters:
        """The neuron parameters, with the learned time constants when ``trainable_tau``."""
        tau = tf.exp(self.log_tau) if self.trainable_tau else self.tau
        return LIFParameters(
            tau=tau,
            threshold=self.threshold,
            dt=self.dt,
            surrogate=self.surrogate,
            surrogate_slope=self.surrogate_slope,
            reset=self.reset,
            clamp=self.clamp,
        )

    def simulate(self, inputs) -> tuple[tf.Tensor, tf.Tensor]:
        """Run the layer and return ``(spikes, membrane)``, each ``(batch, n_steps, units)``."""
        x = self._time_major_input(inputs)
        steps, batch = tf.shape(x)[0], tf.shape(x)[1]
        flat = tf.reshape(x, [-1, x.shape[-1]])
        current = tf.reshape(flat @ self.kernel + self.bias, [steps, batch, self.units])
        spikes, membrane = lif_scan(current, self.parameters())
        return _time_major(spikes), _time_major(membrane)

    def call(self, inputs):
        return self.simulate(inputs)[0]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            tau=self.tau,
            threshold=self.threshold,
            dt=self.dt,
            surrogate=self.surrogate,
            surrogate_slope=self.surrogate_slope,
            reset=self.reset,
            clamp=self.clamp,
            trainable_tau=self.trainable_tau,
        )
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LeakyReadout(_Synapses):
    """Non-spiking leaky output units; the output is their mean membrane potential over time.

    ``v[t] = beta v[t-1] + (1 - beta) (x[t] @ kernel + bias)`` with ``beta = exp(-dt / tau)``,
    and the layer returns ``mean_t v[t]``: one score per unit (logits for a softmax).

    Parameters
    ----------
    units : int
        Number of output units.
    tau : float, default=10.0
        Time constant of the output membranes.
    dt : float, default=1.0
        Simulation step.
    kernel_initializer, bias_initializer : initializer, default="glorot_uniform", "zeros"
    **kwargs
        Passed to :class:`keras.layers.Layer`.

    Notes
    -----
    Input shape: ``(batch, n_steps, features)``. Output shape: ``(batch, units)``.
    """

    def __init__(
        self,
        units: int,
        tau: float = 10.0,
        dt: float = 1.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(units, kernel_initializer, bias_initializer, **kwargs)
        _check_positive(tau=tau, dt=dt)
        self.tau = float(tau)
        self.dt = float(dt)

    def simulate(self, inputs) -> tf.Tensor:
        """Return the membrane trace ``v``, shape ``(batch, n_steps, units)``."""
        x = self._time_major_input(inputs)
        current = tf.tensordot(x, self.kernel, 1) + self.bias
        return _time_major(leaky_integrate(current, self.tau, self.dt))

    def call(self, inputs):
        return tf.reduce_mean(self.simulate(inputs), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(tau=self.tau, dt=self.dt)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SpikeCount(keras.layers.Layer):
    """Count spikes over time: ``(batch, n_steps, units) -> (batch, units)``."""

    def call(self, inputs):
        return tf.reduce_sum(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


class _Encoder(keras.layers.Layer):
    """Base of the encoders: ``(batch, features) -> (batch, n_steps, features)``."""

    def __init__(self, n_steps: int, **kwargs):
        super().__init__(**kwargs)
        _check_steps(n_steps)
        self.n_steps = n_steps

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_steps, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(n_steps=self.n_steps)
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CurrentEncoder(_Encoder):
    """Hold each feature as a constant input current for ``n_steps`` steps."""

    def call(self, inputs):
        return _time_major(encoders.current(tf.convert_to_tensor(inputs), self.n_steps))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LatencyEncoder(_Encoder):
    """One spike per feature; values in [0, 1], larger values spike earlier."""

    def call(self, inputs):
        return _time_major(encoders.latency(tf.convert_to_tensor(inputs), self.n_steps))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PoissonEncoder(_Encoder):
    """Rate coding: a value ``p`` in [0, 1] spikes with probability ``p`` at each step.

    Parameters
    ----------
    n_steps : int
        Number of time steps.
    seed : int, optional
        Seed of the layer's random stream; every call draws new spikes from it.
    **kwargs
        Passed to :class:`keras.layers.Layer`.
    """

    def __init__(self, n_steps: int, seed: int | None = None, **kwargs):
        super().__init__(n_steps, **kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        x = tf.convert_to_tensor(inputs)
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        return _time_major(encoders.poisson(x, self.n_steps, seed))

    def get_config(self):
        config = super().get_config()
        config.update(seed=self.seed)
        return config
