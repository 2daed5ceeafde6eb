"""Many small fits: an 81-fit GridSearchCV on Iris, sklif against sklearn's MLPClassifier.

Both grids have 3 x 3 x 3 candidates and cv=3 (81 fits, plus the refit of the best), run in
one process, one after the other, with default epochs. sklif's grid varies ``tau``,
``threshold`` and ``surrogate_slope``, which reach the compiled training step as values, so
only the first fit should compile anything: the script counts the traces of sklif's compiled
functions after every fit (``sklif.training.trace_count``)::

    python benchmarks/grid_search.py            # the full benchmark
    python benchmarks/grid_search.py --quick    # 2 x 2 x 2 grid, max_iter=20: a smoke test
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklif
from sklif import training

LIF_GRID = {
    "tau": [2.5, 5.0, 10.0],
    "threshold": [0.5, 1.0, 2.0],
    "surrogate_slope": [0.5, 1.0, 2.0],
}
MLP_GRID = {
    "alpha": [1e-5, 1e-4, 1e-3],
    "learning_rate_init": [1e-3, 3e-3, 1e-2],
    "activation": ["relu", "tanh", "logistic"],
}

TRACES_AFTER_FIT: list[int] = []  # sklif's trace count after each fit, in order
TRACES_IN_FIT: list[int] = []  # traces made inside each fit (scoring's predictions excluded)
EPOCHS: list[int] = []  # epochs of each sklif fit


class CountingLIFClassifier(sklif.LIFClassifier):
    """``LIFClassifier`` that notes the traces so far and its epochs after each ``fit``."""

    def fit(self, X, y, sample_weight=None):
        """Fit, then record :func:`sklif.training.trace_count` and ``n_iter_``."""
        before = training.trace_count()
        super().fit(X, y, sample_weight)
        TRACES_IN_FIT.append(training.trace_count() - before)
        TRACES_AFTER_FIT.append(training.trace_count())
        EPOCHS.append(self.n_iter_)
        return self


def _grid(step: str, grid: dict, quick: bool) -> dict:
    return {f"{step}__{name}": (values[:2] if quick else values) for name, values in grid.items()}


def run_search(estimator, grid: dict) -> tuple[GridSearchCV, float]:
    """Fit ``GridSearchCV(StandardScaler + estimator, grid, cv=3)`` on Iris; return it and
    its wall time in seconds."""
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(make_pipeline(StandardScaler(), estimator), grid, cv=3, n_jobs=1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return search, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    """Run both grid searches and print their wall times, traces and best scores."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 values per parameter and max_iter=20 (a smoke test)")
    args = parser.parse_args(argv)

    max_iter = {"max_iter": 20} if args.quick else {}
    lif, lif_s = run_search(CountingLIFClassifier(random_state=0, **max_iter),
                            _grid("countinglifclassifier", LIF_GRID, args.quick))
    mlp, mlp_s = run_search(MLPClassifier(random_state=0, **max_iter),
                            _grid("mlpclassifier", MLP_GRID, args.quick))

    n_fits = len(TRACES_AFTER_FIT)
    first = TRACES_AFTER_FIT[0]
    later = TRACES_AFTER_FIT[-1] - first
    tracing = [1] + [i + 2 for i, (a, b) in enumerate(itertools.pairwise(TRACES_AFTER_FIT))
                     if b > a]
    rows = [
        ("sklif LIFClassifier", lif, lif_s),
        ("sklearn MLPClassifier", mlp, mlp_s),
    ]
    print(f"GridSearchCV on Iris, cv=3, {len(lif.cv_results_['params'])} candidates, "
          f"{n_fits} sklif fits (the refit included), one process\n")
    print("| estimator | wall s | s/fit | best cv score | best params |")
    print("|---|---|---|---|---|")
    for name, search, seconds in rows:
        n = len(search.cv_results_["params"]) * 3 + 1
        params = {k.split("__", 1)[1]: v for k, v in search.best_params_.items()}
        print(f"| {name} | {seconds:.1f} | {seconds / n:.3f} | {search.best_score_:.3f} "
              f"| {params} |")
    print(f"\nsklif / MLP wall time: {lif_s / mlp_s:.2f}x (target <= 3x)")
    print(f"sklif traces: {first} in the first fit, {later} in the {n_fits - 1} fits after it "
          f"(fits that traced, numbered from 1: {tracing}); by kind: "
          + ", ".join(f"{k} {training.trace_count(k)}" for k in ("train", "predict", "record")))
    in_fit = [i + 1 for i, n in enumerate(TRACES_IN_FIT) if n]
    print(f"sklif traces inside fit: {sum(TRACES_IN_FIT)} (in fits {in_fit}); every fit after "
          f"the first compiled nothing new: {in_fit == [1]}")
    print(f"sklif epochs per fit: mean {sum(EPOCHS) / n_fits:.0f}, "
          f"min {min(EPOCHS)}, max {max(EPOCHS)}")
    return dict(lif_s=lif_s, mlp_s=mlp_s, traces_after_fit=list(TRACES_AFTER_FIT),
                traces_in_fit=list(TRACES_IN_FIT),
                lif_best=lif.best_score_, mlp_best=mlp.best_score_)


if __name__ == "__main__":
    main()
