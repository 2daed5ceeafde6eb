"""Iris: a LIF network against an MLP of the same size (Gerum & Schilling 2021, small data).

Both models get 100 hidden units, Adam with learning rate 0.01, the L2 penalty 1e-4,
minibatches of 32 and at most 200 epochs; the spiking one simulates 16 time steps per sample.
The script reports

- 5-fold cross-validated accuracy (mean ± std over the folds) and fit time,
- loss and validation-accuracy curves of one fit with ``early_stopping=True``,
- learning curves (accuracy against the number of training samples),
- a raster of what the fitted LIF network does with a few flowers.

Writes ``paper_iris.md``, ``paper_iris_curves.png`` and ``paper_iris_raster.png`` to ``--out``
(default ``docs/results/``).

    python examples/paper_iris.py            # about a minute on 2 CPU cores
    python examples/paper_iris.py --quick    # seconds
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

import numpy as np
from _common import Timer, markdown_table, mean_std, parse_args, save_figure, save_text
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    StratifiedKFold,
    cross_validate,
    learning_curve,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklif import LIFClassifier, plotting


def models(quick: bool) -> dict:
    """The compared models; every one standardises its input (LIFClassifier does it itself)."""
    shared = dict(
        hidden_layer_sizes=(100,),
        learning_rate_init=0.01,
        alpha=1e-4,
        batch_size=32,
        max_iter=5 if quick else 200,
        random_state=0,
    )
    candidates = {
        "LIF, fast_sigmoid surrogate": LIFClassifier(**shared),
        "LIF, flat surrogate (paper)": LIFClassifier(**shared, surrogate="flat"),
        "MLP (ReLU), reference": make_pipeline(StandardScaler(), MLPClassifier(**shared)),
    }
    if quick:  # one spiking model: each new network shape costs a compilation
        del candidates["LIF, flat surrogate (paper)"]
    return candidates


def final_step(model):
    """The estimator itself (the last step of a pipeline)."""
    return model.steps[-1][1] if hasattr(model, "steps") else model


def plot_curves(X, y, candidates, quick: bool):
    """Top: loss and validation accuracy per epoch of each model. Bottom: learning curve."""
    fig = Figure(figsize=(14, 7.5))
    top = fig.subplots(2, len(candidates), gridspec_kw=dict(hspace=0.45, wspace=0.75))[0]
    for ax in fig.axes[len(candidates):]:
        ax.remove()
    ax_size = fig.add_subplot(2, 1, 2)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    cv = StratifiedKFold(2 if quick else 5, shuffle=True, random_state=0)
    sizes = [1.0] if quick else np.linspace(0.3, 1.0, 5)
    for ax, (name, model) in zip(top, candidates.items(), strict=True):
        model = clone(model)
        final_step(model).set_params(early_stopping=True, validation_fraction=0.2)
        plotting.learning_curves(final_step(model.fit(X_train, y_train)), ax=ax)
        ax.set_title(f"{name}\n(early_stopping=True)", fontsize=9)
        n, _, test = learning_curve(
            candidates[name], X, y, train_sizes=sizes, cv=cv, shuffle=True, random_state=0
        )
        ax_size.errorbar(n, test.mean(1), test.std(1), marker="o", capsize=3, label=name)
    ax_size.set(xlabel="training samples", ylabel="cross-validated accuracy", ylim=(0.5, 1.02),
                title="Learning curve (mean ± std over the folds)")
    ax_size.legend(fontsize=8, loc="lower right")
    return fig


def plot_raster(clf: LIFClassifier, X, y):
    """Hidden spikes and readout membranes of the fitted network for one flower per class."""
    picks = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    rec = clf.record(X[picks])  # simulate once, plot many times
    names = load_iris().target_names
    fig = Figure(figsize=(12, 6), layout="tight")
    axes = fig.subplots(2, len(picks), sharex=True)
    for col, i in enumerate(picks):
        plotting.spike_raster(rec, layer=0, sample=col, ax=axes[0, col])
        axes[0, col].set_title(f"{names[y[i]]}: {int(rec.spikes[0][col].sum())} hidden spikes")
        plotting.membrane_traces(rec, layer=-1, sample=col, ax=axes[1, col])
        axes[1, col].legend(names, fontsize=8)
        axes[1, col].set_title("readout membranes (one per class)", fontsize=9)
    return fig


def main() -> None:
    args = parse_args(__doc__)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_iris(return_X_y=True)
    candidates = models(args.quick)
    cv = StratifiedKFold(2 if args.quick else 5, shuffle=True, random_state=0)

    rows = []
    for name, model in candidates.items():
        with Timer() as timer:
            scores = cross_validate(model, X, y, cv=cv, return_train_score=True)
        rows.append([
            name,
            mean_std(scores["test_score"]),
            mean_std(scores["train_score"]),
            f"{np.mean(scores['fit_time']):.2f}",
        ])
        print(f"{name}: {timer.seconds:.1f} s", flush=True)
    table = markdown_table(
        ["model (100 hidden units)", f"{cv.n_splits}-fold CV accuracy", "training accuracy",
         "fit time per fold (s)"],
        rows,
    )
    save_text(args.out, "paper_iris.md", table)

    save_figure(plot_curves(X, y, candidates, args.quick), args.out, "paper_iris_curves.png")
    clf = clone(candidates["LIF, fast_sigmoid surrogate"]).fit(X, y)
    save_figure(plot_raster(clf, X, y), args.out, "paper_iris_raster.png")


if __name__ == "__main__":
    main()
