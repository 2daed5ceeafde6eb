"""The fast path: same loss and gradients as a plain step-by-step network; no recompilation."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone

from sklif import LIFClassifier, training
from sklif.dynamics import LIFParameters, LIFState, decay, lif_step
from sklif.network import Hyper, Spec, forward, init_weights


def reference_logits(spec, weights, hyper, x):
    """The network written plainly: every step in Python, TensorFlow differentiates it all."""
    n_hidden = len(spec.hidden_layer_sizes)
    n_spiking = n_hidden + (spec.readout == "spike_count")
    per_layer = 3 if spec.trainable_tau else 2
    layers, i = [], 0
    for index in range(n_hidden + 1):
        k = per_layer if index < n_spiking else 2
        layers.append(weights[i : i + k])
        i += k
    inputs = [x] * spec.n_steps
    for layer in layers[:n_spiking]:
        tau = tf.exp(layer[2]) if spec.trainable_tau else hyper.tau
        p = LIFParameters(
            tau,
            hyper.threshold,
            hyper.dt,
            spec.surrogate,
            hyper.surrogate_slope,
            spec.reset,
            spec.clamp,
        )
        state = LIFState(
            tf.zeros((x.shape[0], layer[0].shape[1])), tf.zeros((x.shape[0], layer[0].shape[1]))
        )
        outputs = []
        for x_t in inputs:
            s, state = lif_step(x_t @ layer[0] + layer[1], state, p)
            outputs.append(s)
        inputs = outputs
    if spec.readout == "spike_count":
        return tf.add_n(inputs)
    kernel, bias = layers[-1]
    beta = decay(hyper.tau, hyper.dt)
    v = tf.zeros((x.shape[0], kernel.shape[1]))
    total = tf.zeros_like(v)
    for s_t in inputs:
        v = beta * v + (1.0 - beta) * (s_t @ kernel + bias)
        total += v
    return total / spec.n_steps


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(surrogate="flat", reset="subtract"),
        dict(surrogate="triangle", clamp=True, trainable_tau=True),
        dict(readout="spike_count", surrogate="arctan"),
        dict(hidden_layer_sizes=(7, 6), surrogate="sigmoid"),
    ],
)
def test_fast_path_has_the_loss_and_gradients_of_the_plain_network(options):
    spec = Spec(
        **{**dict(n_features=5, hidden_layer_sizes=(8,), n_outputs=3, n_steps=9), **options}
    )
    hyper = Hyper(4.0, 0.6, 1.0, 1.5)
    rng = np.random.default_rng(0)
    weights = [tf.constant(w) for w in init_weights(spec, 4.0, 0.6, rng)]
    x = tf.constant(rng.normal(size=(6, 5)), tf.float32)
    y = tf.constant([0, 1, 2, 0, 1, 2])
    losses, grads = [], []
    for fn in (lambda w: forward(spec, w, hyper, x), lambda w: reference_logits(spec, w, hyper, x)):
        with tf.GradientTape() as tape:
            tape.watch(weights)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, fn(weights)))
        losses.append(loss.numpy())
        grads.append(tape.gradient(loss, weights))
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for fast, ref in zip(*grads):
        np.testing.assert_allclose(fast.numpy(), ref.numpy(), rtol=1e-3, atol=1e-5)


def test_refits_with_other_hyperparameter_values_compile_nothing(small_xy):
    X, y = small_xy
    base = LIFClassifier(hidden_layer_sizes=(12,), n_steps=6, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base.fit(X, y).predict(X)
        before = training.trace_count()
        for tau, threshold, slope, lr in [(3.0, 0.5, 2.0, 0.1), (20.0, 2.0, 0.3, 1e-3)]:
            clf = clone(base).set_params(
                tau=tau,
                threshold=threshold,
                surrogate_slope=slope,
                learning_rate_init=lr,
                alpha=0.1,
                random_state=1,
            )
            clf.fit(X, y).predict_proba(X)
    assert training.trace_count() == before


def test_epoch_runs_all_batches_and_padding_carries_no_weight(small_xy):
    X, y = small_xy
    data = training.pad_data(X.astype(np.float32), y, np.ones(len(y)), batch_size=16)
    assert (data.n_samples, data.batch_size, data.n_batches) == (60, 16, 4)
    assert data.X.shape[0] == 64 and float(tf.reduce_sum(data.sw)) == 60.0


@pytest.mark.parametrize("readout", ["membrane", "spike_count"])
@pytest.mark.parametrize("trainable_tau", [False, True])
def test_weight_shapes_match_the_initial_weights(readout, trainable_tau):
    from sklif.network import weight_shapes

    spec = Spec(5, (7, 6), 3, 4, readout=readout, trainable_tau=trainable_tau)
    weights = init_weights(spec, 5.0, 1.0, np.random.default_rng(0))
    assert [w.shape for w in weights] == weight_shapes(spec)
