"""Whether a training step pays for its fresh arrays: page faults per step, and products into new arrays against
products into reused ones.

A step allocates new arrays (the gradient vector that becomes the new parameters, the optimiser's new moments, the
forward pass's activations): about 1 MB each for Fashion-MNIST's 784-256-128-64-10. Were they mmap'd afresh
every step, each would be zero-faulted page by page, and reusing scratch buffers would pay. This prints, per
epoch of :func:`fnn.run_epoch` (one BLAS thread, batch 128), the CPU time per step and the minor page faults per
step (``getrusage``); then the step's four forward products timed into new arrays and into reused ones
(``np.matmul(..., out=)``), interleaved, best of the rounds.

    python scripts/bench_step_memory.py [--rows 20000] [--epochs 3] [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from threadpoolctl import threadpool_limits

import fnn
from fnn.train.loop import prepare_data, run_epoch, start_state

SIZES = [784, 256, 128, 64, 10]
BATCH = 128


def data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's first ``rows`` images where installed, else random rows of its shape."""
    try:
        train, _ = fnn.data.load_mnist(fashion=True, lazy=False)
        return np.asarray(train.features)[:rows], train.labels[:rows]
    except (fnn.FnnInputError, OSError):
        rng = np.random.default_rng(0)
        return rng.random((rows, SIZES[0]), np.float32), rng.integers(0, SIZES[-1], rows)


def epochs(rows: int, count: int) -> None:
    x, y = data(rows)
    steps = -(-len(y) // BATCH)
    for name, optimizer in (("sgd", fnn.optim.sgd(0.1)), ("adam", fnn.optim.adam(1e-3))):
        params = fnn.init_params(fnn.network(SIZES, activation="relu", init="he_uniform"), seed=0)
        px, py = prepare_data(params, (x, y))
        state = start_state(params, optimizer)
        for epoch in range(1, count + 1):
            faults, cpu = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.process_time()
            state, _ = run_epoch(state, px, py, optimizer, BATCH)
            cpu, faults = time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
            print(f"{name:<5} epoch {epoch}: {cpu / steps * 1e6:7.0f} us/step CPU, {faults / steps:6.2f} minor page faults/step")


def products(rounds: int) -> None:
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((BATCH, k)).astype(np.float32) for k in SIZES[:-1]]
    weights = [rng.standard_normal((k, m)).astype(np.float32) for k, m in zip(SIZES[:-1], SIZES[1:])]
    outs = [np.empty((BATCH, m), np.float32) for m in SIZES[1:]]

    def fresh() -> None:
        for a, w in zip(inputs, weights):
            a @ w

    def reused() -> None:
        for a, w, out in zip(inputs, weights, outs):
            np.matmul(a, w, out=out)

    best = {"new arrays": float("inf"), "reused (out=)": float("inf")}
    for _ in range(rounds):
        for name, run in zip(best, (fresh, reused)):
            began = time.process_time()
            for _ in range(100):
                run()
            best[name] = min(best[name], (time.process_time() - began) / 100 * 1e6)
    print("the forward products of one step: " + ", ".join(f"{name} {us:.0f} us" for name, us in best.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"1 BLAS thread, batch {BATCH}, {'-'.join(map(str, SIZES))}; load average {os.getloadavg()[0]:.2f}")
    with threadpool_limits(1):
        epochs(args.rows, args.epochs)
        products(args.rounds)


if __name__ == "__main__":
    main()
