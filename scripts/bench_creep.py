"""Does an epoch get slower as training goes on? CPU seconds of every epoch of a long run, with the subnormal moments.

Workload: the benchmark's 784-256-128-64-10 ReLU/softmax network on Fashion-MNIST (or a --subset), batch 128,
float32, one BLAS thread, each optimiser for --epochs epochs. A moment whose gradient stays zero (a dead unit, a
blank pixel) decays into the subnormal range, where division and square root are slow; fnn sets such entries to
zero every ``fnn.optim.base.FLUSH_EVERY`` updates. ``--compare`` also runs each optimiser with the flush switched
off (the arithmetic as it was), in its own process, interleaved with the flushing run, to show what it saves.
Each line is one epoch: CPU seconds (``time.process_time``, which another process's load changes far less than
wall time) and how many moment entries are subnormal after it; the last line per run is epoch N over epoch 2.

    python scripts/bench_creep.py --epochs 20                      # Adam, 20 epochs (about 20 s a run)
    python scripts/bench_creep.py --epochs 8 --optimizers adam,rmsprop,momentum --compare
"""

import argparse
import json
import os
import subprocess
import sys
import time

from fnn.optim.base import FLUSH_EVERY

SIZES = [784, 256, 128, 64, 10]
RATES = {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3, "adamw": 1e-3}


def worker(optimizer, epochs, subset, flush):
    import numpy as np
    from threadpoolctl import threadpool_limits

    import fnn
    import fnn.optim.base

    if not flush:
        fnn.optim.base.FLUSH_EVERY = 2**62  # never: the arithmetic before the flush
    threadpool_limits(1)
    train, _ = fnn.data.load_mnist(fashion=True, lazy=False)
    n = subset or len(train)
    x, y = train.features[:n], train.labels[:n]
    params = fnn.init_params(fnn.network(SIZES, activation="relu", init="he_uniform"), seed=0)
    opt = fnn.optim.get_optimizer(optimizer, lr=RATES[optimizer])
    rows, started = [], time.process_time()
    for state in fnn.iterate_epochs(params, (x, y), optimizer=opt, batch_size=128, seed=0):
        seconds = time.process_time() - started
        moments = [a for f in type(state.opt_state).__attrs_attrs__[1:] for a in getattr(state.opt_state, f.name).arrays()]
        subnormal = sum(int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny))) for a in moments)
        rows.append({"seconds": seconds, "subnormal": subnormal, "load": os.getloadavg()[0]})
        if len(rows) == epochs:
            break
        started = time.process_time()
    print(json.dumps(rows))


def spawn(optimizer, args, flush):
    command = [sys.executable, __file__, "--worker", optimizer, "--epochs", str(args.epochs)]
    command += (["--subset", str(args.subset)] if args.subset else []) + ([] if flush else ["--no-flush"])
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return json.loads(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--no-flush", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--optimizers", default="adam", help="comma-separated, from: " + ", ".join(RATES))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--compare", action="store_true", help="also run each optimiser without the flush")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.epochs, args.subset, not args.no_flush)
    variants = [True, False] if args.compare else [True]
    for optimizer in args.optimizers.split(","):
        runs = {flush: spawn(optimizer, args, flush) for flush in variants}
        for flush, rows in runs.items():
            label = f"{optimizer} ({f'flush every {FLUSH_EVERY} updates' if flush else 'no flush'})"
            print(f"== {label}: epoch, CPU s, subnormal moment entries, load")
            for epoch, row in enumerate(rows, start=1):
                print(f"{epoch:5d} {row['seconds']:8.3f} {row['subnormal']:10d} {row['load']:6.2f}")
            if len(rows) >= 2:
                print(f"epoch {len(rows)} / epoch 2: {rows[-1]['seconds'] / rows[1]['seconds']:.3f}")


if __name__ == "__main__":
    main()
