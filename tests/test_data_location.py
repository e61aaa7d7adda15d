"""Data by identity: a run keeps the resolved location of the files it read and their SHA-256; commands run from
any folder read the run's own files, and refuse, naming the file and both SHA-256, a file that changed since."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
from attrs import frozen

import fnn
from fnn.data.sources import data_files, load_train_test, resolve_data
from fnn.run.provenance import file_sha256


@frozen
class _Result:
    returncode: int
    stdout: str
    stderr: str


def fnn_cli(*args, cwd, home=None):
    """``fnn ARGS`` run in folder ``cwd`` (with ``HOME`` set to ``home`` if given), in this process."""
    out, err, before, old_home = io.StringIO(), io.StringIO(), os.getcwd(), os.environ.get("HOME")
    try:
        os.chdir(cwd)
        if home is not None:
            os.environ["HOME"] = str(home)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = fnn.cli.main([str(arg) for arg in args])
    finally:
        os.chdir(before)
        if home is not None:
            os.environ.pop("HOME") if old_home is None else os.environ.update(HOME=old_home)
    return _Result(code, out.getvalue(), err.getvalue())


def _ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _csv(path, seed, rows=100):
    """A table whose label is learnable from its first two columns (seed 0), or random (another seed)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)).round(3)
    labels = (x[:, 0] + x[:, 1] > 0).astype(int) if seed == 0 else rng.integers(0, 2, rows)
    lines = ["a,b,c,label", *(",".join([*map(str, row), str(label)]) for row, label in zip(x, labels))]
    path.write_text("\n".join(lines) + "\n")
    return path


def _refused(result, path):
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "\n" not in message and str(path) in message and "has changed" in message, message
    return message


def test_resolve_data_makes_file_kinds_absolute_and_keeps_other_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data("csv:data.csv") == f"csv:{tmp_path / 'data.csv'}"
    assert resolve_data("CSV: ~/x.csv") == f"csv:{tmp_path / 'home' / 'x.csv'}"
    assert resolve_data("idx:sub/../mnist") == f"idx:{tmp_path / 'mnist'}"
    assert [resolve_data(name) for name in ("iris", "digits", "moons", "sine")] == ["iris", "digits", "moons", "sine"]
    assert resolve_data(resolve_data("csv:data.csv")) == resolve_data("csv:data.csv")  # once resolved, it stays
    assert data_files("csv:data.csv") == ()  # not there (yet)
    _csv(tmp_path / "data.csv", 0)
    assert data_files("csv:data.csv") == (str(tmp_path / "data.csv"),)


def test_data_files_of_an_idx_folder_are_its_four_files(tmp_path):
    images, labels = np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 3], np.uint8)
    for stem in ("train", "t10k"):
        fnn.data.write_idx(str(tmp_path / f"{stem}-images-idx3-ubyte"), images)
        fnn.data.write_idx(str(tmp_path / f"{stem}-labels-idx1-ubyte"), labels)
    files = data_files(f"idx:{tmp_path}")
    assert sorted(os.path.basename(path) for path in files) == sorted(os.listdir(tmp_path)) and len(files) == 4


def test_a_user_tilde_is_expanded_for_training_and_the_record_keeps_the_place(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    table = _csv(home / "x.csv", 0)
    _ok(fnn_cli("train", "--data", "csv:~/x.csv", "--hidden", "4", "--epochs", "2", "--out", tmp_path / "run", "--quiet",
                cwd=tmp_path, home=home))
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["config"]["data"] == f"csv:{table}"
    assert record["data"]["source"] == {"location": f"csv:{table}", "files": {str(table): file_sha256(str(table))}}
    _ok(fnn_cli("evaluate", tmp_path / "run", "--data", "csv:~/x.csv", cwd=tmp_path, home=home))


def _test_row(table):
    """The line number (in the file, from 0 for the header) of a row of the table's test part."""
    _, test = load_train_test(f"csv:{table}", seed=0, test_fraction=0.2)
    lines = table.read_text().splitlines()
    wanted = ",".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in test.features[0])
    rows = [n for n, line in enumerate(lines[1:], 1) if ",".join(f"{float(c):.3f}".rstrip("0").rstrip(".") for c in line.split(",")[:3]) == wanted]
    assert len(rows) == 1
    return rows[0]


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    """Folder a holds data.csv and the run trained on csv:data.csv from there; folder b its own, other data.csv."""
    root = tmp_path_factory.mktemp("location")
    a, b = root / "a", root / "b"
    a.mkdir()
    b.mkdir()
    _csv(a / "data.csv", 0)
    _csv(b / "data.csv", 7)
    _ok(fnn_cli("train", "--data", "csv:data.csv", "--hidden", "8", "--epochs", "20", "--lr", "0.2", "--out", "run", "--quiet", cwd=a))
    return a, b


def test_a_run_is_evaluated_verified_and_plotted_from_another_folder_with_its_own_file(two_folders):
    a, b = two_folders
    here = json.loads(_ok(fnn_cli("evaluate", "run", "--json", cwd=a)).stdout)
    there = json.loads(_ok(fnn_cli("evaluate", a / "run", "--json", cwd=b)).stdout)
    assert there == here and here["accuracy"] > 0.8  # b's own data.csv is noise: it would score near 0.5
    elsewhere = json.loads(_ok(fnn_cli("evaluate", a / "run", "--json", "--data", "csv:data.csv", cwd=b)).stdout)
    assert elsewhere != here  # asked for explicitly, b's file is the one scored
    record = json.loads((a / "run" / "record.json").read_text())
    assert record["data"]["source"]["location"] == f"csv:{a / 'data.csv'}"
    assert "verified" in _ok(fnn_cli("verify", a / "run", cwd=b)).stdout
    pytest.importorskip("matplotlib")
    _ok(fnn_cli("plot", a / "run", cwd=b))
    assert (a / "run" / "confusion_matrix.png").exists() and not (b / "confusion_matrix.png").exists()


def test_one_changed_test_row_of_the_runs_file_is_refused_naming_it(two_folders, tmp_path):
    a, b = two_folders
    table = a / "data.csv"
    original = table.read_text()
    recorded = file_sha256(str(table))
    lines = original.splitlines()
    row = _test_row(table)
    cells = lines[row].split(",")
    lines[row] = ",".join([str(float(cells[0]) + 1.0), *cells[1:]])
    try:
        table.write_text("\n".join(lines) + "\n")
        current = file_sha256(str(table))
        for command in (("evaluate", a / "run"), ("evaluate", a / "run" / "checkpoint.npz"), ("verify", a / "run"), ("plot", a / "run"),
                        ("train", "--resume", a / "run", "--epochs", "21")):
            message = _refused(fnn_cli(*command, cwd=b), table)
            assert recorded in message and current in message
        with pytest.raises(fnn.FnnInputError, match="has changed"):
            fnn.verify_run(a / "run")
    finally:
        table.write_text(original)
    assert file_sha256(str(table)) == recorded
