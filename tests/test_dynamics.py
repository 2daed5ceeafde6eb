"""The LIF dynamics: exact traces computed by hand, and the hand-written backward pass."""

import math

import numpy as np
import pytest
import tensorflow as tf

from sklif.dynamics import (
    LIFParameters,
    LIFState,
    decay,
    leaky_integrate,
    lif_scan,
    lif_step,
    readout_weights,
)
from sklif.surrogates import SURROGATES


def test_decay_is_exp_minus_dt_over_tau():
    assert float(decay(4.0, 2.0)) == pytest.approx(math.exp(-0.5))


def test_membrane_trace_by_hand_zero_reset():
    # tau = dt / ln 2, so beta = 1/2 and 1 - beta = 1/2; constant input I = 3, threshold 1:
    # v0 = 1.5 (spike), v1 = 0.5 * 0 + 1.5 = 1.5 (spike) ...; with I = 1.5:
    # v0 = 0.75, v1 = 0.375 + 0.75 = 1.125 (spike), v2 = 0 + 0.75 = 0.75, v3 = 1.125 (spike)
    p = LIFParameters(tau=1.0 / math.log(2.0), threshold=1.0, dt=1.0, reset="zero")
    spikes, membrane = lif_scan(tf.constant([[1.5]]), p, n_steps=4)
    np.testing.assert_allclose(membrane.numpy().ravel(), [0.75, 1.125, 0.75, 1.125], rtol=1e-6)
    np.testing.assert_array_equal(spikes.numpy().ravel(), [0, 1, 0, 1])


def test_membrane_trace_by_hand_subtract_reset():
    # beta = 1/2, I = 1.5, threshold 1, subtract reset:
    # v0 = 0.75; v1 = 0.5 * 0.75 + 0.75 = 1.125 (spike); v2 = 0.5 * 0.125 + 0.75 = 0.8125;
    # v3 = 0.5 * 0.8125 + 0.75 = 1.15625 (spike)
    p = LIFParameters(tau=1.0 / math.log(2.0), threshold=1.0, dt=1.0, reset="subtract")
    spikes, membrane = lif_scan(tf.constant([[1.5]]), p, n_steps=4)
    np.testing.assert_allclose(membrane.numpy().ravel(), [0.75, 1.125, 0.8125, 1.15625], rtol=1e-6)
    np.testing.assert_array_equal(spikes.numpy().ravel(), [0, 1, 0, 1])


def test_membrane_trace_by_hand_clamped():
    # beta = 1/2, input +2 then -4 then +1: v0 = 1 (spike, threshold 1), v1 = 0 + -2 -> clamp 0,
    # v2 = 0 + 0.5 = 0.5
    p = LIFParameters(tau=1.0 / math.log(2.0), threshold=1.0, clamp=True)
    current = tf.constant([[[2.0]], [[-4.0]], [[1.0]]])
    spikes, membrane = lif_scan(current, p)
    np.testing.assert_allclose(membrane.numpy().ravel(), [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(spikes.numpy().ravel(), [1, 0, 0])


def test_no_spike_below_threshold_and_steady_state():
    # A constant input below threshold drives v towards I without ever spiking.
    p = LIFParameters(tau=5.0, threshold=1.0)
    spikes, membrane = lif_scan(tf.constant([[0.9]]), p, n_steps=200)
    assert spikes.numpy().sum() == 0
    assert membrane.numpy()[-1, 0, 0] == pytest.approx(0.9, rel=1e-4)


def test_step_matches_scan():
    rng = np.random.default_rng(1)
    current = tf.constant(rng.normal(1.0, 1.0, size=(6, 2, 3)), tf.float32)
    p = LIFParameters(tau=3.0, threshold=0.7, reset="subtract")
    spikes, membrane = lif_scan(current, p)
    state = LIFState(tf.zeros((2, 3)), tf.zeros((2, 3)))
    for t in range(6):
        s, state = lif_step(current[t], state, p)
        np.testing.assert_allclose(state.v.numpy(), membrane[t].numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(s.numpy(), spikes[t].numpy())


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("clamp", [False, True])
@pytest.mark.parametrize("constant", [False, True])
def test_backward_pass_matches_autodiff_of_steps(surrogate, reset, clamp, constant):
    """lif_scan's hand-written reverse scan equals TensorFlow differentiating lif_step."""
    rng = np.random.default_rng(0)
    T, B, H = 7, 3, 4
    shape = (B, H) if constant else (T, B, H)
    current = tf.constant(rng.normal(1.0, 1.5, size=shape), tf.float32)
    tau = tf.constant(rng.uniform(2.0, 10.0, size=H), tf.float32)
    w_s = tf.constant(rng.normal(size=(T, B, H)), tf.float32)
    w_v = tf.constant(rng.normal(size=(T, B, H)), tf.float32)
    p = LIFParameters(tau, 0.8, 1.0, surrogate, 1.3, reset, clamp)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([current, tau])
        spikes, membrane = lif_scan(current, p, n_steps=T)
        fast = tf.reduce_sum(spikes * w_s) + tf.reduce_sum(membrane * w_v)
        state = LIFState(tf.zeros((B, H)), tf.zeros((B, H)))
        s_ref, v_ref = [], []
        for t in range(T):
            s, state = lif_step(current if constant else current[t], state, p)
            s_ref.append(s)
            v_ref.append(state.v)
        ref = tf.reduce_sum(tf.stack(s_ref) * w_s) + tf.reduce_sum(tf.stack(v_ref) * w_v)
    np.testing.assert_allclose(fast.numpy(), ref.numpy(), rtol=1e-5)
    for a, b in zip(tape.gradient(fast, [current, tau]), tape.gradient(ref, [current, tau])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_reset_carries_no_gradient():
    # With the flat surrogate at slope 0 the spikes pass no gradient; what is left is the
    # leak path beta * (1 - s), which must not see a derivative of s.
    p = LIFParameters(tau=2.0, threshold=0.5, surrogate="flat", surrogate_slope=1e-30)
    current = tf.constant([[[1.0]], [[1.0]]])
    with tf.GradientTape() as tape:
        tape.watch(current)
        _, membrane = lif_scan(current, p)
        out = membrane[1, 0, 0]
    grad = tape.gradient(out, current).numpy().ravel()
    beta = math.exp(-0.5)
    # v0 = (1-beta) I0 = 0.39 < 0.5, no spike: dv1/dI0 = beta (1 - beta), dv1/dI1 = 1 - beta
    np.testing.assert_allclose(grad, [beta * (1 - beta), 1 - beta], rtol=1e-5)


def test_readout_weights_give_mean_of_leaky_membrane():
    rng = np.random.default_rng(2)
    current = tf.constant(rng.normal(size=(9, 2, 3)), tf.float32)
    mean = tf.reduce_mean(leaky_integrate(current, 4.0, 1.0), axis=0)
    w = readout_weights(9, 4.0, 1.0)
    np.testing.assert_allclose(
        tf.tensordot(w, current, 1).numpy(), mean.numpy(), rtol=1e-5, atol=1e-6
    )


def test_constant_current_needs_n_steps():
    with pytest.raises(ValueError, match="n_steps"):
        lif_scan(tf.ones((2, 3)), LIFParameters())


def test_unknown_reset_is_rejected():
    with pytest.raises(ValueError, match="reset"):
        lif_scan(tf.ones((2, 2, 3)), LIFParameters(reset="bounce"))
