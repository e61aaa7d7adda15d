"""Proof on every kind of run: ``verify_run`` proves a resumed run, a run with kept checkpoints, one trained on two
BLAS threads, each run of a halving sweep (a rung-stopped one to its rung) and each record of a stacked sweep
(``SWEEP/runs/ID.json``, rerun alone); an edit to any of them is a named difference. ``replay_epoch`` proves every
kept epoch of a resumed run, and ``diff_runs`` finds a run equal to its copy."""

import json
import os
import re
import shutil

import pytest

from fnn.cli import main
from fnn.errors import FnnInputError
from fnn.proof import diff_runs, replay_epoch, verify_run

BASE = ["--data", "iris", "--hidden", "4", "--batch-size", "32", "--quiet"]


def _run(args):
    assert main([str(arg) for arg in args]) == 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every kind of run, by name: its path as a user gives it to ``fnn verify``."""
    root = tmp_path_factory.mktemp("proof")
    _run(["train", *BASE, "--epochs", "2", "--keep-checkpoints", "--out", root / "resumed"])
    _run(["train", "--resume", root / "resumed", "--epochs", "4", "--quiet"])
    _run(["train", *BASE, "--epochs", "2", "--threads", "2", "--out", root / "threads"])
    _run(["sweep", *BASE, "--epochs", "2", "--grid", "lr=[0.1,0.2]", "--seeds", "0,1", "--out", root / "stacked"])
    _run(["sweep", *BASE, "--epochs", "3", "--grid", "lr=[0.3,0.1,0.03]", "--halving", "--min-epochs", "1",
          "--factor", "3", "--sequential", "--out", root / "halving"])
    found = {"resumed": root / "resumed", "threads": root / "threads"}
    found.update({f"stacked-{name}": root / "stacked" / "runs" / name for name in sorted(os.listdir(root / "stacked" / "runs"))})
    found.update({f"halving-{name}": root / "halving" / "runs" / name for name in sorted(os.listdir(root / "halving" / "runs"))})
    assert sum(name.startswith("stacked-") for name in found) == 4 and sum(name.startswith("halving-") for name in found) == 3
    return root, found


def _kinds():
    return ["resumed", "threads", *(f"stacked-{i}" for i in range(4)), *(f"halving-{i}" for i in range(3))]


def _pick(runs, kind):
    root, found = runs
    prefix, _, index = kind.partition("-")
    names = sorted(name for name in found if name.startswith(prefix)) if index else [kind]
    return root, found[names[int(index or 0)]]


def _record_file(path):
    return path if path.is_file() else path / "record.json"


@pytest.mark.parametrize("kind", _kinds())
def test_verify_proves_every_kind_of_run(runs, kind):
    _, path = _pick(runs, kind)
    verdict = verify_run(path)
    assert verdict.matches and not verdict.differences, verdict.differences
    assert verdict.reasons == (), verdict.reasons  # rerun as it ran: its record's environment is the recorded one


@pytest.mark.parametrize("kind", _kinds())
def test_an_edited_loss_in_any_kind_of_record_is_a_named_difference(runs, kind, tmp_path):
    root, path = _pick(runs, kind)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    path = copy / path.relative_to(root)
    record_file = _record_file(path)
    record = json.loads(record_file.read_text())
    record["history"][-1]["loss"] += 0.125
    record_file.write_text(json.dumps(record))
    if kind.startswith(("stacked", "halving")):  # a sweep's record is bound to its ledger: refused before any rerun, naming it
        with pytest.raises(FnnInputError, match=re.escape(f"{record_file} (sha256 ") + ".* is not the record the sweep wrote"):
            verify_run(path)
        return
    verdict = verify_run(path)
    assert not verdict.matches
    assert any(f"history epoch {len(record['history'])} loss" in line for line in verdict.differences), verdict.differences


def test_replay_proves_every_kept_epoch_of_a_resumed_run(runs):
    root, found = runs
    kept = sorted(os.listdir(found["resumed"] / "checkpoints"))
    assert kept == [f"epoch-{epoch:04d}.npz" for epoch in range(1, 5)]
    for epoch in range(1, 5):
        assert replay_epoch(found["resumed"], epoch).matches, epoch


@pytest.mark.parametrize("kind", ["resumed", "threads", "halving-0"])
def test_diff_finds_a_run_equal_to_its_copy(runs, kind, tmp_path):
    _, path = _pick(runs, kind)
    copy = shutil.copytree(path, tmp_path / "copy")
    difference = diff_runs(path, copy)
    assert difference.identical, difference


@pytest.mark.parametrize("kind", ["stacked-0", "resumed"])
def test_fnn_verify_says_what_it_proved_of_a_sweeps_record_and_of_a_run(runs, kind, capsys):
    _, path = _pick(runs, kind)
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "verified: the rerun's params are bit-identical" in out
    assert ("keeps no checkpoint" in out) == kind.startswith("stacked") and ("and checkpoint: as recorded" in out) == (kind == "resumed")
