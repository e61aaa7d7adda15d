"""``fnn sweep --halving`` through ``fnn.cli.main``: the sweep folder, survivors' bytes, refusals, and a kill resumed."""

import json
import os

import pytest

import fnn.run
import fnn.run.halving as halvings
from fnn.cli import main
from fnn.run.stacks import run_id
from fnn.store.run_folder import RunFolder

ARGS = ["sweep", "--data", "iris", "--hidden", "8", "--epochs", "9", "--grid", "lr=0.3,0.1,0.03", "--grid", "batch_size=8,32",
        "--seeds", "0,1", "--halving", "--min-epochs", "1", "--factor", "3", "--sequential", "--quiet"]


def _finals(out):
    """run_id -> (epochs, params_sha256, test metrics) of every run folder of the sweep."""
    result = {}
    for name in sorted(os.listdir(os.path.join(out, "runs"))):
        record = RunFolder(os.path.join(out, "runs", name)).read_record()
        result[name] = (record["epochs_run"], record["params_sha256"], record["final_metrics"])
    return result


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("halving") / "sweep")
    assert main([*ARGS, "--out", out]) == 0
    return out


def test_halving_writes_the_sweep_folder_and_survivors_are_their_solo_runs(whole, capsys):
    summary = json.loads(open(os.path.join(whole, "summary.json")).read())
    assert [(r["epochs"], len(r["ranked"]), r["promoted"]) for r in summary["rungs"]] == [(1, 6, 2), (3, 2, 1), (9, 1, 1)]
    assert summary["epochs_trained"] == 2 * (6 * 1 + 2 * 2 + 1 * 6) and summary["epochs_full_grid"] == 6 * 2 * 9
    chosen = summary["chosen"]
    assert chosen["seeds"] == [0, 1] and chosen["config"] == summary["rungs"][-1]["ranked"][0]["config"]
    finals = _finals(whole)
    assert len(finals) == 12  # every run has its folder, at the last rung it reached
    full = {name: value for name, value in finals.items() if value[0] == 9}
    assert len(full) == 2 and sorted(value[0] for value in finals.values()).count(3) == 2  # 1 promoted pair: 2 runs of 3
    for seed in (0, 1):
        config = fnn.run.resolve_config(({"data": "iris", "hidden": [8], "epochs": 9, **chosen["config"], "seed": seed, "threads": 1}, fnn.run.PYTHON))
        alone = fnn.run.run(config).record
        epochs, digest, metrics = full[run_id(config)]
        assert digest == alone["params_sha256"] and metrics == alone["final_metrics"]
        assert RunFolder(os.path.join(whole, "runs", run_id(config))).load_checkpoint().state.epoch == 9
    assert all(value[2] == {} for value in finals.values() if value[0] < 9)  # test metrics: the chosen configuration only
    assert chosen["accuracy_mean"] == pytest.approx(sum(full[k][2]["accuracy"] for k in full) / 2)


def test_a_killed_halving_sweep_resumes_mid_rung_to_the_same_hashes(whole, tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "killed")
    saved = []
    save = halvings._save

    def killed(folder, config, state, record):
        saved.append(state.epoch)
        if len(saved) == 14:  # rung 3 (after the 12 runs of rung 1), its second run: one run of the rung is saved
            raise KeyboardInterrupt
        return save(folder, config, state, record)

    monkeypatch.setattr(halvings, "_save", killed)
    assert main([*ARGS, "--out", out]) == 130
    assert "--resume" in capsys.readouterr().err
    assert [r["epochs"] for r in json.loads(open(os.path.join(out, "rungs.json")).read())["rungs"]] == [1]
    assert sorted(value[0] for value in _finals(out).values()) == [1] * 11 + [3]
    monkeypatch.setattr(halvings, "_save", save)
    assert main([*ARGS, "--out", out]) == 2  # a folder holding a killed sweep is refused without --resume
    assert "--resume" in capsys.readouterr().err
    assert main([*ARGS, "--out", out, "--resume"]) == 0
    assert _finals(out) == _finals(whole)
    mine, theirs = (json.loads(open(os.path.join(folder, "summary.json")).read()) for folder in (out, whole))
    assert mine["rungs"] == theirs["rungs"] and mine["chosen"] == theirs["chosen"]


@pytest.mark.parametrize("extra, message", [
    (["--patience", "2"], "--patience"),
    (["--grid", "epochs=3,9"], "'epochs' out of --grid"),
    (["--factor", "1"], "--factor must be an int >= 2; got '1'"),
    (["--min-epochs", "x"], "--min-epochs must be an int; got 'x'"),
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler runs on a Dask cluster and --sequential in this process"),
    (["--workers", "2"], "--workers sizes the local cluster; it cannot go with --scheduler or --sequential"),
])
def test_halving_refusals_name_what_was_given(extra, message, tmp_path, capsys):
    out = tmp_path / "refused"
    assert main([*ARGS, *extra, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "runs").exists()


@pytest.mark.parametrize("flag", ["--min-epochs", "--factor"])
def test_rung_flags_need_halving(flag, capsys):
    assert main(["sweep", "--data", "iris", "--grid", "lr=0.1,0.2", flag, "2", "--quiet"]) == 2
    assert f"{flag} sets a rung of successive halving; it needs --halving" in capsys.readouterr().err


def test_resuming_with_other_rungs_or_seeds_trains_those_rungs_from_each_runs_checkpoint(whole, tmp_path, capsys):
    """A finished sweep's folder resumed with another --factor (other rungs, the same runs): the finished rungs are
    not taken for this sweep's, runs continue from their checkpoints only up to this sweep's rung, and the result is
    that of a fresh sweep with these settings. Resumed with other --seeds, it holds runs this sweep does not have
    (they would be mixed into its folder): refused, naming one; --overwrite gives the fresh sweep's result."""
    for changed in (["--factor", "2"], ["--seeds", "0"]):
        args = [*ARGS, *changed]
        fresh, resumed = str(tmp_path / f"fresh{changed[0]}"), str(tmp_path / f"resumed{changed[0]}")
        assert main([*args, "--out", fresh]) == 0
        assert main([*ARGS, "--out", resumed]) == 0
        if changed[0] == "--seeds":
            capsys.readouterr()
            assert main([*args, "--out", resumed, "--resume"]) == 2
            assert "runs that this sweep does not have" in capsys.readouterr().err
            assert main([*args, "--out", resumed, "--overwrite"]) == 0
        else:
            assert main([*args, "--out", resumed, "--resume"]) == 0
        mine, theirs = (json.loads(open(os.path.join(folder, "summary.json")).read()) for folder in (resumed, fresh))
        assert mine["rungs"] == theirs["rungs"] and mine["chosen"] == theirs["chosen"]
        finals = {name: value for name, value in _finals(fresh).items() if value[0] == 9}
        assert {name: _finals(resumed)[name] for name in finals} == finals
        assert sorted(os.listdir(os.path.join(resumed, "runs"))) == sorted(os.listdir(os.path.join(fresh, "runs")))
