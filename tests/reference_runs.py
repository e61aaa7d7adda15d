"""The reference runs whose parameter hashes must never change (run by tests/test_reference_runs.py).

Prints one JSON object: the BLAS in use (threadpoolctl) and the params SHA-256 of each run. Every run goes through
a public entry point (the ``fnn`` command, ``fnn sweep``, ``fnn.fit``) at one BLAS thread (``--threads 1``; a
sweep's runs always use one).
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile

TRAIN_RUNS = {
    "default_train": [],
    "adam_dropout_step_decay": [
        "--data", "iris", "--hidden", "16,8", "--optimizer", "adam", "--lr", "0.01", "--drop-rate", "0.2",
        "--schedule", "step_decay:5,0.5", "--validation", "0.2", "--epochs", "15", "--batch-size", "16",
    ],
    "sgd_momentum_cosine_l2_clip": [
        "--data", "moons", "--hidden", "16", "--momentum", "0.9", "--lr", "0.05", "--schedule", "cosine",
        "--l2", "0.001", "--clip-norm", "1.0", "--epochs", "8", "--validation", "0",
    ],
    "adamw_exponential_early_stop": [
        "--data", "iris", "--hidden", "8", "--optimizer", "adamw", "--lr", "0.02", "--schedule", "exponential:0.8",
        "--validation", "0.25", "--patience", "3", "--monitor", "val_accuracy", "--epochs", "40",
    ],
}
SWEEP = ["--data", "iris", "--epochs", "5", "--grid", "lr=[0.1,0.05]", "--grid", "hidden=[[8],[4,4]]", "--seeds", "0"]


def _fit_run():
    import fnn

    data = fnn.data.moons(300, noise=0.2, seed=1)
    params = fnn.init_params(fnn.network([2, 32, 16, 1], loss="binary_cross_entropy", activation="tanh"), seed=4)
    schedule = fnn.optim.get_schedule("step_decay:0.02,30,0.5")
    state = fnn.fit(params, data, epochs=6, optimizer=fnn.optim.adam(schedule), batch_size=25, seed=4,
                    validation=0.2, drop_rate=0.25)
    digest = hashlib.sha256()
    for array in state.params.arrays():
        digest.update(array.tobytes())
    return digest.hexdigest()


def _record(folder):
    name = next(f for f in sorted(os.listdir(folder)) if f.endswith(".json") and "record" in f)
    with open(os.path.join(folder, name)) as handle:
        return json.load(handle)


def main():
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    from threadpoolctl import threadpool_info

    blas = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads")} for i in threadpool_info() if i["user_api"] == "blas"]
    hashes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in TRAIN_RUNS.items():
            folder = os.path.join(tmp, name)
            subprocess.run([sys.executable, "-m", "fnn", "train", *argv, "--threads", "1", "--out", folder, "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
            hashes[name] = _record(folder)["params_sha256"]
        out = os.path.join(tmp, "sweep")
        subprocess.run([sys.executable, "-m", "fnn", "sweep", "--sequential", "--quiet", *SWEEP, "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        for name in sorted(os.listdir(os.path.join(out, "runs"))):
            with open(os.path.join(out, "runs", name)) as handle:
                record = json.load(handle)
            key = f"sweep lr={record['config']['lr']} hidden={list(record['config']['hidden'])}"
            hashes[key] = record["params_sha256"]
    hashes["fit_adam_dropout_schedule"] = _fit_run()
    print(json.dumps({"blas": blas, "hashes": hashes}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
