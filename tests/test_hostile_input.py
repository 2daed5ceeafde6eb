"""Hostile input: whatever goes in, a usable model or a ValueError with a message comes out.

Property-tested with hypothesis over shapes, magnitudes, constant columns, rare classes and
dtypes; targeted tests for many classes, pandas columns that are not numbers, non-finite
values, bad labels and bad sample weights. Never a TensorFlow traceback, never NaN
probabilities.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklif import LIFClassifier

# derandomize: the same examples on every run (CI stays reproducible, compile counts stay
# bounded); database=None: no .hypothesis folder in the checkout.
FAST_SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, database=None)


def _estimator(**params) -> LIFClassifier:
    return LIFClassifier(
        **{**dict(hidden_layer_sizes=(4,), n_steps=4, max_iter=2, random_state=0), **params}
    )


def _fit(X, y, **kwargs) -> LIFClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _estimator().fit(X, y, **kwargs)


def _assert_usable(est: LIFClassifier, X) -> None:
    """Probabilities finite, in [0, 1], one column per class, rows summing to one."""
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), len(est.classes_))
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(np.isin(est.predict(X), est.classes_))


def _fit_or_value_error(X, y, **kwargs) -> LIFClassifier | None:
    """The property: fit gives a usable model, or raises ValueError with a message."""
    try:
        est = _fit(X, y, **kwargs)
    except ValueError as exc:
        assert str(exc).strip(), "ValueError without a message"
        return None
    _assert_usable(est, X)
    return est


@st.composite
def hostile_data(draw):
    """Data of random shape whose columns are normal, constant or zero, each at its own scale
    between 1e-30 and 1e30, with 1 to 4 classes (so single-sample classes happen)."""
    n_rows = draw(st.integers(1, 30))
    n_features = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns = []
    for _ in range(n_features):
        scale = 10.0 ** draw(st.integers(-30, 30))
        kind = draw(st.sampled_from(["normal", "constant", "zero", "shifted"]))
        column = {
            "normal": scale * rng.normal(size=n_rows),
            "constant": np.full(n_rows, scale * rng.normal()),
            "zero": np.zeros(n_rows),
            "shifted": scale * (1e6 + rng.normal(size=n_rows)),  # tiny spread, huge mean
        }[kind]
        columns.append(column)
    X = np.column_stack(columns)
    n_classes = draw(st.integers(1, 4))
    y = rng.integers(0, n_classes, size=n_rows)
    if draw(st.booleans()):
        y = np.array(["ant", "bee", "cat", "dog"], dtype=object)[y]
    return X, y


@FAST_SETTINGS
@given(hostile_data())
def test_random_shapes_and_magnitudes(data):
    X, y = data
    if len(np.unique(y)) < 2:
        with pytest.raises(ValueError, match="class"):
            _fit(X, y)
        return
    est = _fit(X, y)  # finite data with two or more classes must fit
    _assert_usable(est, X)
    _assert_usable(est, np.vstack([X * 1e10, -X, np.zeros_like(X)]))  # far outside training


DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, bool]


@FAST_SETTINGS
@given(
    dtype=st.sampled_from(DTYPES),
    exponent=st.integers(-30, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_input_dtypes(dtype, exponent, seed):
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflowing casts are the point
        X = (10.0**exponent * rng.normal(size=(16, 3))).astype(dtype)
    y = np.arange(16) % 2
    est = _fit_or_value_error(X, y)
    if est is None:  # only float16 overflowing to inf is allowed to fail
        assert dtype is np.float16 and not np.all(np.isfinite(X))
        with pytest.raises(ValueError, match="infinity"):
            _fit(X, y)


@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
def test_extreme_magnitudes_and_single_feature():  # (sklearn's finite check sums +-1e308)
    y = np.arange(16) % 2
    rng = np.random.default_rng(0)
    for X in (
        1e300 * rng.normal(size=(16, 1)),
        5e-324 * rng.integers(-3, 3, size=(16, 1)),  # subnormal
        np.full((16, 1), np.finfo(np.float64).max),
        np.where(y[:, None] == 1, 1e308, -1e308),  # the range overflows float64
    ):
        _assert_usable(_fit(X, y), X)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("encoding", ["latency", "poisson"])
def test_full_float64_range_under_spike_encodings(encoding):
    y = np.arange(16) % 2
    X = np.where(y[:, None] == 1, 1e308, -1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = _estimator(encoding=encoding).fit(X, y)
    assert np.all(np.isfinite(est.input_scale_))
    assert np.all(np.isfinite(est._apply_scaling(X)))


@pytest.mark.filterwarnings("ignore:The number of unique classes:UserWarning")
def test_many_classes_some_with_one_sample():
    rng = np.random.default_rng(0)
    y = np.arange(150) % 100  # 50 classes with two samples, 50 with one
    X = rng.normal(size=(150, 3)) + (y[:, None] % 7)
    est = _fit(X, y)
    assert len(est.classes_) == 100
    _assert_usable(est, X)


def test_non_finite_values_are_refused():
    X = np.random.default_rng(0).normal(size=(16, 3))
    y = np.arange(16) % 2
    for bad in (np.nan, np.inf, -np.inf):
        X_bad = X.copy()
        X_bad[3, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            _fit(X_bad, y)
        with pytest.raises(ValueError, match="NaN|infinity"):
            _fit(X, y).predict_proba(X_bad)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((0, 3)), "0 sample"),
        (np.zeros((16, 0)), "0 feature"),
        (np.zeros((16, 3, 1)), "dim 3"),
        (np.ones((16, 3)) + 1j, "Complex"),
        ([["a", "b", "c"]] * 16, "could not convert"),
    ],
    ids=["no-rows", "no-columns", "3-d", "complex", "strings"],
)
def test_malformed_arrays(X, match):
    with pytest.raises(ValueError, match=match):
        _fit(X, np.arange(16) % 2)


def test_pandas_columns_that_are_not_numbers():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    y = np.arange(16) % 2
    numbers = rng.normal(size=16)
    letters = list("abcd" * 4)
    for column in (
        pd.Categorical(letters),
        pd.Series(letters, dtype=object),
        pd.array(letters, dtype="string"),
        pd.array([1, None] * 8, dtype="Int64"),  # missing value
    ):
        frame = pd.DataFrame({"a": column, "b": numbers, "c": numbers})
        with pytest.raises(ValueError, match="convert string to float|NaN"):
            _fit(frame, y)
    # numbers in disguise are fine
    for column in (pd.Categorical(np.arange(16) % 3), pd.array([1, 2] * 8, dtype="Int64")):
        frame = pd.DataFrame({"a": column, "b": numbers, "c": numbers})
        _assert_usable(_fit(frame, y), frame)
    # a model fitted on numbers refuses strings at prediction time
    fitted = _fit(pd.DataFrame({"a": numbers, "b": numbers, "c": numbers}), y)
    with pytest.raises(ValueError, match="convert string to float"):
        fitted.predict(pd.DataFrame({"a": letters, "b": numbers, "c": numbers}))
    # sklearn's convention: mixed column-name types and sparse input are TypeErrors
    with pytest.raises(TypeError, match="feature names"):
        _fit(pd.DataFrame({"a": numbers, 1: numbers, "c": numbers}), y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.where(np.arange(16) % 2, np.nan, 1.0), "NaN"),
        (np.linspace(0, 1, 16), "continuous"),
        (np.column_stack([np.arange(16) % 2] * 2), "1d array"),
        (np.array([1, "a"] * 8, dtype=object), "Unknown label type"),
        (np.arange(5) % 2, "inconsistent numbers of samples"),
        (np.zeros(16), "at least 2"),
    ],
    ids=["nan", "continuous", "2-d", "mixed-types", "wrong-length", "one-class"],
)
def test_bad_labels(y, match):
    X = np.random.default_rng(0).normal(size=(16, 3))
    with pytest.raises(ValueError, match=match):
        _fit(X, y)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(16), "Negative"),
        (np.full(16, np.nan), "NaN"),
        (np.full(16, np.inf), "infinity"),
        (np.zeros(16), "non-zero"),
        (np.ones(5), "shape|samples"),
    ],
    ids=["negative", "nan", "inf", "zeros", "wrong-length"],
)
def test_bad_sample_weights(sample_weight, match):
    X = np.random.default_rng(0).normal(size=(16, 3))
    with pytest.raises(ValueError, match=match):
        _fit(X, np.arange(16) % 2, sample_weight=sample_weight)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_sample_weight_scale_does_not_matter(scale):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), np.arange(16) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scaled = _fit(X, y, sample_weight=np.full(16, scale)).predict_proba(X)
    np.testing.assert_allclose(scaled, _fit(X, y).predict_proba(X), rtol=1e-5)


def test_partial_fit_with_a_single_class():
    X = np.random.default_rng(0).normal(size=(16, 3))
    try:
        est = _estimator().partial_fit(X, np.zeros(16), classes=[0.0])
    except ValueError as exc:
        assert "class" in str(exc)
        return
    _assert_usable(est, X)
