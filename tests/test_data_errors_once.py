"""Every loader's refusal reaches the user with its file named once: the loaders begin their messages with the path
they read, and the door that names the data (``--data csv:PATH``) says it once (:func:`fnn.data.sources.data_error`)."""

import gzip
import os

import pytest

import fnn.run
from fnn.cli import main

TABLES = {  # file name -> (bytes, a phrase of the loader's message)
    "no_label.csv": (b"a,b\n1,2\n3,4\n", "no column is named as a label"),
    "ragged.csv": (b"a,label\n1,0\n2\n", "line 3: expected 2 cells"),
    "empty.csv": (b"", "found an empty file"),
    "header_only.csv": (b"a,label\n", "expected data rows"),
    "text_feature.csv": (b"a,label\n1,0\nx,1\n", "expected a number"),
    "empty_label.csv": (b"a,label\n1,0\n2,\n", "expected a label"),
    "only_label.csv": (b"label\n0\n1\n", "at least one feature column"),
    "quotes.csv": (b'a,label\n"1,0\n', "malformed CSV"),
    "bad.csv.gz": (b"not gzip at all", "gzip"),
    "huge_number.csv": (b"a,label\n1e999,0\n2,1\n", "finite"),
}


def _data(tmp_path, name):
    path = tmp_path / name
    if name == "folder.csv":
        path.mkdir()
    elif name != "missing.csv":
        path.write_bytes(TABLES[name][0])
    return f"csv:{path}", str(path)


CASES = [*TABLES, "missing.csv", "folder.csv"]


@pytest.mark.parametrize("name", CASES)
def test_fnn_train_names_the_file_once(name, tmp_path, capsys):
    data, path = _data(tmp_path, name)
    assert main(["train", "--data", data, "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    message = capsys.readouterr().err
    assert message.count(path) == 1, message
    assert f"--data {data}" in message
    if name in TABLES:
        assert TABLES[name][1] in message


@pytest.mark.parametrize("name", CASES)
def test_fnn_run_names_the_file_once(name, tmp_path):
    data, path = _data(tmp_path, name)
    with pytest.raises(fnn.errors.FnnInputError) as caught:
        fnn.run.run({"data": data, "epochs": 1})
    assert str(caught.value).count(path) == 1, str(caught.value)


def test_a_message_naming_another_file_keeps_it(tmp_path):
    """A loader's message naming a file other than the one --data names (a file inside an MNIST folder) keeps it."""
    folder = tmp_path / "idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01"))
    with pytest.raises(fnn.errors.FnnInputError) as caught:
        fnn.run.run({"data": f"idx:{folder}", "epochs": 1})
    message = str(caught.value)
    assert message.startswith(f"data idx:{folder}") and os.path.basename(str(folder)) in message
