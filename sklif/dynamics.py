"""Leaky-integrate-and-fire dynamics as pure functions on tensors.

The membrane potential ``v`` of a LIF neuron with time constant ``tau`` driven by an input
current ``I`` follows (resting potential 0, membrane resistance 1, so ``I`` is in units of ``v``)::

    tau dv/dt = -v + I(t)

Time is in the unit of ``dt`` and ``tau`` (one simulation step is ``dt``; think milliseconds).
Holding ``I`` constant over a step gives the exact update used here::

    beta  = exp(-dt / tau)
    v[t]  = beta * r(v[t-1], s[t-1]) + (1 - beta) * I[t]
    s[t]  = H(v[t] - threshold)

with ``v[-1] = s[-1] = 0``, the Heaviside step ``H`` and the reset ``r``:

- ``"zero"`` (Gerum & Schilling 2020): ``r(v, s) = v * (1 - s)``
- ``"subtract"``: ``r(v, s) = v - s * threshold``

``v[t]`` is the potential *before* its own reset, so a recorded trace shows the crossing. With
``clamp=True`` the potential is held at or above zero (``v[t] = max(v[t], 0)``), as in the paper.
A constant input ``I`` drives ``v`` towards ``I``: a neuron fires when ``I > threshold``.

The reset carries no gradient: backward, ``s[t-1]`` in ``r`` is treated as a constant. The
derivative of ``H`` is replaced by a surrogate (:mod:`sklif.surrogates`).

All sequences are **time-major**: ``(n_steps, batch, units)``. :func:`lif_scan` runs a whole
sequence with a hand-written backward pass (a reverse scan over time), which is what the
estimator trains with; :func:`lif_step` is the same update for one step, differentiated by
TensorFlow, kept as the plain reference.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from .surrogates import heaviside, spike, surrogate_derivative

__all__ = [
    "LIFParameters",
    "LIFState",
    "RESETS",
    "decay",
    "leaky_integrate",
    "lif_scan",
    "lif_step",
    "readout_weights",
]

RESETS = ("zero", "subtract")


class LIFParameters(NamedTuple):
    """Parameters of a population of LIF neurons.

    Numbers may be Python floats or tensors (``tau`` may hold one value per neuron); strings
    and booleans choose the form of the update.

    Parameters
    ----------
    tau : float or tensor
        Membrane time constant, in units of ``dt``'s unit; positive.
    threshold : float or tensor
        Firing threshold; positive.
    dt : float or tensor
        Simulation time step.
    surrogate : str
        Name of the surrogate derivative of the spike (see :mod:`sklif.surrogates`).
    surrogate_slope : float or tensor
        Steepness of the surrogate.
    reset : {"zero", "subtract"}
        What a spike does to the membrane.
    clamp : bool
        Hold the membrane potential at or above zero.
    """

    tau: float | tf.Tensor = 10.0
    threshold: float | tf.Tensor = 1.0
    dt: float | tf.Tensor = 1.0
    surrogate: str = "fast_sigmoid"
    surrogate_slope: float | tf.Tensor = 1.0
    reset: str = "zero"
    clamp: bool = False


class LIFState(NamedTuple):
    """Membrane potential ``v`` and spikes ``s`` of the last step, each ``(batch, units)``."""

    v: tf.Tensor
    s: tf.Tensor


def decay(tau: float | tf.Tensor, dt: float | tf.Tensor) -> tf.Tensor:
    """Return ``beta = exp(-dt / tau)``, the fraction of ``v`` left after one step."""
    tau = tf.convert_to_tensor(tau, dtype=tf.float32) if not tf.is_tensor(tau) else tau
    return tf.exp(-tf.cast(dt, tau.dtype) / tau)


def _reset(v: tf.Tensor, s: tf.Tensor, threshold: tf.Tensor, reset: str) -> tf.Tensor:
    if reset == "zero":
        return v * (1.0 - s)
    if reset == "subtract":
        return v - s * threshold
    raise ValueError(f"Unknown reset {reset!r}; choose one of {RESETS}.")


def lif_step(current: tf.Tensor, state: LIFState, p: LIFParameters) -> tuple[tf.Tensor, LIFState]:
    """Advance LIF neurons by one step of ``dt``.

    Parameters
    ----------
    current : tensor of shape (batch, units)
        Input current ``I[t]``.
    state : LIFState
        ``v[t-1]`` and ``s[t-1]``.
    p : LIFParameters
        Neuron parameters.

    Returns
    -------
    spikes : tensor of shape (batch, units)
        ``s[t]``, differentiable through the surrogate.
    state : LIFState
        ``v[t]`` (before its reset) and ``s[t]``.
    """
    dtype = current.dtype
    beta = tf.cast(decay(p.tau, p.dt), dtype)
    threshold = tf.cast(p.threshold, dtype)
    s_prev = tf.stop_gradient(state.s)
    v = beta * _reset(state.v, s_prev, threshold, p.reset) + (1.0 - beta) * current
    if p.clamp:
        v = tf.nn.relu(v)
    s = spike(v - threshold, p.surrogate_slope, p.surrogate)
    return s, LIFState(v, s)


def lif_scan(
    current: tf.Tensor,
    p: LIFParameters,
    n_steps: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Simulate LIF neurons over a whole sequence, with a hand-written backward pass.

    Forward it runs :func:`lif_step` for every step; backward it runs one reverse scan::

        dv[t] = m[t] * (dL/ds[t] * g(v[t] - threshold) + dL/dv[t] + beta * r'[t] * dv[t+1])
        dL/dI[t] = (1 - beta) * dv[t]

    where ``g`` is the surrogate, ``r'[t]`` is ``1 - s[t]`` for the zero reset and 1 for
    subtraction, and ``m[t]`` is ``v[t] > 0`` when clamping, else 1. Gradients flow to
    ``current`` and, when ``p.tau`` is a tensor, to ``tau``.

    Parameters
    ----------
    current : tensor of shape (n_steps, batch, units) or (batch, units)
        Input current. A 2-D current is held constant for ``n_steps`` steps without being
        copied over time.
    p : LIFParameters
        Neuron parameters; ``tau`` may be a scalar or hold one value per unit.
    n_steps : int, optional
        Number of steps; required with a 2-D (constant) current.

    Returns
    -------
    spikes : tensor of shape (n_steps, batch, units)
    membrane : tensor of shape (n_steps, batch, units)
        ``v[t]`` before its reset.
    """
    current = tf.convert_to_tensor(current)
    dtype = current.dtype
    constant = current.shape.rank == 2
    if constant and n_steps is None:
        raise ValueError("n_steps is required when the current is constant (2-D).")
    tau = tf.cast(p.tau, dtype)
    dt = tf.cast(p.dt, dtype)
    threshold = tf.cast(p.threshold, dtype)
    slope = tf.cast(p.surrogate_slope, dtype)
    derivative = surrogate_derivative(p.surrogate)
    if p.reset not in RESETS:
        raise ValueError(f"Unknown reset {p.reset!r}; choose one of {RESETS}.")

    @tf.custom_gradient
    def _run(current, tau):
        beta = tf.exp(-dt / tau)
        gain = 1.0 - beta
        shape = tf.shape(current)[-2:]
        zeros = tf.zeros(shape, dtype)
        drive = gain * current

        def forward(v_prev, drive_t):
            s_prev = heaviside(v_prev - threshold)  # recomputed: cheaper than storing it
            v = beta * _reset(v_prev, s_prev, threshold, p.reset) + drive_t
            return tf.nn.relu(v) if p.clamp else v

        if constant:
            membrane = tf.scan(lambda v, _: forward(v, drive), tf.range(n_steps), initializer=zeros)
        else:
            membrane = tf.scan(forward, drive, initializer=zeros)
        spikes = heaviside(membrane - threshold)

        def grad(d_spikes, d_membrane):
            # A while loop that indexes the stored membrane is markedly faster under XLA than
            # tf.scan over several stacked inputs; spikes and surrogate are evaluated in the
            # step. A constant current's gradient, the sum over steps, is summed in the loop.
            steps = tf.shape(membrane)[0]

            def backward(t, dv_next, d_beta, out):
                i = steps - 1 - t
                v_t = membrane[i]
                s_t = heaviside(v_t - threshold)
                dv = beta * (1.0 - s_t if p.reset == "zero" else 1.0) * dv_next
                if d_spikes is not None:
                    dv += d_spikes[i] * derivative(v_t - threshold, slope)
                if d_membrane is not None:
                    dv += d_membrane[i]
                if p.clamp:
                    dv *= tf.cast(v_t > 0, dtype)
                # v[t] = beta r[t-1] + (1 - beta) I[t], so dv[t]/dbeta = r[t-1] - I[t]
                v_prev = membrane[tf.maximum(i - 1, 0)] * tf.cast(i > 0, dtype)
                r_prev = _reset(v_prev, heaviside(v_prev - threshold), threshold, p.reset)
                d_beta += dv * (r_prev - (current if constant else current[i]))
                out = out.write(i, dv) if not constant else out + dv
                return t + 1, dv, d_beta, out

            out = (
                zeros
                if constant
                else tf.TensorArray(dtype, size=steps, element_shape=membrane.shape[1:])
            )
            _, _, d_beta, out = tf.while_loop(
                lambda t, *_: t < steps, backward, (tf.constant(0), zeros, zeros, out)
            )
            d_current = gain * (out if constant else out.stack())
            d_beta = tf.reduce_sum(d_beta, axis=tf.range(tf.rank(d_beta) - tf.rank(tau)))
            d_tau = d_beta * beta * dt / tf.square(tau)
            return d_current, d_tau

        return (spikes, membrane), grad

    return _run(current, tau)


def leaky_integrate(current: tf.Tensor, tau: float | tf.Tensor, dt: float | tf.Tensor) -> tf.Tensor:
    """Membrane of non-spiking leaky units: ``v[t] = beta v[t-1] + (1 - beta) I[t]``.

    Parameters
    ----------
    current : tensor of shape (n_steps, batch, units)
    tau, dt : float or tensor
        Time constant and step.

    Returns
    -------
    tensor of shape (n_steps, batch, units)
    """
    current = tf.convert_to_tensor(current)
    beta = tf.cast(decay(tf.cast(tau, current.dtype), dt), current.dtype)
    init = tf.zeros_like(current[0])
    return tf.scan(lambda v, i_t: beta * v + (1.0 - beta) * i_t, current, initializer=init)


def readout_weights(
    n_steps: int, tau: float | tf.Tensor, dt: float | tf.Tensor, dtype=tf.float32
) -> tf.Tensor:
    """Weights ``w[k]`` with ``mean_t leaky_integrate(I)[t] == sum_k w[k] I[k]``.

    The mean over time of a leaky unit's membrane is linear in its input:
    ``w[k] = (1 - beta ** (n_steps - k)) / n_steps``. Contracting the spikes with ``w`` first
    and projecting after is the same readout at a ``n_steps``-th of the cost.

    Returns
    -------
    tensor of shape (n_steps,)
    """
    beta = tf.cast(decay(tf.cast(tau, dtype), dt), dtype)
    remaining = tf.cast(tf.range(n_steps, 0, -1), dtype)
    return (1.0 - tf.pow(beta, remaining)) / tf.cast(n_steps, dtype)
