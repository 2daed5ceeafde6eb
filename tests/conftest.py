"""Shared test set-up: quiet TensorFlow, small data sets."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402


@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def small_xy():
    """A small, easy 3-class problem."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0], [0.0, 3.0, 3.0, 0.0]])
    y = np.repeat(np.arange(3), 20)
    X = centers[y] + rng.normal(0, 0.5, size=(60, 4))
    return X, y
