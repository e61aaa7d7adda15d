"""How much faster a sweep runs on a Dask LocalCluster than one run after another, on this machine.

Runs the same 12-run grid (bundled digits, [64, 256, 128, 10] net, 30 epochs) three ways: sequentially in one
process at 1 BLAS thread, sequentially at the machine's default thread count, and on a LocalCluster of one
single-threaded worker per core; checks that the Dask runs' parameter hashes equal the 1-thread sequential ones.

    python scripts/bench_sweep.py [--epochs 30]
"""

import argparse
import json
import os
import subprocess
import sys
import time

BASE = {"data": "digits", "hidden": [256, 128], "batch_size": 32}
GRID = {"lr": [0.1, 0.05], "activation": ["relu", "tanh"]}
SEEDS = [0, 1, 2]


def sequential(epochs, threads):
    env = dict(os.environ)
    if threads:
        env.update({"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    code = (
        "import json, time, fnn.run.sweep as s; t = time.perf_counter(); "
        f"r = s.sweep({dict(BASE, epochs=epochs)!r}, {GRID!r}, {SEEDS!r}, engine='sequential'); "
        "print(json.dumps({'seconds': time.perf_counter() - t, 'hashes': {x['run_id']: x['params_sha256'] for x in r.records}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    from fnn.run.sweep import sweep

    one_thread = sequential(args.epochs, 1)
    default_threads = sequential(args.epochs, None)
    started = time.perf_counter()
    result = sweep(dict(BASE, epochs=args.epochs), GRID, SEEDS)
    dask_seconds = time.perf_counter() - started
    identical = {r["run_id"]: r["params_sha256"] for r in result.records} == one_thread["hashes"]
    print(f"12 runs, {args.epochs} epochs each, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print(f"sequential, 1 BLAS thread       {one_thread['seconds']:7.2f} s")
    print(f"sequential, default threads     {default_threads['seconds']:7.2f} s")
    print(f"{result.engine:<31} {dask_seconds:7.2f} s  (cluster start-up included)")
    print(f"speed-up over sequential 1-thread: {one_thread['seconds'] / dask_seconds:.2f}x; "
          f"over default threads: {default_threads['seconds'] / dask_seconds:.2f}x")
    print(f"parameter hashes equal to the 1-thread sequential runs: {identical}")


if __name__ == "__main__":
    main()
