"""Seeded sweeps: grid expansion and checks, the summary, resume, and Dask runs bit-identical to sequential ones."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fnn.errors import FnnInputError
from fnn.run.settings import FLAG
from fnn.run.stacks import run_id
from fnn.run.summary import chosen_test, summarize, t975
from fnn.run.sweep import check_sweep_folder, expand_grid, sweep

BASE = {"data": "digits", "hidden": [16], "epochs": 3, "batch_size": 64}
GRID = {"lr": [0.1, 0.05], "activation": ["relu", "tanh"]}
SEEDS = [0, 1, 2]  # 2 x 2 x 3 = 12 runs


def test_expand_grid_covers_every_combination_with_checked_configs():
    configs = expand_grid(BASE, GRID, SEEDS)
    assert len(configs) == 12 and len({run_id(c) for c in configs}) == 12
    assert {(c.lr, c.activation, c.seed) for c in configs} == {
        (lr, act, seed) for lr in GRID["lr"] for act in GRID["activation"] for seed in SEEDS
    }
    assert all(c.optimizer == "sgd" and c.hidden == (16,) for c in configs)  # defaults filled in


@pytest.mark.parametrize(
    "grid, seeds, message",
    [
        ({}, [0], "grid is empty"),
        ({"lr": []}, [0], r"^The grid key 'lr' needs a value or a non-empty list of values; got \[\]\.$"),
        ({"lr": [0.1, 0.10]}, [0], r"^The grid key 'lr' gives the value 0.1 twice; give each value once\.$"),
        ({"optimizer": "sgd,adam"}, [0], r"got 'sgd,adam' \(one value; several values are a list: optimizer = \['sgd', 'adam'\]\)\.$"),
        ({"learning_rate": [0.1]}, [0], r"^Unknown grid key 'learning_rate'\. Did you mean 'lr'\?"),
        ({"epochs": ["ten"]}, [0], "'epochs' must be an int"),
        ({"hidden": [0]}, [0], "'hidden' must be a positive int or a list of positive ints"),
        ({"lr": [0.1]}, [], r"^The 'seeds' argument of sweep must be a seed or a list of distinct seeds, each an int >= 0"),
        ({"lr": [0.1]}, [1, 1], "a list of distinct seeds"),
        ({"seed": [1, 2]}, [0], "is not a grid key: a sweep's seeds are its own list"),
        ({"out": ["runs/a"]}, [0], r"^The grid key 'out' is the folder a run or sweep writes into, not a run setting"),
    ],
)
def test_bad_grids_are_refused_before_any_run(grid, seeds, message):
    with pytest.raises(FnnInputError, match=message):
        sweep(BASE, grid, seeds, engine="sequential")


def test_unreachable_scheduler_fails_fast_and_names_the_address():
    started = time.perf_counter()
    with pytest.raises(FnnInputError, match="tcp://127.0.0.1:9"):
        sweep(BASE, {"lr": [0.1]}, [0], scheduler="tcp://127.0.0.1:9")
    assert time.perf_counter() - started < 5


def test_summary_mean_and_std_match_a_hand_computation():
    def record(lr, seed, val_accuracy, val_loss, test_accuracy):
        return {"config": {"lr": lr, "seed": seed}, "seed": seed, "validation_metrics": {"accuracy": val_accuracy, "loss": val_loss},
                "final_metrics": {"accuracy": test_accuracy, "loss": 9.0}}

    records = [record(0.1, s, a, l, 0.99) for s, a, l in [(0, 0.9, 0.3), (1, 0.8, 0.5), (2, 0.7, 0.4)]]
    records += [record(0.5, s, a, 1.0, t) for s, a, t in [(0, 0.95, 0.5), (1, 0.93, 0.6)]]
    best, second = summarize(records, varying=["lr"])
    assert best["config"] == {"lr": 0.5} and best["runs"] == 2
    assert best["val_accuracy_mean"] == pytest.approx(0.94) and best["val_accuracy_std"] == pytest.approx(0.0141421356, rel=1e-6)
    assert second["val_accuracy_mean"] == pytest.approx(0.8) and second["val_accuracy_std"] == pytest.approx(0.1)
    assert second["val_loss_mean"] == pytest.approx(0.4) and second["val_loss_std"] == pytest.approx(0.1)
    assert (second["val_accuracy_min"], second["val_accuracy_max"]) == (0.7, 0.9)
    assert second["val_accuracy_ci95"] == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)  # Student's t, 2 dof
    assert best["val_accuracy_ci95"] == pytest.approx(12.706205 * 0.0141421356 / np.sqrt(2), rel=1e-5)
    assert not any(key.startswith(("accuracy", "loss")) for row in (best, second) for key in row)  # no test metrics


def test_t_quantiles_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    for degrees in [1, 2, 5, 29, 30, 31, 45, 100, 1000]:
        assert t975(degrees) == pytest.approx(stats.t.ppf(0.975, degrees), abs=2e-4)


def test_the_sweep_ranks_on_validation_never_on_test():
    """lr 0.5 wins on validation, lr 0.1 on test: the validation winner is chosen, and only its test is reported."""
    def record(lr, seed, val_accuracy, test_accuracy):
        return {"config": {"lr": lr, "seed": seed}, "seed": seed, "validation_metrics": {"accuracy": val_accuracy, "loss": 1 - val_accuracy},
                "final_metrics": {"accuracy": test_accuracy, "loss": 1 - test_accuracy}}

    records = [record(0.1, 0, 0.80, 0.99), record(0.1, 1, 0.82, 0.97), record(0.5, 0, 0.90, 0.70), record(0.5, 1, 0.92, 0.72)]
    rows = summarize(records, varying=["lr"])
    assert [row["config"]["lr"] for row in rows] == [0.5, 0.1]
    test = chosen_test(records, rows[0])
    assert test["config"] == {"lr": 0.5} and test["accuracy_mean"] == pytest.approx(0.71) and test["seeds"] == [0, 1]


def test_a_sweep_needs_validation_and_runs_at_one_thread(tmp_path):
    with pytest.raises(FnnInputError, match="validation. must be > 0 in a sweep: it ranks its configurations on the validation part"):
        expand_grid({**BASE, "validation": 0}, GRID, [0])
    with pytest.raises(FnnInputError, match=r"^The grid key 'threads' must be 1 in a sweep: every run uses one BLAS thread.*; got 2\.$"):
        expand_grid(BASE, {"threads": [1, 2]}, [0])
    with pytest.raises(FnnInputError, match=r"^--threads must be 1 in a sweep: .*; got '4'\.$"):
        expand_grid({"threads": "4"}, GRID, [0], base_source=FLAG)
    assert expand_grid({**BASE, "threads": "1"}, {"threads": 1}, [0]) == expand_grid(BASE, {"lr": 0.1}, [0])
    configs = expand_grid(BASE, GRID, [0])
    assert all(c.threads == 1 and c.validation == 0.1 for c in configs)
    result = sweep({**BASE, "data": "iris"}, {"lr": [0.1, 0.05]}, [0, 1], engine="sequential", out=tmp_path / "s")
    assert all(r["threads"] == 1 and r["config"]["threads"] == 1 for r in result.records)
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["ranked_on"] == "val_accuracy" and summary["chosen"]["config"] == summary["summary"][0]["config"]
    assert "accuracy_mean" in summary["chosen"] and all("accuracy_mean" not in row for row in summary["summary"])
    with pytest.raises(FnnInputError, match="already holds a sweep"):
        sweep({**BASE, "data": "iris"}, {"lr": [0.1]}, [0], engine="sequential", out=tmp_path / "s")
    again = sweep({**BASE, "data": "iris"}, {"lr": [0.1]}, [0], engine="sequential", out=tmp_path / "s", overwrite=True)
    assert len(os.listdir(tmp_path / "s" / "runs")) == 1 and len(again.records) == 1


def sequential_hashes_at_one_thread(base):
    """The reference: the same runs, one after another in a fresh process at one BLAS thread."""
    code = (
        "import json, fnn.run.sweep as s; "
        f"r = s.sweep({base!r}, {GRID!r}, {SEEDS!r}, engine='sequential'); "
        "print(json.dumps({x['run_id']: x['params_sha256'] for x in r.records}))"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


SLOW = {**BASE, "epochs": 12}  # runs long enough to kill a worker in the middle of them


@pytest.fixture(scope="module")
def reference():
    return sequential_hashes_at_one_thread(BASE)


def test_dask_sweep_is_bit_identical_to_sequential_runs(tmp_path, reference):
    pytest.importorskip("distributed")
    result = sweep(BASE, GRID, SEEDS, workers=2, out=tmp_path / "dask")
    assert result.engine.startswith("dask LocalCluster")
    assert {r["run_id"]: r["params_sha256"] for r in result.records} == reference
    assert len(os.listdir(tmp_path / "dask" / "runs")) == 12
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())["summary"]
    assert len(summary) == 4 and summary[0]["val_accuracy_mean"] >= summary[-1]["val_accuracy_mean"]


def test_a_killed_worker_costs_only_its_runs(tmp_path):
    pytest.importorskip("distributed")
    import psutil

    killed = []

    def kill_a_worker(record, done, total):
        if killed:
            return
        workers = [p for p in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(p.cmdline())]
        if workers:
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    result = sweep(SLOW, GRID, SEEDS, workers=2, on_result=kill_a_worker)
    assert killed, "no worker process was found to kill"
    assert not psutil.pid_exists(killed[0]) or psutil.Process(killed[0]).status() == psutil.STATUS_ZOMBIE
    assert {r["run_id"]: r["params_sha256"] for r in result.records} == sequential_hashes_at_one_thread(SLOW)


def test_resume_runs_only_what_is_missing(tmp_path):
    out = tmp_path / "sweep"
    seen = []

    def interrupt_after_three(record, done, total):
        seen.append(record["run_id"])
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(BASE, GRID, SEEDS, engine="sequential", out=out, on_result=interrupt_after_three)
    assert len(os.listdir(out / "runs")) == 3
    ran = []
    result = sweep(BASE, GRID, SEEDS, engine="sequential", out=out, resume=True, on_result=lambda r, d, t: ran.append(r["run_id"]))
    assert result.skipped == 3 and len(ran) == 9 and not set(ran) & set(seen)
    assert len(result.records) == 12 and len(os.listdir(out / "runs")) == 12


def test_cli_sweep_runs_and_prints_the_summary(tmp_path):
    (tmp_path / "sweep.toml").write_text('data = "iris"\nhidden = [6]\nepochs = 20\nbatch_size = 16\n[grid]\nlr = [0.1, 0.01]\nseeds = [0, 1]\n')
    done = subprocess.run(
        [sys.executable, "-m", "fnn", "sweep", "--config", tmp_path / "sweep.toml", "--sequential", "--out", tmp_path / "out", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "engine: sequential" in done.stdout and "ranked on validation" in done.stdout and "val accuracy" in done.stdout
    assert done.stdout.count("test accuracy") == 1 and "chosen: lr=" in done.stdout
    assert len(os.listdir(tmp_path / "out" / "runs")) == 4
    again = subprocess.run(
        [sys.executable, "-m", "fnn", "sweep", "--config", tmp_path / "sweep.toml", "--sequential", "--out", tmp_path / "out"],
        capture_output=True, text=True, timeout=300,
    )
    assert again.returncode == 2 and f"--out {tmp_path / 'out'}: already holds a sweep; run only the missing runs with " \
        "--resume or replace it with --overwrite." in again.stderr
    bad = subprocess.run([sys.executable, "-m", "fnn", "sweep", "--grid", "lrate=[0.1]"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "Unknown grid key 'lrate'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("name", ["tensorboard", "keep_checkpoints"])
def test_settings_that_need_a_run_folder_are_refused_before_any_run(name):
    with pytest.raises(FnnInputError, match=f"{name!r} cannot apply"):
        expand_grid({"data": "iris", "epochs": 1, name: True}, {"lr": [0.1]}, seeds=[0])


def test_the_sweep_folder_check_words_its_refusals_for_its_caller(tmp_path):
    out = tmp_path / "s"
    assert check_sweep_folder(out) == str(out) and os.path.isdir(out / "runs")  # created, nothing in it yet
    (out / "runs" / "abc.json").write_text("{}")
    with pytest.raises(FnnInputError, match=r"^out .*s: already holds a sweep; .* with resume=True or replace it with overwrite=True\.$"):
        check_sweep_folder(out)
    with pytest.raises(FnnInputError, match=r"^--resume keeps the runs in --out and --overwrite replaces them; give one of them\.$"):
        check_sweep_folder(out, resume=True, overwrite=True, argument="--out", resume_hint="--resume", overwrite_hint="--overwrite")
    assert check_sweep_folder(out, resume=True) == check_sweep_folder(out, overwrite=True) == str(out)
    assert os.listdir(out / "runs") == ["abc.json"]  # a check removes nothing; sweep(overwrite=True) does
    (tmp_path / "file").write_text("x")
    with pytest.raises(FnnInputError, match=r"^--out .*file: exists and is not a folder\.$"):
        check_sweep_folder(tmp_path / "file", argument="--out")


@pytest.mark.parametrize("line, key, expected", [("hidden = 6", "hidden", [6]), ("lr = 0.1", "lr", 0.1)])
def test_a_toml_grid_key_with_one_value_is_a_list_of_one(tmp_path, capsys, line, key, expected):
    from fnn.cli import main
    config = tmp_path / "g.toml"
    config.write_text(f'data = "iris"\n[grid]\n{line}\n')
    code = main(["sweep", "--config", str(config), "--epochs", "1", "--sequential", "--out", str(tmp_path / "s")])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())["summary"]
    assert len(summary) == 1 and summary[0]["config"][key] == expected
