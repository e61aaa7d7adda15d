"""What per-epoch diagnostics cost: an epoch of the Fashion-MNIST benchmark network with them on and off.

Workload: 784-256-128-64-10, ReLU hidden layers, softmax cross-entropy, batch 128, float32, plain SGD (lr 0.1) and
Adam (lr 1e-3), on Fashion-MNIST's 60,000 training images (or a --subset), BLAS limited to --threads (1 by
default). Each repeat runs one epoch per (optimizer, diagnostics) pair, the four interleaved in an order that
alternates between repeats, so a machine shared with other work slows both sides alike; the time is the process's
CPU time (``time.process_time``), which another process's load changes far less than wall time. The table shows
the median per pair and the overhead of diagnostics on / off.

    python scripts/bench_diagnostics.py                     # 5 repeats on the full set (a few minutes)
    python scripts/bench_diagnostics.py --subset 6000 --repeats 3
"""

import argparse
import statistics
import time

import numpy as np
from attrs import evolve
from threadpoolctl import threadpool_limits

import fnn
from fnn.data.sources import load_train_test
from fnn.train.loop import prepare_data, run_epoch, start_state

SIZES = [784, 256, 128, 64, 10]
OPTIMIZERS = {"sgd": lambda: fnn.optim.sgd(0.1), "adam": lambda: fnn.optim.adam(1e-3)}


def epoch_seconds(params, x, y, optimizer, diagnostics, epoch):
    """CPU seconds of one epoch (number ``epoch``, so each repeat draws another shuffle) from ``params``."""
    state = evolve(start_state(params, optimizer, seed=0), epoch=epoch)
    started = time.process_time()
    _, metrics = run_epoch(state, x, y, optimizer, 128, diagnostics=diagnostics)
    seconds = time.process_time() - started
    assert ("diagnostics" in metrics) == diagnostics
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    train, _ = load_train_test("fashion-mnist")
    features, labels = np.asarray(train.features[: args.subset], np.float32), train.labels[: args.subset]
    params = fnn.init_params(fnn.network(SIZES, activation="relu"), seed=0)
    x, y = prepare_data(params, (features, labels))
    times = {(name, on): [] for name in OPTIMIZERS for on in (False, True)}
    pairs = list(times)
    with threadpool_limits(args.threads, "blas"):
        for name in OPTIMIZERS:  # warm up: first-touch pages, BLAS buffers
            epoch_seconds(params, x[:4096], y[:4096], OPTIMIZERS[name](), True, 0)
        for repeat in range(args.repeats):
            for name, on in pairs if repeat % 2 == 0 else pairs[::-1]:
                times[(name, on)].append(epoch_seconds(params, x, y, OPTIMIZERS[name](), on, repeat))
    print(f"diagnostics cost: {len(x)} images, 784-256-128-64-10 relu, batch 128, {args.threads} BLAS thread(s), "
          f"{args.repeats} interleaved repeats, CPU seconds per epoch (median)")
    print(f"{'optimizer':<10}{'off':>9}{'on':>9}{'overhead':>10}{'paired':>9}   (paired: median of on/off within a repeat)")
    for name in OPTIMIZERS:
        off, on = times[(name, False)], times[(name, True)]
        paired = statistics.median(b / a for a, b in zip(off, on)) - 1
        print(f"{name:<10}{statistics.median(off):>9.3f}{statistics.median(on):>9.3f}"
              f"{statistics.median(on) / statistics.median(off) - 1:>+10.1%}{paired:>+9.1%}")


if __name__ == "__main__":
    main()
