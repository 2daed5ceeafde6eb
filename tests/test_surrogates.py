"""Surrogates: forward is exactly the Heaviside step, backward is the documented formula."""

import math

import numpy as np
import pytest
import tensorflow as tf

from sklif.surrogates import SURROGATES, spike, surrogate_derivative

X = np.linspace(-3.0, 3.0, 121, dtype=np.float32)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


# The formulas of the module docstring, written again independently in NumPy.
FORMULAS = {
    "flat": lambda x, k: np.full_like(x, k),
    "fast_sigmoid": lambda x, k: k / (2.0 * (1.0 + k * np.abs(x)) ** 2),
    "sigmoid": lambda x, k: k * _sig(k * x) * (1.0 - _sig(k * x)),
    "triangle": lambda x, k: k * np.maximum(0.0, 1.0 - k * np.abs(x)),
    "arctan": lambda x, k: k / (math.pi * (1.0 + (k * x) ** 2)),
}


def test_every_surrogate_has_a_formula_here():
    assert set(FORMULAS) == set(SURROGATES)


@pytest.mark.parametrize("name", sorted(SURROGATES))
@pytest.mark.parametrize("slope", [0.5, 1.0, 3.0])
def test_forward_is_heaviside_and_backward_is_formula(name, slope):
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = spike(x, slope, name)
    np.testing.assert_array_equal(out.numpy(), (X >= 0).astype(np.float32))
    grad = tape.gradient(out, x).numpy()
    np.testing.assert_allclose(
        grad, FORMULAS[name](X.astype(np.float64), slope), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", sorted(set(SURROGATES) - {"flat"}))
def test_smooth_surrogates_integrate_to_about_one(name):
    x = np.linspace(-200, 200, 400001, dtype=np.float32)
    g = surrogate_derivative(name)(tf.constant(x), tf.constant(2.0)).numpy()
    assert np.trapezoid(g, x) == pytest.approx(1.0, abs=0.01)


def test_upstream_gradient_is_multiplied():
    x = tf.constant([0.0, 0.5])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(spike(x, 2.0, "flat") * tf.constant([3.0, -1.0]))
    np.testing.assert_allclose(tape.gradient(out, x).numpy(), [6.0, -2.0])


def test_unknown_surrogate_names_the_choices():
    with pytest.raises(ValueError, match="Unknown surrogate 'boxcar'.*fast_sigmoid"):
        surrogate_derivative("boxcar")
