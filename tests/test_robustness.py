"""Bounded memory, interrupted training, divergence and extreme hyperparameters."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklif import LIFClassifier, training
from sklif.network import Spec

FAST = dict(hidden_layer_sizes=(8,), n_steps=6, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_memory_estimate_and_pieces():
    spec = Spec(n_features=4, hidden_layer_sizes=(100,), n_outputs=3, n_steps=1000)
    assert training.bptt_bytes(spec, 256) == 4 * 1000 * 256 * 400
    assert training.micro_batch_size(spec, 256, 2**40) == 256
    micro = training.micro_batch_size(spec, 256, 50 * 2**20)
    assert training.bptt_bytes(spec, micro) <= 50 * 2**20 and micro >= 256 // 9
    with pytest.raises(ValueError, match="max_memory_mb"):
        training.micro_batch_size(spec, 256, 1000)


def test_pieces_give_the_same_training_as_whole_batches(small_xy):
    X, y = small_xy
    whole = LIFClassifier(**FAST, max_iter=5).fit(X, y)
    pieces = LIFClassifier(**FAST, max_iter=5, max_memory_mb=0.05).fit(X, y)
    np.testing.assert_allclose(pieces.loss_curve_, whole.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(pieces.predict_proba(X), whole.predict_proba(X), atol=1e-4)


def test_thousand_steps_fit_in_a_small_memory_bound(small_xy):
    X, y = small_xy
    clf = LIFClassifier(hidden_layer_sizes=(16,), n_steps=1000, max_iter=2, max_memory_mb=8)
    clf.fit(X, y)
    assert clf.n_iter_ == 2 and np.isfinite(clf.predict_proba(X)).all()


def test_not_even_one_sample_fits_names_the_parameters(small_xy):
    X, y = small_xy
    with pytest.raises(ValueError, match="max_memory_mb.*n_steps|n_steps.*max_memory_mb"):
        LIFClassifier(n_steps=100_000, hidden_layer_sizes=(512,), max_memory_mb=1).fit(X, y)


def test_huge_layers_are_refused_before_allocating(small_xy):
    X, y = small_xy
    with pytest.raises(ValueError, match="hidden_layer_sizes.*max_memory_mb"):
        LIFClassifier(hidden_layer_sizes=(10**9,)).fit(X, y)


def _interrupt_on_call(monkeypatch, call: int):
    """Make the compiled training function raise KeyboardInterrupt on its ``call``-th use."""
    original = training.compiled
    calls = {"n": 0}

    def compiled(kind, key, build):
        fn = original(kind, key, build)
        if kind != "train":
            return fn

        def wrapped(*args):
            calls["n"] += 1
            if calls["n"] == call:
                raise KeyboardInterrupt
            return fn(*args)

        return wrapped

    monkeypatch.setattr(training, "compiled", compiled)


def test_interrupt_keeps_the_last_finished_epoch(small_xy, monkeypatch):
    X, y = small_xy
    _interrupt_on_call(monkeypatch, 3)  # calls 1 and 2 run one epoch each
    with pytest.warns(RuntimeWarning, match="interrupted after 2 epochs"):
        clf = LIFClassifier(**FAST, max_iter=50).fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert np.isfinite(clf.predict_proba(X)).all()


def test_interrupt_before_the_first_epoch_keeps_the_previous_fit(small_xy, monkeypatch):
    X, y = small_xy
    clf = LIFClassifier(**FAST, max_iter=5).fit(X, y)
    before = clf.predict_proba(X)
    _interrupt_on_call(monkeypatch, 1)
    with pytest.warns(RuntimeWarning, match="previous fitted state"):
        clf.set_params(tau=20.0).fit(X[:30], y[:30])
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == 5


def test_divergence_warns_and_keeps_finite_weights(small_xy):
    X, y = small_xy
    with pytest.warns(RuntimeWarning, match="diverged"):
        clf = LIFClassifier(**FAST, max_iter=30, learning_rate_init=1e38).fit(X, y)
    assert all(np.isfinite(w).all() for w in clf._weights)
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize(
    "params",
    [
        dict(tau=1e-6),
        dict(tau=1e6),
        dict(threshold=1e-6),
        dict(threshold=1e6),
        dict(surrogate_slope=1e-6),
        dict(surrogate_slope=1e6),
        dict(dt=1e-6),
        dict(dt=1e6),
        dict(surrogate="flat", surrogate_slope=1e6),
        dict(readout="spike_count", threshold=1e-6, trainable_tau=True, tau=1e-3),
    ],
)
def test_extreme_hyperparameters_stay_finite(small_xy, params):
    X, y = small_xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        clf = LIFClassifier(**{**FAST, **params}, max_iter=10).fit(X, y)
    assert all(np.isfinite(w).all() for w in clf._weights)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
