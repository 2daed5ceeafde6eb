"""LIFClassifier's behaviour as a scikit-learn classifier."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklif import LIFClassifier, Recording

FAST = dict(hidden_layer_sizes=(16,), n_steps=8, max_iter=20, random_state=0)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_fit_predict_shapes_and_probabilities(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**FAST).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, y) > 0.9
    assert clf.n_iter_ == len(clf.loss_curve_) <= 20
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


def test_binary_string_labels_and_pandas_input(small_xy):
    X, y = small_xy
    keep = y < 2
    frame = pd.DataFrame(X[keep], columns=["a", "b", "c", "d"])
    labels = np.where(y[keep] == 0, "cat", "dog")
    clf = LIFClassifier(**FAST).fit(frame, pd.Series(labels))
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog"])
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert set(clf.predict(frame)) <= {"cat", "dog"}
    assert clf.score(frame, labels) > 0.9


def test_sample_weight_integer_equals_repetition(small_xy):
    X, y = small_xy
    sw = np.random.default_rng(0).integers(0, 3, size=len(y))
    a = LIFClassifier(**FAST).fit(X, y, sample_weight=sw)
    b = LIFClassifier(**FAST).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_sample_weight_changes_the_fit(small_xy):
    X, y = small_xy
    sw = np.where(y == 0, 10.0, 0.1)
    a = LIFClassifier(**FAST).fit(X, y)
    b = LIFClassifier(**FAST).fit(X, y, sample_weight=sw)
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))


def test_same_seed_same_model_other_seed_differs(small_xy):
    X, y = small_xy
    a = LIFClassifier(**FAST).fit(X, y).predict_proba(X)
    b = LIFClassifier(**FAST).fit(X, y).predict_proba(X)
    c = LIFClassifier(**{**FAST, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "encoding, readout",
    [
        ("current", "spike_count"),
        ("poisson", "membrane"),
        ("poisson", "spike_count"),
        ("latency", "membrane"),
    ],
)
def test_encodings_and_readouts_learn(small_xy, encoding, readout):
    X, y = small_xy
    clf = LIFClassifier(**{**FAST, "max_iter": 150}, encoding=encoding, readout=readout)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.8
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_partial_fit_one_epoch_per_call(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**FAST)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:10], y[:10], classes=[0, 1, 2])
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 31 and len(clf.loss_curve_) == 31
    assert clf.loss_curve_[-1] < clf.loss_curve_[1]
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X, y + 5)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)


def test_warm_start_continues(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**{**FAST, "max_iter": 5, "tol": 0.0}, warm_start=True).fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert clf.n_iter_ == 10 and clf.loss_curve_[5] < first * 1.5
    cold = clone(clf).set_params(warm_start=False).fit(X, y)
    assert cold.n_iter_ == 5


def test_early_stopping_keeps_best_validation_weights(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**{**FAST, "max_iter": 60}, early_stopping=True, n_iter_no_change=3)
    clf.fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_convergence_warning_at_max_iter(small_xy):
    X, y = small_xy
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        LIFClassifier(**{**FAST, "max_iter": 2}).fit(X, y)


def test_verbose_prints_epochs(small_xy):
    X, y = small_xy
    out = io.StringIO()
    with redirect_stdout(out):
        LIFClassifier(**{**FAST, "max_iter": 3}, verbose=True).fit(X, y)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Epoch 1/3 - loss: ") and lines[0].endswith("s")
    assert len(lines) == 3


def test_record_returns_every_layer_over_time(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**{**FAST, "hidden_layer_sizes": (6, 5)}).fit(X, y)
    rec = clf.record(X[:4])
    assert isinstance(rec, Recording)
    assert rec.input.shape == (4, 8, 4)
    assert [s.shape for s in rec.spikes] == [(4, 8, 6), (4, 8, 5)]
    assert [v.shape for v in rec.membrane] == [(4, 8, 6), (4, 8, 5), (4, 8, 3)]
    assert rec.names == ["lif_0", "lif_1", "output"] and rec.threshold == 1.0
    assert set(np.unique(rec.spikes[0])) <= {0.0, 1.0}
    # a neuron spikes exactly when its membrane reaches the threshold
    np.testing.assert_array_equal(rec.spikes[0], rec.membrane[0] >= rec.threshold)
    # the readout is the mean of the output membrane
    np.testing.assert_allclose(
        np.log(clf.predict_proba(X[:4])),
        rec.membrane[-1].mean(axis=1)
        - np.log(np.exp(rec.membrane[-1].mean(axis=1)).sum(1, keepdims=True)),
        rtol=1e-4,
        atol=1e-5,
    )


def test_pickle_round_trip(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**FAST).fit(X, y)
    _ = clf.model_  # a built Keras model is not pickled, and rebuilt on demand
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.model_.count_params() == clf.model_.count_params()


def test_unfitted_raises(small_xy):
    X, _ = small_xy
    with pytest.raises(NotFittedError):
        LIFClassifier().predict(X)
    with pytest.raises(NotFittedError):
        _ = LIFClassifier().model_


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(tau=-1.0), "tau"),
        (dict(tau=0.0), "tau"),
        (dict(threshold=0.0), "threshold"),
        (dict(surrogate="boxcar"), "surrogate"),
        (dict(surrogate_slope=0), "surrogate_slope"),
        (dict(n_steps=0), "n_steps"),
        (dict(dt=-0.1), "dt"),
        (dict(reset="bounce"), "reset"),
        (dict(encoding="phase"), "encoding"),
        (dict(readout="max"), "readout"),
        (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
        (dict(hidden_layer_sizes="big"), "hidden_layer_sizes"),
        (dict(learning_rate_init=0.0), "learning_rate_init"),
        (dict(batch_size=0), "batch_size"),
        (dict(max_iter=0), "max_iter"),
        (dict(alpha=-1.0), "alpha"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(device="tpu"), "device"),
        (dict(tau=float("inf")), "tau"),
        (dict(threshold=float("nan")), "threshold"),
    ],
)
def test_invalid_hyperparameters_are_named(small_xy, params, match):
    X, y = small_xy
    with pytest.raises(ValueError, match=match):
        LIFClassifier(**params).fit(X, y)


def test_gpu_without_gpu_is_a_clear_error(small_xy):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU is visible")
    X, y = small_xy
    with pytest.raises(ValueError, match="no GPU"):
        LIFClassifier(device="gpu").fit(X, y)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), [0, 1], "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0]]), [0, 1], "infinity"),
        (np.array([1.0, 2.0, 3.0]), [0, 1, 0], "2D array"),
        (np.ones((3, 2, 2)), [0, 1, 0], "dim"),
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], "convert|could not"),
        (np.empty((0, 3)), [], "0 sample"),
        (np.ones((4, 2)), [0, 1, 0], "inconsistent numbers of samples"),
        (np.ones((4, 2)), [0.1, 0.2, 0.3, 0.4], "Unknown label type"),
        (np.ones((4, 2)), [1, 1, 1, 1], "at least 2"),
    ],
)
def test_bad_input_gets_a_clear_value_error(X, y, match):
    with pytest.raises(ValueError, match=match):
        LIFClassifier(**FAST).fit(X, y)


def test_wrong_number_of_features_at_predict(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_huge_inputs_stay_finite(small_xy):
    X, y = small_xy
    clf = LIFClassifier(**FAST).fit(X * 1e30, y)
    assert np.isfinite(clf.predict_proba(X * 1e30)).all()
    assert clf.score(X * 1e30, y) > 0.8


# --- the defaults are good on real data (issue: Iris, breast cancer, digits) ---------------


def _default_pipe():
    return make_pipeline(StandardScaler(), LIFClassifier(random_state=0))


def test_default_iris_cross_validation(iris):
    X, y = iris
    assert cross_val_score(_default_pipe(), X, y, cv=5).mean() >= 0.95


@pytest.mark.parametrize("loader, floor", [(load_breast_cancer, 0.95), (load_digits, 0.96)])
def test_default_held_out_accuracy(loader, floor):
    X, y = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    assert _default_pipe().fit(X_tr, y_tr).score(X_te, y_te) >= floor
