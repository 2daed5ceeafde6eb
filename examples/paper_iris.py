"""Iris: a LIF network against an MLP of the same size (Gerum & Schilling 2021, small data).

Both models get 100 hidden units, Adam with learning rate 0.01, the L2 penalty 1e-4 and at
most 200 epochs; the spiking one simulates 16 time steps per sample. The script reports

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

import warnings

from _common import Timer, markdown_table, mean_std, parse_args, save_figure, save_text

import matplotlib.pyplot as plt  # noqa: E402  (after _common chose the Agg backend)
import numpy as np
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

from sklif import LIFClassifier


def models(max_iter: int) -> dict:
    """The compared models; every one standardises its input."""
    shared = dict(hidden_layer_sizes=(100,), learning_rate_init=0.01, alpha=1e-4, max_iter=max_iter)
    return {
        "LIF, fast_sigmoid surrogate": LIFClassifier(**shared, random_state=0),
        "LIF, flat surrogate (paper)": LIFClassifier(
            **shared, surrogate="flat", surrogate_slope=1.0, random_state=0
        ),
        "MLP (ReLU), reference": make_pipeline(
            StandardScaler(), MLPClassifier(**shared, random_state=0)
        ),
    }


def final_step(model):
    """The estimator itself (the last step of a pipeline)."""
    return model.steps[-1][1] if hasattr(model, "steps") else model


def plot_curves(X, y, candidates, quick: bool):
    """Left: loss and validation accuracy per epoch. Right: accuracy against training size."""
    fig, (ax_loss, ax_size) = plt.subplots(1, 2, figsize=(11, 4))
    ax_val = ax_loss.twinx()
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    cv = StratifiedKFold(2 if quick else 5, shuffle=True, random_state=0)
    sizes = np.linspace(0.2, 1.0, 2 if quick else 5)
    for (name, model), color in zip(candidates.items(), ["C0", "C1", "C2"]):
        est = final_step(model := clone(model))
        est.set_params(early_stopping=True, validation_fraction=0.2)
        model.fit(X_train, y_train)
        ax_loss.plot(est.loss_curve_, color=color, label=name)
        ax_val.plot(est.validation_scores_, color=color, ls=":")
        n, train, test = learning_curve(
            candidates[name], X, y, train_sizes=sizes, cv=cv, shuffle=True, random_state=0
        )
        ax_size.errorbar(n, test.mean(1), test.std(1), color=color, marker="o", capsize=3, label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss (solid)", yscale="log",
                title="One fit with early_stopping=True")
    ax_val.set(ylabel="validation accuracy (dotted)", ylim=(0, 1.02))
    ax_loss.legend(fontsize=8, loc="center right")
    ax_size.set(xlabel="training samples", ylabel="cross-validated accuracy", ylim=(0, 1.02),
                title="Learning curve")
    ax_size.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_raster(clf: LIFClassifier, X, y):
    """Hidden spikes and readout membranes of the fitted network for one flower per class."""
    picks = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    rec = clf.record(X[picks])
    names = load_iris().target_names
    fig, axes = plt.subplots(2, len(picks), figsize=(11, 5), sharex=True, sharey="row")
    for col, i in enumerate(picks):
        spikes = rec.spikes[0][col]  # (n_steps, units)
        t, unit = np.nonzero(spikes)
        axes[0, col].scatter(t, unit, s=4, marker="|", color="k")
        axes[0, col].set_title(f"{names[y[i]]}: {int(spikes.sum())} spikes")
        axes[1, col].plot(rec.membrane[-1][col])
        axes[1, col].set_xlabel("time step")
    axes[0, 0].set_ylabel("hidden LIF neuron")
    axes[1, 0].set_ylabel("readout membrane")
    axes[1, -1].legend(names, fontsize=8)
    fig.tight_layout()
    return fig


def main() -> None:
    args = parse_args(__doc__)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_iris(return_X_y=True)
    max_iter = 10 if args.quick else 200
    candidates = models(max_iter)
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
    clf = models(max_iter)["LIF, fast_sigmoid surrogate"].fit(X, y)
    save_figure(plot_raster(clf, X, y), args.out, "paper_iris_raster.png")


if __name__ == "__main__":
    main()
