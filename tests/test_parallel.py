"""Many fits in parallel: joblib processes (loky) and a Dask cluster give the serial results."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from sklif import LIFClassifier

GRID = {"tau": [2.0, 5.0]}
SCORING = "neg_log_loss"  # continuous: any numerical difference between runs shows
CV = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)


def _estimator() -> LIFClassifier:
    return LIFClassifier(hidden_layer_sizes=(8,), n_steps=4, max_iter=3, random_state=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 16)
    X = rng.normal(size=(32, 3)) + 1.5 * y[:, None]
    return X, y


def _grid_search(X, y, n_jobs: int) -> GridSearchCV:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(_estimator(), GRID, cv=CV, scoring=SCORING, n_jobs=n_jobs).fit(X, y)


def _split_scores(search: GridSearchCV) -> np.ndarray:
    return np.array([search.cv_results_[f"split{i}_test_score"] for i in range(CV.n_splits)])


@pytest.fixture(scope="module")
def serial_search(data):
    return _grid_search(*data, n_jobs=1)


def test_grid_search_in_processes_matches_serial(serial_search, data):
    parallel = _grid_search(*data, n_jobs=2)  # loky worker processes
    assert np.array_equal(_split_scores(parallel), _split_scores(serial_search))
    assert parallel.best_params_ == serial_search.best_params_
    X, _ = data
    assert np.array_equal(
        parallel.best_estimator_.predict_proba(X), serial_search.best_estimator_.predict_proba(X)
    )


def test_cross_val_score_in_processes_matches_serial(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = cross_val_score(_estimator(), X, y, cv=CV, scoring=SCORING, n_jobs=1)
        parallel = cross_val_score(_estimator(), X, y, cv=CV, scoring=SCORING, n_jobs=2)
    assert np.array_equal(parallel, serial)


def test_grid_search_on_dask_matches_serial(serial_search, data):
    distributed = pytest.importorskip(
        "distributed", reason="Dask's distributed is not installed (pip install 'sklif[dask]')"
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_dask = _grid_search(*data, n_jobs=2)
    assert np.array_equal(
        on_dask.cv_results_["mean_test_score"], serial_search.cv_results_["mean_test_score"]
    )
    assert np.array_equal(_split_scores(on_dask), _split_scores(serial_search))


def test_tensorflow_threads_follow_the_worker_share():
    """Under joblib, a worker's TensorFlow uses its share of the CPUs, not all of them."""
    pytest.importorskip("sklif._threads", reason="sklif does not limit TensorFlow threads yet")
    script = (
        "import sklif, tensorflow as tf; "
        "print(tf.config.threading.get_intra_op_parallelism_threads())"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"}
    env.pop("TF_NUM_INTRAOP_THREADS", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == "1"
