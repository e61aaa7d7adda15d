"""A sweep stacks the runs that differ only in seed and optimiser scalars; every run's record stays its solo run's."""

import json
import os

import pytest

from fnn.run.stacks import STACKED_SETTINGS, run_one, run_stack, stacks
from fnn.run.sweep import sweep

# What a run's record holds that does not depend on how it ran (time, machine and the stack size aside).
SAME = ("config", "seed", "network", "threads", "threads_from", "data", "history", "epochs_run", "best_epoch",
        "stopped_early", "validation_metrics", "final_metrics", "params_sha256", "run_id")

CASES = {
    "iris sgd": {"data": "iris", "hidden": [8], "epochs": 3, "batch_size": 16},
    "iris sgd momentum, dropout": {"data": "iris", "hidden": [8, 8], "epochs": 3, "batch_size": 16, "momentum": 0.9, "drop_rate": 0.2},
    "iris adam, schedule": {"data": "iris", "hidden": [8], "epochs": 4, "batch_size": 16, "optimizer": "adam", "schedule": "cosine"},
    "iris adamw, early stopping": {"data": "iris", "hidden": [6], "epochs": 8, "batch_size": 8, "optimizer": "adamw",
                                   "patience": 1, "monitor": "val_accuracy"},
    "digits sgd, warmup, early stopping": {"data": "digits", "hidden": [16], "epochs": 3, "batch_size": 64,
                                           "schedule": "linear_warmup:1+cosine", "patience": 1},
    "digits adam, dropout": {"data": "digits", "hidden": [16], "epochs": 2, "batch_size": 64, "optimizer": "adam", "drop_rate": 0.3},
    "moons generated per seed": {"data": "moons", "hidden": [8], "epochs": 2, "batch_size": 32, "activation": "tanh"},
    "iris clipped, l2, float64": {"data": "iris", "hidden": [8], "epochs": 3, "batch_size": 16, "clip_norm": 0.5, "l2": 0.01,
                                  "dtype": "float64"},
    "iris rmsprop, step decay": {"data": "iris", "hidden": [8], "epochs": 3, "batch_size": 16, "optimizer": "rmsprop",
                                 "schedule": "step_decay:1,0.5"},
    "iris chosen metrics, early stopping on one": {"data": "iris", "hidden": [8], "epochs": 4, "batch_size": 16,
                                                   "metrics": ["f1_macro", "log_loss"], "train_metrics": True,
                                                   "patience": 1, "monitor": "val_f1_macro"},
}
LRS = {"adam": [0.01, 0.003], "adamw": [0.05, 0.003], "rmsprop": [0.01, 0.003]}


def solo(record):
    assert {"params_sha256", "history", "final_metrics", "config"} <= set(record)
    return {key: record.get(key) for key in SAME}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_stacked_sweep_gives_every_run_its_solo_record(name):
    base = CASES[name]
    grid = {"lr": LRS.get(base.get("optimizer", "sgd"), [0.3, 0.05])}
    result = sweep(base, grid, [0, 1, 2], engine="sequential")
    assert [r["stacked"] for r in result.records] == [6] * 6
    alone = sweep(base, grid, [0, 1, 2], engine="sequential", stack=False)
    assert [r["stacked"] for r in alone.records] == [1] * 6
    assert [solo(r) for r in result.records] == [solo(r) for r in alone.records]
    assert len({r["params_sha256"] for r in result.records}) == 6
    if base.get("patience"):
        assert any(r["stopped_early"] for r in result.records) or name.startswith("digits")


def test_stacks_group_by_everything_but_seed_and_optimiser_scalars():
    from fnn.run.sweep import expand_grid

    grid = {"lr": [0.1, 0.05], "optimizer": ["sgd", "adam"], "hidden": [[4], [8]], "batch_size": [8, 16]}
    configs = expand_grid({"data": "iris", "epochs": 1}, grid, [0, 1])
    groups = stacks(configs)
    assert len(groups) == 8 and sorted(len(g) for g in groups) == [4] * 8
    for group in groups:
        shared = [{k: v for k, v in c.to_dict().items() if k not in STACKED_SETTINGS} for c in group]
        assert all(one == shared[0] for one in shared)
    assert sorted(id(c) for g in groups for c in g) == sorted(id(c) for c in configs)
    assert len(stacks(configs, stack=False)) == len(configs)
    weighted = expand_grid({"data": "iris", "epochs": 1, "class_weight": "balanced"}, {"lr": [0.1, 0.05]}, [0, 1])
    assert [len(g) for g in stacks(weighted)] == [1, 1, 1, 1]  # weighted runs train alone
    chosen = expand_grid({"data": "iris", "epochs": 1, "metrics": ["f1_macro"]}, {"lr": [0.1, 0.05]}, [0, 1])
    assert [len(g) for g in stacks(chosen)] == [4]  # chosen metrics stack


def test_a_stack_that_cannot_share_one_computation_runs_each_alone():
    from fnn.run.sweep import expand_grid

    # momentum set and not set: SGD states of two kinds, so no shared kernel: each run alone, the same records
    configs = expand_grid({"data": "iris", "hidden": [4], "epochs": 2}, {"momentum": [0.0, 0.9]}, [0])
    assert len(stacks(configs)) == 1
    records = run_stack(stacks(configs)[0])
    assert [solo(r) for r in records] == [solo(run_one(c)) for c in configs]


def test_a_diverging_stack_fails_as_its_solo_run_does():
    from fnn.errors import TrainingDiverged

    base = {"data": "iris", "hidden": [4], "epochs": 3, "standardize": False}
    with pytest.raises(TrainingDiverged) as stacked:
        sweep(base, {"lr": [0.1, 1e30]}, [0], engine="sequential")
    with pytest.raises(TrainingDiverged) as alone:
        sweep(base, {"lr": [0.1, 1e30]}, [0], engine="sequential", stack=False)
    assert str(stacked.value) == str(alone.value)


def test_a_killed_stack_is_run_again_whole_on_resume(tmp_path):
    base, grid = {"data": "iris", "hidden": [6], "epochs": 2}, {"lr": [0.1, 0.05], "hidden": [[4], [6]]}
    out = tmp_path / "s"
    seen = []

    def interrupt_in_the_second_stack(record, done, total):
        seen.append(record["run_id"])
        if len(seen) == 5:  # hidden [4] (runs 0, 1, 4, 5) is written, and run 2 of hidden [6]
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(base, grid, [0, 1], engine="sequential", out=out, on_result=interrupt_in_the_second_stack)
    assert len(os.listdir(out / "runs")) == 5
    resumed = sweep(base, grid, [0, 1], engine="sequential", out=out, resume=True)
    assert resumed.skipped == 5 and [r["stacked"] for r in resumed.records] == [4, 4, 4, 3, 4, 4, 3, 3]
    alone = sweep(base, grid, [0, 1], engine="sequential", stack=False)
    assert [solo(r) for r in resumed.records] == [solo(r) for r in alone.records]
    assert json.loads((out / "summary.json").read_text())["stacked"] is True


def test_on_dask_each_stack_is_one_task_with_the_solo_hashes(tmp_path):
    distributed = pytest.importorskip("distributed")
    base, grid = {"data": "iris", "hidden": [6], "epochs": 2}, {"lr": [0.1, 0.05], "activation": ["relu", "tanh"]}
    submitted = []
    real_submit = distributed.Client.submit

    def counting_submit(self, function, *args, **kwargs):
        submitted.append((function.__name__, len(args[0])))
        return real_submit(self, function, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(distributed.Client, "submit", counting_submit)
        real_cluster = distributed.LocalCluster  # in this process: one single-threaded worker
        patch.setattr(distributed, "LocalCluster", lambda **_: real_cluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None))
        result = sweep(base, grid, [0, 1, 2], workers=1, out=tmp_path / "d")
    assert submitted == [("run_stack", 6), ("run_stack", 6)]
    alone = sweep(base, grid, [0, 1, 2], engine="sequential", stack=False)
    assert [solo(r) for r in result.records] == [solo(r) for r in alone.records]


def test_stack_must_be_a_bool():
    from fnn.errors import FnnInputError

    with pytest.raises(FnnInputError, match="The 'stack' argument of sweep must be true or false; got 'maybe'"):
        sweep({"data": "iris", "epochs": 1}, {"lr": [0.1]}, [0, 1], stack="maybe")


def test_cli_stacks_by_default_and_no_stack_runs_each_alone(tmp_path, capsys):
    from fnn.cli import main

    flags = ["sweep", "--data", "iris", "--hidden", "4", "--epochs", "2", "--grid", "lr=0.1,0.05", "--seeds", "0,1", "--sequential", "--quiet"]
    assert main([*flags, "--out", str(tmp_path / "stacked")]) == 0
    assert "4 trained in stacks (each with its solo run's bytes)" in capsys.readouterr().out
    assert main([*flags, "--out", str(tmp_path / "alone"), "--no-stack"]) == 0
    assert "trained in stacks" not in capsys.readouterr().out

    def records(name):
        folder = tmp_path / name / "runs"
        return {f: json.loads((folder / f).read_text()) for f in sorted(os.listdir(folder))}

    stacked, alone = records("stacked"), records("alone")
    assert {r["stacked"] for r in stacked.values()} == {4} and {r["stacked"] for r in alone.values()} == {1}
    assert {f: solo(r) for f, r in stacked.items()} == {f: solo(r) for f, r in alone.items()}
    assert json.loads((tmp_path / "alone" / "summary.json").read_text())["stacked"] is False


HALVING_BASE = {"data": "iris", "hidden": [6], "epochs": 4, "batch_size": 16}
HALVING_GRID = {"lr": [0.3, 0.1, 0.01, 0.003], "activation": ["relu", "tanh"]}


def _in_process_cluster(patch, distributed):
    real_cluster = distributed.LocalCluster  # one single-threaded worker in this process
    patch.setattr(distributed, "LocalCluster", lambda **_: real_cluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None))


def _run_folders(out):
    from fnn.store.run_folder import RunFolder

    runs = os.path.join(out, "runs")
    return {name: (RunFolder(os.path.join(runs, name)).read_record()["epochs_run"], RunFolder(os.path.join(runs, name)).read_record()["params_sha256"])
            for name in sorted(os.listdir(runs))}


def test_halving_on_dask_runs_rungs_as_stack_tasks_and_ends_with_the_solo_bytes(tmp_path):
    distributed = pytest.importorskip("distributed")
    from fnn.run import Halving
    from fnn.run.engine import run

    submitted = []
    real_submit = distributed.Client.submit

    def counting_submit(self, function, *args, **kwargs):
        submitted.append((function.__name__, args[3], len(args[0])))
        return real_submit(self, function, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        _in_process_cluster(patch, distributed)
        patch.setattr(distributed.Client, "submit", counting_submit)
        on_dask = sweep(HALVING_BASE, HALVING_GRID, [0, 1], workers=1, out=tmp_path / "dask", halving=Halving(1, 2))
    local = sweep(HALVING_BASE, HALVING_GRID, [0, 1], engine="sequential", out=tmp_path / "local", halving=Halving(1, 2), stack=False)
    assert on_dask.engine.startswith("dask LocalCluster") and local.engine == "sequential"
    # rungs of 1, 2 and 4 epochs over 8, 4 and 2 configurations; one task per stack (an activation of the rung's)
    assert [rung.epochs for rung in on_dask.rungs] == [1, 2, 4] and [len(rung.ranked) for rung in on_dask.rungs] == [8, 4, 2]
    assert {name for name, _, _ in submitted} == {"_rung_stack"}
    for rung in on_dask.rungs:
        tasks = [size for _, upto, size in submitted if upto == rung.epochs]
        assert sum(tasks) == 2 * len(rung.ranked) and len(tasks) == len({row["config"]["activation"] for row in rung.ranked})
    assert on_dask.rungs == local.rungs and on_dask.chosen_test == local.chosen_test
    assert [solo(r) for r in on_dask.records] == [solo(r) for r in local.records]
    assert _run_folders(tmp_path / "dask") == _run_folders(tmp_path / "local")
    for record in on_dask.records:
        alone = run({**HALVING_BASE, **on_dask.chosen, "seed": record["seed"], "threads": 1}).record
        assert record["params_sha256"] == alone["params_sha256"] and record["final_metrics"] == alone["final_metrics"]


def test_a_killed_halving_sweep_on_dask_resumes_from_its_checkpoints(tmp_path):
    distributed = pytest.importorskip("distributed")
    from fnn.run import Halving

    def killed_after_the_second_rung(rung):
        if rung.epochs == 2:
            raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        _in_process_cluster(patch, distributed)
        with pytest.raises(KeyboardInterrupt):
            sweep(HALVING_BASE, HALVING_GRID, [0, 1], workers=1, out=tmp_path / "killed", halving=Halving(1, 2), on_rung=killed_after_the_second_rung)
        assert sorted(epochs for epochs, _ in _run_folders(tmp_path / "killed").values()) == [1] * 8 + [2] * 8
        resumed = sweep(HALVING_BASE, HALVING_GRID, [0, 1], workers=1, out=tmp_path / "killed", halving=Halving(1, 2), resume=True)
    whole = sweep(HALVING_BASE, HALVING_GRID, [0, 1], engine="sequential", out=tmp_path / "whole", halving=Halving(1, 2))
    assert resumed.rungs == whole.rungs and [solo(r) for r in resumed.records] == [solo(r) for r in whole.records]
    assert _run_folders(tmp_path / "killed") == _run_folders(tmp_path / "whole")


def test_halving_on_dask_needs_a_sweep_folder():
    pytest.importorskip("distributed")
    from fnn.errors import FnnInputError

    with pytest.raises(FnnInputError, match="halving on Dask continues each run from its checkpoint in the sweep folder; give out"):
        sweep(HALVING_BASE, HALVING_GRID, [0], engine="dask", halving={"factor": 2})


def test_a_stack_holds_at_most_max_stack_runs():
    from fnn.run.stacks import MAX_STACK
    from fnn.run.sweep import expand_grid

    configs = expand_grid({"data": "iris", "epochs": 1}, {"lr": [0.1, 0.05, 0.01]}, list(range(MAX_STACK)))
    assert [len(group) for group in stacks(configs)] == [MAX_STACK, MAX_STACK, MAX_STACK]
    assert [c for group in stacks(configs) for c in group] == configs  # grid order kept
    assert {c.lr for c in stacks(configs)[0]} == {0.1} and [c.seed for c in stacks(configs)[0]] == list(range(MAX_STACK))


def test_cli_halving_runs_on_dask_and_picks_what_it_picks_in_this_process(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    from fnn.cli import main

    flags = ["sweep", "--data", "iris", "--hidden", "6", "--epochs", "4", "--grid", "lr=0.3,0.01", "--seeds", "0,1",
             "--halving", "--factor", "2", "--quiet"]
    with pytest.MonkeyPatch.context() as patch:
        _in_process_cluster(patch, distributed)
        assert main([*flags, "--workers", "1", "--out", str(tmp_path / "dask")]) == 0
    assert "successive halving on dask LocalCluster (1 single-threaded workers): 3 rungs" in capsys.readouterr().out
    assert main([*flags, "--sequential", "--out", str(tmp_path / "here")]) == 0
    assert "successive halving on sequential: 3 rungs" in capsys.readouterr().out
    assert _run_folders(tmp_path / "dask") == _run_folders(tmp_path / "here")
    summaries = [json.loads((tmp_path / name / "summary.json").read_text()) for name in ("dask", "here")]
    assert summaries[0]["rungs"] == summaries[1]["rungs"] and summaries[0]["chosen"] == summaries[1]["chosen"]
