"""``python -m sklif``: versions and the devices TensorFlow sees."""

from __future__ import annotations

import os
import platform


def main() -> None:
    """Print sklif's, TensorFlow's and Keras' versions and TensorFlow's devices."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    import sklif

    print(f"sklif       {sklif.__version__}")
    print(f"python      {platform.python_version()}")
    print(f"tensorflow  {tf.__version__} (built with CUDA: {tf.test.is_built_with_cuda()})")
    print(f"keras       {keras.__version__} (backend: {keras.backend.backend()})")
    devices = tf.config.list_physical_devices()
    print("devices:")
    for device in devices:
        print(f"  {device.device_type:<4} {device.name}")
    if not tf.config.list_physical_devices("GPU"):
        print("no GPU visible: training runs on the CPU (install sklif[gpu] on a CUDA machine).")


if __name__ == "__main__":
    main()
