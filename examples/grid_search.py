"""Grid search over tau, threshold and surrogate_slope on digits, shown as heat maps.

``GridSearchCV`` clones and refits the estimator for every setting and fold. sklif feeds
``tau``, ``threshold``, ``dt`` and ``surrogate_slope`` to its compiled training step as
values, so all those fits share one compiled graph: the script prints how many times the
training step was traced.

Writes ``grid_search.md`` (best setting and the ten best rows) and ``grid_search.png``
(mean CV accuracy over tau x threshold, one panel per surrogate_slope) to ``--out``
(default ``docs/results/``).

    python examples/grid_search.py            # under a minute on 2 CPU cores
    python examples/grid_search.py --quick    # seconds
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

import numpy as np
import pandas as pd
from _common import Timer, markdown_table, parse_args, save_figure, save_text
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from sklif import LIFClassifier, training

FULL = dict(
    grid={
        "tau": [2.0, 5.0, 10.0, 20.0, 50.0],
        "threshold": [0.25, 0.5, 1.0, 2.0],
        "surrogate_slope": [0.5, 1.0, 2.0],
    },
    cv=3,
    max_iter=20,
)
QUICK = dict(
    grid={"tau": [5.0, 10.0], "threshold": [1.0], "surrogate_slope": [1.0]},
    cv=2,
    max_iter=2,
)


def heat_maps(results: pd.DataFrame, grid: dict):
    """One panel per slope: mean CV accuracy over tau (rows) x threshold (columns)."""
    slopes = grid["surrogate_slope"]
    low, high = results["mean_test_score"].min(), results["mean_test_score"].max()
    low, high = (low - 0.01, high + 0.01) if high - low < 0.02 else (low, high)
    fig = Figure(figsize=(3.6 * len(slopes) + 1, 3.6))
    axes = fig.subplots(1, len(slopes), squeeze=False, sharey=True)
    for ax, slope in zip(axes[0], slopes, strict=True):
        table = results[results["param_surrogate_slope"] == slope].pivot_table(
            index="param_tau", columns="param_threshold", values="mean_test_score"
        )
        image = ax.imshow(table.to_numpy(), vmin=low, vmax=high, cmap="viridis", origin="lower")
        for (i, j), value in np.ndenumerate(table.to_numpy()):
            dark = value < low + 0.6 * (high - low)
            ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8,
                    color="w" if dark else "k")
        ax.set_xticks(range(table.shape[1]), [f"{v:g}" for v in table.columns])
        ax.set_yticks(range(table.shape[0]), [f"{v:g}" for v in table.index])
        ax.set(title=f"surrogate_slope = {slope:g}", xlabel="threshold")
    axes[0, 0].set_ylabel("tau (time steps)")
    fig.colorbar(image, ax=axes[0].tolist(), label="mean CV accuracy", shrink=0.9)
    return fig


def main() -> None:
    args = parse_args(__doc__)
    config = QUICK if args.quick else FULL
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = LIFClassifier(max_iter=config["max_iter"], random_state=0)
    cv = StratifiedKFold(config["cv"], shuffle=True, random_state=0)
    search = GridSearchCV(clf, config["grid"], cv=cv)
    traced_before = training.trace_count("train")
    with Timer() as timer:
        search.fit(X_train, y_train)
    traces = training.trace_count("train") - traced_before
    assert traces >= 1, "sklif.training.trace_count('train') counted no compilation"

    results = pd.DataFrame(search.cv_results_)
    n_fits = len(results) * config["cv"] + 1
    summary = markdown_table(
        ["", ""],
        [
            ["best parameters", ", ".join(f"`{k}={v:g}`" for k, v in search.best_params_.items())],
            [f"best {config['cv']}-fold CV accuracy", f"{search.best_score_:.3f}"],
            ["held-out accuracy of the refitted best model", f"{search.score(X_test, y_test):.3f}"],
            ["fits (settings x folds + refit)", n_fits],
            ["wall time", f"{timer.seconds:.0f} s ({timer.seconds / n_fits:.2f} s per fit)"],
            ["times the training step was traced", traces],
        ],
    )
    best = results.sort_values("rank_test_score").head(10)
    ranking = markdown_table(
        ["rank", "tau", "threshold", "surrogate_slope", "mean CV accuracy", "std"],
        [
            [r.rank_test_score, f"{r.param_tau:g}", f"{r.param_threshold:g}",
             f"{r.param_surrogate_slope:g}", f"{r.mean_test_score:.3f}", f"{r.std_test_score:.3f}"]
            for r in best.itertuples()
        ],
    )
    setting = (
        f"Digits, {len(X_train)} training images, {config['cv']}-fold CV, "
        f"{config['max_iter']} epochs per fit, other parameters at their defaults."
    )
    save_text(args.out, "grid_search.md", f"{setting}\n\n{summary}\n\n{ranking}\n")
    save_figure(heat_maps(results, config["grid"]), args.out, "grid_search.png")


if __name__ == "__main__":
    main()
