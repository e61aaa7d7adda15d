"""Every proof command (verify, diff, replay) on every kind of run it may be given: a run folder, its record.json or
its checkpoint.npz, a sweep's run record (no checkpoint), a halving sweep's run folder or record, and a sweep's
folder: each proves what it can, and refuses what it cannot in one line saying why and what to run instead."""

import json
import os

import pytest

from fnn.cli import main


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    common = ["--data", "iris", "--hidden", "4", "--quiet"]
    assert main(["train", *common, "--epochs", "2", "--keep-checkpoints", "--out", str(root / "run")]) == 0
    assert main(["sweep", *common, "--epochs", "2", "--grid", "lr=0.1,0.2", "--sequential", "--out", str(root / "sw")]) == 0
    assert main(["sweep", *common, "--epochs", "2", "--grid", "lr=0.1,0.2", "--halving", "--sequential", "--out", str(root / "hv")]) == 0
    records = sorted(str(root / "sw" / "runs" / name) for name in os.listdir(root / "sw" / "runs"))
    halving = sorted(str(root / "hv" / "runs" / name) for name in os.listdir(root / "hv" / "runs"))
    return {
        "run folder": str(root / "run"), "run record": str(root / "run" / "record.json"),
        "run checkpoint": str(root / "run" / "checkpoint.npz"), "sweep record": records[0], "other sweep record": records[1],
        "halving folder": halving[0], "halving record": os.path.join(halving[0], "record.json"), "sweep folder": str(root / "sw"),
    }


RUNS = ["run folder", "run record", "run checkpoint"]
HALVING = ["halving folder", "halving record"]


def _main(args, capsys):
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("kind", [*RUNS, "sweep record", *HALVING])
def test_verify_proves_every_kind_of_run(kinds, kind, capsys):
    code, text = _main(["verify", kinds[kind]], capsys)
    assert code == 0 and "verified: the rerun's params are bit-identical" in text, text
    kept = "a sweep's run keeps no checkpoint" if kind == "sweep record" else "data fingerprints and checkpoint: as recorded"
    assert kept in text


@pytest.mark.parametrize("kind", [*RUNS, "sweep record", *HALVING])
def test_diff_compares_every_kind_with_itself_and_says_what_it_could_not(kinds, kind, capsys):
    code, text = _main(["diff", kinds[kind], kinds[kind]], capsys)
    assert code == 0 and "params: equal" in text, text
    assert ("not compared: the parameter arrays and the optimiser state" in text) == (kind == "sweep record")
    assert ("optimiser state: equal" in text) == (kind != "sweep record")


def test_diff_of_two_sweep_records_compares_their_records(kinds, capsys):
    code, text = _main(["diff", kinds["sweep record"], kinds["other sweep record"]], capsys)
    assert code == 1
    assert "setting lr: 0.1 -> 0.2" in text and "params: different" in text
    assert text.count("is a sweep's run record, which keeps no checkpoint") == 2


@pytest.mark.parametrize("other", [*RUNS, *HALVING])
def test_diff_of_a_sweep_record_and_a_run_compares_what_both_have(kinds, other, capsys):
    code, text = _main(["diff", "--json", kinds["sweep record"], kinds[other]], capsys)
    difference = json.loads(text)
    # the run alone has the sweep's first run's configuration (lr 0.1, seed 0): the same bytes; halving's differ
    assert difference["params_equal"] is (other in RUNS) and difference["state_equal"] is None
    assert code == (0 if difference["params_equal"] and not difference["settings"] and not difference["results"] else 1)
    assert difference["not_compared"] == [f"the parameter arrays and the optimiser state (RUN_A {kinds['sweep record']} is a "
                                          f"sweep's run record, which keeps no checkpoint): params are compared by their recorded params_sha256"]


@pytest.mark.parametrize("kind", RUNS)
def test_replay_replays_an_epoch_of_a_run_by_any_of_its_names(kinds, kind, capsys):
    code, text = _main(["replay", kinds[kind], "--epoch", "2"], capsys)
    assert code == 0 and f"equal the kept {os.path.join(kinds['run folder'], 'checkpoints', 'epoch-0002.npz')}" in text, text


@pytest.mark.parametrize("kind, says", [
    ("sweep record", "a sweep's run record keeps no checkpoint, so none of its epochs can be replayed; fnn verify {path} reruns"),
    ("halving folder", "a halving sweep's run keeps only the checkpoint of the last rung it reached"),
    ("halving record", "a halving sweep's run keeps only the checkpoint of the last rung it reached"),
    ("sweep folder", "holds a sweep, not a run; name one of its runs"),
])
def test_replay_of_what_keeps_no_epochs_says_so_and_what_to_run(kinds, kind, says, capsys):
    code, text = _main(["replay", kinds[kind], "--epoch", "1"], capsys)
    assert code == 2 and says.format(path=kinds[kind]) in text, text
    assert "--keep-checkpoints" not in text


@pytest.mark.parametrize("command", [["verify"], ["diff", "{run}"], ["replay", "--epoch", "1"]])
def test_a_sweep_folder_is_refused_naming_its_runs(kinds, command, capsys):
    args = [part.format(run=kinds["run folder"]) for part in command]
    code, text = _main([args[0], kinds["sweep folder"], *args[1:]], capsys)
    assert code == 2 and "holds a sweep, not a run; name one of its runs" in text, text
