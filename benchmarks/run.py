"""sklif against a paper-style Keras baseline, sklearn's MLP and the arithmetic floor, side by side.

Workload (defaults): sklearn digits (stratified 75/25 split), 64 -> 128 LIF -> 10, batch 64,
Adam, for each ``--steps``. Every measurement runs in its own fresh process, so each gets its
own peak memory and nothing is shared between them (see benchmarks/README.md)::

    python benchmarks/run.py                          # T = 32 and 100, the defaults
    python benchmarks/run.py --steps 32 --epochs 2 --repeats 1    # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import NamedTuple, Protocol

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _common import Data, RssMeter, digits, median, timed

METHODS = ("floor", "sklif", "baseline", "mlp")
LABELS = {
    "floor": "floor (NumPy products only)",
    "floor_tf": "floor (TF/XLA products only)",
    "sklif": "sklif LIFClassifier",
    "baseline": "paper-style Keras (baseline)",
    "mlp": "sklearn MLPClassifier (T=1)",
}


class Config(NamedTuple):
    """What one measurement trains and how often."""

    hidden: int = 128
    steps: int = 32
    batch: int = 64
    epochs: int = 10
    repeats: int = 3
    lr: float = 0.01
    predict_batch: int = 1000
    device: str = "auto"  # sklif's device
    baseline_jit: str = "auto"  # model.compile(jit_compile=...) of the baseline


class Meter(Protocol):
    """What the measure functions need from a memory meter (see ``_common.RssMeter``)."""

    def start(self) -> None: ...

    def lap(self) -> float: ...

    def stop(self) -> float: ...


def _n_classes(data: Data) -> int:
    return int(np.max(data.y_train)) + 1


def measure_floor(data: Data, cfg: Config, meter: Meter) -> dict:
    """The matrix products alone, timed with NumPy (see ``floor.py``)."""
    from floor import flops, forward_products, time_products, train_products

    dims = (data.X_train.shape[1], cfg.hidden, _n_classes(data))
    repeats = max(3, cfg.repeats)
    meter.start()
    train = train_products(len(data.X_train), cfg.batch, cfg.steps, *dims)
    epoch_s = time_products(train, repeats)
    train_mib = meter.stop()
    meter.start()
    forward = forward_products(len(data.X_predict), cfg.predict_batch, cfg.steps, *dims)
    predict_s = time_products(forward, repeats)
    return dict(epoch_s=epoch_s, predict_s=predict_s, train_mib=train_mib,
                predict_mib=meter.stop(), gflop_epoch=flops(train) / 1e9,
                gflop_predict=flops(forward) / 1e9)


def measure_floor_tf(data: Data, cfg: Config, meter: Meter, device: str | None = None) -> dict:
    """The training products as one XLA-compiled TensorFlow epoch (for GPUs)."""
    from floor import flops, time_epoch_tf, train_products

    dims = (data.X_train.shape[1], cfg.hidden, _n_classes(data))
    meter.start()
    epoch_s = time_epoch_tf(len(data.X_train), cfg.batch, cfg.steps, *dims,
                            repeats=max(3, cfg.repeats), device=device)
    train = train_products(len(data.X_train), cfg.batch, cfg.steps, *dims)
    return dict(epoch_s=epoch_s, train_mib=meter.stop(), gflop_epoch=flops(train) / 1e9)


def _train_repeats(warm_up: Callable[[], object], run: Callable[[], object],
                   cfg: Config, meter: Meter) -> dict:
    """Warm up (one epoch: tracing and compilation), then time ``repeats`` runs of ``epochs``.

    Memory: ``train_mib`` is the peak of the whole training, warm-up included; ``steady_mib``
    the peak of the timed epochs only.
    """
    meter.start()
    warm_s = timed(warm_up)
    warm_mib = meter.lap()
    times = [timed(run) / cfg.epochs for _ in range(cfg.repeats)]
    steady_mib = meter.stop()
    return dict(epoch_s=median(times), epoch_times=times, warm_up_s=warm_s,
                train_mib=max(warm_mib, steady_mib), steady_mib=steady_mib,
                epochs_trained=1 + cfg.repeats * cfg.epochs)


def _predict(predict: Callable[[np.ndarray], np.ndarray], data: Data, cfg: Config,
             meter: Meter) -> dict:
    meter.start()
    predict(data.X_predict)  # warm-up: traces and compiles the prediction
    times = [timed(lambda: predict(data.X_predict)) for _ in range(max(1, cfg.repeats))]
    return dict(predict_s=median(times), predict_mib=meter.stop())


def measure_sklif(data: Data, cfg: Config, meter: Meter) -> dict:
    """``sklif.LIFClassifier``: one warm-up epoch, then ``repeats`` warm-started fits of
    ``epochs`` each; prediction of ``X_predict``."""
    from sklearn.exceptions import ConvergenceWarning

    import sklif
    from sklif import training

    clf = sklif.LIFClassifier(
        hidden_layer_sizes=(cfg.hidden,), n_steps=cfg.steps, batch_size=cfg.batch,
        learning_rate_init=cfg.lr, max_iter=1, tol=0.0, n_iter_no_change=10**9,
        warm_start=True, random_state=0, device=cfg.device,
    )

    def run():
        clf.set_params(max_iter=cfg.epochs).fit(data.X_train, data.y_train)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = _train_repeats(lambda: clf.fit(data.X_train, data.y_train), run, cfg, meter)
    traces = training.trace_count("train")
    result.update(_predict(clf.predict, data, cfg, meter))
    result.update(accuracy=float(clf.score(data.X_test, data.y_test)), epoch_traces=traces,
                  final_loss=float(clf.loss_curve_[-1]))
    return result


def _scaler(data: Data):
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit(data.X_train)


def measure_baseline(data: Data, cfg: Config, meter: Meter) -> dict:
    """The paper-style Keras model (``baseline_keras.py``) trained with ``model.fit``."""
    from baseline_keras import build_baseline

    scaler = _scaler(data)
    X = scaler.transform(data.X_train).astype(np.float32)
    jit = {"auto": "auto", "on": True, "off": False}[cfg.baseline_jit]
    model = None

    def warm_up():
        nonlocal model
        model = build_baseline(X.shape[1], cfg.hidden, _n_classes(data), cfg.steps,
                               learning_rate=cfg.lr, jit_compile=jit)
        model.fit(X, data.y_train, batch_size=cfg.batch, epochs=1, verbose=0)

    def run():
        model.fit(X, data.y_train, batch_size=cfg.batch, epochs=cfg.epochs, verbose=0)

    result = _train_repeats(warm_up, run, cfg, meter)

    def predict(rows):
        scores = model.predict(scaler.transform(rows).astype(np.float32),
                               batch_size=cfg.predict_batch, verbose=0)
        return np.argmax(scores, axis=1)

    result.update(_predict(predict, data, cfg, meter))
    result.update(accuracy=float(np.mean(predict(data.X_test) == data.y_test)),
                  jit_compile=bool(model.jit_compile))
    return result


def measure_mlp(data: Data, cfg: Config, meter: Meter) -> dict:
    """sklearn's ``MLPClassifier`` of the same width (non-spiking: one 'time step')."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    scaler = _scaler(data)
    X = scaler.transform(data.X_train)
    clf = MLPClassifier(
        hidden_layer_sizes=(cfg.hidden,), batch_size=cfg.batch, learning_rate_init=cfg.lr,
        max_iter=1, tol=0.0, n_iter_no_change=10**9, warm_start=True, random_state=0,
    )

    def run():
        clf.set_params(max_iter=cfg.epochs).fit(X, data.y_train)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = _train_repeats(lambda: clf.fit(X, data.y_train), run, cfg, meter)
    result.update(_predict(lambda rows: clf.predict(scaler.transform(rows)), data, cfg, meter))
    result.update(accuracy=float(clf.score(scaler.transform(data.X_test), data.y_test)))
    return result


MEASURE = {"floor": measure_floor, "sklif": measure_sklif, "baseline": measure_baseline,
           "mlp": measure_mlp}


# ---------------------------------------------------------------------------------- processes
def _worker(method: str, cfg: Config) -> None:
    """Run one measurement in this process and print its result as one JSON line."""
    data = digits()
    result = MEASURE[method](data, cfg, RssMeter())
    result["n_train"] = len(data.X_train)
    print("RESULT " + json.dumps(result), flush=True)


def _spawn(method: str, cfg: Config) -> dict:
    """Run one measurement in a fresh Python process; return its result."""
    args = [sys.executable, os.path.abspath(__file__), "--worker", method]
    for name, value in cfg._asdict().items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
    raise RuntimeError(f"the {method} worker failed (exit code {done.returncode})")


# ---------------------------------------------------------------------------------- report
def _fmt(value: float | None) -> str:
    """Three significant digits; thousands separators above 1000; '-' for nothing."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def table(results: dict[str, dict], steps: int, n_predict: int) -> str:
    """A markdown table of one ``steps`` value's results."""
    floor = results.get("floor") or results.get("floor_tf") or {}
    base = results.get("baseline") or {}
    columns = ["method", "epochs", "s/epoch", "sample-steps/s", "x floor",
               "speed-up vs baseline", "test acc", f"predict {n_predict:,} s",
               "predict samples/s", "predict x floor", "train peak MiB", "steady MiB"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for method, r in results.items():
        rate = r["n_train"] * (1 if method == "mlp" else steps) / r["epoch_s"]
        predict_s = r.get("predict_s")
        cells = [
            LABELS[method], str(r.get("epochs_trained", "-")), f"{r['epoch_s']:.4f}",
            _fmt(rate), _fmt(_ratio(r["epoch_s"], floor.get("epoch_s"))),
            _fmt(_ratio(base.get("epoch_s"), r["epoch_s"])), _fmt(r.get("accuracy")),
            _fmt(predict_s), _fmt(_ratio(n_predict, predict_s)),
            _fmt(_ratio(predict_s, floor.get("predict_s"))), _fmt(r.get("train_mib")),
            _fmt(r.get("steady_mib")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(results: dict[str, dict]) -> str:
    """One line: warm-up (first epoch, compilation included) times and what was compiled."""
    parts = [f"{m} {r['warm_up_s']:.1f} s" for m, r in results.items() if "warm_up_s" in r]
    line = "warm-up epoch (tracing/compiling included): " + ", ".join(parts)
    if "sklif" in results:
        line += f"; sklif epoch traces: {results['sklif']['epoch_traces']}"
    if "baseline" in results:
        line += f"; baseline model.jit_compile: {results['baseline']['jit_compile']}"
    return line


TARGETS = {  # steps -> (max train x floor, min speed-up vs baseline)
    32: (2.5, 8.0),
    100: (2.0, 15.0),
}


def targets(all_results: dict[int, dict[str, dict]]) -> list[str]:
    """The issue's targets, checked on the ratios measured in this run."""
    out = []

    def check(name, ok, detail):
        out.append(f"- [{'x' if ok else ' '}] {name}: {detail}")

    for steps, results in all_results.items():
        s, f, b = results.get("sklif"), results.get("floor"), results.get("baseline")
        if steps not in TARGETS or not s or not f:
            continue
        max_floor, min_speedup = TARGETS[steps]
        ratio = s["epoch_s"] / f["epoch_s"]
        check(f"T={steps} training <= {max_floor}x floor", ratio <= max_floor, f"{ratio:.2f}x")
        if b:
            speedup = b["epoch_s"] / s["epoch_s"]
            check(f"T={steps} training >= {min_speedup:g}x faster than baseline",
                  speedup >= min_speedup, f"{speedup:.1f}x")
        if steps == 32:
            ratio = s["predict_s"] / f["predict_s"]
            check("T=32 prediction of the predict set <= 2x floor's forward products",
                  ratio <= 2.0, f"{ratio:.2f}x")
        if steps == 100 and b:
            check("T=100 training peak memory <= baseline's", s["train_mib"] <= b["train_mib"],
                  f"{s['train_mib']:.0f} vs {b['train_mib']:.0f} MiB")
    return out


def environment() -> str:
    """One line naming the machine and the versions that matter."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    try:
        from threadpoolctl import threadpool_info

        blas = ",".join(sorted({f"{i['internal_api']}({i['num_threads']})"
                                for i in threadpool_info() if i["user_api"] == "blas"}))
    except ImportError:
        blas = "?"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu}, {cores} CPUs; "
            f"Python {platform.python_version()}, sklif {v('sklif')}, "
            f"tensorflow {v('tensorflow')}, keras {v('keras')}, numpy {v('numpy')} [{blas}], "
            f"scikit-learn {v('scikit-learn')}")


def _warn_if_busy() -> None:
    """Say so when other work is running: every figure here is a ratio of wall times."""
    if not hasattr(os, "getloadavg"):
        return
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"# load average (1 min) {load:.2f} on {cores} CPUs")
    if load > 0.5 * cores:
        print("# WARNING: the machine is busy; BLAS threads and TensorFlow's thread pools slow "
              "down unevenly under contention, so the ratios below are unreliable.")


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line, run the measurements, print the tables; return the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=128, help="LIF neurons (default 128)")
    parser.add_argument("--steps", type=int, nargs="+", default=[32, 100],
                        help="time steps T, one table each (default 32 100)")
    parser.add_argument("--batch", type=int, default=64, help="minibatch size (default 64)")
    parser.add_argument("--epochs", type=int, default=10,
                        help="epochs per timed repeat (default 10)")
    parser.add_argument("--baseline-epochs", type=int, default=None,
                        help="epochs per timed repeat of the slow baseline (default --epochs)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed repeats; s/epoch is their median (default 3)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate, all models")
    parser.add_argument("--predict-batch", type=int, default=1000,
                        help="prediction batch of the baseline and the floor (default 1000)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"],
                        help="sklif's device (default auto)")
    parser.add_argument("--baseline-jit", default="auto", choices=["auto", "on", "off"],
                        help="the baseline's model.compile(jit_compile=...) (default: Keras' auto)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--skip-baseline", action="store_true", help="leave the baseline out")
    parser.add_argument("--json", help="also write all results to this JSON file")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    fields = {name: getattr(args, name) for name in Config._fields}
    if args.worker:
        _worker(args.worker, Config(**{**fields, "steps": args.steps[0]}))
        return {}

    methods = [m for m in args.methods if not (m == "baseline" and args.skip_baseline)]
    print(f"# {environment()}")
    print(f"# {' '.join(['python', *sys.argv])}")
    _warn_if_busy()
    all_results: dict[int, dict[str, dict]] = {}
    mlp = None
    for steps in args.steps:
        results = {}
        for method in methods:
            cfg = Config(**{**fields, "steps": steps})
            if method == "baseline" and args.baseline_epochs:
                cfg = cfg._replace(epochs=args.baseline_epochs)
            if method == "mlp" and mlp is not None:  # the MLP does not depend on T
                results[method] = mlp
                continue
            print(f"... T={steps} {method}", end="", flush=True)
            start = time.perf_counter()
            results[method] = _spawn(method, cfg)
            print(f" ({time.perf_counter() - start:.0f} s)", flush=True)
            if method == "mlp":
                mlp = results[method]
        all_results[steps] = results
        print(f"\n### T = {steps}: digits, {args.hidden} hidden, batch {args.batch}, "
              f"{results[methods[0]]['n_train']} training samples\n")
        print(table(results, steps, 10_000))
        print("\n" + notes(results) + "\n")
    _warn_if_busy()
    checks = targets(all_results)
    if checks:
        print("Targets (ratios from this run):")
        print("\n".join(checks))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"argv": sys.argv, "environment": environment(),
                       "results": all_results}, out, indent=1)
    return all_results


if __name__ == "__main__":
    main()
