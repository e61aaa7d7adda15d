"""Time each matrix product of one training step, per shape and BLAS thread count, and print one table.

The products of a dense network's step at batch B (float32, the memory layouts fnn's step uses, see
``fnn/core/network.py``): for every layer ``i -> o`` the forward product ``a @ w`` (B x i by i x o), the weight
gradient ``a.T @ delta`` (i x B by B x o, ``a`` C-contiguous so BLAS reads it transposed) and, past the first
layer, the input gradient ``delta @ w.T`` (B x o by o x i). Besides the step's own shapes it times, at one thread,
the pieces a parallel step would hand each of ``p`` cores (used by ``scripts/scaling_model.py``):

- ``rows/p``: a product with its output rows split ``p`` ways, what one of ``p`` OpenBLAS threads computes;
- ``batch/p``: the product of a ``B/p``-row shard (forward and input gradient: B/p rows; weight gradient: inner
  dimension B/p), what one of ``p`` data-parallel workers computes.

Timing: rounds are interleaved (every shape at every thread count in each round); a round times each of a block of
calls and keeps the fastest. One thread is timed in process CPU time (``time.process_time``: what the core spent,
steady on a loaded machine), more threads in wall time (``time.perf_counter``, the only clock that shows their
waiting for each other); the table gives the minimum and the median over rounds.

    python scripts/bench_shapes.py                         # 1 and 2 threads, 784-256-128-64-10, batch 128
    python scripts/bench_shapes.py --threads 1 --rounds 3 --json shapes.json
"""

import argparse
import json
import statistics
import time

import numpy as np

SIZES = (784, 256, 128, 64, 10)
BATCH = 128


def step_products(sizes=SIZES, batch=BATCH):
    """``[(name, m, k, n, kind)]``: every product of one training step, output ``m x n``, inner dimension ``k``."""
    out = []
    for layer, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        out.append((f"L{layer} forward", batch, i, o, "forward"))
        if layer:
            out.append((f"L{layer} input grad", batch, o, i, "input_grad"))
        out.append((f"L{layer} weight grad", i, batch, o, "weight_grad"))
    return out


def operands(m, k, n, kind, rng):
    """``(a, b, out)`` with the layouts of fnn's step: weight gradients read ``a`` transposed, input gradients
    read the weights transposed; the output is C-contiguous."""
    if kind == "weight_grad":  # a.T @ delta, a is B x i C-contiguous
        a = rng.standard_normal((k, m), dtype=np.float32).T
        b = rng.standard_normal((k, n), dtype=np.float32)
    elif kind == "input_grad":  # delta @ w.T, w is i x o C-contiguous
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k), dtype=np.float32).T
    else:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
    return a, b, np.empty((m, n), np.float32)


def shard(m, k, n, kind, parts, how):
    """The ``(m, k, n)`` one of ``parts`` cores computes: ``how="rows"`` splits the output rows (a BLAS thread),
    ``how="batch"`` the batch (a data-parallel worker: the weight gradient's inner dimension)."""
    if how == "batch" and kind == "weight_grad":
        return m, -(-k // parts), n
    return -(-m // parts), k, n


def block_time(call, calls, clock):
    """The fastest of ``calls`` timed calls: on a machine shared with other work, the one least disturbed."""
    best = float("inf")
    for _ in range(calls):
        start = clock()
        call()
        best = min(best, clock() - start)
    return best


def calls_for(flops):
    """Enough calls per block for about 2 ms of work at 50 GFLOP/s, 5 to 50."""
    return min(50, max(5, int(2e-3 * 50e9 / max(flops, 1))))


def measure(thread_counts=(1, 2), sizes=SIZES, batch=BATCH, rounds=7, parts=(2, 4, 8, 16), seed=0):
    """Per-call seconds ``{(threads, name): [per round]}`` of the step's products, and at one thread of their
    ``rows/p`` and ``batch/p`` pieces (names ``"<name> rows/p"``, ``"<name> batch/p"``)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    jobs = []  # (threads, name, call, calls)
    for name, m, k, n, kind in step_products(sizes, batch):
        a, b, out = operands(m, k, n, kind, rng)
        for threads in thread_counts:
            jobs.append((threads, name, (lambda a=a, b=b, out=out: np.matmul(a, b, out=out)), calls_for(2 * m * k * n)))
        for how in ("rows", "batch"):
            for p in parts:
                sm, sk, sn = shard(m, k, n, kind, p, how)
                a2, b2, out2 = operands(sm, sk, sn, kind, rng)
                jobs.append((1, f"{name} {how}/{p}", (lambda a=a2, b=b2, out=out2: np.matmul(a, b, out=out)),
                             calls_for(2 * sm * sk * sn)))
    times = {}
    for _ in range(rounds):
        for threads in sorted(set(j[0] for j in jobs)):
            with threadpool_limits(limits=threads):
                clock = time.process_time if threads == 1 else time.perf_counter
                for t, name, call, calls in jobs:
                    if t == threads:
                        call()  # warm the operands into cache, as in a step
                        times.setdefault((threads, name), []).append(block_time(call, calls, clock))
    return times


def summary(times):
    """``{(threads, name): (min, median)}`` seconds per call."""
    return {key: (min(values), statistics.median(values)) for key, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="BLAS thread counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (min and median over them)")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--json", metavar="FILE", help="also write the per-round times to FILE")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    stats = summary(measure(thread_counts, batch=args.batch, rounds=args.rounds))
    print(f"float32 products of one step, {'-'.join(map(str, SIZES))}, batch {args.batch}; us per call, "
          f"min / median of {args.rounds} interleaved rounds (1 thread: CPU time, more: wall time)")
    header = f"{'product':<16} {'m x k x n':>14} " + " ".join(f"{f'{t} thr':>15}" for t in thread_counts)
    print(header + f" {'GFLOP/s 1 thr':>13}")
    totals = {t: [0.0, 0.0] for t in thread_counts}
    for name, m, k, n, _ in step_products(batch=args.batch):
        cells = []
        for t in thread_counts:
            low, mid = stats[(t, name)]
            totals[t][0] += low
            totals[t][1] += mid
            cells.append(f"{low * 1e6:7.1f}/{mid * 1e6:7.1f}")
        print(f"{name:<16} {f'{m}x{k}x{n}':>14} " + " ".join(cells) + f" {2 * m * k * n / stats[(1, name)][0] / 1e9:13.1f}")
    print(f"{'step total':<16} {'':>14} " + " ".join(f"{totals[t][0] * 1e6:7.1f}/{totals[t][1] * 1e6:7.1f}" for t in thread_counts))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({f"{t}|{name}": stats[(t, name)] for (t, name) in stats}, handle, indent=1)


if __name__ == "__main__":
    main()
