"""sklif.plotting: every plot renders (Agg) to a non-blank PNG, from an estimator or a Recording."""

import importlib
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

from sklif import LIFClassifier, Recording, plotting  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    X, y = load_iris(return_X_y=True)
    return X[::5], y[::5]  # 30 rows, all three classes


@pytest.fixture(scope="module")
def clf(rows):
    X, y = rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LIFClassifier(hidden_layer_sizes=(16,), n_steps=8, max_iter=5, random_state=0).fit(
            X, y
        )


@pytest.fixture(scope="module")
def recording(clf, rows):
    return clf.record(rows[0][:6])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def assert_not_blank(fig, path):
    fig.savefig(path, dpi=50)
    pixels = matplotlib.image.imread(path)
    assert pixels.std() > 0
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 2


def test_recording_layout(recording):
    # what the plots rely on: membrane readout -> one more membrane than spikes
    assert len(recording.membrane) == len(recording.spikes) + 1
    assert recording.spikes[0].shape == (6, 8, 16)


@pytest.mark.parametrize("layer", [0, -1, "input"])
def test_spike_raster_recording(recording, layer, tmp_path):
    ax = plotting.spike_raster(recording, layer=layer, sample=2)
    assert ax.get_xlabel() == "time step"
    assert_not_blank(ax.figure, tmp_path / "raster.png")


def test_spike_raster_estimator_into_given_axes(clf, rows, tmp_path):
    fig, axes = plt.subplots(1, 2)
    ax = plotting.spike_raster(clf, rows[0][:3], layer=0, sample=1, ax=axes[1])
    assert ax is axes[1]
    n_spikes = int(clf.record(rows[0][:3]).spikes[0][1].sum())
    assert f"({n_spikes} spikes)" in ax.get_title()
    assert_not_blank(fig, tmp_path / "raster.png")


def test_spike_raster_binary_input(recording, tmp_path):
    """Spike-encoded input is drawn as a raster, not a heat map."""
    rng = np.random.default_rng(0)
    spikes = (rng.random((2, 8, 4)) < 0.3).astype(np.float32)
    rec = recording._replace(input=spikes)
    ax = plotting.spike_raster(rec, layer="input", sample=1)
    assert "spikes" in ax.get_title()
    assert len(ax.collections[0].get_offsets()) == int(spikes[1].sum())
    assert_not_blank(ax.figure, tmp_path / "input.png")


def test_membrane_traces(recording, tmp_path):
    ax = plotting.membrane_traces(recording, layer=0, sample=1, neurons=[0, 3, 15])
    threshold = [line for line in ax.get_lines() if line.get_label() == "threshold"]
    assert len(threshold) == 1
    assert threshold[0].get_ydata()[0] == pytest.approx(recording.threshold)
    assert threshold[0].get_linestyle() == "--"
    assert_not_blank(ax.figure, tmp_path / "membrane.png")


def test_membrane_traces_readout_has_no_threshold(clf, rows, tmp_path):
    ax = plotting.membrane_traces(clf, rows[0][:2], layer=-1)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "threshold" not in labels
    assert labels == ["neuron 0", "neuron 1", "neuron 2"]  # three classes, all shown
    assert "no threshold" in ax.get_title()
    assert_not_blank(ax.figure, tmp_path / "readout.png")


def test_firing_rates(clf, rows, recording, tmp_path):
    ax = plotting.firing_rates(recording)
    assert_not_blank(ax.figure, tmp_path / "rates.png")
    ax = plotting.firing_rates(clf, rows[0])
    counts = sum(patch.get_height() for patch in ax.patches)
    assert counts == 16  # one layer of 16 neurons
    assert_not_blank(ax.figure, tmp_path / "rates_clf.png")


def test_learning_curves(clf, tmp_path):
    ax = plotting.learning_curves(clf)
    assert len(ax.get_lines()[0].get_xdata()) == clf.n_iter_
    assert_not_blank(ax.figure, tmp_path / "curves.png")


def test_learning_curves_with_validation(rows, tmp_path):
    X, y = rows
    clf = LIFClassifier(
        hidden_layer_sizes=(8,),
        n_steps=8,
        max_iter=3,
        early_stopping=True,
        validation_fraction=0.3,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    ax = plotting.learning_curves(clf)
    assert len(ax.figure.axes) == 2  # the twin axis of the validation accuracy
    assert ax.get_legend().get_texts()[1].get_text() == "validation accuracy"
    assert_not_blank(ax.figure, tmp_path / "curves.png")


@pytest.mark.parametrize("names", [None, ["flat", "triangle"]])
def test_surrogates(names, tmp_path):
    fig = plotting.surrogates(names, slope=2.0)
    step_ax, derivative_ax = fig.axes
    assert len(derivative_ax.get_lines()) == (5 if names is None else 2)
    for line in step_ax.get_lines()[1:]:
        if line.get_label() != "flat":  # the smooth steps rise from about 0 to about 1
            y = line.get_ydata()
            assert y[0] == pytest.approx(0, abs=0.12) and y[-1] == pytest.approx(1, abs=0.12)
    assert_not_blank(fig, tmp_path / "surrogates.png")


def test_surrogates_errors():
    with pytest.raises(ValueError, match="Unknown surrogate"):
        plotting.surrogates(["nope"])
    with pytest.raises(ValueError, match="slope"):
        plotting.surrogates(slope=0)


def test_bad_layer_and_sample(clf, rows, recording):
    with pytest.raises(ValueError, match="spiking layer 1 is out of range"):
        plotting.spike_raster(recording, layer=1)  # the membrane readout does not spike
    with pytest.raises(ValueError, match="layer 5 is out of range"):
        plotting.membrane_traces(recording, layer=5)
    with pytest.raises(ValueError, match='"input"'):
        plotting.spike_raster(recording, layer="output")
    with pytest.raises(ValueError, match="sample 6 is out of range"):
        plotting.spike_raster(recording, sample=6)
    with pytest.raises(ValueError, match="sample -7 is out of range"):
        plotting.membrane_traces(recording, sample=-7)
    with pytest.raises(ValueError, match="neuron 16 is out of range"):
        plotting.membrane_traces(recording, neurons=[16])
    with pytest.raises(ValueError, match="must be an integer"):
        plotting.membrane_traces(recording, layer=0.5)


def test_bad_sources(clf, rows, recording):
    with pytest.raises(ValueError, match="X is required"):
        plotting.spike_raster(clf)
    with pytest.raises(ValueError, match="X is only used"):
        plotting.firing_rates(recording, rows[0])
    with pytest.raises(TypeError, match="Recording"):
        plotting.membrane_traces(np.zeros((3, 4)))
    with pytest.raises(NotFittedError):
        plotting.spike_raster(LIFClassifier(), rows[0])
    with pytest.raises(NotFittedError):
        plotting.learning_curves(LIFClassifier())
    assert isinstance(recording, Recording)


def test_import_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "sklif.plotting")
    with pytest.raises(ImportError, match=r'pip install "sklif\[examples\]"'):
        importlib.import_module("sklif.plotting")
