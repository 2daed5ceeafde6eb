"""Digits (8x8 images): surrogates, slopes, encodings and time steps, over several seeds.

The image experiments of Gerum & Schilling (2021) at a size that runs on a laptop: sklearn's
1797 handwritten digits (8x8 pixels, 10 classes), a 25% stratified test split (seed 0), one
hidden layer of 100 LIF neurons trained for a fixed number of epochs (no early stopping, so
every configuration gets the same budget). For each setting, the held-out accuracy of
several seeds (mean ± std):

1. each surrogate derivative (``flat``, ``fast_sigmoid``, ``sigmoid``, ``triangle``,
   ``arctan``) at each ``surrogate_slope``, with the current encoding and 16 steps;
2. each encoding (``current``, ``poisson``, ``latency``) at each number of time steps;
3. the reference: sklearn's MLPClassifier with 100 ReLU units, the same optimiser and epochs.

Writes ``paper_images.md``, ``paper_images_slopes.png``, ``paper_images_steps.png``,
``paper_images_raster.png`` and ``surrogates.png`` (the five surrogates at slope 1) to
``--out`` (default ``docs/results/``).

    python examples/paper_images.py            # two to three minutes on 2 CPU cores
    python examples/paper_images.py --quick    # seconds
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

import numpy as np
from _common import markdown_table, mean_std, parse_args, save_figure, save_text
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklif import LIFClassifier, plotting

FULL = dict(
    surrogates=["flat", "fast_sigmoid", "sigmoid", "triangle", "arctan"],
    slopes=[0.25, 0.5, 1.0, 2.0, 4.0],
    encodings=["current", "poisson", "latency"],
    steps=[8, 16, 32, 64, 100],
    seeds=[0, 1, 2],
    max_iter=30,
)
QUICK = dict(
    surrogates=["fast_sigmoid", "flat"],
    slopes=[1.0],
    encodings=["current", "latency"],
    steps=[16],
    seeds=[0],
    max_iter=2,
)
# Everything not varied; the MLP reference shares the optimiser settings.
BASE = dict(hidden_layer_sizes=(100,), learning_rate_init=0.01, alpha=1e-4, batch_size=200)


class Experiment:
    """Fits LIFClassifiers on one split and remembers the accuracy of every setting."""

    def __init__(self, X_train, X_test, y_train, y_test, seeds, max_iter):
        self.data = X_train, X_test, y_train, y_test
        self.seeds, self.max_iter = seeds, max_iter
        self.scores: dict[tuple, list[float]] = {}
        self.seconds: dict[tuple, float] = {}
        self.fitted: dict[tuple, LIFClassifier] = {}

    @staticmethod
    def key(**params) -> tuple:
        """One key per setting: unnamed parameters take the defaults of the sweeps."""
        params = {"encoding": "current", "n_steps": 16, **params}
        return tuple(sorted(params.items()))

    def run(self, **params) -> list[float]:
        """Test accuracy for each seed of a LIFClassifier with ``params`` (cached)."""
        key = self.key(**params)
        if key not in self.scores:
            params = dict(key)
            X_train, X_test, y_train, y_test = self.data
            start = time.perf_counter()
            scores = []
            for seed in self.seeds:
                clf = LIFClassifier(**BASE, **params, max_iter=self.max_iter, random_state=seed)
                scores.append(clf.fit(X_train, y_train).score(X_test, y_test))
                self.fitted[(*key, seed)] = clf
            self.scores[key] = scores
            self.seconds[key] = (time.perf_counter() - start) / len(self.seeds)
            print(f"{params}: {mean_std(scores)}  ({self.seconds[key]:.1f} s per fit)", flush=True)
        return self.scores[key]


def plot_sweep(ax, x, curves: dict, xlabel: str, log: bool):
    for label, scores in curves.items():
        scores = np.asarray(scores)
        ax.errorbar(x, scores.mean(1), scores.std(1), marker="o", capsize=3, label=label)
    if log:
        ax.set_xscale("log", base=2)
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set(xlabel=xlabel, ylabel="test accuracy")
    ax.grid(alpha=0.3)


def plot_raster(clf: LIFClassifier, image: np.ndarray, x: np.ndarray, label: int):
    """The digit, its input spikes, the hidden layer's spikes and the readout membranes."""
    rec = clf.record(x[np.newaxis])
    fig = Figure(figsize=(14, 3.4), layout="tight")
    axes = fig.subplots(1, 4, width_ratios=[1, 2, 2, 2])
    axes[0].imshow(image, cmap="gray_r")
    axes[0].set(title=f"digit {label}", xticks=[], yticks=[])
    plotting.spike_raster(rec, layer="input", ax=axes[1])
    axes[1].set_title(f"input, {clf.encoding} encoding ({int(rec.input[0].sum())} spikes)")
    plotting.spike_raster(rec, layer=0, ax=axes[2])
    axes[2].set_title(f"hidden LIF layer ({int(rec.spikes[0][0].sum())} spikes)")
    predicted = int(clf.predict(x[np.newaxis])[0])
    plotting.membrane_traces(rec, layer=-1, neurons=range(10), ax=axes[3])
    axes[3].get_legend().remove()
    axes[3].set_title(f"readout membranes (predicted: {predicted})")
    for ax in axes[1:3]:
        for marker in ax.collections:
            marker.set_sizes([6])  # many neurons: thin ticks
    return fig


def main() -> None:
    args = parse_args(__doc__)
    config = QUICK if args.quick else FULL
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget
    started = time.perf_counter()

    digits = load_digits()
    X_train, X_test, y_train, y_test, _, images_test = train_test_split(
        digits.data, digits.target, digits.images, test_size=0.25, stratify=digits.target,
        random_state=0,
    )
    exp = Experiment(X_train, X_test, y_train, y_test, config["seeds"], config["max_iter"])

    # 1. Surrogates and their slopes (current encoding, 16 steps).
    slopes = config["slopes"]
    by_surrogate = {
        s: [exp.run(surrogate=s, surrogate_slope=k) for k in slopes] for s in config["surrogates"]
    }
    table_surrogates = markdown_table(
        ["surrogate \\ surrogate_slope", *[f"{k:g}" for k in slopes]],
        [[f"`{s}`", *[mean_std(v) for v in rows]] for s, rows in by_surrogate.items()],
    )

    # 2. Encodings and time steps (fast_sigmoid, slope 1).
    steps = config["steps"]
    by_encoding = {
        e: [exp.run(surrogate="fast_sigmoid", surrogate_slope=1.0, encoding=e, n_steps=n)
            for n in steps]
        for e in config["encodings"]
    }
    table_steps = markdown_table(
        ["encoding \\ n_steps", *[str(n) for n in steps]],
        [[f"`{e}`", *[mean_std(v) for v in rows]] for e, rows in by_encoding.items()],
    )

    # 3. Reference: the non-spiking MLP of the same width and training budget.
    mlp_scores, start = [], time.perf_counter()
    for seed in config["seeds"]:
        mlp = make_pipeline(
            StandardScaler(),
            MLPClassifier(**BASE, max_iter=config["max_iter"], random_state=seed),
        )
        mlp_scores.append(mlp.fit(X_train, y_train).score(X_test, y_test))
    mlp_seconds = (time.perf_counter() - start) / len(config["seeds"])
    default_key = exp.key(surrogate="fast_sigmoid", surrogate_slope=1.0)
    table_reference = markdown_table(
        ["model (100 hidden units)", "test accuracy", "fit time (s)"],
        [
            ["LIF, `fast_sigmoid`, slope 1, `current`, 16 steps",
             mean_std(exp.scores[default_key]), f"{exp.seconds[default_key]:.2f}"],
            ["MLP (ReLU), reference", mean_std(mlp_scores), f"{mlp_seconds:.2f}"],
        ],
    )

    n_seeds = len(config["seeds"])
    setting = (
        f"Held-out accuracy on digits ({len(X_test)} test images), mean ± std over {n_seeds} "
        f"seed(s), {config['max_iter']} epochs each."
    )
    save_text(
        args.out,
        "paper_images.md",
        f"{setting}\n\n"
        f"**Surrogate and slope** (current encoding, 16 steps):\n\n{table_surrogates}\n\n"
        f"**Encoding and time steps** (`fast_sigmoid`, slope 1):\n\n{table_steps}\n\n"
        f"**Reference**:\n\n{table_reference}\n\n"
        f"Total run time: {time.perf_counter() - started:.0f} s.\n",
    )

    fig = Figure(figsize=(6, 4), layout="tight")
    ax = fig.subplots()
    plot_sweep(ax, slopes, by_surrogate, "surrogate_slope", log=True)
    ax.axhline(np.mean(mlp_scores), color="k", ls="--", lw=1, label="MLP")
    ax.legend(fontsize=8)
    ax.set_title("Surrogate derivative and its slope (digits)")
    save_figure(fig, args.out, "paper_images_slopes.png")

    fig = Figure(figsize=(6, 4), layout="tight")
    ax = fig.subplots()
    plot_sweep(ax, steps, by_encoding, "n_steps", log=True)
    ax.axhline(np.mean(mlp_scores), color="k", ls="--", lw=1, label="MLP")
    ax.legend(fontsize=8)
    ax.set_title("Encoding and number of time steps (digits)")
    save_figure(fig, args.out, "paper_images_steps.png")

    encoding = "poisson" if "poisson" in config["encodings"] else config["encodings"][-1]
    n_steps = 32 if 32 in steps else steps[0]
    key = exp.key(surrogate="fast_sigmoid", surrogate_slope=1.0, encoding=encoding, n_steps=n_steps)
    clf = exp.fitted[(*key, config["seeds"][0])]
    fig = plot_raster(clf, images_test[0], X_test[0], y_test[0])
    save_figure(fig, args.out, "paper_images_raster.png")

    fig = plotting.surrogates(slope=1.0, fig=Figure(figsize=(10, 4), layout="tight"))
    save_figure(fig, args.out, "surrogates.png")


if __name__ == "__main__":
    main()
