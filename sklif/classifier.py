"""LIFClassifier: a scikit-learn classifier made of leaky-integrate-and-fire neurons."""

from __future__ import annotations

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import tensorflow as tf
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import distributed, inference, training
from .dynamics import RESETS
from .encoders import ENCODINGS
from .network import READOUTS, Hyper, Recording, Spec, build_model, init_weights, weight_bytes
from .surrogates import SURROGATES

__all__ = ["LIFClassifier"]

_LIMIT = 1e6  # scaled features are clipped to +-_LIMIT so float32 currents stay finite


def _positive(upper=None):
    return Interval(Real, 0, upper, closed="neither" if upper is None else "right")


class LIFClassifier(ClassifierMixin, BaseEstimator):
    """Classifier built from layers of leaky-integrate-and-fire (LIF) neurons.

    Each row of ``X`` is scaled, encoded as input over ``n_steps`` time steps, passed
    through dense synapses into layers of LIF neurons (membrane ODE ``tau dv/dt = -v + I``,
    a spike when ``v`` reaches ``threshold``, then a reset) and read out by non-spiking leaky
    output units (or by spike counts). Training is backpropagation through time with a
    surrogate gradient for the spike (Gerum & Schilling 2020), minibatch Adam on the
    cross-entropy, compiled with XLA; TensorFlow runs it on a GPU when one is visible.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Number of LIF neurons in each hidden layer.
    n_steps : int, default=16
        Number of simulated time steps per sample.
    dt : float, default=1.0
        Length of a time step (same unit as ``tau``).
    tau : float, default=5.0
        Membrane time constant; ``beta = exp(-dt / tau)`` of the potential is kept per step.
    threshold : float, default=1.0
        Membrane potential at which a neuron spikes.
    surrogate : {"fast_sigmoid", "flat", "sigmoid", "triangle", "arctan"}, default="fast_sigmoid"
        Surrogate derivative of the spike used backward (see :mod:`sklif.surrogates`).
    surrogate_slope : float, default=1.0
        Steepness of the surrogate (for ``"flat"``, the constant derivative, which scales all
        gradients alike and so hardly matters to Adam).
    reset : {"zero", "subtract"}, default="zero"
        After a spike, set the potential to zero or subtract the threshold.
    encoding : {"current", "poisson", "latency"}, default="current"
        How features become input over time: a constant current, Poisson spike trains
        (rate coding) or one spike per feature whose latency falls with its value.
    readout : {"membrane", "spike_count"}, default="membrane"
        Class scores from the mean membrane potential of leaky output units, or from the
        spike counts of a spiking output layer.
    clamp_membrane : bool, default=False
        Keep membrane potentials at or above zero (as in the paper).
    trainable_tau : bool, default=False
        Learn one time constant per neuron, starting at ``tau``.
    learning_rate_init : float, default=0.01
        Adam's learning rate.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=200
        Maximum number of epochs (for ``partial_fit``, each call is one epoch).
    alpha : float, default=1e-4
        Strength of the L2 penalty on the synaptic weights.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and stop when its
        accuracy stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before training stops.
    tol : float, default=1e-4
        Smallest change of the loss (or validation score) that counts as an improvement.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting afresh.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, the validation split and the Poisson encoder.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, time).
    device : {"auto", "cpu", "gpu"}, default="auto"
        Where TensorFlow runs: its own choice (a GPU when one is visible), or forced.
    max_memory_mb : float, default=2048
        Bound on the memory backpropagation through time may hold for one minibatch (it
        grows with ``batch_size * n_steps * layer width``). A batch that would need more is
        processed in pieces whose gradients are summed before the update (the same step);
        when not even one sample fits, ``fit`` raises a ``ValueError`` naming what to change.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss (cross-entropy plus penalty) after each epoch.
    best_loss_ : float or None
        Lowest training loss; None with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy per epoch with early stopping, else None.
    best_validation_score_ : float or None
        Best validation accuracy with early stopping, else None.
    input_offset_, input_scale_ : ndarray of shape (n_features_in_,)
        Features are fed to the network as ``(X - input_offset_) / input_scale_``: standardised
        for the current encoding, mapped to [0, 1] by the training minimum and maximum for
        the spike encodings.
    model_ : keras.Model
        The fitted network as a Keras model (built from the fitted weights on first access),
        from raw features to class logits.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The non-spiking counterpart.

    Notes
    -----
    Duplicate rows of ``(X, y)`` are merged into one row whose weight is the sum of theirs,
    and rows of zero weight are dropped; so an integer ``sample_weight`` means exactly the
    same as repeating rows.

    References
    ----------
    Gerum, R. C. & Schilling, A. (2021). Integration of leaky-integrate-and-fire neurons in
    standard machine learning architectures to generate hybrid networks: a surrogate
    gradient approach. Neural Computation 33 (10). arXiv:2004.13532.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklif import LIFClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LIFClassifier(random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "dt": [_positive()],
        "tau": [_positive()],
        "threshold": [_positive()],
        "surrogate": [StrOptions(set(SURROGATES))],
        "surrogate_slope": [_positive()],
        "reset": [StrOptions(set(RESETS))],
        "encoding": [StrOptions(set(ENCODINGS))],
        "readout": [StrOptions(set(READOUTS))],
        "clamp_membrane": ["boolean"],
        "trainable_tau": ["boolean"],
        "learning_rate_init": [_positive()],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [StrOptions({"auto", "cpu", "gpu"})],
        "max_memory_mb": [_positive()],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        n_steps=16,
        dt=1.0,
        tau=5.0,
        threshold=1.0,
        surrogate="fast_sigmoid",
        surrogate_slope=1.0,
        reset="zero",
        encoding="current",
        readout="membrane",
        clamp_membrane=False,
        trainable_tau=False,
        learning_rate_init=0.01,
        batch_size="auto",
        max_iter=200,
        alpha=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=False,
        device="auto",
        max_memory_mb=2048,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_steps = n_steps
        self.dt = dt
        self.tau = tau
        self.threshold = threshold
        self.surrogate = surrogate
        self.surrogate_slope = surrogate_slope
        self.reset = reset
        self.encoding = encoding
        self.readout = readout
        self.clamp_membrane = clamp_membrane
        self.trainable_tau = trainable_tau
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.max_memory_mb = max_memory_mb

    # ------------------------------------------------------------------ public API
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the loss.

        Returns
        -------
        self : LIFClassifier
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on ``X``, ``y``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All classes that can ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LIFClassifier
        """
        if _check_partial_fit_first_call(self, classes):
            self._validate_params()
            for name in ("_weights", "n_iter_"):
                self.__dict__.pop(name, None)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, the softmax of the readout scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed without underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        logits = self._logits(X)
        return log_softmax(logits.astype(np.float64), axis=1)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def record(self, X) -> Recording:
        """Simulate the network on ``X`` and return what every layer did over time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Recording
            ``input`` (n_samples, n_steps, n_features), the encoded input; ``spikes``, one
            array (n_samples, n_steps, units) per spiking layer; ``membrane``, one such array
            per layer including the readout; ``names``, the layer names; ``threshold``.
        """
        check_is_fitted(self)
        Xs = self._scaled(X)
        logits, encoded, traces = inference.record(
            self._spec, self._weights, self._hyper, Xs, self._predict_seed, self._device()
        )
        spikes = [s for s, _ in traces if s is not None]
        names = [f"lif_{i}" for i in range(len(self._spec.hidden_layer_sizes))] + ["output"]
        return Recording(
            input=encoded,
            spikes=spikes,
            membrane=[v for _, v in traces],
            names=names,
            threshold=float(self._hyper.threshold),
        )

    @property
    def model_(self):
        """The fitted network as a Keras model (see the class docstring)."""
        check_is_fitted(self)
        if getattr(self, "_model", None) is None:
            self._model = build_model(
                self._spec,
                self._weights,
                tau=float(self._hyper.tau),
                threshold=float(self._hyper.threshold),
                dt=float(self._hyper.dt),
                surrogate_slope=float(self._hyper.surrogate_slope),
                offset=self.input_offset_,
                scale=self.input_scale_,
                seed=int(self._predict_seed[0]),
            )
        return self._model

    def save(self, path) -> None:
        """Write the fitted estimator to a safe model file (no pickle).

        See :func:`sklif.persistence.save`; read it back with :func:`sklif.load`.

        Parameters
        ----------
        path : str, path-like or binary file object
        """
        from .persistence import save  # persistence imports this module

        save(self, path)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_weights")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_model", None)  # a Keras object; model_ rebuilds it from _weights
        return state

    # ------------------------------------------------------------------ internals
    def _device(self) -> str:
        if self.device == "gpu" and not tf.config.list_physical_devices("GPU"):
            raise ValueError(
                "device='gpu' but TensorFlow sees no GPU. Install the 'gpu' extra "
                "(tensorflow[and-cuda]) and check `python -m sklif`, or use device='auto'."
            )
        return self.device

    def _scaled(self, X) -> np.ndarray:
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._apply_scaling(X)

    def _apply_scaling(self, X: np.ndarray) -> np.ndarray:
        # halves first: X - offset may overflow float64 where X and offset do not
        Xs = (X / 2 - self.input_offset_ / 2) / (self.input_scale_ / 2)
        return np.clip(Xs, -_LIMIT, _LIMIT).astype(np.float32)

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self)
        Xs = self._scaled(X)
        return inference.predict_logits(
            self._spec, self._weights, self._hyper, Xs, self._predict_seed, self._device()
        )

    def _fit_scaling(self, X: np.ndarray, sw: np.ndarray) -> None:
        keep = sw > 0
        Xk, wk = X[keep], sw[keep]
        if self.encoding == "current":
            peak = np.max(np.abs(Xk), axis=0)
            peak[~(peak > 0)] = 1.0
            Z = Xk / peak  # guards the squares below against overflow
            mean = np.average(Z, axis=0, weights=wk)
            std = np.sqrt(np.average((Z - mean) ** 2, axis=0, weights=wk))
            offset, scale = mean * peak, std * peak
        else:
            low, high = Xk.min(axis=0), Xk.max(axis=0)
            offset, scale = low, 2 * (high / 2 - low / 2)
        scale = np.minimum(scale, np.finfo(np.float64).max)
        scale[~(scale > np.finfo(np.float32).tiny * 1e6)] = 1.0
        self.input_offset_, self.input_scale_ = offset, scale

    def _hyperparameters(self) -> Hyper:
        for name in ("tau", "threshold", "dt", "surrogate_slope"):
            value = getattr(self, name)
            if not (np.isfinite(np.float32(value)) and np.float32(value) > 0):
                raise ValueError(f"{name} must be a finite positive float32 number, got {value!r}.")
        return Hyper(
            float(self.tau), float(self.threshold), float(self.dt), float(self.surrogate_slope)
        )

    def _make_spec(self, n_features: int, n_classes: int) -> Spec:
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if (
            sizes.ndim != 1
            or sizes.size == 0
            or not np.issubdtype(sizes.dtype, np.integer)
            or (sizes < 1).any()
        ):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}."
            )
        return Spec(
            n_features=n_features,
            hidden_layer_sizes=tuple(int(s) for s in sizes),
            n_outputs=n_classes,
            n_steps=int(self.n_steps),
            encoding=self.encoding,
            readout=self.readout,
            surrogate=self.surrogate,
            reset=self.reset,
            clamp=bool(self.clamp_membrane),
            trainable_tau=bool(self.trainable_tau),
        )

    def _validate_xy(self, X, y, sample_weight, first_pass: bool):
        X, y = validate_data(self, X, y, reset=first_pass, dtype=np.float64)
        check_classification_targets(y)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not np.all(np.isfinite(sw)):
            raise ValueError("sample_weight must be finite.")
        if sw.sum() <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        return X, y, sw

    def _fit(self, X, y, sample_weight, incremental: bool):
        previous = dict(self.__dict__)  # restored if Ctrl-C comes before the first epoch
        fitted = hasattr(self, "_weights")
        first_pass = not fitted or not (incremental or self.warm_start)
        X, y, sw = self._validate_xy(X, y, sample_weight, first_pass)
        device = self._device()
        hyper = self._hyperparameters()

        if incremental:
            if not set(np.unique(y)) <= set(self.classes_):
                raise ValueError(
                    f"y holds labels not in classes {self.classes_.tolist()}: "
                    f"{sorted(set(np.unique(y)) - set(self.classes_))}."
                )
        elif first_pass:
            self.classes_ = np.unique(y)
        elif not set(np.unique(y)) <= set(self.classes_):
            raise ValueError(
                f"warm_start: y holds labels the previous fit did not see; classes are "
                f"{self.classes_.tolist()}."
            )
        y_index = np.searchsorted(self.classes_, y).astype(np.int32)
        if len(self.classes_) < 2:
            raise ValueError(
                f"The number of classes has to be at least 2; got {len(self.classes_)} class."
            )

        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        spec = self._make_spec(X.shape[1], max(len(self.classes_), 2))
        if weight_bytes(spec) > float(self.max_memory_mb) * 2**20:
            raise ValueError(
                f"The weights of hidden_layer_sizes={spec.hidden_layer_sizes} with "
                f"{spec.n_features} features need about {weight_bytes(spec) / 2**20:.0f} MiB "
                f"with Adam's state, more than max_memory_mb={self.max_memory_mb}. Use "
                "smaller layers or raise max_memory_mb."
            )
        if first_pass:
            self._fit_scaling(X, sw)
            self._spec = spec
            self._weights = tuple(init_weights(spec, hyper.tau, hyper.threshold, rng, hyper.dt))
            self._adam = None
            self._predict_seed = rng.integers(0, 2**31 - 1, size=2).astype(np.int32)
            self.n_iter_ = 0
            self.loss_curve_ = []
            self.best_loss_ = np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
        elif spec != self._spec:
            raise ValueError(
                "The network's structure changed since the last fit "
                f"({self._spec} -> {spec}); refit with warm_start=False."
            )
        self._hyper = hyper
        self._model = None

        validation = None
        Xs = self._apply_scaling(X)
        if self.early_stopping and not incremental:
            Xs, y_index, sw, validation = self._split_validation(Xs, y_index, sw, rng)
        Xs, y_index, sw = _merge_duplicates(Xs, y_index, sw)
        if self.batch_size == "auto":
            batch = min(200, len(Xs))
        else:
            batch = self.batch_size
            if batch > len(Xs) and not incremental:
                warnings.warn(
                    f"batch_size={self.batch_size} is larger than the {len(Xs)} distinct samples; "
                    "it is clipped.",
                    UserWarning,
                    stacklevel=3,
                )
        data = training.pad_data(Xs, y_index, sw, batch)
        weights = tuple(tf.constant(w) for w in self._weights)
        adam = self._adam_state(weights)
        strategy = tf.distribute.get_strategy()
        if tf.distribute.has_strategy() and strategy.num_replicas_in_sync > 1:
            train = functools.partial(distributed.train_distributed, strategy)
        else:
            train = training.train
        weights, adam, best_loss, best_score, history = train(
            spec,
            weights,
            adam,
            hyper,
            data,
            lr=float(self.learning_rate_init),
            alpha=float(self.alpha),
            max_iter=1 if incremental else int(self.max_iter),
            rng=rng,
            device=device,
            tol=float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change) if not incremental else 2**30,
            max_memory_bytes=float(self.max_memory_mb) * 2**20,
            best_loss=self.best_loss_ if self.best_loss_ is not None else np.inf,
            validation=validation,
            predict_seed=self._predict_seed,
            verbose=bool(self.verbose),
        )
        if history.stopped == "interrupted" and history.n_epochs == 0 and fitted:
            self.__dict__.clear()
            self.__dict__.update(previous)
            warnings.warn(
                "Training interrupted before its first epoch ended; the estimator keeps its "
                "previous fitted state.",
                RuntimeWarning,
                stacklevel=3,
            )
            return self
        self._weights = tuple(np.asarray(w) for w in weights)
        self._adam = tuple(np.asarray(a) for a in (*adam.m, *adam.v, adam.step))
        self.n_iter_ += history.n_epochs
        self.loss_curve_ = [*self.loss_curve_, *history.loss_curve]
        if self.early_stopping and not incremental:
            self.validation_scores_ = [*self.validation_scores_, *history.validation_scores]
            self.best_validation_score_ = max(self.best_validation_score_, best_score)
            self.best_loss_ = None
        else:
            self.best_loss_ = best_loss
        if history.stopped == "interrupted":
            warnings.warn(
                f"Training interrupted after {history.n_epochs} epochs of this call; the "
                "estimator keeps the weights of the last finished epoch (n_iter_ counts them).",
                RuntimeWarning,
                stacklevel=3,
            )
        if history.stopped == "max_iter" and not incremental:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                "converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _adam_state(self, weights) -> training.AdamState:
        if self._adam is None:
            return training.AdamState.zeros(weights)
        n = len(weights)
        values = [tf.constant(a) for a in self._adam]
        return training.AdamState(tuple(values[:n]), tuple(values[n : 2 * n]), values[-1])

    def _split_validation(self, Xs, y_index, sw, rng):
        seed = int(rng.integers(2**31 - 1))
        try:
            parts = train_test_split(
                Xs,
                y_index,
                sw,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=y_index,
            )
        except ValueError:
            parts = train_test_split(
                Xs, y_index, sw, test_size=self.validation_fraction, random_state=seed
            )
        X_train, X_val, y_train, y_val, sw_train, sw_val = parts
        if len(X_val) == 0 or sw_train.sum() <= 0:
            raise ValueError(
                "validation_fraction leaves no data to train or validate on; "
                "use more samples or change validation_fraction."
            )
        if sw_val.sum() <= 0:
            sw_val = np.ones_like(sw_val)
        return X_train, y_train, sw_train, (X_val, y_val, sw_val)


def _merge_duplicates(X: np.ndarray, y: np.ndarray, sw: np.ndarray):
    """Drop zero-weight rows, merge identical ``(x, y)`` rows (summing weights), sort rows.

    Weights are divided by a power of two (exactly) so the largest lies in [1, 2): the loss
    is normalised by the total weight anyway, and float32 then holds them without under- or
    overflow.
    """
    keep = sw > 0
    X, y, sw = X[keep], y[keep], sw[keep]
    rows = np.column_stack([X, y.astype(np.float32)])
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    weights = np.bincount(inverse.ravel(), weights=sw, minlength=len(unique))
    weights = np.ldexp(weights, -np.frexp(weights.max())[1] + 1)
    return (
        np.ascontiguousarray(unique[:, :-1]),
        unique[:, -1].astype(np.int32),
        weights.astype(np.float32),
    )
