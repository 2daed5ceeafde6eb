"""Check that sklif trains on the GPU, and benchmark it there (one short script, minutes).

1. Fails with a clear message when TensorFlow sees no GPU (unless ``--allow-cpu``).
2. Confirms that sklif's training step ran on the GPU: an eager op lands on ``/GPU:0`` and
   one epoch of ``LIFClassifier(device="gpu")`` raises the GPU allocator's peak by at least
   the size of the activations that epoch must hold.
3. Runs the benchmark of ``run.py`` on the GPU (digits, 64 -> 128 -> 10, T = 32 and 100,
   batch 64: sklif, the paper-style Keras baseline, the products alone as one XLA function)
   plus a large configuration (synthetic data, 784 -> 1024 -> 10, T = 100, batch 256), and
   prints compact tables. Memory is the peak of TensorFlow's GPU allocator above its use
   before training (``tf.config.experimental.get_memory_info``).

Usage::

    python benchmarks/gpu_check.py                      # on a machine with a GPU
    python benchmarks/gpu_check.py --allow-cpu --quick  # smoke test anywhere (tiny sizes)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
from _common import Data, RssMeter, digits, synthetic
from run import Config, environment, measure_baseline, measure_floor_tf, measure_sklif, table


class GpuMeter:
    """Peak of TensorFlow's allocator on ``GPU:0`` between ``start`` and ``stop``, in MiB."""

    def __init__(self, device: str = "GPU:0") -> None:
        self.device, self.base = device, 0

    def start(self) -> None:
        """Reset the allocator's peak and take its current use as the base."""
        tf.config.experimental.reset_memory_stats(self.device)
        self.base = tf.config.experimental.get_memory_info(self.device)["current"]

    def lap(self) -> float:
        """Peak since the last reset (MiB above the base); then reset the peak."""
        peak = self.stop()
        tf.config.experimental.reset_memory_stats(self.device)
        return peak

    def stop(self) -> float:
        """Peak since the last reset, in MiB above the base."""
        peak = tf.config.experimental.get_memory_info(self.device)["peak"]
        return max(peak - self.base, 0) / 2**20


def check_device(gpu: bool, data: Data) -> None:
    """Show where TensorFlow runs ops and that sklif's training epoch allocated on the GPU."""
    import sklif

    probe = tf.constant([1.0]) + 1.0
    print(f"eager op placed on: {probe.device}")
    if not gpu:
        print("no GPU check (--allow-cpu): training runs on the CPU")
        return
    if "GPU" not in probe.device:
        sys.exit("FAIL: TensorFlow sees a GPU but places eager ops elsewhere")
    meter = GpuMeter()
    clf = sklif.LIFClassifier(hidden_layer_sizes=(128,), n_steps=32, batch_size=64, max_iter=1,
                              device="gpu", random_state=0)
    meter.start()
    clf.fit(data.X_train, data.y_train)
    peak = meter.stop()
    # one batch's membrane and spikes over time, float32: the least backpropagation keeps
    needed = 2 * 32 * 64 * 128 * 4 / 2**20
    if peak < needed:
        sys.exit(f"FAIL: sklif's training epoch raised the GPU allocator's peak by only "
                 f"{peak:.2f} MiB (< {needed:.2f} MiB of activations): it did not run on the GPU")
    print(f"OK: sklif's training epoch ran on the GPU (allocator peak +{peak:.1f} MiB "
          f">= {needed:.1f} MiB of activations)")


def bench(data: Data, cfg: Config, gpu: bool) -> dict:
    """sklif, the baseline and the TF floor on one configuration; results by method."""
    results = {}
    meter = GpuMeter() if gpu else RssMeter()
    device = "/GPU:0" if gpu else "/CPU:0"
    for name, measure in [
        ("floor_tf", lambda: measure_floor_tf(data, cfg, meter, device)),
        ("sklif", lambda: measure_sklif(data, cfg, meter)),
        ("baseline", lambda: measure_baseline(data, cfg, meter)),
    ]:
        start = time.perf_counter()
        with tf.device(device):
            results[name] = measure()
        results[name]["n_train"] = len(data.X_train)
        print(f"... {name} ({time.perf_counter() - start:.0f} s)", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    """Check the GPU, then print the benchmark tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run on the CPU when no GPU is visible instead of failing")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one epoch, one repeat: a smoke test of the script")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    gpus = tf.config.list_physical_devices("GPU")
    print(f"# {environment()}")
    print(f"# GPUs visible to TensorFlow: {[g.name for g in gpus] or 'none'}")
    if not gpus and not args.allow_cpu:
        sys.exit("FAIL: TensorFlow sees no GPU. Install the 'gpu' extra "
                 "(pip install 'sklif[gpu]'), check `nvidia-smi` and `python -m sklif`, "
                 "or pass --allow-cpu for a CPU smoke test.")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    gpu = bool(gpus)
    device = "gpu" if gpu else "cpu"
    small = digits(n_predict=10_000)
    check_device(gpu, small)

    if args.quick:
        runs = [
            ("digits", small, Config(steps=32, epochs=1, repeats=1, device=device)),
            ("synthetic", synthetic(512, 256, 784, 10, 1024),
             Config(hidden=256, steps=10, batch=256, epochs=1, repeats=1, device=device)),
        ]
    else:
        base = Config(epochs=3, repeats=3, device=device)
        runs = [
            ("digits", small, base._replace(steps=32)),
            ("digits", small, base._replace(steps=100)),
            ("synthetic", synthetic(8192, 2048, 784, 10, 10_000),
             Config(hidden=1024, steps=100, batch=256, epochs=2, repeats=3,
                    predict_batch=1024, device=device)),
        ]
    for name, data, cfg in runs:
        print(f"\n### {'GPU' if gpu else 'CPU'}: {name}, {data.X_train.shape[1]} -> "
              f"{cfg.hidden} -> 10, T = {cfg.steps}, batch {cfg.batch}, "
              f"{len(data.X_train)} training samples, {cfg.epochs} epochs x {cfg.repeats}; "
              f"memory: {'GPU allocator' if gpu else 'process RSS'} peak MiB\n", flush=True)
        results = bench(data, cfg, gpu)
        print()
        print(table(results, cfg.steps, len(data.X_predict)))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
