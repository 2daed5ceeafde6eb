"""Plots of what a fitted :class:`~sklif.LIFClassifier` does: spikes, membranes, rates, training.

Needs matplotlib (``pip install "sklif[examples]"``); ``import sklif`` does not import this
module. Every function draws into the ``ax`` (or ``fig``) it is given, or into a new figure,
and returns it; none calls ``plt.show()``.

Functions that show activity take either a fitted estimator together with the rows ``X`` to
simulate, or the :class:`~sklif.Recording` that ``clf.record(X)`` returned (record once, plot
many times). Layers are numbered as in ``Recording.names``: ``0`` is the first hidden layer and
``-1`` the output; ``"input"`` is the encoded input.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from sklearn.datasets import load_iris
>>> from sklif import LIFClassifier
>>> from sklif import plotting
>>> X, y = load_iris(return_X_y=True)
>>> clf = LIFClassifier(hidden_layer_sizes=(16,), n_steps=8, max_iter=5).fit(X, y)  # doctest: +SKIP
>>> rec = clf.record(X[:10])  # doctest: +SKIP
>>> ax = plotting.spike_raster(rec, layer=0, sample=3)  # doctest: +SKIP
>>> ax.figure.savefig("raster.png")  # doctest: +SKIP
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    import matplotlib  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a test that hides matplotlib
    raise ImportError(
        "sklif.plotting needs matplotlib, which is not installed. Install it with "
        'pip install "sklif[examples]" (or pip install matplotlib).'
    ) from exc

from .network import Recording

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["firing_rates", "learning_curves", "membrane_traces", "spike_raster", "surrogates"]

_DEFAULT_TRACES = 5


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _recording(source: Any, X: Any) -> Recording:
    """The recording itself, or the estimator's recording of ``X``."""
    if isinstance(source, Recording):
        if X is not None:
            raise ValueError(
                "X is only used with an estimator; a Recording already holds the data."
            )
        return source
    if not hasattr(source, "record"):
        raise TypeError(
            "Expected a fitted LIFClassifier or the Recording returned by its record(X), "
            f"got {type(source).__name__}."
        )
    if X is None:
        raise ValueError("X is required to record a fitted estimator: pass the rows to simulate.")
    return source.record(X)


def _index(value: Any, size: int, what: str) -> int:
    """A list-style index (negative counts from the end) checked against ``size``."""
    try:
        index = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an integer, got {value!r}.") from None
    if not -size <= index < size:
        raise ValueError(f"{what} {index} is out of range: there are {size} (0 to {size - 1}).")
    return index % size


def _layer(rec: Recording, layer: Any, spiking: bool) -> int:
    """Index into ``rec.membrane`` (``spiking``: into ``rec.spikes``) of a layer number."""
    names = rec.names[: len(rec.spikes)] if spiking else rec.names
    what = "spiking layer" if spiking else "layer"
    index = _index(layer, len(names), what)
    return index


def _is_spiking(rec: Recording, index: int) -> bool:
    """Whether layer ``index`` of ``rec.membrane`` spikes (the membrane readout does not)."""
    return index < len(rec.spikes)


def spike_raster(
    recording_or_estimator: Any,
    X: Any = None,
    *,
    layer: int | str = 0,
    sample: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Raster of one layer's spikes for one sample: time step on x, neuron on y.

    Parameters
    ----------
    recording_or_estimator : Recording or LIFClassifier
        A recording from ``clf.record(X)``, or a fitted estimator (then ``X`` is required).
    X : array-like of shape (n_samples, n_features), optional
        Rows to simulate when an estimator is given.
    layer : int or "input", default=0
        Spiking layer (0 is the first hidden layer, negative counts from the last spiking
        layer), or ``"input"`` for the encoded input. The current encoding's input is a
        constant current, not spikes; it is drawn as a heat map.
    sample : int, default=0
        Row of ``X`` to show.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``layer`` or ``sample`` is out of range, or ``layer`` names the membrane readout,
        which does not spike.
    """
    rec = _recording(recording_or_estimator, X)
    sample = _index(sample, len(rec.input), "sample")
    if isinstance(layer, str):
        if layer != "input":
            raise ValueError(f'layer must be an integer or "input", got {layer!r}.')
        values, name = np.asarray(rec.input[sample]), "input"
    else:
        index = _layer(rec, layer, spiking=True)
        values, name = np.asarray(rec.spikes[index][sample]), rec.names[index]
    ax = _new_axes(ax)
    n_steps, units = values.shape
    if np.isin(values, (0, 1)).all():
        steps, neurons = np.nonzero(values)
        ax.scatter(steps, neurons, marker="|", s=80, linewidths=1.5, color="k")
        ax.set_title(f"{name} spikes, sample {sample} ({len(steps)} spikes)")
    else:
        image = ax.imshow(
            values.T,
            aspect="auto",
            origin="lower",
            cmap="viridis",
            interpolation="nearest",
            extent=(-0.5, n_steps - 0.5, -0.5, units - 0.5),
        )
        ax.figure.colorbar(image, ax=ax, label="input current")
        ax.set_title(f"{name} current, sample {sample}")
    ax.set_xlim(-0.5, n_steps - 0.5)
    ax.set_ylim(-0.5, units - 0.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron" if name != "input" else "feature")
    _integer_ticks(ax.xaxis)
    _integer_ticks(ax.yaxis)
    return ax


def membrane_traces(
    recording_or_estimator: Any,
    X: Any = None,
    *,
    layer: int = 0,
    sample: int = 0,
    neurons: Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Membrane potential of a few neurons over time, with the firing threshold.

    Spiking layers get the threshold as a dashed line and their spikes as dots on it; the
    membrane readout has no threshold, so none is drawn.

    Parameters
    ----------
    recording_or_estimator : Recording or LIFClassifier
        A recording from ``clf.record(X)``, or a fitted estimator (then ``X`` is required).
    X : array-like of shape (n_samples, n_features), optional
        Rows to simulate when an estimator is given.
    layer : int, default=0
        Layer, as in ``Recording.names`` (0 is the first hidden layer, -1 the output).
    sample : int, default=0
        Row of ``X`` to show.
    neurons : sequence of int, optional
        Neurons to show; the first five (or fewer) when None.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``layer``, ``sample`` or a neuron is out of range, or ``neurons`` is empty.
    """
    rec = _recording(recording_or_estimator, X)
    index = _layer(rec, layer, spiking=False)
    sample = _index(sample, len(rec.input), "sample")
    membrane = np.asarray(rec.membrane[index][sample])
    n_steps, units = membrane.shape
    if neurons is None:
        neurons = range(min(_DEFAULT_TRACES, units))
    neurons = [_index(n, units, "neuron") for n in neurons]
    if not neurons:
        raise ValueError("neurons is empty: give at least one neuron to show.")
    ax = _new_axes(ax)
    steps = np.arange(n_steps)
    spiking = _is_spiking(rec, index)
    for neuron in neurons:
        (line,) = ax.plot(steps, membrane[:, neuron], marker=".", label=f"neuron {neuron}")
        if spiking:
            fired = np.nonzero(np.asarray(rec.spikes[index][sample])[:, neuron])[0]
            ax.plot(fired, membrane[fired, neuron], "o", color=line.get_color(), ms=7, mfc="none")
    if spiking:
        ax.axhline(rec.threshold, color="k", ls="--", lw=1, label="threshold")
        ax.set_title(f"{rec.names[index]} membrane, sample {sample} (circles: spikes)")
    else:
        ax.set_title(f"{rec.names[index]} membrane (readout, no threshold), sample {sample}")
    ax.set_xlabel("time step")
    ax.set_ylabel("membrane potential v")
    _integer_ticks(ax.xaxis)
    ax.legend(fontsize="small")
    return ax


def firing_rates(
    recording_or_estimator: Any,
    X: Any = None,
    *,
    bins: int = 20,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of the neurons' firing rates, one per spiking layer.

    A neuron's rate is its number of spikes per time step, averaged over the samples: 0 for
    a silent neuron, 1 for one that fires at every step.

    Parameters
    ----------
    recording_or_estimator : Recording or LIFClassifier
        A recording from ``clf.record(X)``, or a fitted estimator (then ``X`` is required).
    X : array-like of shape (n_samples, n_features), optional
        Rows to simulate when an estimator is given.
    bins : int, default=20
        Number of bins over [0, 1].
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    rec = _recording(recording_or_estimator, X)
    ax = _new_axes(ax)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for name, spikes in zip(rec.names[: len(rec.spikes)], rec.spikes, strict=True):
        rates = np.asarray(spikes).mean(axis=(0, 1))
        silent = int(np.sum(rates == 0))
        ax.hist(
            rates,
            bins=edges,
            alpha=0.6,
            edgecolor="k",
            label=f"{name}: mean {rates.mean():.2f}, {silent}/{rates.size} silent",
        )
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("firing rate (spikes per time step)")
    ax.set_ylabel("neurons")
    ax.set_title(f"firing rates over {len(rec.input)} samples")
    ax.legend(fontsize="small")
    return ax


def learning_curves(estimator: Any, ax: Axes | None = None) -> Axes:
    """Training loss per epoch and, with early stopping, validation accuracy on a twin axis.

    Parameters
    ----------
    estimator : LIFClassifier
        A fitted estimator (``loss_curve_``; ``validation_scores_`` when not None).
    ax : matplotlib Axes, optional
        Where to draw the loss; a new figure when None. The validation accuracy goes on
        ``ax.twinx()``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes of the loss.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator has no ``loss_curve_``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "loss_curve_")
    ax = _new_axes(ax)
    epochs = np.arange(1, len(estimator.loss_curve_) + 1)
    lines = ax.plot(epochs, estimator.loss_curve_, "o-", color="C0", label="training loss")
    ax.set_xlabel("epoch")
    _integer_ticks(ax.xaxis)
    ax.set_ylabel("training loss")
    scores = getattr(estimator, "validation_scores_", None)
    if scores is not None and len(scores):
        twin = ax.twinx()
        lines += twin.plot(
            np.arange(1, len(scores) + 1), scores, "s-", color="C1", label="validation accuracy"
        )
        twin.set_ylabel("validation accuracy")
    ax.legend(lines, [line.get_label() for line in lines], fontsize="small")
    ax.set_title("learning curves")
    return ax


def surrogates(
    names: Sequence[str] | None = None,
    slope: float = 1.0,
    fig: Figure | None = None,
) -> Figure:
    """The surrogate derivatives ``g(x)`` and the steps ``h(x)`` they integrate to.

    Left, ``h(x) = 1/2 + integral of g from 0 to x`` (every ``g`` is even) next to the
    Heaviside step ``H`` used forward; right, ``g(x)``, used backward in place of ``H'``;
    both over ``x = v - threshold`` in [-3, 3].

    Parameters
    ----------
    names : sequence of str, optional
        Keys of :data:`sklif.surrogates.SURROGATES`; all of them when None.
    slope : float, default=1.0
        The ``surrogate_slope``.
    fig : matplotlib Figure, optional
        Where to add the two axes; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a name is not a known surrogate or ``slope`` is not positive.
    """
    from .surrogates import SURROGATES

    names = list(SURROGATES) if names is None else list(names)
    unknown = [name for name in names if name not in SURROGATES]
    if unknown or not names:
        raise ValueError(f"Unknown surrogate(s) {unknown}; choose from {sorted(SURROGATES)}.")
    if not slope > 0:
        raise ValueError(f"slope must be positive, got {slope!r}.")
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(10, 4))
    step_ax, derivative_ax = fig.subplots(1, 2)
    x = np.linspace(-3.0, 3.0, 601)
    zero = len(x) // 2
    step_ax.step(x, (x >= 0).astype(float), where="post", color="k", ls="--", label="Heaviside H")
    for name in names:
        g = np.asarray(SURROGATES[name](np.float32(x), np.float32(slope)), dtype=float)
        g = np.broadcast_to(g, x.shape)
        # cumulative trapezoid, anchored at h(0) = 1/2
        area = np.concatenate([[0.0], np.cumsum((g[1:] + g[:-1]) / 2 * np.diff(x))])
        h = 0.5 + area - area[zero]
        step_ax.plot(x, h, label=name)
        derivative_ax.plot(x, g, label=name)
    step_ax.set_ylim(-0.2, 1.2)
    step_ax.set_title("forward: H; smooth steps h")
    step_ax.set_xlabel("x = v - threshold")
    step_ax.legend(fontsize="small")
    derivative_ax.set_title(f"backward: surrogate g = h' (slope {slope:g})")
    derivative_ax.set_xlabel("x = v - threshold")
    derivative_ax.legend(fontsize="small")
    return fig
