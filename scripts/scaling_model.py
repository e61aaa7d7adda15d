"""Predict fnn's epoch time on 1-16 cores from per-shape measurements on this machine, two ways of using the cores.

(a) fnn today: every matrix product on multi-threaded OpenBLAS, everything else (elementwise passes, the batch
    gather, the optimiser update, Python) on one core. A product with output ``m x n`` and inner dimension ``k``
    runs on ``q = min(cores, m*n*k // 262144)`` threads (at least 1; OpenBLAS's rule in ``interface/gemm.c``), each
    computing ``m/q`` output rows, which is timed here at one thread; on top comes a hand-off cost per extra
    thread, fitted from the 2-thread measurement (the products' 2-thread time minus their ``rows/2`` time) and
    assumed to grow linearly with the threads (OpenBLAS's server hands work to its threads one after another).
    The rest does not shrink: Amdahl's serial part.
(b) data parallel: each of ``p`` workers takes ``128/p`` rows of the batch through the whole step at one BLAS
    thread (timed here at that shard size), so products and per-row elementwise work both shrink; what does not:
    the Python that drives each worker's step (with Python threads it holds the lock, so ``p`` workers need ``p``
    times one worker's share), the sum of the ``p`` gradient vectors (a tree: ``log2 p`` passes over the 242,762
    parameters) and the parameter-sized optimiser work (split ``p`` ways). It leaves out the cost of handing work
    between threads, so it is a lower bound: a two-thread prototype of one step with 1-thread BLAS and a helper
    Python thread (column halves of the forward products, the weight gradient beside the input gradient) measured
    1,800-2,200 us a step against 1,360-1,590 us for the plain one-thread step, and the issue's 64-row shards on two
    Python threads were slower than two-thread BLAS.

The serial part of (a) is measured, not assumed: fnn's own step at one thread (CPU time, random data of the same
shapes) minus its products; it is split for (b) into Python overhead (the step of a same-depth network 8 units
wide), the parameter-sized update and the rest, which scales with the batch rows.

    python scripts/scaling_model.py             # measure here (about a minute) and print the prediction
    python scripts/scaling_model.py --quick     # fewer rounds and steps (a smoke run)
"""

import argparse
import math
import statistics
import time

import bench_shapes
import numpy as np

CORES = (1, 2, 4, 8, 16)
THREAD_WORK = 65536 * 4  # OpenBLAS: SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD multiply-adds per thread


def blas_threads(m, k, n, cores):
    """How many threads OpenBLAS gives an ``m x k`` by ``k x n`` product on ``cores`` cores."""
    return max(1, min(cores, (m * k * n) // THREAD_WORK))


def fnn_step_seconds(sizes, optimizer, steps, rounds, seed=0):
    """fnn's training step at one BLAS thread: median CPU seconds per step over ``rounds`` epochs of ``steps``."""
    from threadpoolctl import threadpool_limits

    import fnn

    rng = np.random.default_rng(seed)
    x = rng.random((steps * 128, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], steps * 128)
    params = fnn.init_params(fnn.network(list(sizes), activation="relu", init="he_uniform"), seed=seed)
    opt = fnn.optim.sgd(0.01) if optimizer == "sgd" else fnn.optim.adam(1e-3)
    times = []
    with threadpool_limits(limits=1):
        epochs = fnn.iterate_epochs(params, (x, y), optimizer=opt, batch_size=128, seed=seed)
        next(epochs)  # warm-up
        for _ in range(rounds):
            start = time.process_time()
            next(epochs)
            times.append((time.process_time() - start) / steps)
    return statistics.median(times)


def vector_pass_seconds(size, rounds=50):
    """One in-place add over ``size`` float32 values (a gradient sum or SGD's update): fastest of ``rounds``."""
    a, b = np.ones(size, np.float32), np.ones(size, np.float32)
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        np.add(a, b, out=a)
        best = min(best, time.process_time() - start)
    return best


def measure_inputs(sizes=bench_shapes.SIZES, rounds=7, steps=200):
    """Everything the model needs, measured here: per-shape product times and the step's non-product parts."""
    sizes = tuple(sizes)
    times = bench_shapes.summary(bench_shapes.measure((1, 2), sizes, rounds=rounds))
    products = {name: (m, k, n, kind) for name, m, k, n, kind in bench_shapes.step_products(sizes)}
    n_params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
    tiny = (8,) * (len(sizes) - 1) + (sizes[-1],)
    fit_rounds = max(1, rounds // 2)
    return {
        "sizes": sizes,
        "products": products,
        "times": {f"{t}|{name}": v for (t, name), v in times.items()},
        "step_sgd": fnn_step_seconds(sizes, "sgd", steps, fit_rounds),
        "step_adam": fnn_step_seconds(sizes, "adam", steps, fit_rounds),
        "python": fnn_step_seconds(tiny, "sgd", steps, fit_rounds),
        "vector_pass": vector_pass_seconds(n_params),
        "n_params": n_params,
    }


def _time(inputs, threads, name):
    return inputs["times"][f"{threads}|{name}"][0]  # the minimum over rounds


def parts(inputs):
    """The per-step pieces, in seconds: products at one thread, and the non-product part of fnn's step (SGD and
    Adam) split into Python, parameter-sized and row-sized work."""
    products_1 = sum(_time(inputs, 1, name) for name in inputs["products"])
    products_2 = sum(_time(inputs, 2, name) for name in inputs["products"])
    serial_sgd = max(0.0, inputs["step_sgd"] - products_1)
    serial_adam = max(0.0, inputs["step_adam"] - products_1)
    python = min(inputs["python"], serial_sgd)
    params_sgd = inputs["vector_pass"]
    rows = max(0.0, serial_sgd - python - params_sgd)
    handoff = []
    for name, (m, k, n, _) in inputs["products"].items():
        if blas_threads(m, k, n, 2) == 2:
            handoff.append(_time(inputs, 2, name) - _time(inputs, 1, f"{name} rows/2"))
    return {
        "products_1": products_1,
        "products_2": products_2,
        "serial_sgd": serial_sgd,
        "serial_adam": serial_adam,
        "python": python,
        "params_sgd": params_sgd,
        "params_adam": params_sgd + serial_adam - serial_sgd,
        "rows": rows,
        "handoff": max(0.0, statistics.median(handoff)) if handoff else 0.0,
    }


def _shard_time(inputs, name, how, cores):
    if cores == 1:
        return _time(inputs, 1, name)
    key = f"1|{name} {how}/{cores}"
    if key not in inputs["times"]:
        raise ValueError(f"no {how}/{cores} measurement for {name}")
    return inputs["times"][key][0]


def blas_threaded_step(inputs, cores, optimizer="sgd"):
    """(a): seconds per step with ``cores`` OpenBLAS threads and the rest on one core."""
    p = parts(inputs)
    products = 0.0
    for name, (m, k, n, _) in inputs["products"].items():
        q = blas_threads(m, k, n, cores)
        products += _shard_time(inputs, name, "rows", q) + p["handoff"] * (q - 1)
    return products + p[f"serial_{optimizer}"]


def data_parallel_step(inputs, cores, optimizer="sgd"):
    """(b): seconds per step with ``cores`` workers on 128/cores rows each, one BLAS thread each."""
    p = parts(inputs)
    products = sum(_shard_time(inputs, name, "batch", cores) for name in inputs["products"])
    worker = products + p["rows"] / cores + p["python"]
    gil = p["python"] * cores  # Python threads: every worker's Python holds the one interpreter lock
    reduce = 0.0 if cores == 1 else math.ceil(math.log2(cores)) * p["params_sgd"]
    return max(worker, gil) + reduce + p[f"params_{optimizer}"] / cores


def stops_scaling(times, cores=CORES, gain=0.05):
    """The last core count that still bought at least ``gain`` (5%) over the one before."""
    last = cores[0]
    for previous, current in zip(cores, cores[1:]):
        if times[current] > (1 - gain) * times[previous]:
            break
        last = current
    return last


def prediction_rows(inputs, steps_per_epoch, cores=CORES):
    """``{(method, optimizer): {cores: seconds per epoch}}``."""
    rows = {}
    for optimizer in ("sgd", "adam"):
        rows[("BLAS threads (fnn today)", optimizer)] = {c: blas_threaded_step(inputs, c, optimizer) * steps_per_epoch for c in cores}
        rows[("data parallel", optimizer)] = {c: data_parallel_step(inputs, c, optimizer) * steps_per_epoch for c in cores}
    return rows


def print_prediction(inputs, steps_per_epoch, measured=None, cores=CORES, out=print):
    """The prediction table; ``measured`` ``{(optimizer, cores): seconds}`` from this machine is printed beside."""
    p = parts(inputs)
    out(f"per step at 1 thread (us): products {p['products_1'] * 1e6:.0f} (2 threads: {p['products_2'] * 1e6:.0f}); "
        f"not products, SGD {p['serial_sgd'] * 1e6:.0f} = Python {p['python'] * 1e6:.0f} + update {p['params_sgd'] * 1e6:.0f} "
        f"+ per-row elementwise and gather {p['rows'] * 1e6:.0f}; Adam {p['serial_adam'] * 1e6:.0f}; "
        f"BLAS hand-off per extra thread {p['handoff'] * 1e6:.1f}")
    out(f"{'method':<26} {'opt':<5} " + " ".join(f"{f'{c} cores':>9}" for c in cores) + f" {'stops at':>9} {'Amdahl limit':>13}")
    for (method, optimizer), row in prediction_rows(inputs, steps_per_epoch, cores).items():
        serial = p[f"serial_{optimizer}"] * steps_per_epoch
        limit = f"{serial:.3f} s" if method.startswith("BLAS") else f"{p['python'] * steps_per_epoch:.3f} s x p"
        out(f"{method:<26} {optimizer:<5} " + " ".join(f"{row[c]:9.3f}" for c in cores) +
            f" {stops_scaling(row, cores):>5} cor {limit:>13}")
    out("note: the data-parallel rows leave out thread hand-offs (a lower bound); BLAS threads assume a hand-off cost linear in "
        "the threads")
    if measured:
        for optimizer in ("sgd", "adam"):
            cells = [f"{measured[(optimizer, c)]:9.3f}" if (optimizer, c) in measured else f"{'':>9}" for c in cores]
            out(f"{'measured here (fnn, wall)':<26} {optimizer:<5} " + " ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and steps: a smoke run")
    parser.add_argument("--n-train", type=int, default=60000, help="samples per epoch (default: Fashion-MNIST's)")
    args = parser.parse_args()
    inputs = measure_inputs(rounds=1 if args.quick else 7, steps=10 if args.quick else 200)
    steps = -(-args.n_train // 128)
    print(f"predicted seconds per epoch, {'-'.join(map(str, inputs['sizes']))}, batch 128, {args.n_train} samples "
          f"({steps} steps); inputs measured on this machine (1 thread: CPU time; 2 threads: wall time, fastest round)")
    print_prediction(inputs, steps)


if __name__ == "__main__":
    main()
