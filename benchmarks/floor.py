"""The arithmetic floor: only the float32 matrix products one epoch of the network needs.

For a network ``n_features -> hidden (LIF) -> n_classes (leaky readout)`` run for ``T`` steps,
a minibatch of ``B`` samples is ``N = T * B`` rows, and one training step needs these products
(the straightforward math: every step's input current and readout are their own product)::

    forward    I  = X  @ W1     (N, F) @ (F, H)      input currents, every step
               O  = S  @ W2     (N, H) @ (H, C)      readout currents, every step
    backward   dW2 = S.T @ dO   (H, N) @ (N, C)
               dS  = dO @ W2.T  (N, C) @ (C, H)      gradient into the spikes
               dW1 = X.T @ dI   (F, N) @ (N, H)

The gradient into the input (``dI @ W1.T``) is not counted: training never needs it. Nothing
elementwise is counted either (the membrane recurrence, the surrogate, Adam), nor the loss.
Prediction needs the two forward products. An epoch is ``ceil(n / B)`` minibatches (the last
one smaller). The products are timed on random arrays with NumPy (OpenBLAS/MKL; the faster of
all its threads and one thread), or as one XLA-compiled TensorFlow function
(:func:`time_epoch_tf`, for the GPU).

A network that holds the input current constant over time (sklif's ``"current"`` encoding)
can compute ``X @ W1`` once per sample instead of once per step, and contract the spikes over
time before the readout; it then needs far fewer products than this floor counts. The floor
is the cost of the plain per-step math, the yardstick the targets are stated against.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

__all__ = [
    "flops", "forward_products", "time_epoch_tf", "time_products", "train_products"
]

Shape = tuple[int, int, int]  # (m, k, n): an (m, k) @ (k, n) product


def _batches(n_samples: int, batch: int) -> list[int]:
    full, rest = divmod(n_samples, batch)
    return [batch] * full + ([rest] if rest else [])


def train_products(n_samples: int, batch: int, steps: int, n_features: int, hidden: int,
                   n_classes: int) -> list[Shape]:
    """The ``(m, k, n)`` shapes of the products of one training epoch, minibatch by minibatch."""
    shapes = []
    for b in _batches(n_samples, batch):
        rows = steps * b
        shapes += [
            (rows, n_features, hidden),  # I = X @ W1
            (rows, hidden, n_classes),  # O = S @ W2
            (hidden, rows, n_classes),  # dW2 = S.T @ dO
            (rows, n_classes, hidden),  # dS = dO @ W2.T
            (n_features, rows, hidden),  # dW1 = X.T @ dI
        ]
    return shapes


def forward_products(n_samples: int, chunk: int, steps: int, n_features: int, hidden: int,
                     n_classes: int) -> list[Shape]:
    """The shapes of the forward products that predict ``n_samples`` rows, ``chunk`` at a time."""
    shapes = []
    for b in _batches(n_samples, chunk):
        shapes += [(steps * b, n_features, hidden), (steps * b, hidden, n_classes)]
    return shapes


def flops(shapes: list[Shape]) -> int:
    """Floating-point operations of the products (two per multiply-add)."""
    return sum(2 * m * k * n for m, k, n in shapes)


def _operands(shape: Shape, rng: np.random.Generator):
    """Random contiguous operands for a product of ``shape``."""
    m, k, n = shape
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return a, b


def _time_numpy(shapes: list[Shape], repeats: int) -> list[float]:
    rng = np.random.default_rng(0)
    operands = {s: _operands(s, rng) for s in set(shapes)}
    outputs = {s: np.empty((s[0], s[2]), np.float32) for s in set(shapes)}
    times = []
    for _ in range(repeats + 1):  # the first pass warms caches and thread pools up
        start = time.perf_counter()
        for s in shapes:
            a, b = operands[s]
            np.matmul(a, b, out=outputs[s])
        times.append(time.perf_counter() - start)
    return times[1:]


def _time_tf(n_samples: int, batch: int, steps: int, n_features: int, hidden: int,
             n_classes: int, repeats: int, device: str | None) -> list[float]:
    """One XLA-compiled epoch of the five products per minibatch.

    The products are chained as the network's data flow (``S = I``, ``dO = O``, ``dI = dS``:
    the elementwise steps left out) and the weights are updated every minibatch, so XLA can
    neither merge repeated products nor hoist them out of the loop over minibatches.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    sizes = _batches(n_samples, batch)
    n_full = sum(b == batch for b in sizes)
    rest = [b for b in sizes if b != batch]

    def normal(*shape, scale=1.0):
        return tf.constant(rng.standard_normal(shape, dtype=np.float32) * scale)

    with tf.device(device) if device else _nullcontext():
        x_full = normal(steps * batch, n_features)
        x_rest = [normal(steps * b, n_features) for b in rest]
        w1 = normal(n_features, hidden, scale=n_features**-0.5)
        w2 = normal(hidden, n_classes, scale=hidden**-0.5)

        def step(x, w1, w2):
            i = x @ w1  # S = I
            o = i @ w2  # dO = O
            dw2 = tf.transpose(i) @ o
            ds = o @ tf.transpose(w2)  # dI = dS
            dw1 = tf.transpose(x) @ ds
            return w1 - 1e-9 * dw1, w2 - 1e-9 * dw2

        @tf.function(jit_compile=True)
        def epoch(w1, w2):
            _, w1, w2 = tf.while_loop(
                lambda k, *_: k < n_full, lambda k, a, b: (k + 1, *step(x_full, a, b)),
                (0, w1, w2),
            )
            for x in x_rest:
                w1, w2 = step(x, w1, w2)
            return tf.reduce_sum(w1) + tf.reduce_sum(w2)

        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            float(epoch(w1, w2))
            times.append(time.perf_counter() - start)
    return times[1:]


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def time_products(shapes: list[Shape], repeats: int = 3) -> float:
    """Wall time in seconds of running all ``shapes`` once with NumPy: the median of
    ``repeats`` passes after a warm-up, with BLAS on all its threads and on one thread, the
    faster of the two (a floor; one thread wins only when other work holds the cores)."""
    from threadpoolctl import threadpool_limits

    best = statistics.median(_time_numpy(shapes, repeats))
    with threadpool_limits(limits=1, user_api="blas"):
        return min(best, statistics.median(_time_numpy(shapes, repeats)))


def time_epoch_tf(n_samples: int, batch: int, steps: int, n_features: int, hidden: int,
                  n_classes: int, repeats: int = 3, device: str | None = None) -> float:
    """Median wall time of the products of :func:`train_products` run by TensorFlow (XLA)."""
    return statistics.median(
        _time_tf(n_samples, batch, steps, n_features, hidden, n_classes, repeats, device)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1347, help="training rows (digits: 1347)")
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--steps", type=int, nargs="+", default=[32, 100])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=["numpy", "tf"], default="numpy")
    args = parser.parse_args()
    for steps in args.steps:
        shapes = train_products(args.samples, args.batch, steps, args.features, args.hidden,
                                args.classes)
        if args.backend == "numpy":
            seconds = time_products(shapes, args.repeats)
        else:
            seconds = time_epoch_tf(args.samples, args.batch, steps, args.features,
                                    args.hidden, args.classes, args.repeats)
        n_batches = math.ceil(args.samples / args.batch)
        print(f"T={steps}: {len(shapes)} products in {n_batches} minibatches, "
              f"{flops(shapes) / 1e9:.2f} GFLOP, {seconds:.4f} s/epoch, "
              f"{flops(shapes) / seconds / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
