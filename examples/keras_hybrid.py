"""A hybrid network of your own: a convolutional front end feeding LIF neurons, in plain Keras.

The paper's hybrid networks put spiking layers behind ordinary ones. Here a Conv2D layer
reads the 8x8 digit images, its feature map becomes a constant input current over
``n_steps`` time steps (``CurrentEncoder``), a layer of LIF neurons spikes, and leaky
non-spiking output units give the class scores::

    Conv2D -> Flatten -> CurrentEncoder(n_steps) -> LIF -> LeakyReadout

It is trained with ``model.compile`` / ``model.fit`` (backpropagation through time with the
surrogate gradient of ``sklif.layers.LIF``), saved with ``model.save("....keras")``, loaded
back with ``keras.models.load_model`` and checked to predict the same.

Writes ``keras_hybrid.md`` and ``keras_hybrid.png`` (training curves) to ``--out`` (default
``docs/results/``); the saved model goes to a temporary folder.

    python examples/keras_hybrid.py            # under a minute on 2 CPU cores
    python examples/keras_hybrid.py --quick    # seconds
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

import keras
import numpy as np
from _common import Timer, markdown_table, parse_args, save_figure, save_text
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import sklif.layers  # registers the layers with Keras, so load_model finds them


# --8<-- [start:model]
def build(n_steps: int) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            sklif.layers.CurrentEncoder(n_steps),
            sklif.layers.LIF(128, tau=5.0, threshold=1.0, surrogate="fast_sigmoid"),
            sklif.layers.LeakyReadout(10, tau=5.0),
        ],
        name="conv_lif",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model
# --8<-- [end:model]


def spike_rate(model: keras.Model, x: np.ndarray) -> float:
    """Mean number of spikes per LIF neuron and time step on ``x``."""
    lif = next(layer for layer in model.layers if isinstance(layer, sklif.layers.LIF))
    probe = keras.Model(model.inputs, lif.output)
    return float(np.mean(probe.predict(x, verbose=0)))


def main() -> None:
    args = parse_args(__doc__)
    keras.utils.set_random_seed(0)
    digits = load_digits()
    images = (digits.images / 16.0)[..., np.newaxis].astype("float32")  # (n, 8, 8, 1) in [0, 1]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    n_steps, epochs = (8, 2) if args.quick else (16, 20)

    model = build(n_steps)
    model.summary()
    with Timer() as timer:
        history = model.fit(
            x_train, y_train, validation_split=0.1, epochs=epochs, batch_size=32, verbose=2
        )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "conv_lif.keras"
        model.save(path)
        loaded = keras.models.load_model(path)  # needs `import sklif.layers` (done above)
    before, after = model.predict(x_test, verbose=0), loaded.predict(x_test, verbose=0)
    same = np.allclose(before, after, atol=1e-5)
    if not same:
        raise SystemExit(f"The loaded model predicts differently: max |diff| = "
                         f"{np.max(np.abs(before - after)):.3g}")

    table = markdown_table(
        ["", ""],
        [
            ["model", "Conv2D(16, 3x3) → Flatten → CurrentEncoder → LIF(128) → LeakyReadout(10)"],
            ["time steps / epochs", f"{n_steps} / {epochs}"],
            ["parameters", f"{model.count_params():,}"],
            ["held-out accuracy", f"{accuracy:.3f}"],
            ["spikes per LIF neuron and step (test set)", f"{spike_rate(model, x_test):.3f}"],
            ["training time", f"{timer.seconds:.0f} s"],
            ["saved and reloaded model predicts the same", "yes" if same else "no"],
        ],
    )
    save_text(args.out, "keras_hybrid.md", table)

    fig = Figure(figsize=(9, 3.5), layout="tight")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for key, style in [("", "-"), ("val_", "--")]:
        label = "validation" if key else "training"
        ax_loss.plot(history.history[f"{key}loss"], style, label=label)
        ax_acc.plot(history.history[f"{key}accuracy"], style, label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    ax_acc.legend()
    fig.suptitle("Conv2D + LIF hybrid on digits")
    save_figure(fig, args.out, "keras_hybrid.png")


if __name__ == "__main__":
    main()
