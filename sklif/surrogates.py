"""The spike function and its surrogate derivatives.

Forward, a LIF neuron spikes with the Heaviside step ``H(x) = 1 if x >= 0 else 0`` of
``x = v - threshold``. Its true derivative is zero almost everywhere, so backpropagation through
time replaces it by a *surrogate* ``g(x)``. Each surrogate here is the derivative of a smooth
step ``h(x)`` (or, for ``"flat"``, of a ramp); ``slope`` sets its steepness.

==============  ====================================================  =====================
name            surrogate derivative ``g(x)``                         source
==============  ====================================================  =====================
flat            ``slope`` (a constant)                                Gerum & Schilling 2020
fast_sigmoid    ``slope / (2 (1 + slope |x|)^2)``                     Zenke & Ganguli 2018
sigmoid         ``slope * sig(slope x) * (1 - sig(slope x))``         Zenke & Vogels 2021
triangle        ``slope * max(0, 1 - slope |x|)``                     Esser et al. 2016
arctan          ``slope / (pi (1 + (slope x)^2))``                    Fang et al. 2021
==============  ====================================================  =====================

Every smooth surrogate integrates to one, so ``h`` rises from 0 to 1 like ``H``; a larger
``slope`` makes it taller and narrower. The table :data:`SURROGATES` maps each name to its
derivative ``g(x, slope)``; :func:`spike` applies ``H`` forward and ``g`` backward.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import tensorflow as tf

__all__ = ["SURROGATES", "heaviside", "spike", "surrogate_derivative"]


def flat(x: tf.Tensor, slope: tf.Tensor) -> tf.Tensor:
    """Constant derivative ``g(x) = slope``: the paper's "flat" trick (Gerum & Schilling 2020)."""
    return tf.ones_like(x) * slope


def fast_sigmoid(x: tf.Tensor, slope: tf.Tensor) -> tf.Tensor:
    """Fast sigmoid, ``g(x) = slope / (2 (1 + slope |x|)^2)`` (SuperSpike; Zenke & Ganguli 2018)."""
    return slope / (2.0 * tf.square(1.0 + slope * tf.abs(x)))


def sigmoid(x: tf.Tensor, slope: tf.Tensor) -> tf.Tensor:
    """Logistic, ``g(x) = slope sig(slope x) (1 - sig(slope x))`` (Zenke & Vogels 2021)."""
    sig = tf.sigmoid(slope * x)
    return slope * sig * (1.0 - sig)


def triangle(x: tf.Tensor, slope: tf.Tensor) -> tf.Tensor:
    """Triangle ``g(x) = slope max(0, 1 - slope |x|)`` (Esser et al. 2016, Bellec et al. 2018)."""
    return slope * tf.nn.relu(1.0 - slope * tf.abs(x))


def arctan(x: tf.Tensor, slope: tf.Tensor) -> tf.Tensor:
    """Arctangent, ``g(x) = slope / (pi (1 + (slope x)^2))`` (Fang et al. 2021)."""
    return slope / (math.pi * (1.0 + tf.square(slope * x)))


SURROGATES: dict[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = {
    "flat": flat,
    "fast_sigmoid": fast_sigmoid,
    "sigmoid": sigmoid,
    "triangle": triangle,
    "arctan": arctan,
}


def surrogate_derivative(name: str) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """Return the surrogate derivative ``g(x, slope)`` registered under ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`SURROGATES`.

    Returns
    -------
    callable
        ``g(x, slope) -> tensor`` of the shape of ``x``.
    """
    try:
        return SURROGATES[name]
    except KeyError:
        raise ValueError(
            f"Unknown surrogate {name!r}; choose one of {sorted(SURROGATES)}."
        ) from None


def heaviside(x: tf.Tensor) -> tf.Tensor:
    """The forward spike function ``H(x)``: 1 where ``x >= 0``, else 0, in the dtype of ``x``."""
    return tf.cast(x >= 0, x.dtype)


def spike(
    x: tf.Tensor, slope: float | tf.Tensor = 1.0, surrogate: str = "fast_sigmoid"
) -> tf.Tensor:
    """Heaviside step forward, surrogate derivative backward.

    Parameters
    ----------
    x : tensor
        Membrane potential minus threshold.
    slope : float or scalar tensor, default=1.0
        Steepness of the surrogate (for ``"flat"``, the constant itself).
    surrogate : str, default="fast_sigmoid"
        Name of the surrogate in :data:`SURROGATES`.

    Returns
    -------
    tensor
        ``H(x)``, whose gradient with respect to ``x`` is ``g(x, slope)``.

    Examples
    --------
    >>> import tensorflow as tf
    >>> x = tf.constant([-1.0, 0.0, 2.0])
    >>> spike(x, 1.0, "flat").numpy()
    array([0., 1., 1.], dtype=float32)
    """
    derivative = surrogate_derivative(surrogate)
    x = tf.convert_to_tensor(x)
    slope = tf.cast(slope, x.dtype)

    @tf.custom_gradient
    def _spike(x):
        def grad(upstream):
            return upstream * derivative(x, slope)

        return heaviside(x), grad

    return _spike(x)
