"""The interpreter's share of a training step: CPU time per step of a tiny network, where NumPy's arithmetic is
next to nothing and what is left is Python and NumPy's per-call overhead.

A 4-4-4-4-10 ReLU/softmax network (``--sizes 784,256,128,64,10`` for Fashion-MNIST's), batch 128, float32; each
round runs one epoch of ``steps`` steps through :func:`fnn.run_epoch` (the path ``fit`` takes) per optimiser, and
the figure is the median over rounds of CPU seconds (``time.process_time``) per step, in microseconds. To compare
two trees, run it alternately with each on PYTHONPATH (the machine may be shared; CPU time and interleaving keep
others' load out of the figures):

    for i in 1 2 3; do for tree in /tmp/base $PWD; do PYTHONPATH=$tree python scripts/bench_step_python.py; done; done
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fnn
from fnn.train.loop import prepare_data, run_epoch, start_state


def per_step_us(optimizer: fnn.optim.Optimizer, steps: int, rounds: int, sizes: list[int], batch: int = 128) -> float:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((steps * batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], steps * batch)
    params = fnn.init_params(fnn.network(sizes), seed=0)
    x, y = prepare_data(params, (x, y))
    state = start_state(params, optimizer)
    times = []
    for _ in range(rounds):
        began = time.process_time()
        state, _ = run_epoch(state, x, y, optimizer, batch)
        times.append((time.process_time() - began) / steps * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="steps per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="4,4,4,4,10", help="the network's layer sizes, comma-separated")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    optimizers = {"sgd": fnn.optim.sgd(0.1), "adam": fnn.optim.adam(1e-3)}
    results: dict[str, list[float]] = {name: [] for name in optimizers}
    for _ in range(3):  # interleaved, so a burst of foreign load falls on both
        for name, optimizer in optimizers.items():
            results[name].append(per_step_us(optimizer, args.steps, args.rounds, sizes))
    print(" ".join(f"{name} {min(values):.1f} us/step" for name, values in results.items()), f"({fnn.__file__})")


if __name__ == "__main__":
    main()
