"""Safe model files: save a fitted :class:`~sklif.LIFClassifier` and load it back without pickle.

A model file is one zip archive with four members, none of which holds code:

``meta.json``
    The format name (``"sklif-model"``), the format version, the sklif version that wrote
    it, the estimator's class name and the SHA-256 of each other member.
``params.json``
    The constructor parameters (``get_params()``); sequences are JSON lists.
``fitted.json``
    The fitted attributes: numbers, strings, lists, ``None``, tuples and the named tuples
    :class:`~sklif.network.Spec` and :class:`~sklif.network.Hyper` (as tagged objects);
    each NumPy array or scalar is a reference to an entry of ``arrays.npz``.
``arrays.npz``
    The arrays, written by :func:`numpy.savez` and read with ``allow_pickle=False``.
    Arrays of Python strings (``dtype=object``) are stored as unicode arrays.

:func:`load` checks everything (the archive, the members and their hashes, the format and
its version, every JSON type and every array's dtype and shape against the network's
layout) before it builds the estimator, so it returns a complete estimator or raises
:class:`ModelFileError`; it never runs code from the file. The hashes detect a damaged file,
not a forged one: whoever can write the file can write matching hashes too.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from typing import IO, Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .classifier import LIFClassifier
from .dynamics import RESETS
from .encoders import ENCODINGS
from .network import READOUTS, Hyper, Spec, weight_shapes
from .surrogates import SURROGATES

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "load", "save"]

FORMAT = "sklif-model"
FORMAT_VERSION = 1

_META = "meta.json"
_DATA_MEMBERS = ("params.json", "fitted.json", "arrays.npz")
_ESTIMATORS = {"LIFClassifier": LIFClassifier}
_TAG = "__type__"
_NAMED_TUPLES = {"Spec": Spec, "Hyper": Hyper}
_SKIPPED = ("_model",)  # a cached Keras model, rebuilt from the weights on demand

PathOrFile = str | os.PathLike | IO[bytes]


class ModelFileError(ValueError):
    """A model file that :func:`load` cannot read: damaged, not a sklif model, or too new."""


# ---------------------------------------------------------------------------- saving
def save(estimator: LIFClassifier, path: PathOrFile) -> None:
    """Write a fitted estimator to one model file, without pickle.

    Parameters
    ----------
    estimator : LIFClassifier
        A fitted estimator. Its ``random_state`` must be an int or None.
    path : str, path-like or binary file object
        Where to write. A path is written atomically: a complete file appears there or,
        on error, nothing changes.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If a parameter cannot be stored (a ``RandomState`` instance as ``random_state``) or
        an array holds objects other than strings.
    TypeError
        If the estimator is not a LIFClassifier, or a fitted attribute has a type this module
        does not know (a new attribute then fails loudly here, not silently on load).

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import numpy as np
    >>> from sklif import LIFClassifier
    >>> from sklif.persistence import load, save
    >>> X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    >>> clf = LIFClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    >>> save(clf, "model.sklif")  # doctest: +SKIP
    >>> np.array_equal(load("model.sklif").predict_proba(X), clf.predict_proba(X))  # doctest: +SKIP
    True
    """
    name = type(estimator).__name__
    if _ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(f"save writes a LIFClassifier, got {type(estimator).__qualname__}.")
    check_is_fitted(estimator, msg="This %(name)s is not fitted yet; fit it before saving it.")
    params = estimator.get_params(deep=False)
    arrays: dict[str, np.ndarray] = {}
    fitted = {
        key: _encode(value, key, arrays)
        for key, value in vars(estimator).items()
        if key not in params and key not in _SKIPPED
    }
    members = {
        "params.json": _dumps({key: _encode_param(key, value) for key, value in params.items()}),
        "fitted.json": _dumps(fitted),
        "arrays.npz": _npz_bytes(arrays),
    }
    from . import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklif_version": __version__,
        "estimator": name,
        "sha256": {key: hashlib.sha256(data).hexdigest() for key, data in members.items()},
    }
    _write_zip(path, {_META: _dumps(meta), **members})


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=False, indent=1, sort_keys=True).encode("utf-8")


def _encode_float(value: float) -> float | dict:
    if math.isfinite(value):
        return value
    return {_TAG: "float", "value": repr(float(value))}  # "inf", "-inf" or "nan"


def _encode_param(key: str, value: Any) -> Any:
    """A constructor parameter as plain JSON (sequences become lists)."""
    if key == "random_state" and not (value is None or isinstance(value, (int, np.integer))):
        raise ValueError(
            f"random_state must be an int or None to save the estimator, got "
            f"{type(value).__name__}; set_params(random_state=<int>) first."
        )
    if isinstance(value, (np.generic, np.ndarray)):
        value = value.tolist()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _encode_float(value)
    if isinstance(value, (list, tuple)):
        return [_encode_param(key, v) for v in value]
    raise TypeError(f"Cannot save parameter {key}={value!r} of type {type(value).__name__}.")


def _encode(value: Any, where: str, arrays: dict[str, np.ndarray]) -> Any:
    """A fitted value as JSON; arrays and NumPy scalars go to ``arrays``, referenced by key."""
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        entry: dict[str, Any] = {_TAG: "ndarray" if isinstance(value, np.ndarray) else "scalar"}
        if array.dtype.kind == "O":
            array, entry["object"] = _object_as_str(array, where), True
        arrays[where] = array  # named by its place, e.g. "_weights[0]"
        entry["key"] = where
        return entry
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _encode_float(value)
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]", arrays) for i, v in enumerate(value)]
    for tag, cls in _NAMED_TUPLES.items():
        if type(value) is cls:
            return {
                _TAG: tag,
                "fields": {
                    f: _encode(v, f"{where}.{f}", arrays) for f, v in value._asdict().items()
                },
            }
    if type(value) is tuple:
        return {
            _TAG: "tuple",
            "items": [_encode(v, f"{where}[{i}]", arrays) for i, v in enumerate(value)],
        }
    raise TypeError(
        f"Cannot save fitted attribute {where} of type {type(value).__qualname__}; "
        "sklif.persistence stores None, bool, int, float, str, list, tuple, Spec, Hyper and "
        "NumPy arrays. Teach it the new type (and how to check it on load)."
    )


def _object_as_str(array: np.ndarray, where: str) -> np.ndarray:
    """An object array of Python strings as a unicode array (NumPy pickles object arrays)."""
    if not all(type(x) is str for x in array.flat):
        raise ValueError(
            f"Cannot save {where}: an object array with elements other than str "
            f"({sorted({type(x).__name__ for x in array.flat})}); a model file holds no pickle."
        )
    as_str = array.astype(str)
    if not np.array_equal(as_str.astype(object), array):  # e.g. trailing NUL characters
        raise ValueError(f"Cannot save {where}: its strings do not survive a unicode array.")
    return as_str


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _write_zip(path: PathOrFile, members: dict[str, bytes]) -> None:
    def write(target) -> None:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)

    if hasattr(path, "write"):
        write(path)
        return
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".sklif-", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------- loading
def load(path: PathOrFile) -> LIFClassifier:
    """Read an estimator written by :func:`save`, checking everything first.

    Nothing in the file is executed: there is no pickle, arrays are read with
    ``allow_pickle=False``, and every value is checked (types, dtypes, shapes against the
    network's layout, hashes) before the estimator is built, so the result is either a
    complete estimator whose predictions equal those of the saved one, bit for bit, or an
    error.

    Parameters
    ----------
    path : str, path-like or binary file object
        The model file.

    Returns
    -------
    LIFClassifier
        The fitted estimator.

    Raises
    ------
    ModelFileError
        (a ``ValueError``) If the file is not a sklif model file, is damaged (a hash does
        not match), was written by a newer sklif, or holds inconsistent values.
    OSError
        If the file cannot be opened.

    See Also
    --------
    save : Write a model file.
    """
    if hasattr(path, "read"):
        return _load(path)
    with open(path, "rb") as f:
        return _load(f)


def _load(f: IO[bytes]) -> LIFClassifier:
    members = _read_members(f)
    meta = _loads(members[_META], _META)
    _check_meta(meta, members)
    params = _decode_params(_loads(members["params.json"], "params.json"))
    arrays = _read_npz(members["arrays.npz"])
    fitted_json = _loads(members["fitted.json"], "fitted.json")
    if not isinstance(fitted_json, dict):
        raise ModelFileError("fitted.json must hold an object.")
    used: set[str] = set()
    fitted = {key: _decode(value, key, arrays, used) for key, value in fitted_json.items()}
    if used != set(arrays):
        raise ModelFileError(
            f"arrays.npz holds arrays that fitted.json does not use: {sorted(set(arrays) - used)}."
        )
    estimator = _build(meta["estimator"], params)
    _check_fitted(fitted, estimator)
    estimator.__dict__.update(fitted)  # only now: never a half-loaded estimator
    return estimator


def _read_members(f: IO[bytes]) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(f) as zf:
            names = zf.namelist()
            if _META not in names:
                raise ModelFileError(f"Not a sklif model file: the archive has no {_META}.")
            if len(set(names)) != len(names):
                raise ModelFileError("Damaged model file: the archive repeats a member name.")
            return {name: zf.read(name) for name in names}
    except ModelFileError:
        raise
    except Exception as exc:  # whatever zipfile raises on a damaged archive
        raise ModelFileError(f"Not a sklif model file, or a damaged one: {exc}") from exc


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in a JSON object")
    return out


def _loads(data: bytes, member: str) -> Any:
    try:
        return json.loads(
            data.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_no_duplicates
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"Damaged model file: {member} is not valid JSON ({exc}).") from exc


def _check_meta(meta: Any, members: dict[str, bytes]) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"Not a sklif model file: {_META} does not name the {FORMAT!r} format."
        )
    version, written_by = meta.get("format_version"), meta.get("sklif_version")
    if not _is_int(version) or version < 1:
        raise ModelFileError(f"Damaged model file: bad format_version {version!r}.")
    if version > FORMAT_VERSION:
        from . import __version__

        raise ModelFileError(
            f"This model file was written by a newer sklif ({written_by}, file format version "
            f"{version}); this sklif ({__version__}) reads format versions up to "
            f"{FORMAT_VERSION}. Upgrade sklif to load it."
        )
    if set(meta) != {"format", "format_version", "sklif_version", "estimator", "sha256"}:
        raise ModelFileError(f"Damaged model file: unexpected keys in {_META}: {sorted(meta)}.")
    if not isinstance(written_by, str) or meta["estimator"] not in _ESTIMATORS:
        raise ModelFileError(
            f"Not a sklif model file: unknown estimator {meta['estimator']!r} or sklif version."
        )
    expected = {_META, *_DATA_MEMBERS}
    if set(members) != expected:
        raise ModelFileError(
            f"Damaged model file: members {sorted(members)}, expected {sorted(expected)}."
        )
    hashes = meta["sha256"]
    if not isinstance(hashes, dict) or set(hashes) != set(_DATA_MEMBERS):
        raise ModelFileError(f"Damaged model file: {_META} lacks the members' hashes.")
    for name in _DATA_MEMBERS:
        if hashes[name] != hashlib.sha256(members[name]).hexdigest():
            raise ModelFileError(
                f"Damaged model file: {name} does not match its SHA-256 in {_META} "
                "(the file was changed or corrupted after it was written)."
            )


def _decode_params(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ModelFileError("params.json must hold an object.")

    def plain(value: Any, key: str) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return tuple(plain(v, key) for v in value)
        if isinstance(value, dict) and set(value) == {_TAG, "value"} and value[_TAG] == "float":
            return _decode_float(value, key)
        raise ModelFileError(f"params.json: bad value for {key}: {value!r}.")

    return {key: plain(value, key) for key, value in raw.items()}


def _build(name: str, params: dict[str, Any]) -> LIFClassifier:
    cls = _ESTIMATORS[name]
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ModelFileError(
            f"params.json names parameters {name} does not have: {sorted(unknown)}."
        )
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except ValueError as exc:
        raise ModelFileError(f"params.json holds an invalid parameter: {exc}") from exc
    return estimator


def _read_npz(data: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # anything the npz/npy parsers raise on a bad file
        raise ModelFileError(f"Damaged model file: arrays.npz cannot be read ({exc}).") from exc
    for key, array in arrays.items():
        if array.dtype.kind not in "biufUS" or array.dtype.byteorder not in "=|<>":
            raise ModelFileError(f"arrays.npz: array {key} has unsupported dtype {array.dtype}.")
    return arrays


def _decode_float(value: dict, where: str) -> float:
    text = value["value"]
    if text not in ("inf", "-inf", "nan"):
        raise ModelFileError(f"fitted.json: bad float at {where}: {text!r}.")
    return float(text)


def _decode(value: Any, where: str, arrays: dict[str, np.ndarray], used: set[str]) -> Any:
    """Inverse of :func:`_encode`; every type is checked, every array used once."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, f"{where}[{i}]", arrays, used) for i, v in enumerate(value)]
    if not isinstance(value, dict) or not isinstance(value.get(_TAG), str):
        raise ModelFileError(f"fitted.json: bad value at {where}.")
    tag, keys = value[_TAG], set(value) - {_TAG}
    if tag == "float" and keys == {"value"}:
        return _decode_float(value, where)
    if tag == "tuple" and keys == {"items"} and isinstance(value["items"], list):
        return tuple(_decode(value["items"], where, arrays, used))
    if tag in _NAMED_TUPLES and keys == {"fields"} and isinstance(value["fields"], dict):
        cls = _NAMED_TUPLES[tag]
        if set(value["fields"]) != set(cls._fields):
            raise ModelFileError(f"fitted.json: {where} must have the fields {cls._fields}.")
        return cls(
            **{f: _decode(v, f"{where}.{f}", arrays, used) for f, v in value["fields"].items()}
        )
    if tag in ("ndarray", "scalar") and keys <= {"key", "object"} and "key" in keys:
        key, as_object = value["key"], value.get("object", False)
        if not isinstance(key, str) or key not in arrays or key in used:
            raise ModelFileError(f"fitted.json: bad or repeated array reference at {where}.")
        if "object" in keys and as_object is not True:
            raise ModelFileError(f"fitted.json: bad 'object' flag at {where}.")
        used.add(key)
        array = arrays[key]
        if as_object:
            if array.dtype.kind != "U":
                raise ModelFileError(f"arrays.npz: {where} must be a unicode array.")
            array = array.astype(object)
        if tag == "scalar":
            if array.ndim != 0 or as_object:
                raise ModelFileError(f"arrays.npz: {where} must be a NumPy scalar.")
            return array[()]
        return array
    raise ModelFileError(f"fitted.json: unknown value of type {tag!r} at {where}.")


# ---------------------------------------------------------------------------- checking
_REQUIRED = {
    "classes_", "n_features_in_", "input_offset_", "input_scale_", "_spec", "_hyper", "_weights",
    "_adam", "_predict_seed", "n_iter_", "loss_curve_", "best_loss_", "validation_scores_",
    "best_validation_score_",
}  # fmt: skip


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_float(x: Any) -> bool:
    return isinstance(x, (int, float, np.floating)) and not isinstance(x, bool)


def _fail(message: str) -> None:
    raise ModelFileError(f"Inconsistent model file: {message}")


def _check_fitted(fitted: dict[str, Any], estimator: LIFClassifier) -> None:
    missing = _REQUIRED - set(fitted)
    if missing:
        _fail(f"fitted attributes missing: {sorted(missing)}.")
    for name in fitted:
        if (
            not name.isidentifier()
            or name.startswith("__")
            or not (name.startswith("_") or name.endswith("_"))
            or hasattr(type(estimator), name)
            or name in estimator.get_params(deep=False)
            or name in _SKIPPED
        ):
            _fail(f"{name!r} cannot be a fitted attribute.")
    spec = _check_spec(fitted["_spec"])
    _check_hyper(fitted["_hyper"])
    n_features, n_outputs = spec.n_features, spec.n_outputs

    classes = fitted["classes_"]
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 1:
        _fail("classes_ must be a non-empty 1-D array.")
    if not np.array_equal(np.unique(classes), classes):
        _fail("classes_ must be sorted and unique.")
    if n_outputs != max(len(classes), 2):
        _fail(f"{len(classes)} classes but {n_outputs} network outputs.")
    if not _is_int(fitted["n_features_in_"]) or fitted["n_features_in_"] != n_features:
        _fail(f"n_features_in_ must be {n_features}, the network's inputs.")
    if "feature_names_in_" in fitted:
        names = fitted["feature_names_in_"]
        if not (
            isinstance(names, np.ndarray) and names.dtype == object and names.shape == (n_features,)
        ):
            _fail(f"feature_names_in_ must be an object array of {n_features} strings.")
    for name in ("input_offset_", "input_scale_"):
        a = fitted[name]
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.shape == (n_features,)):
            _fail(f"{name} must be a float array of shape ({n_features},).")
        if not np.all(np.isfinite(a)):
            _fail(f"{name} must be finite.")
    if not np.all(fitted["input_scale_"] > 0):
        _fail("input_scale_ must be positive.")

    weights = fitted["_weights"]
    stored = (
        sum(w.size for w in weights if isinstance(w, np.ndarray))
        if isinstance(weights, tuple)
        else 0
    )
    if max(n_features, n_outputs, *spec.hidden_layer_sizes) > stored:
        _fail("the network is larger than the weights stored for it.")  # before allocating
    expected = weight_shapes(spec)
    _check_float32_tuple(weights, expected, "_weights")
    if not all(np.all(np.isfinite(w)) for w in weights):
        _fail("_weights must be finite.")
    if fitted["_adam"] is not None:
        _check_float32_tuple(fitted["_adam"], [*expected, *expected, ()], "_adam")
    seed = fitted["_predict_seed"]
    if not (isinstance(seed, np.ndarray) and seed.dtype == np.int32 and seed.shape == (2,)):
        _fail("_predict_seed must be an int32 array of shape (2,).")

    if not _is_int(fitted["n_iter_"]) or fitted["n_iter_"] < 0:
        _fail("n_iter_ must be a non-negative int.")
    for name, optional in (("loss_curve_", False), ("validation_scores_", True)):
        value = fitted[name]
        if not (value is None and optional) and not (
            isinstance(value, list) and all(_is_float(x) for x in value)
        ):
            _fail(f"{name} must be a list of floats{' or None' if optional else ''}.")
    for name in ("best_loss_", "best_validation_score_"):
        if fitted[name] is not None and not _is_float(fitted[name]):
            _fail(f"{name} must be a float or None.")


def _check_spec(spec: Any) -> Spec:
    if not isinstance(spec, Spec):
        _fail("_spec must be a Spec.")
    sizes = spec.hidden_layer_sizes
    ok = (
        all(_is_int(getattr(spec, f)) and getattr(spec, f) >= 1 for f in ("n_features", "n_steps"))
        and _is_int(spec.n_outputs)
        and spec.n_outputs >= 2
        and isinstance(sizes, tuple)
        and len(sizes) >= 1
        and all(_is_int(s) and s >= 1 for s in sizes)
        and spec.encoding in ENCODINGS
        and spec.readout in READOUTS
        and spec.surrogate in SURROGATES
        and spec.reset in RESETS
        and isinstance(spec.clamp, bool)
        and isinstance(spec.trainable_tau, bool)
    )
    if not ok:
        _fail(f"bad network structure {spec!r}.")
    return spec


def _check_hyper(hyper: Any) -> None:
    if not isinstance(hyper, Hyper) or not all(
        type(v) is float and math.isfinite(v) and v > 0 for v in hyper
    ):
        _fail(f"_hyper must hold finite positive floats, got {hyper!r}.")


def _check_float32_tuple(values: Any, shapes: list[tuple], name: str) -> None:
    if not isinstance(values, tuple) or len(values) != len(shapes):
        _fail(f"{name} must be a tuple of {len(shapes)} arrays for this network.")
    for i, (value, shape) in enumerate(zip(values, shapes, strict=True)):
        if not (isinstance(value, np.ndarray) and value.dtype == np.float32):
            _fail(f"{name}[{i}] must be a float32 array.")
        if value.shape != tuple(shape):
            _fail(f"{name}[{i}] has shape {value.shape}, the network needs {tuple(shape)}.")
