"""Train one network on Fashion-MNIST in fnn and in its peers, side by side, and print one table.

Workload (the same for every system): 784-256-128-64-10, ReLU hidden layers, softmax cross-entropy, batch 128,
reshuffled every epoch, float32, plain SGD (lr 0.1) and Adam (lr 1e-3), 10 epochs. Systems: fnn; a plain mutable
NumPy loop written here (in-place updates, batch-major: the best a careful tutorial author would write); PyTorch
eager; scikit-learn's MLPClassifier (alpha=0, same batch size and solver); JAX with a jit-compiled step and optax.
A peer that is not installed is reported as skipped.

Every run is its own subprocess, pinned to N cores with the BLAS thread count fixed to N (threadpoolctl) and
reported, so peak RSS is per system; the runs are interleaved (system after system, for each optimiser and thread
count) and the whole round is repeated ``--repeats`` times (default 3), so a slow spell of a shared machine falls on
every system alike. Each run's epoch time is the median of its epochs 2-4; the table gives the median over the
repeats with their range, and the process CPU time beside the wall time. A peer installed in another environment
runs there (``--peer-python jax=/tmp/jaxvenv/bin/python``). The script also times each matrix product of the step
per shape and thread count (``scripts/bench_shapes.py``): "x products" is an epoch's time over that of its
products alone; and it prints the scaling model's prediction of fnn's epoch on 1-16 cores beside what it measured
(``scripts/scaling_model.py``), and fnn's scaling in samples and width.

    python scripts/bench_vs_peers.py --peer-python jax=/tmp/jaxvenv/bin/python    # the full run (about 30 minutes)
    python scripts/bench_vs_peers.py --epochs 4 --no-scaling                       # the per-thread tables only
    python scripts/bench_vs_peers.py --subset 2000 --epochs 2 --threads 1 --repeats 1 --no-scaling --no-model  # smoke
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

SIZES = [784, 256, 128, 64, 10]
SYSTEMS = ["fnn", "numpy", "torch", "sklearn", "jax"]
LEARNING_RATES = {"sgd": 0.1, "adam": 1e-3}


# ----------------------------------------------------------------------------------------------- worker side


def pin(threads):
    """Pin this process to ``threads`` cores and every BLAS/OpenMP pool to ``threads`` threads."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} intra_op_parallelism_threads={threads}"
    try:
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
    except (AttributeError, OSError):
        pass


def blas_report(threads):
    import numpy  # noqa: F401  (load the BLAS first, so threadpoolctl sees and limits it)

    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ModuleNotFoundError:
        return None, "threadpoolctl not installed"
    limiter = threadpool_limits(limits=threads)
    info = [f"{p.get('internal_api')} {p.get('version')} {p.get('num_threads')} thr ({p.get('architecture', '?')})" for p in threadpool_info()]
    return limiter, "; ".join(info)


def load_data(subset, hidden_scale=1.0):

    import fnn

    train, test = fnn.data.load_mnist(fashion=True, lazy=False)  # float32 rows, streamed from the .gz files
    n = subset or len(train)
    return train.features[:n], train.labels[:n], test.features, test.labels


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class EpochClock:
    """Wall and process CPU seconds of each epoch, and the peak RSS after it. CPU time counts every thread of the
    process, so at one thread it is the work done, steady when other programs share the machine."""

    def __init__(self):
        self.wall, self.cpu, self.rss = [], [], []
        self.start()

    def start(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self):
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)
        self.rss.append(peak_rss_mib())


def run_fnn(data, optimizer, epochs, seed, sizes):
    import fnn

    x, y, x_test, y_test = data
    params = fnn.init_params(fnn.network(sizes, activation="relu", init="he_uniform"), seed=seed)
    opt = fnn.optim.sgd(LEARNING_RATES["sgd"]) if optimizer == "sgd" else fnn.optim.adam(LEARNING_RATES["adam"])
    clock = EpochClock()
    for state in fnn.iterate_epochs(params, (x, y), optimizer=opt, batch_size=128, seed=seed):
        clock.stop()
        if len(clock.wall) == epochs:
            break
        clock.start()
    return clock, fnn.accuracy(state.params, x_test, y_test)


def run_numpy(data, optimizer, epochs, seed, sizes):
    """The mutable reference: what a careful tutorial author writes, updating arrays in place."""
    import numpy as np

    x, y, x_test, y_test = data
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-np.sqrt(6 / i), np.sqrt(6 / i), (i, o)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(o, np.float32) for o in sizes[1:]]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in weights + biases]
    lr, b1, b2, eps, t = LEARNING_RATES[optimizer], 0.9, 0.999, 1e-8, 0
    clock = EpochClock()
    for epoch in range(epochs):
        clock.start()
        order = rng.permutation(len(x))
        for first in range(0, len(x), 128):
            index = order[first : first + 128]
            xb, yb = x[index], y[index]
            activations = [xb]
            for w, b in zip(weights[:-1], biases[:-1]):
                h = activations[-1] @ w
                h += b
                np.maximum(h, 0, out=h)
                activations.append(h)
            logits = activations[-1] @ weights[-1]
            logits += biases[-1]
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            logits /= logits.sum(axis=1, keepdims=True)
            delta = logits
            delta[np.arange(len(yb)), yb] -= 1
            delta /= len(yb)
            grads_w, grads_b = [None] * len(weights), [None] * len(weights)
            for layer in range(len(weights) - 1, -1, -1):
                grads_w[layer] = activations[layer].T @ delta
                grads_b[layer] = delta.sum(axis=0)
                if layer:
                    delta = delta @ weights[layer].T
                    delta *= activations[layer] > 0
            t += 1
            for param, grad, moment in zip(weights + biases, grads_w + grads_b, moments):
                if optimizer == "sgd":
                    grad *= lr
                    param -= grad
                else:
                    m, v = moment
                    m *= b1
                    m += (1 - b1) * grad
                    v *= b2
                    v += (1 - b2) * grad * grad
                    step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
                    param -= step * m / (np.sqrt(v) + eps)
        clock.stop()
    hidden = x_test
    for w, b in zip(weights[:-1], biases[:-1]):
        hidden = np.maximum(hidden @ w + b, 0)
    accuracy = float(np.mean((hidden @ weights[-1] + biases[-1]).argmax(axis=1) == y_test))
    return clock, accuracy


def run_torch(data, optimizer, epochs, seed, sizes):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(seed)
    x, y, x_test, y_test = (torch.from_numpy(a) for a in data)
    layers = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    lr = LEARNING_RATES[optimizer]
    opt = torch.optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd" else torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    clock = EpochClock()
    for epoch in range(epochs):
        clock.start()
        order = torch.randperm(len(x), generator=generator)
        for first in range(0, len(x), 128):
            index = order[first : first + 128]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            opt.step()
        clock.stop()
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(dim=1) == y_test).float().mean())
    return clock, accuracy


def run_sklearn(data, optimizer, epochs, seed, sizes):
    import warnings

    import numpy as np
    from sklearn.neural_network import MLPClassifier

    x, y, x_test, y_test = data
    model = MLPClassifier(
        hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver=optimizer, alpha=0.0, batch_size=128,
        learning_rate_init=LEARNING_RATES[optimizer], momentum=0.0, nesterovs_momentum=False, shuffle=True,
        random_state=seed,
    )
    classes = np.arange(sizes[-1])
    clock = EpochClock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(epochs):
            clock.start()
            model.partial_fit(x, y, classes=classes)  # one epoch, reshuffled
            clock.stop()
    return clock, float(model.score(x_test, y_test))


def run_jax(data, optimizer, epochs, seed, sizes):
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    x, y, x_test, y_test = data
    key = jax.random.PRNGKey(seed)
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        limit = np.sqrt(6 / i)
        params.append((jax.random.uniform(sub, (i, o), jnp.float32, -limit, limit), jnp.zeros(o, jnp.float32)))
    tx = optax.sgd(LEARNING_RATES["sgd"]) if optimizer == "sgd" else optax.adam(LEARNING_RATES["adam"])
    opt_state = tx.init(params)
    x_dev, y_dev = jnp.asarray(x), jnp.asarray(y)

    def logits(params, xb):
        for w, b in params[:-1]:
            xb = jax.nn.relu(xb @ w + b)
        w, b = params[-1]
        return xb @ w + b

    def loss(params, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(logits(params, xb), yb).mean()

    @jax.jit
    def step(params, opt_state, index):
        grads = jax.grad(loss)(params, x_dev[index], y_dev[index])
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    rng = np.random.default_rng(seed)
    clock = EpochClock()
    for epoch in range(epochs):
        clock.start()
        order = rng.permutation(len(x))
        for first in range(0, len(x), 128):
            params, opt_state = step(params, opt_state, jnp.asarray(order[first : first + 128]))
        jax.block_until_ready(params)
        clock.stop()
    accuracy = float(jnp.mean(logits(params, jnp.asarray(x_test)).argmax(axis=1) == jnp.asarray(y_test)))
    return clock, accuracy


RUNNERS = {"fnn": run_fnn, "numpy": run_numpy, "torch": run_torch, "sklearn": run_sklearn, "jax": run_jax}
MODULES = {"torch": "torch", "sklearn": "sklearn", "jax": "optax"}


def gemm_limits(threads, sizes, n_train, rounds=5):
    """The products alone: every matrix product of an epoch's steps at the speed measured for its shape (fastest
    of ``rounds`` interleaved rounds, see ``scripts/bench_shapes.py``), and the GFLOP/s of a large square product."""
    import bench_shapes
    import numpy as np

    times = bench_shapes.summary(bench_shapes.measure((threads,), sizes, rounds=rounds, parts=()))
    products = bench_shapes.step_products(sizes)
    step_seconds = sum(times[(threads, name)][0] for name, *_ in products)
    step_flops = sum(2 * m * k * n for _, m, k, n, _ in products)
    big = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    big @ big
    start = time.perf_counter()
    for _ in range(3):
        big @ big
    square = 3 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9
    return {
        "threads": threads,
        "network_gemm_gflops": step_flops / step_seconds / 1e9,
        "square_2048_gflops": square,
        "train_gflop_per_epoch": step_flops * n_train / 128 / 1e9,
        "gemm_bound_epoch_seconds": step_seconds * n_train / 128,
        "steps_per_epoch": -(-n_train // 128),
    }


def worker(args):
    if args.pin:
        pin(args.threads)
    else:  # a run for accuracy only, beside another one: BLAS threads fixed, cores left to the OS
        os.environ.update({name: str(args.threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    limiter, blas = blas_report(args.threads)
    sizes = [SIZES[0]] + [max(1, int(h * args.width)) for h in SIZES[1:-1]] + [SIZES[-1]]
    args.system = args.worker
    if args.system == "model":  # the scaling model's inputs (random data of the same shapes)
        import scaling_model

        limiter.restore_original_limits()
        result = {"inputs": scaling_model.measure_inputs(sizes, rounds=7, steps=200)}
        result["inputs"]["products"] = {k: list(v) for k, v in result["inputs"]["products"].items()}
        n_train = args.subset or 60000
    else:
        data = load_data(args.subset)
        n_train = len(data[0])
        if args.system == "gemm":
            result = gemm_limits(args.threads, sizes, n_train)
        else:
            clock, accuracy = RUNNERS[args.system](data, args.optimizer, args.epochs, args.seed, sizes)
            result = {"epoch_seconds": clock.wall, "epoch_cpu_seconds": clock.cpu, "rss_mib_after_epoch": clock.rss,
                      "test_accuracy": accuracy}
    result.update({"system": args.system, "optimizer": args.optimizer, "threads": args.threads, "blas": blas,
                   "peak_rss_mib": peak_rss_mib(), "n_train": n_train, "sizes": sizes, "python": sys.version.split()[0]})
    print("RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------------------------- driver side


def spawn(system, optimizer, threads, args, width=1.0, subset=None, epochs=None, extra=()):
    python = args.peer_python.get(system, sys.executable)
    command = [python, os.path.abspath(__file__), "--worker", system, "--optimizer", optimizer,
               "--threads", str(threads), "--epochs", str(epochs or args.epochs), "--seed", str(args.seed),
               "--width", str(width), *extra]
    if subset or args.subset:
        command += ["--subset", str(subset or args.subset)]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    load = os.getloadavg()[0]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):  # the machine's load around the run (its own included), to judge its wall time
            return {**json.loads(line[len("RESULT "):]), "load_average": max(load, os.getloadavg()[0])}
    return {"system": system, "optimizer": optimizer, "threads": threads, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}


def installed(system, python=None):
    if system not in MODULES:
        return True
    if python:  # a peer in its own environment: ask that interpreter
        probe = f"import {MODULES[system]}" + (", jax" if system == "jax" else "")
        return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0
    import importlib.util

    return importlib.util.find_spec(MODULES[system]) is not None and (system != "jax" or importlib.util.find_spec("jax") is not None)


def typical(times):
    """Median of epochs 2-4 (the first includes warm-up and compilation), and their min-max."""
    window = times[1:4] or times
    return statistics.median(window), min(window), max(window)


def across_repeats(rows, key="epoch_seconds"):
    """Each repeat's typical epoch (median of epochs 2-4), then their median, min and max."""
    values = [typical(row[key])[0] for row in rows]
    return statistics.median(values), min(values), max(values)


def peer_pythons(values):
    out = {}
    for value in values:
        system, _, path = value.partition("=")
        if system not in SYSTEMS or not path:
            raise SystemExit(f"--peer-python: expected SYSTEM=PATH with SYSTEM one of {', '.join(SYSTEMS)}, got {value!r}")
        out[system] = path
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=SYSTEMS + ["gemm", "model"], help=argparse.SUPPRESS)
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"], help=argparse.SUPPRESS)
    parser.add_argument("--width", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--threads", default="1,2", help="thread counts to run at, comma-separated")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of every run (median and range over them)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only (smoke runs)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--peer-python", action="append", default=[], metavar="SYSTEM=PATH",
                        help="run SYSTEM's worker with another interpreter, e.g. jax=/tmp/jaxvenv/bin/python "
                             "(a peer installed in its own environment, which needs numpy, attrs, toolz and "
                             "threadpoolctl to load the data through fnn)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling runs of fnn")
    parser.add_argument("--no-model", action="store_true", help="skip the per-shape scaling prediction")
    parser.add_argument("--json", metavar="FILE", help="also write every result to FILE")
    parser.add_argument("--accuracy-seeds", type=int, default=0, metavar="K",
                        help="also train every system with seeds 1..K (1 thread, two runs at a time) and report the "
                             "spread of test accuracy after the epochs")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.peer_python = peer_pythons(args.peer_python)
    if args.worker:
        args.threads = int(args.threads)
        return worker(args)

    systems = args.systems.split(",")
    thread_counts = [int(t) for t in args.threads.split(",")]
    results, skipped = [], [s for s in systems if not installed(s, args.peer_python.get(s))]
    print(f"fnn benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, {args.repeats} interleaved repeat(s), "
          f"{args.epochs} epochs each")
    if skipped:
        print(f"skipped (not installed): {', '.join(skipped)}")
    for repeat in range(args.repeats):  # every repeat runs everything once, so a slow spell hits all systems
        for threads in thread_counts:
            results.append({**spawn("gemm", "sgd", threads, args), "repeat": repeat})
            for optimizer in ("sgd", "adam"):
                for system in systems:
                    if system not in skipped:
                        results.append({**spawn(system, optimizer, threads, args), "repeat": repeat})
    print_table(results, thread_counts, systems, skipped)
    if not args.no_model:
        model = spawn("model", "sgd", max(thread_counts), args)
        results.append(model)
        print_model(model, results, thread_counts)
    if args.accuracy_seeds:
        results += accuracy_runs(args, [s for s in systems if s not in skipped])
    if not args.no_scaling:
        scaling = scaling_runs(args)
        results += scaling
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


def print_table(results, thread_counts, systems, skipped):
    for threads in thread_counts:
        limits = [r for r in results if r.get("system") == "gemm" and r.get("threads") == threads and "error" not in r]
        ideal = statistics.median(r["gemm_bound_epoch_seconds"] for r in limits) if limits else None
        print(f"\n== {threads} thread(s) ==")
        if limits:
            ideals = [r["gemm_bound_epoch_seconds"] for r in limits]
            print(f"BLAS: {limits[0]['blas']}")
            print(f"float32 products alone (every product of an epoch at its shape's measured speed): {ideal:.3f} s "
                  f"({min(ideals):.3f}-{max(ideals):.3f}), {statistics.median(r['network_gemm_gflops'] for r in limits):.1f} "
                  f"GFLOP/s; 2048x2048: {statistics.median(r['square_2048_gflops'] for r in limits):.1f} GFLOP/s; "
                  f"training = {limits[0]['train_gflop_per_epoch']:.1f} GFLOP/epoch")
        print("seconds per epoch: each run's median of epochs 2-4, then median (min-max) over the repeats; "
              "CPU = process CPU time (all threads); load = the highest 1-minute load average around the system's runs "
              f"(above {threads} the wall times include waiting for a core: compare CPU)")
        print(f"{'optimizer':<9} {'system':<8} {'s/epoch':>8} {'(min-max)':>15} {'CPU s':>7} {'test acc':>9} {'peak MiB':>9} "
              f"{'fnn/peer':>9} {'x products':>10} {'CPU ratio':>9} {'load':>5}")
        for optimizer in ("sgd", "adam"):
            runs = {s: [r for r in results if r.get("threads") == threads and r.get("optimizer") == optimizer
                        and r.get("system") == s and "error" not in r] for s in systems}
            fnn_time = across_repeats(runs["fnn"])[0] if runs.get("fnn") else None
            fnn_cpu = across_repeats(runs["fnn"], "epoch_cpu_seconds")[0] if runs.get("fnn") else None
            for system in systems:
                rows = runs[system]
                if system in skipped:
                    print(f"{optimizer:<9} {system:<8} {'skipped (not installed)':>34}")
                    continue
                if not rows:
                    errors = [r["error"] for r in results if r.get("system") == system and "error" in r]
                    print(f"{optimizer:<9} {system:<8} error: {(errors or ['no run'])[-1][:80]}")
                    continue
                median, low, high = across_repeats(rows)
                cpu = across_repeats(rows, "epoch_cpu_seconds")[0]
                ratio = f"{fnn_time / median:.2f}" if fnn_time and system != "fnn" else "-"
                over = f"{median / ideal:.2f}" if ideal else "-"
                cpu_ratio = f"{fnn_cpu / cpu:.2f}" if fnn_cpu and system != "fnn" else "-"
                load = max(r.get("load_average", 0.0) for r in rows)
                print(f"{optimizer:<9} {system:<8} {median:>8.3f} {f'({low:.3f}-{high:.3f})':>15} {cpu:>7.3f} "
                      f"{statistics.median(r['test_accuracy'] for r in rows):>9.4f} {max(r['peak_rss_mib'] for r in rows):>9.0f} "
                      f"{ratio:>9} {over:>10} {cpu_ratio:>9} {load:>5.2f}")
    for threads in thread_counts:
        for optimizer in ("sgd", "adam"):
            rss = [r["rss_mib_after_epoch"] for r in results if r.get("system") == "fnn" and r.get("threads") == threads
                   and r.get("optimizer") == optimizer and "rss_mib_after_epoch" in r]
            if rss:
                print(f"fnn {optimizer} {threads} thr: peak RSS after each epoch {min(r[0] for r in rss):.0f} ... "
                      f"{max(r[-1] for r in rss):.0f} MiB")


def print_model(model, results, thread_counts):
    """The scaling model's prediction (scripts/scaling_model.py) beside fnn's epochs measured in this run."""
    import scaling_model

    print("\n== predicted fnn epoch (s) by cores, from per-shape measurements (scripts/scaling_model.py) ==")
    if "error" in model:
        print(f"error: {model['error']}")
        return
    inputs = model["inputs"]
    inputs["products"] = {k: tuple(v) for k, v in inputs["products"].items()}
    measured = {}
    for threads in thread_counts:
        for optimizer in ("sgd", "adam"):
            rows = [r for r in results if r.get("system") == "fnn" and r.get("threads") == threads
                    and r.get("optimizer") == optimizer and "epoch_seconds" in r]
            if rows:
                measured[(optimizer, threads)] = across_repeats(rows)[0]
    scaling_model.print_prediction(inputs, -(-model["n_train"] // 128), measured)


def accuracy_runs(args, systems):
    """Test accuracy over seeds 1..K for every system and optimiser: one seed's figure is within the spread."""
    from concurrent.futures import ThreadPoolExecutor

    seeds = range(1, args.accuracy_seeds + 1)
    jobs = [(system, optimizer, seed) for optimizer in ("sgd", "adam") for system in systems for seed in seeds]

    def run(job):
        system, optimizer, seed = job
        one = argparse.Namespace(**{**vars(args), "seed": seed})
        return {**spawn(system, optimizer, 1, one, extra=["--no-pin"]), "seed": seed}

    with ThreadPoolExecutor(2) as pool:  # accuracy does not depend on timing, so two runs share the two cores
        out = list(pool.map(run, jobs))
    print(f"\n== test accuracy after {args.epochs} epochs over seeds 1..{args.accuracy_seeds} (mean, min-max) ==")
    for optimizer in ("sgd", "adam"):
        for system in systems:
            values = [r["test_accuracy"] for r in out if r["system"] == system and r["optimizer"] == optimizer and "error" not in r]
            if values:
                print(f"{optimizer:<9} {system:<8} {statistics.mean(values):.4f} ({min(values):.4f}-{max(values):.4f})  n={len(values)}")
    return [{**r, "accuracy_run": True} for r in out]


def scaling_runs(args):
    print("\n== fnn scaling, SGD, 1 thread, median of epochs 2-3 ==")
    full = args.subset or 60000
    out = []
    base = None
    for label, subset, width in [("1/4 data", full // 4, 1.0), ("1/2 data", full // 2, 1.0), ("all data", full, 1.0),
                                 ("half width", full, 0.5), ("double width", full, 2.0)]:
        gemm = spawn("gemm", "sgd", 1, args, width=width, subset=subset)
        run = spawn("fnn", "sgd", 1, args, width=width, subset=subset, epochs=3)
        if "error" in run or "error" in gemm:
            print(f"{label:<13} error: {run.get('error') or gemm.get('error')}")
            continue
        seconds = statistics.median(run["epoch_seconds"][1:3])
        base = base or (seconds / subset)
        print(f"{label:<13} n={subset:<6} sizes={run['sizes']}  {seconds:.3f} s/epoch  "
              f"{gemm['train_gflop_per_epoch']:.1f} GFLOP  {seconds / gemm['gemm_bound_epoch_seconds']:.2f} x products  "
              f"per-sample cost vs 1/4 data {seconds / subset / base:.2f}")
        out.append({"label": label, **run, "gemm": gemm})
    return out


if __name__ == "__main__":
    main()
