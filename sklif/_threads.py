"""Keep TensorFlow's thread pools to this process's share of the CPU cores.

joblib's process workers (loky) and Dask workers announce each worker's share of the cores
in ``OMP_NUM_THREADS``; BLAS and OpenMP follow it, but TensorFlow reads only its own
``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` and otherwise uses every core in every
worker. Without a cap, ``GridSearchCV(n_jobs=2)`` on two cores would run four busy threads.
"""

from __future__ import annotations

import os

__all__ = ["limit_tensorflow_threads"]


def limit_tensorflow_threads() -> int | None:
    """Cap TensorFlow's intra- and inter-op threads at ``OMP_NUM_THREADS`` when it is set.

    Does nothing when ``OMP_NUM_THREADS`` is unset or invalid, when TensorFlow's own thread
    variables or settings are present, or when TensorFlow's runtime has already started.

    Returns
    -------
    int or None
        The number of threads set, or None when nothing changed.
    """
    try:
        n = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    if n < 1 or {"TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"} & set(os.environ):
        return None
    import tensorflow as tf

    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() or threading.get_inter_op_parallelism_threads():
        return None  # chosen already
    try:
        threading.set_intra_op_parallelism_threads(n)
        threading.set_inter_op_parallelism_threads(n)
    except RuntimeError:  # the runtime has started; too late to change
        return None
    return n
