"""Every reader of a path the user gives (fnn.load, load_checkpoint, from_safetensors, a model's predict on a file,
fnn predict, fnn evaluate --data, fnn diff) meets every kind of bad file: a FIFO (which would block a plain open
forever), a link to one, a folder, nothing, an empty file and garbage. Each is refused in one line naming the
file, within seconds; none hangs or ends in a traceback."""

import os
import signal

import pytest
from refusals import cli_refusal, python_refusal

import fnn
from fnn.cli import main
from fnn.interop import from_safetensors
from fnn.store import load_checkpoint


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("readers") / "run"
    assert main(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--quiet", "--out", str(out)]) == 0
    return out


READERS = {  # name: (the file name it reads, call returning the refusal or None)
    "fnn.load": ("m.npz", python_refusal(lambda run, path: fnn.load(path))),
    "load_checkpoint": ("m.npz", python_refusal(lambda run, path: load_checkpoint(path))),
    "from_safetensors": ("m.safetensors", python_refusal(lambda run, path: from_safetensors(path))),
    "Model.predict csv": ("x.csv", python_refusal(lambda run, path: fnn.load(run).predict(path))),
    "Model.predict npy": ("x.npy", python_refusal(lambda run, path: fnn.load(run).predict(path))),
    "fnn predict": ("x.csv", cli_refusal(lambda run, path: ["predict", run, path])),
    "fnn evaluate --data": ("x.csv", cli_refusal(lambda run, path: ["evaluate", run, "--data", f"csv:{path}"])),
    "fnn diff": ("record.json", cli_refusal(lambda run, path: ["diff", run, path])),
}

KINDS = {
    "a FIFO": lambda path: os.mkfifo(path),
    "a link to a FIFO": lambda path: (os.mkfifo(f"{path}.fifo"), os.symlink(f"{path}.fifo", path)),
    "a folder": lambda path: os.mkdir(path),
    "nothing": lambda path: None,
    "an empty file": lambda path: open(path, "wb").close(),
    "garbage": lambda path: open(path, "wb").write(b"\x00\xff" * 64 + b"PK\x03\x04" + b"\xff" * 64),
}


def _alarm(signum, frame):
    raise TimeoutError("the reader blocked")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_refuses_every_bad_file_in_one_line(run, tmp_path, capsys, reader, kind):
    name, call = READERS[reader]
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / name
    KINDS[kind](str(path))
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        refusal = call(run, path, capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert refusal is not None and str(path.name) in refusal, refusal
