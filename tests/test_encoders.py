"""Encoders turn rows into input over time."""

import numpy as np
import pytest
import tensorflow as tf

from sklif.encoders import current, encode, latency, poisson


def test_current_repeats_the_row():
    x = tf.constant([[1.0, -2.0]])
    out = current(x, 3).numpy()
    assert out.shape == (3, 1, 2)
    np.testing.assert_array_equal(out[2], [[1.0, -2.0]])


def test_poisson_rate_and_seed():
    x = tf.constant([[0.0, 0.25, 1.0]] * 50)
    seed = tf.constant([1, 2])
    a = poisson(x, 400, seed).numpy()
    b = poisson(x, 400, seed).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1.0}
    rates = a.mean(axis=(0, 1))
    np.testing.assert_allclose(rates, [0.0, 0.25, 1.0], atol=0.01)
    assert not np.array_equal(a, poisson(x, 400, tf.constant([1, 3])).numpy())


def test_latency_one_spike_earlier_for_larger_values():
    x = tf.constant([[0.0, 0.5, 1.0, 7.0]])
    out = latency(x, 11).numpy()
    assert out.shape == (11, 1, 4)
    np.testing.assert_array_equal(out.sum(axis=0), [[1, 1, 1, 1]])
    np.testing.assert_array_equal(out.argmax(axis=0), [[10, 5, 0, 0]])


def test_encode_by_name_and_errors():
    x = tf.constant([[0.5]])
    assert encode(x, "current", 4).shape == (4, 1, 1)
    with pytest.raises(ValueError, match="seed"):
        encode(x, "poisson", 4)
    with pytest.raises(ValueError, match="Unknown encoding"):
        encode(x, "phase", 4)


def test_uniform_hash_is_uniform_and_seeded():
    from sklif.encoders import uniform

    u = uniform(tf.constant([200, 500]), tf.constant([3, 4])).numpy()
    assert u.shape == (200, 500) and u.min() >= 0.0 and u.max() < 1.0
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    np.testing.assert_allclose(counts / u.size, 0.1, atol=0.005)
    # neighbours are uncorrelated
    assert abs(np.corrcoef(u.ravel()[:-1], u.ravel()[1:])[0, 1]) < 0.01
    np.testing.assert_array_equal(u, uniform(tf.constant([200, 500]), tf.constant([3, 4])).numpy())
    other = uniform(tf.constant([200, 500]), tf.constant([3, 5])).numpy()
    assert abs(np.corrcoef(u.ravel(), other.ravel())[0, 1]) < 0.01
