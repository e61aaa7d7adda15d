"""A sweep folder through every door: the folder holds one sweep (the runs of its grid, seeds and settings, of
one kind), whatever resumes, replaces, plots or proves it; the user's files in it stay and are never read as
the sweep's; a record is bound to its name as well as to the ledger; a single run's record plots; and the summary
figures are those of a hand computation, the same from Python, the command line and a TOML file."""

import contextlib
import hashlib
import io
import json
import math
import os
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fnn.proof
from fnn.cli import main
from fnn.errors import FnnInputError
from fnn.observe.run_plots import sweep_histories, sweep_run_curves
from fnn.run.stacks import run_id
from fnn.run.summary import spread
from fnn.run.sweep import expand_grid, sweep
from fnn.store.layout import LEDGER, RUNGS, SWEEP_RUNS

BASE = {"data": "iris", "hidden": [4], "epochs": 2}
GRID = {"lr": [0.5, 0.05]}
SEEDS = [0, 1]
HALVING = {"factor": 2}


def _made(out, base=BASE, grid=GRID, seeds=SEEDS, **options):
    return sweep(base, grid, seeds, engine="sequential", out=out, **options)


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """A finished grid sweep and a finished halving sweep of the same grid, to copy."""
    root = tmp_path_factory.mktemp("doors")
    _made(root / "grid")
    _made(root / "halving", halving=HALVING)
    return root


def _copy(sweeps, kind, tmp_path):
    out = tmp_path / kind
    shutil.copytree(sweeps / kind, out)
    return out


OTHER_SWEEPS = {  # name: (the kind of sweep in the folder, the sweep resumed into it as sweep() keywords)
    "another grid": ("grid", {"grid": {"lr": [0.2]}}),
    "one more grid value, one fewer": ("grid", {"grid": {"lr": [0.5, 0.2]}}),
    "another base setting": ("grid", {"base": {**BASE, "hidden": [5]}}),
    "fewer seeds": ("grid", {"seeds": [0]}),
    "other seeds": ("grid", {"seeds": [1, 2]}),
    "halving into a grid sweep": ("grid", {"halving": HALVING}),
    "a grid sweep into a halving one": ("halving", {}),
    "halving with another grid": ("halving", {"grid": {"lr": [0.3, 0.05]}, "halving": HALVING}),
    "halving with fewer seeds": ("halving", {"seeds": [1], "halving": HALVING}),
}


def _names(out):
    return sorted(os.listdir(out / SWEEP_RUNS))


@pytest.mark.parametrize("case", sorted(OTHER_SWEEPS))
def test_resuming_another_sweep_is_refused_before_anything_is_written_and_overwrite_leaves_only_the_new_one(sweeps, tmp_path, case):
    kind, other = OTHER_SWEEPS[case]
    out = _copy(sweeps, kind, tmp_path)
    (out / "notes.txt").write_text("mine")
    (out / SWEEP_RUNS / "notes.json").write_text("{}")
    before = {name: (out / SWEEP_RUNS / name).stat().st_mtime_ns for name in _names(out)}
    summary = (out / "summary.json").read_bytes()
    with pytest.raises(FnnInputError, match="does not have|holds a") as caught:
        _made(out, resume=True, **other)
    assert str(out) in str(caught.value) and "--overwrite" in str(caught.value)
    assert {name: (out / SWEEP_RUNS / name).stat().st_mtime_ns for name in _names(out)} == before
    assert (out / "summary.json").read_bytes() == summary
    result = _made(out, overwrite=True, **other)
    halving = "halving" in other
    configs = expand_grid(other.get("base", BASE), other.get("grid", GRID), other.get("seeds", SEEDS))
    if halving:
        assert {run_id(c) for c in configs if run_id(c) in _names(out)} >= {r["run_id"] for r in result.records}
        bound = json.loads((out / LEDGER).read_bytes())["runs"]  # the replaced sweep's entries gone with it
        assert (out / RUNGS).exists() and set(bound) == {f"{name}/record.json" for name in _names(out) if name != "notes.json"}
    else:
        assert not (out / RUNGS).exists()
    ours = {run_id(c) if halving else f"{run_id(c)}.json" for c in configs}
    assert set(_names(out)) - {"notes.json"} <= ours
    assert (out / "notes.txt").read_text() == "mine" and (out / SWEEP_RUNS / "notes.json").read_text() == "{}"
    labels = sweep_histories(out)  # the plot: this sweep's runs only
    assert sum(len(histories) for histories in labels.values()) == len(_names(out)) - 1
    assert _made(out, resume=True, **other).chosen == result.chosen  # and it resumes as itself


@pytest.mark.parametrize("kind", ["grid", "halving"])
@pytest.mark.parametrize("name", ["notes.json", "README", "0123456789ABCDEF.json", "0123456789abcde.json", "results"])
def test_the_users_files_in_runs_are_never_read_as_the_sweeps(sweeps, tmp_path, kind, name):
    out = _copy(sweeps, kind, tmp_path)
    path = out / SWEEP_RUNS / name
    if name == "results":
        path.mkdir()
        (path / "record.json").write_text("not a record")
    else:
        path.write_text("not a record")
    histories = sweep_histories(out)
    assert sum(len(own) for own in histories.values()) == len(_names(out)) - 1
    _made(out, resume=True, **({"halving": HALVING} if kind == "halving" else {}))
    _made(out, overwrite=True, **({"halving": HALVING} if kind == "halving" else {}))
    assert path.exists()


def _rename_over(out):
    """One run's record copied over another's name, the ledger made to agree: the hash binds, the name does not."""
    names = sorted(name for name in _names(out) if name.endswith(".json"))
    mine, other = out / SWEEP_RUNS / names[0], out / SWEEP_RUNS / names[1]
    shutil.copyfile(mine, other)
    ledger = json.loads((out / LEDGER).read_bytes())
    ledger["runs"][other.name] = hashlib.sha256(other.read_bytes()).hexdigest()
    (out / LEDGER).write_text(json.dumps(ledger))
    return other, mine


READERS = {
    "resume": lambda out, path, mine: _made(out, resume=True),
    "plot": lambda out, path, mine: sweep_histories(out),
    "plot of the record": lambda out, path, mine: sweep_run_curves(path),
    "verify": lambda out, path, mine: fnn.proof.verify_run(path),
    "diff": lambda out, path, mine: fnn.proof.diff_runs(mine, path),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_record_under_another_runs_name_is_refused_by_every_reader_though_the_ledger_agrees(sweeps, tmp_path, reader):
    out = _copy(sweeps, "grid", tmp_path)
    path, mine = _rename_over(out)
    with pytest.raises(FnnInputError, match="copied or renamed") as caught:
        READERS[reader](out, path, mine)
    assert str(path) in str(caught.value)


def _run(args):
    with contextlib.redirect_stdout(io.StringIO()) as printed, contextlib.redirect_stderr(io.StringIO()) as errors:
        code = main(args)
    return code, printed.getvalue() + errors.getvalue()


def test_plot_of_one_sweep_record_draws_its_curves_with_out_and_points_the_way_without(sweeps, tmp_path):
    pytest.importorskip("matplotlib")
    out = _copy(sweeps, "grid", tmp_path)
    record = out / SWEEP_RUNS / sorted(_names(out))[0]
    epochs = len(json.loads(record.read_bytes())["history"])
    assert [len(line.get_xdata()) for line in sweep_run_curves(record).axes[0].lines][0] == epochs
    code, text = _run(["plot", str(record)])
    assert code == 2 and "--out" in text and f"fnn plot {out}" in text and "is a file" not in text
    image = tmp_path / "curves.png"
    code, text = _run(["plot", str(record), "--out", str(image)])
    assert code == 0 and image.read_bytes()[:4] == b"\x89PNG"
    assert sweep_run_curves(out) is None and sweep_run_curves(tmp_path / "curves.png") is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False, width=32), min_size=1, max_size=40))
def test_spread_is_the_hand_computation(values):
    stats = pytest.importorskip("scipy.stats")
    row = spread("m", values)
    array = np.array(values, dtype=np.float64)
    assert math.isclose(row["m_mean"], array.mean(), abs_tol=1e-12)
    assert row["m_min"] == array.min() and row["m_max"] == array.max()
    if len(values) == 1:
        assert row["m_std"] == 0.0 and row["m_ci95"] == 0.0
    else:
        std = array.std(ddof=1)
        assert math.isclose(row["m_std"], std, abs_tol=1e-12)
        assert math.isclose(row["m_ci95"], stats.t.ppf(0.975, len(values) - 1) * std / math.sqrt(len(values)), rel_tol=1e-5, abs_tol=1e-12)


@pytest.mark.parametrize("seeds", [[0], [3, 1], [0, 1, 2, 3, 4, 5, 6]])
def test_the_summary_and_chosen_test_metrics_are_the_hand_computation_over_the_records(tmp_path, seeds):
    result = _made(tmp_path / "s", base={**BASE, "epochs": 1}, seeds=seeds)
    written = json.loads((tmp_path / "s" / "summary.json").read_bytes())
    for row in written["summary"]:
        runs = [r for r in result.records if r["config"]["lr"] == row["config"]["lr"]]
        assert row["seeds"] == sorted(seeds) and row["runs"] == len(seeds)
        for metric in ("accuracy", "loss"):
            values = np.array([r["validation_metrics"][metric] for r in runs])
            assert math.isclose(row[f"val_{metric}_mean"], values.mean(), rel_tol=1e-12)
            assert math.isclose(row[f"val_{metric}_std"], values.std(ddof=1) if len(values) > 1 else 0.0, rel_tol=1e-9, abs_tol=1e-15)
    best = written["summary"][0]
    assert best["val_accuracy_mean"] == max(row["val_accuracy_mean"] for row in written["summary"])
    chosen = [r["final_metrics"]["accuracy"] for r in result.records if r["config"]["lr"] == best["config"]["lr"]]
    assert math.isclose(written["chosen"]["accuracy_mean"], float(np.mean(chosen)), rel_tol=1e-12)


def _folder(out):
    """A sweep folder's contents as they depend on the sweep alone: its summary and records (less their timing),
    and the ledger's names."""
    records = {}
    for name in _names(out):
        record = json.loads((out / SWEEP_RUNS / name).read_bytes())
        record.pop("wall_seconds")
        records[name] = record
    return json.loads((out / "summary.json").read_bytes()), records, sorted(json.loads((out / LEDGER).read_bytes())["runs"])


def test_python_the_command_line_and_a_toml_file_give_the_same_folder(tmp_path):
    _made(tmp_path / "python", base={**BASE, "epochs": 1})
    flags = ["sweep", "--data", "iris", "--hidden", "4", "--epochs", "1", "--grid", "lr=0.5,0.05", "--seeds", "0,1", "--sequential", "--quiet"]
    assert _run([*flags, "--out", str(tmp_path / "cli")])[0] == 0
    toml = tmp_path / "sweep.toml"
    toml.write_text(f'data = "iris"\nhidden = [4]\nepochs = 1\nseeds = [0, 1]\nout = "{tmp_path / "toml"}"\n[grid]\nlr = [0.5, 0.05]\n')
    assert _run(["sweep", "--config", str(toml), "--sequential", "--quiet"])[0] == 0
    python = _folder(tmp_path / "python")
    assert _folder(tmp_path / "cli") == python and _folder(tmp_path / "toml") == python
