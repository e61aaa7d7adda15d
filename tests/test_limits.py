"""Limits at every door: a network, a training step or a file that would not fit, a value that does not fit the
network's dtype, a NaN in a file, an exploding loss: each is refused in one line naming the setting or the file,
before anything big is allocated and without a numpy warning (warnings are errors here)."""

import math
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import fnn
from fnn.cli import main
from fnn.limits import MAX_BATCH_SIZE, available_memory, network_bytes, require_memory, training_bytes
from fnn.run.engine import run
from fnn.train.loop import DIVERGENCE_FACTOR

AVAILABLE = available_memory()
# Two hidden layers whose weights take half the memory available: the weights fit, training them does not.
HALF = int(math.sqrt((AVAILABLE or 2**34) / 2 / 4))
# A batch of 1000-unit activations twice the memory available (its rows are small).
ROWS = 2 * (AVAILABLE or 2**34) // (4 * 4 * 1000)
X = np.zeros((10, 3), np.float32)


def _estimator(name):
    """An estimator of :mod:`fnn.interop.sklearn`: its cases alone need scikit-learn (skipped, naming it, without)."""
    pytest.importorskip("sklearn", reason="needs sklearn (the sklearn extra), not installed")
    from fnn.interop import sklearn

    return getattr(sklearn, name)


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limits") / "iris"
    assert main(["train", "--data", "iris", "--hidden", "6", "--epochs", "2", "--out", str(folder), "--quiet"]) == 0
    return folder


def write_npy_header(path, shape, data=b""):
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": shape})
        handle.write(data)
    return path


def files(folder):
    """The adversarial files of the table, written into ``folder``."""
    (folder / "huge.csv").write_text("a,b,c,d\n1,2,3,1e39\n")
    (folder / "nan.csv").write_text("a,b,c,d,species\n1,2,3,nan,setosa\n")
    (folder / "huge_train.csv").write_text("a,b,species\n1,2,x\n3,1e39,y\n")
    (folder / "line.csv").write_text(",".join(["1"] * 3_000_000) + "\n")  # 6 MB in one line
    write_npy_header(folder / "lying.npy", (10**12, 4), bytes(16))  # 128 bytes declaring 16 TB
    np.save(folder / "huge.npy", np.array([[1.0, 2.0, 3.0, 1e39]]))
    np.save(folder / "nan.npy", np.array([[1.0, np.nan, 3.0, 4.0]]))
    return folder


API_CASES = [
    ("init_params of a 149 GiB network", lambda f: fnn.init_params(fnn.network([10, 200000, 200000, 2]), seed=0),
     ["The 'spec' argument of fnn.init_params", "10-200000-200000-2", "149 GiB", "of memory available"]),
    ("fit of a step that does not fit", lambda f: fnn.fit(fnn.init_params(fnn.network([3, 1000, 2]), seed=0),
                                                         (np.zeros((ROWS, 3), np.float32), np.zeros(ROWS, int)),
                                                         epochs=1, batch_size=ROWS),
     ["fit: training the network 3-1000-2 (float32)", f"batch_size {ROWS}", "needs"]),
    ("classifier with (200000, 200000)", lambda f: _estimator("FNNClassifier")(hidden_layer_sizes=(200000, 200000)).fit(X, np.arange(10) % 2),
     ["hidden_layer_sizes=(200000, 200000)", "GiB", "available"]),
    ("regressor with (200000, 200000)", lambda f: _estimator("FNNRegressor")(hidden_layer_sizes=(200000, 200000)).fit(X, np.arange(10.0)),
     ["hidden_layer_sizes=(200000, 200000)", "GiB"]),
    ("run() of a huge network", lambda f: run({"data": "iris", "hidden": [200000, 200000], "epochs": 1}),
     ["hidden 200000,200000 with batch_size 32", "training the network 4-200000-200000-3"]),
    ("fit with batch_size 10**20", lambda f: fnn.fit(fnn.init_params(fnn.network([3, 2]), seed=0), (X, np.arange(10) % 2), epochs=1, batch_size=10**20),
     ["'batch_size' argument of fnn.fit", f"<= {MAX_BATCH_SIZE}"]),
    ("minibatches with batch_size 10**20", lambda f: fnn.minibatches(X, np.arange(10), 10**20, 0, 0),
     ["'batch_size' argument of fnn.minibatches"]),
    ("load a lying .npy", lambda f: fnn.load(f / "model.npz").predict(str(f / "lying.npy")),
     ["lying.npy", "declares float32 (1000000000000, 4)", "holds 16 bytes"]),
    ("predict values beyond float32", lambda f: fnn.load(f / "model.npz").predict(np.array([[1, 2, 3, 1e39]])),
     ["x: row 1, column 4", "fits float32", "1e+39"]),
    ("predict a NaN", lambda f: fnn.load(f / "model.npz").predict([[1, 2, np.nan, 4]]), ["x: row 1, column 3", "expected a number"]),
    ("predict a CSV beyond float32", lambda f: fnn.load(f / "model.npz").predict(str(f / "huge.csv")),
     ["huge.csv", "fits float32"]),
    ("load_csv of a NaN", lambda f: fnn.data.load_csv(f / "nan.csv"), ["nan.csv, line 2, column 4", "'nan'"]),
    ("load_csv beyond float32", lambda f: fnn.data.load_csv(f / "huge_train.csv"), ["huge_train.csv, line 3, column 2", "float32"]),
    ("a table in one long line", lambda f: fnn.data.load_csv(f / "line.csv", label=0), ["line.csv, line 1: longer than"]),
]


@pytest.mark.parametrize("case, call, fragments", API_CASES, ids=[case[0] for case in API_CASES])
def test_api_limit_cases_are_one_line_refusals(tmp_path, case, call, fragments):
    files(tmp_path)
    fnn.save(tmp_path / "model.npz", fnn.store.Model(fnn.TrainState(fnn.init_params(fnn.network([4, 3]), seed=0), None)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the case
        with pytest.raises(fnn.FnnInputError) as caught:
            call(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and all(fragment in message for fragment in fragments), message


CLI_CASES = [
    ("--hidden 200000,200000", ["train", "--data", "iris", "--hidden", "200000,200000"], ["--hidden 200000,200000", "GiB", "available"]),
    ("--hidden whose weights fit", ["train", "--data", "iris", "--hidden", f"{HALF},{HALF}"], [f"--hidden {HALF},{HALF}", "training the network"]),
    ("--batch-size 1e20", ["train", "--data", "iris", "--batch-size", "1e20"], ["--batch-size"]),
    ("--batch-size 10**20", ["train", "--data", "iris", "--batch-size", str(10**20)], ["--batch-size", "<= 2147483647"]),
    ("predict a lying .npy", ["predict", "{run}", "{f}/lying.npy"], ["lying.npy", "declares"]),
    ("predict a one-line CSV", ["predict", "{run}", "{f}/line.csv"], ["line.csv, line 1: longer than"]),
    ("predict values beyond float32", ["predict", "{run}", "{f}/huge.npy"], ["huge.npy", "fits float32"]),
    ("predict a CSV beyond float32", ["predict", "{run}", "{f}/huge.csv"], ["huge.csv", "fits float32"]),
    ("predict a NaN .npy", ["predict", "{run}", "{f}/nan.npy"], ["nan.npy: row 1, column 2"]),
    ("predict a NaN CSV", ["predict", "{run}", "{f}/nan.csv"], ["nan.csv", "'nan'"]),
    ("evaluate a NaN CSV", ["evaluate", "{run}", "--data", "csv:{f}/nan.csv"], ["nan.csv", "'nan'"]),
    ("train on a NaN CSV", ["train", "--data", "csv:{f}/nan.csv"], ["--data csv:", "nan.csv, line 2, column 4"]),
    ("train beyond float32", ["train", "--data", "csv:{f}/huge_train.csv"], ["huge_train.csv, line 3", "float32"]),
    ("train on a one-line CSV", ["train", "--data", "csv:{f}/line.csv"], ["line.csv, line 1: longer than"]),
]


@pytest.mark.parametrize("case, argv, fragments", CLI_CASES, ids=[case[0] for case in CLI_CASES])
def test_cli_limit_cases_are_one_line_refusals(iris_run, tmp_path, capsys, case, argv, fragments):
    files(tmp_path)
    argv = [a.format(run=iris_run, f=tmp_path) for a in argv] + (["--out", str(tmp_path / "out")] if argv[0] == "train" else [])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(fragment in err for fragment in fragments), err
    assert not (tmp_path / "out" / "checkpoint.npz").exists()


def test_the_one_check_counts_what_a_step_holds():
    assert network_bytes((4, 8, 3), 4) == 4 * (4 * 8 + 8 + 8 * 3 + 3)
    assert training_bytes((4, 8, 3), 4, 10) == 5 * network_bytes((4, 8, 3), 4) + 4 * 4 * 10 * 15
    if AVAILABLE is not None:
        require_memory(AVAILABLE // 2, "half")
        with pytest.raises(fnn.FnnInputError, match=r"^what: needs .* more than the .* of memory available here\.$"):
            require_memory(2 * AVAILABLE, "what")
        assert network_bytes((4, HALF, HALF, 3), 4) < AVAILABLE < training_bytes((4, HALF, HALF, 3), 4, 32)


def test_an_exploding_loss_stops_as_a_divergence_keeping_the_last_good_state(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"), pytest.raises(fnn.TrainingDiverged) as caught:
            run({"data": "iris", "optimizer": "adam", "lr": 1e10, "epochs": 3})
    assert caught.value.epoch == 1 and f"more than {DIVERGENCE_FACTOR:g} times the starting loss" in str(caught.value)
    assert caught.value.last_good == fnn.init_params(caught.value.last_good.spec, seed=0)  # the params it started from
    code = main(["train", "--data", "iris", "--optimizer", "adam", "--lr", "1e10", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "diverged: the training loss grew to" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "record.json").exists()
    # A loss that only wanders stays a run: the warm-up climbs above its start, never 10^4 times.
    finished = run({"data": "moons", "hidden": [32], "lr": 100, "schedule": "linear_warmup:100", "epochs": 4})
    assert finished.state.epoch == 4


def _started(command, ready, timeout=30):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.2)
    return process


def test_a_scheduler_lost_mid_sweep_ends_in_one_line_with_the_resume_command(tmp_path):
    pytest.importorskip("distributed")
    port = 20000 + os.getpid() % 20000
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _started([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--no-dashboard"], lambda: _listening(port))
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = tmp_path / "sweep"
    try:
        sweep = _started([sys.executable, "-m", "fnn", "sweep", "--grid", "lr=[0.1,0.05,0.02,0.01]", "--seeds", "0,1,2",
                          "--epochs", "30", "--data", "digits", "--scheduler", address, "--out", str(out), "--quiet",
                          "--no-stack"],  # one task per run, so the scheduler is lost between runs
                         lambda: (out / "runs").is_dir() and any((out / "runs").iterdir()), timeout=120)
        scheduler.send_signal(signal.SIGKILL)
        _, err = sweep.communicate(timeout=180)
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait()
    assert sweep.returncode == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"the Dask scheduler at {address} was lost mid-sweep" in err and "kept in" in err
    assert f"--out {out} --resume" in err and "fnn sweep --grid 'lr=[0.1,0.05,0.02,0.01]' --seeds 0,1,2" in err
    assert len(list((out / "runs").iterdir())) < 12


def _listening(port):
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
