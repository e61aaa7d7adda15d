"""How much faster fnn.fit_seeds trains S seeds as one stacked computation than S solo fnn.fit runs.

Two cases, at one BLAS thread, each run side by side in one process (stacked, then the S solo runs, repeated
and interleaved; the machine may be shared, so the best of the repeats is compared):

- eight seeds of the default digits network (``fnn train``'s defaults: 64-64-10 ReLU, SGD lr 0.1, batch 32,
  10% validation); goal >= 3x;
- four seeds of Fashion-MNIST 784-256-128-64-10 (SGD lr 0.1, batch 32), on a slice of the training set; goal
  >= 1.2x (skipped when Debian's dataset-fashion-mnist is not installed).

- ``fnn sweep`` of eight digits seeds (its default network), stacked against ``--no-stack``.

Throughput is CPU seconds (``time.process_time``) and wall seconds per member-epoch (the load average is printed
at the start and the end); each stacked member is checked to be the bytes of its solo run.

    python scripts/bench_seeds.py [--repeats 3] [--digits-epochs 5] [--sweep-epochs 5] [--fashion-rows 12000] [--fashion-epochs 1]
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

import fnn

FASHION = "/usr/share/datasets/fashion-mnist"


def timed(function):
    """``(cpu seconds, wall seconds, result)`` of ``function()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def compare(name, spec, data, seeds, epochs, repeats, **options):
    stacked_times, solo_times, identical = [], [], True
    for _ in range(repeats):
        *seconds, states = timed(lambda: fnn.fit_seeds(spec, data, seeds=seeds, epochs=epochs, **options))
        stacked_times.append(seconds)
        solos = []
        for seed in seeds:
            *seconds, state = timed(lambda: fnn.fit(fnn.init_params(spec, seed=seed), data, epochs=epochs, seed=seed, **options))
            solo_times.append(seconds)
            solos.append(state)
        identical &= all(a.params == b.params and a.history == b.history for a, b in zip(states, solos))
    return report(name, stacked_times, solo_times, len(seeds), len(seeds) * epochs, f"bytes identical: {identical}")


def report(name, stacked_times, solo_times, count, member_epochs, note):
    """The best repeat of each side, in CPU and wall time; ``solo_times`` holds ``count`` solo runs per repeat."""
    ratios = []
    for kind, column in (("cpu", 0), ("wall", 1)):
        solo = min(sum(t[column] for t in solo_times[i : i + count]) for i in range(0, len(solo_times), count))
        stacked = min(t[column] for t in stacked_times)
        ratios.append(solo / stacked)
        print(f"{name:<44} {kind:<4} solo {solo / member_epochs * 1e3:8.2f} ms  stacked {stacked / member_epochs * 1e3:8.2f} ms"
              f"  per member-epoch  ->  {solo / stacked:5.2f}x   {note}")
    return ratios[0]


def compare_sweeps(name, base, seeds, repeats):
    """A sweep over ``seeds`` stacked (the default) against the same sweep with every run alone."""
    from fnn.run.sweep import sweep

    stacked_times, solo_times, identical = [], [], True
    for _ in range(repeats):
        *seconds, stacked = timed(lambda: sweep(base, {}, seeds, engine="sequential"))
        stacked_times.append(seconds)
        *seconds, alone = timed(lambda: sweep(base, {}, seeds, engine="sequential", stack=False))
        solo_times.append(seconds)
        identical &= [r["params_sha256"] for r in stacked.records] == [r["params_sha256"] for r in alone.records]
    return report(name, stacked_times, solo_times, 1, len(seeds) * base["epochs"], f"hashes identical: {identical}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--digits-epochs", type=int, default=5)
    parser.add_argument("--fashion-rows", type=int, default=12000, help="rows of Fashion-MNIST trained on (0: skip it)")
    parser.add_argument("--fashion-epochs", type=int, default=1)
    parser.add_argument("--sweep-epochs", type=int, default=5, help="epochs of the sweep compared stacked and alone (0: skip it)")
    args = parser.parse_args()
    print(f"fnn {fnn.__version__}, numpy {np.__version__}, 1 BLAS thread, {os.cpu_count()} cores, best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    with threadpool_limits(1):
        train, _ = fnn.data.stratified_split(fnn.data.digits(), 0.2, seed=0)
        compare("8 seeds, digits 64-64-10", fnn.network([64, 64, 10]), train, list(range(8)), args.digits_epochs,
                args.repeats, lr=0.1, batch_size=32, validation=0.1)
        if args.sweep_epochs:
            compare_sweeps("fnn sweep, 8 seeds, digits default network", {"data": "digits", "epochs": args.sweep_epochs},
                           list(range(8)), args.repeats)
        if not args.fashion_rows:
            print("Fashion-MNIST skipped (--fashion-rows 0)")
        elif os.path.isdir(FASHION):
            fashion, _ = fnn.data.load_mnist(fashion=True, lazy=False)
            rows = fnn.data.Dataset(np.asarray(fashion.features)[: args.fashion_rows], fashion.labels[: args.fashion_rows])
            compare("4 seeds, Fashion-MNIST 784-256-128-64-10", fnn.network([784, 256, 128, 64, 10]), rows, list(range(4)),
                    args.fashion_epochs, args.repeats, lr=0.1, batch_size=32)
        else:
            print(f"Fashion-MNIST skipped: {FASHION} is missing (apt-get install dataset-fashion-mnist)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
