"""Data-parallel training through ``tf.distribute`` on two logical CPU devices.

Logical devices must be configured before TensorFlow starts its runtime, so every check runs
in a fresh Python process (:func:`_child`, :func:`_child_classifier`) that prints its
findings as JSON; the tests assert on them.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sklif.classifier


def _run_child(name: str) -> dict:
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"import test_distributed; test_distributed.{name}()"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _strategy():
    """A MirroredStrategy over two logical CPUs (call before TensorFlow's runtime starts)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def _problem():
    """The small, easy 3-class problem of ``conftest.small_xy``."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0], [0.0, 3.0, 3.0, 0.0]])
    y = np.repeat(np.arange(3), 20)
    X = centers[y] + rng.normal(0, 0.5, size=(60, 4))
    return X, y


class _InterruptedRng:
    """A NumPy generator whose ``permutation`` raises ``KeyboardInterrupt`` on call ``at``."""

    def __init__(self, seed: int, at: int):
        self.rng, self.calls, self.at = np.random.default_rng(seed), 0, at

    def permutation(self, n):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.rng.permutation(n)

    def integers(self, *args, **kwargs):
        return self.rng.integers(*args, **kwargs)


def _child() -> None:
    """Compare :func:`train_distributed` with :func:`training.train`; print JSON findings."""
    import contextlib
    import io
    import warnings

    strategy = _strategy()
    import tensorflow as tf

    from sklif import distributed, training
    from sklif.inference import predict_logits
    from sklif.network import Hyper, Spec, init_weights

    X, y = _problem()
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    y = y.astype(np.int32)
    sw = np.ones(len(y), np.float32)
    spec = Spec(4, (8,), 3, 6)
    hyper = Hyper(5.0, 1.0, 1.0, 1.0)
    w0 = tuple(tf.constant(a) for a in init_weights(spec, 5.0, 1.0, np.random.default_rng(1)))
    common = dict(lr=0.01, alpha=1e-3, device="cpu", tol=1e-4, n_iter_no_change=10)
    out = {"replicas": strategy.num_replicas_in_sync}

    def both(data, rng_seed=0, **kwargs):
        args = dict(common, **kwargs)
        single = training.train(
            spec, w0, training.AdamState.zeros(w0), hyper, data,
            rng=np.random.default_rng(rng_seed), **args,
        )  # fmt: skip
        with strategy.scope():
            multi = distributed.train_distributed(
                strategy, spec, w0, training.AdamState.zeros(w0), hyper, data,
                rng=np.random.default_rng(rng_seed), **args,
            )  # fmt: skip
        return single, multi

    def max_diff(a, b):
        return max(float(np.max(np.abs(np.asarray(p) - np.asarray(q)))) for p, q in zip(a, b))

    # one full batch, one epoch: the same step as on one device
    single, multi = both(training.pad_data(X, y, sw, 1000), max_iter=1)
    out["first_loss"] = [single[4].loss_curve[0], multi[4].loss_curve[0]]
    out["one_step_weight_diff"] = max_diff(single[0], multi[0])
    out["one_step_adam_diff"] = max_diff((*single[1].m, *single[1].v), (*multi[1].m, *multi[1].v))
    out["adam_steps"] = [float(single[1].step), float(multi[1].step)]
    out["replica_devices"] = sorted(distributed.REPLICA_TRACES)

    # the same step in pieces of 8 rows per replica (bounded memory)
    small = float(training.bptt_bytes(spec, 8))
    pieces = both(training.pad_data(X, y, sw, 1000), max_iter=1, max_memory_bytes=small)[1]
    out["pieces_weight_diff"] = max_diff(single[0], pieces[0])
    out["pieces_loss"] = pieces[4].loss_curve[0]

    # several batches of 16 (the last one partial), 15 epochs
    data = training.pad_data(X, y, sw, 16)
    with strategy.scope():
        w, adam, best_loss, best_score, history = distributed.train_distributed(
            strategy, spec, w0, training.AdamState.zeros(w0), hyper, data,
            rng=np.random.default_rng(0), max_iter=15, **dict(common, lr=0.05),
        )  # fmt: skip
    logits = predict_logits(spec, w, hyper, X, (0, 0), "cpu")
    out["loss_curve"] = history.loss_curve
    out["best_loss"] = best_loss
    out["history"] = [history.n_epochs, history.stopped, best_score]
    out["accuracy"] = float(np.mean(np.argmax(logits, axis=1) == y))
    out["adam_step"] = float(adam.step)

    # other hyperparameter values reuse the compiled functions
    traces = training.trace_count()
    with strategy.scope():
        distributed.train_distributed(
            strategy, spec, w0, training.AdamState.zeros(w0), Hyper(3.0, 0.8, 0.5, 2.0), data,
            rng=np.random.default_rng(1), max_iter=2, **dict(common, lr=0.02, alpha=0.1),
        )  # fmt: skip
    out["new_traces"] = training.trace_count() - traces

    # the loss-based stopping rule stops where training.train stops
    single, multi = both(data, max_iter=15, tol=10.0, n_iter_no_change=2)
    out["converged"] = [[h[4].n_epochs, h[4].stopped, h[2]] for h in (single, multi)]

    # validation: scores per epoch, best weights restored, verbose prints one line per epoch
    val = (X[::3], y[::3], sw[::3])
    printed = io.StringIO()
    with strategy.scope(), contextlib.redirect_stdout(printed):
        w, _, _, best_score, history = distributed.train_distributed(
            strategy, spec, w0, training.AdamState.zeros(w0), hyper, data,
            rng=np.random.default_rng(0), max_iter=6, validation=val, verbose=True, **common,
        )  # fmt: skip
    hits = np.argmax(predict_logits(spec, w, hyper, val[0], (0, 0), "cpu"), axis=1) == val[1]
    out["validation"] = {
        "scores": history.validation_scores,
        "best": best_score,
        "restored": float(np.mean(hits)),
        "lines": [line for line in printed.getvalue().splitlines() if line.startswith("Epoch")],
    }

    # divergence: a RuntimeWarning and the last finite weights
    with strategy.scope(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w, _, _, _, history = distributed.train_distributed(
            strategy, spec, w0, training.AdamState.zeros(w0), hyper, data,
            rng=np.random.default_rng(0), max_iter=3, **dict(common, alpha=float("inf")),
        )  # fmt: skip
    out["diverged"] = {
        "stopped": history.stopped,
        "n_epochs": history.n_epochs,
        "warnings": [w_.category.__name__ for w_ in caught],
        "weights_kept": max_diff(w, w0),
    }

    # Ctrl-C in the third epoch keeps the weights after the second
    with strategy.scope():
        interrupted = distributed.train_distributed(
            strategy, spec, w0, training.AdamState.zeros(w0), hyper, data,
            rng=_InterruptedRng(0, at=3), max_iter=5, **common,
        )  # fmt: skip
        two = distributed.train_distributed(
            strategy, spec, w0, training.AdamState.zeros(w0), hyper, data,
            rng=np.random.default_rng(0), max_iter=2, **common,
        )  # fmt: skip
    out["interrupted"] = {
        "stopped": interrupted[4].stopped,
        "n_epochs": interrupted[4].n_epochs,
        "diff": max_diff(interrupted[0], two[0]),
    }
    print(json.dumps(out))


def _child_classifier() -> None:
    """Fit ``LIFClassifier`` under ``strategy.scope()``; print JSON findings."""
    import warnings

    strategy = _strategy()
    from sklif import LIFClassifier, distributed

    X, y = _problem()
    clf = LIFClassifier(
        hidden_layer_sizes=(8,), n_steps=6, max_iter=15, batch_size=16, random_state=0
    )
    with strategy.scope(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    out = {
        "replica_devices": sorted(distributed.REPLICA_TRACES),
        "loss_curve": clf.loss_curve_,
        "accuracy": clf.score(X, y),
    }
    print(json.dumps(out))


@pytest.fixture(scope="module")
def found() -> dict:
    return _run_child("_child")


def test_trains_on_both_replicas(found):
    assert found["replicas"] == 2
    assert [d[-5:] for d in found["replica_devices"]] == ["CPU:0", "CPU:1"]


def test_one_step_equals_single_device_step(found):
    single, multi = found["first_loss"]
    assert multi == pytest.approx(single, abs=1e-5)
    assert found["one_step_weight_diff"] < 1e-5
    assert found["one_step_adam_diff"] < 1e-5
    assert found["adam_steps"] == [1.0, 1.0]


def test_bounded_memory_takes_the_same_step(found):
    assert found["pieces_loss"] == pytest.approx(found["first_loss"][0], abs=1e-5)
    assert found["pieces_weight_diff"] < 1e-5


def test_learns_the_problem(found):
    losses = found["loss_curve"]
    assert len(losses) == 15 and losses[-1] < 0.8 * losses[0]
    assert found["best_loss"] == pytest.approx(min(losses))
    assert found["history"][:2] == [15, "max_iter"]
    assert found["history"][2] == -np.inf
    assert found["accuracy"] > 0.8
    assert found["adam_step"] == 15 * 4  # 60 rows in batches of 16


def test_other_hyperparameters_do_not_retrace(found):
    assert found["new_traces"] == 0


def test_stopping_rule_as_single_device(found):
    (n_single, stop_single, best_single), (n_multi, stop_multi, best_multi) = found["converged"]
    assert (n_multi, stop_multi) == (n_single, stop_single) == (4, "converged")
    assert best_multi == pytest.approx(best_single, rel=0.05)


def test_validation_restores_best_weights_and_prints(found):
    v = found["validation"]
    assert len(v["scores"]) == 6 and v["best"] == max(v["scores"])
    assert v["restored"] == pytest.approx(v["best"])
    assert len(v["lines"]) == 6 and v["lines"][0].startswith("Epoch 1/6 - loss: ")
    assert "validation score" in v["lines"][0]


def test_divergence_keeps_last_finite_weights(found):
    d = found["diverged"]
    assert (d["stopped"], d["n_epochs"]) == ("diverged", 0)
    assert d["warnings"] == ["RuntimeWarning"]
    assert d["weights_kept"] == 0.0


def test_interrupt_keeps_last_finished_epoch(found):
    i = found["interrupted"]
    assert (i["stopped"], i["n_epochs"]) == ("interrupted", 2)
    assert i["diff"] == 0.0


@pytest.mark.skipif(
    "train_distributed" not in inspect.getsource(sklif.classifier),
    reason="LIFClassifier does not dispatch to sklif.distributed yet",
)
def test_classifier_fits_under_strategy_scope():
    found = _run_child("_child_classifier")
    assert [d[-5:] for d in found["replica_devices"]] == ["CPU:0", "CPU:1"]
    losses = found["loss_curve"]
    assert len(losses) == 15 and losses[-1] < losses[0]
    assert found["accuracy"] > 0.8
