"""The public Keras layers: they compute the estimator's network and survive save/load."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import sklif
from sklif import LIFClassifier
from sklif.dynamics import LIFParameters, lif_scan
from sklif.layers import (
    LIF,
    CurrentEncoder,
    LatencyEncoder,
    LeakyReadout,
    PoissonEncoder,
    SpikeCount,
)


def _model(encoder):
    return keras.Sequential(
        [
            keras.Input((4,)),
            encoder,
            LIF(6, tau=4.0, threshold=0.5, surrogate="arctan", trainable_tau=True),
            LIF(5, reset="subtract", clamp=True),
            LeakyReadout(3, tau=3.0),
        ]
    )


@pytest.mark.parametrize("encoder", [CurrentEncoder(5), LatencyEncoder(5)])
def test_model_save_and_load_round_trip(tmp_path, encoder):
    model = _model(encoder)
    x = np.random.default_rng(0).uniform(0, 2, size=(7, 4)).astype(np.float32)
    before = model.predict(x, verbose=0)
    path = tmp_path / "lif.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert loaded.layers[1].get_config() == model.layers[1].get_config()


def test_poisson_encoder_draws_new_spikes_each_call_and_serialises(tmp_path):
    layer = PoissonEncoder(20, seed=3)
    x = tf.fill((2, 5), 0.5)
    a, b = layer(x).numpy(), layer(x).numpy()
    assert a.shape == (2, 20, 5) and not np.array_equal(a, b)
    assert PoissonEncoder.from_config(layer.get_config()).seed == 3


def test_lif_layer_is_lif_scan_of_the_projection():
    layer = LIF(3, tau=2.0, threshold=0.3, reset="subtract")
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 6, 4)), tf.float32)
    spikes, membrane = layer.simulate(x)
    current = tf.transpose(tf.tensordot(x, layer.kernel, 1) + layer.bias, [1, 0, 2])
    ref_s, ref_v = lif_scan(current, LIFParameters(2.0, 0.3, reset="subtract"))
    np.testing.assert_allclose(
        membrane.numpy(), np.swapaxes(ref_v.numpy(), 0, 1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(layer(x).numpy(), np.swapaxes(ref_s.numpy(), 0, 1))


def test_lif_layer_trains_with_model_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    model = keras.Sequential([keras.Input((4,)), CurrentEncoder(8), LIF(16), LeakyReadout(2)])
    model.compile(
        keras.optimizers.Adam(0.02), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_spike_count_sums_over_time():
    x = tf.constant([[[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    np.testing.assert_array_equal(SpikeCount()(x).numpy(), [[2.0, 2.0]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(units=0), "units"),
        (dict(units=3, tau=-1.0), "tau"),
        (dict(units=3, threshold=0.0), "threshold"),
        (dict(units=3, surrogate="boxcar"), "surrogate"),
        (dict(units=3, reset="bounce"), "reset"),
    ],
)
def test_lif_layer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIF(**kwargs)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(encoding="latency", readout="spike_count", trainable_tau=True),
        dict(hidden_layer_sizes=(6, 5), reset="subtract", clamp_membrane=True),
    ],
)
def test_estimator_model_computes_the_same_logits(iris, params):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LIFClassifier(n_steps=6, max_iter=3, random_state=0, **params).fit(X, y)
    # Past the rescaling layer, the Keras model sees exactly the estimator's scaled input.
    network = keras.Sequential(clf.model_.layers[1:])
    logits = network.predict(clf._apply_scaling(X), verbose=0)
    # Both compute the same function in float32 by different routes (a constant current held
    # vs repeated), so a membrane that lands within rounding of the threshold may spike in
    # one and not the other: compare row by row.
    close = np.isclose(
        clf.predict_log_proba(X), tf.nn.log_softmax(logits).numpy(), rtol=1e-4, atol=1e-4
    ).all(axis=1)
    assert close.mean() >= 0.97
    # From raw features (rescaled in float32 rather than float64) the classes agree.
    raw = clf.model_.predict(X.astype(np.float32), verbose=0)
    assert (raw.argmax(axis=1) == clf.predict_proba(X).argmax(axis=1)).mean() >= 0.9
    assert clf.model_ is clf.model_  # built once
    assert isinstance(clf.model_.get_layer("output"), (LeakyReadout, LIF))
    assert sklif.layers.LIF is LIF
