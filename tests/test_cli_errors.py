"""Every user mistake on the command line is one line on stderr and exit code 2, naming the flag: a table of bad
command lines run through ``fnn.cli.main`` in one process, each checked for the code, the single line, the flag
named and no traceback; and nothing on disk changed by a refused command."""

import http.server
import os
import socket
import threading
import time

import pytest

from fnn.cli import main

NOT_UTF8 = b'data = "iris"\nhidden = [6]\n# caf\xe9\n'


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder with what the bad command lines point at: a file, a folder, a run, a non-run, bad TOML files."""
    root = tmp_path_factory.mktemp("cli-errors")
    (root / "folder").mkdir()
    (root / "not-a-run").mkdir()
    (root / "file.txt").write_text("just text\n")
    (root / "latin1.toml").write_bytes(NOT_UTF8)
    (root / "broken.toml").write_text("data = \n")
    (root / "grid-not-table.toml").write_text('data = "iris"\ngrid = 3\n')
    (root / "bad-seeds.toml").write_text('data = "iris"\n[grid]\nlr = [0.1]\nseeds = [0, -1]\n')
    (root / "seeds-twice.toml").write_text('data = "iris"\nseeds = [0, 1]\n[grid]\nlr = [0.1]\nseeds = [2]\n')
    (root / "out-in-grid.toml").write_text('data = "iris"\n[grid]\nout = ["a", "b"]\n')
    (root / "sweep-no-validation.toml").write_text('data = "iris"\nvalidation = 0\n[grid]\nlr = [0.1, 0.2]\n')
    assert main(["train", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", str(root / "run"), "--quiet"]) == 0
    return root


@pytest.fixture(scope="module")
def silent_server():
    """Accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(16)], daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # the server's own log is not the command's stderr
        pass


@pytest.fixture(scope="module")
def http_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


TRAIN = ["train", "--data", "iris", "--hidden", "4", "--epochs", "1"]

CASES = [
    # (command line, the flag the message must name); {p} is the prepared folder
    (["train", "--config", "{p}/folder"], "--config"),
    (["train", "--config", "{p}/latin1.toml"], "--config"),
    (["train", "--config", "{p}/broken.toml"], "--config"),
    (["train", "--config", "{p}/missing.toml"], "--config"),
    (["train", "--config", ""], "--config"),
    ([*TRAIN, "--out", "{p}/file.txt"], "--out"),
    ([*TRAIN, "--out", "{p}/file.txt/sub"], "--out"),
    ([*TRAIN, "--out", "/proc/fnn-cannot-be-here"], "--out"),
    ([*TRAIN, "--out", "{p}/run"], "--out"),
    ([*TRAIN, "--out", "{p}/run", "--resume", "{p}/run"], "--resume"),
    ([*TRAIN, "--out", "{p}/new", "--overwrite", "--no-record"], "--no-record"),
    (["train", "--resume", "{p}/run", "--overwrite"], "--overwrite"),
    (["train", "--resume", "{p}/not-a-run"], "--resume"),
    (["train", "--resume", "{p}/file.txt"], "--resume"),
    (["train", "--resume", "{p}/missing"], "--resume"),
    (["train", "--resume", "{p}/run", "--lr", "0.5"], "--resume"),
    (["train", "--resume", "{p}/run", "--epochs", "1"], "--epochs"),
    (["train", "--resume", "{p}/run", "--threads", "0"], "--threads"),
    ([*TRAIN, "--schedule", "step_decay:x"], "--schedule"),
    ([*TRAIN, "--schedule", "step_decay:1,2,3,4,5"], "--schedule"),
    ([*TRAIN, "--schedule", "linear_warmup:2+bogus"], "--schedule"),
    ([*TRAIN, "--schedule", "cosine+constant"], "--schedule"),
    (["train", "--epochs", "1000000000"], "--epochs"),
    (["train", "--epochs", "1e9"], "--epochs"),
    (["train", "--epochs", "-3"], "--epochs"),
    (["train", "--epochs"], "--epochs"),
    (["train", "--epochs", "nan"], "--epochs"),
    (["train", "--lr", "inf"], "--lr"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--hidden", "0"], "--hidden"),
    (["train", "--hidden", "8,,x"], "--hidden"),
    (["train", "--hidden", "1000000,1000000"], "--hidden"),
    (["train", "--activation", "relux"], "--activation"),
    (["train", "--activation", "leaky_relu:x"], "--activation"),
    (["train", "--init", "bogus"], "--init"),
    (["train", "--loss", "hinge"], "--loss"),
    (["train", "--output", "sofmax"], "--output"),
    (["train", "--monitor", "val_acc", "--patience", "3"], "--monitor"),
    (["train", "--patience", "3", "--validation", "0"], "--patience"),
    (["train", "--validation", "1"], "--validation"),
    (["train", "--test-fraction", "0"], "--test-fraction"),
    (["train", "--drop-rate", "1"], "--drop-rate"),
    (["train", "--dtype", "float16"], "--dtype"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--threads", "0"], "--threads"),
    (["train", "--threads", "100000"], "--threads"),
    (["train", "--standardize", "maybe"], "--standardize"),
    (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum"),
    (["train", "--data", "nope"], "--data"),
    (["train", "--data", "csv:"], "--data"),
    (["train", "--data", "csv:{p}/missing.csv"], "--data"),
    (["train", "--data", "csv:{p}/folder"], "--data"),
    (["train", "--data", "csv:{p}/latin1.toml"], "--data"),
    (["train", "--data", "mnist:{p}/folder"], "--data"),
    (["train", "--data", "idx:{p}/file.txt"], "--data"),
    (["train", "--bogus-flag"], "--bogus-flag"),
    (["train", "--config", "{p}/grid-not-table.toml"], "grid"),
    (["sweep", "--config", "{p}/folder"], "--config"),
    (["sweep", "--config", "{p}/latin1.toml"], "--config"),
    (["sweep", "--config", "{p}/grid-not-table.toml"], "--config"),
    (["sweep", "--config", "{p}/bad-seeds.toml"], "The grid key 'seeds' in {p}/bad-seeds.toml must be a seed or a list of distinct seeds"),
    (["sweep", "--config", "{p}/seeds-twice.toml"], "gives seeds twice (The key 'seeds' in {p}/seeds-twice.toml and The grid key 'seeds'"),
    (["sweep", "--config", "{p}/out-in-grid.toml"], "The grid key 'out' in {p}/out-in-grid.toml is the folder a run or sweep writes into"),
    (["sweep", "--grid", "lr=0.1", "--grid", "lr=0.2"], "--grid lr is given twice"),
    (["sweep", "--grid", "lr=0.1", "--threads", "2"], "--threads must be 1 in a sweep"),
    (["sweep", "--grid", "lr=0.1", "--resume", "{p}/folder"], "--resume takes no value (keep the runs already in --out"),
    (["sweep", "--grid", "lr=0.1", "--sequential", "x"], "--sequential takes no value"),
    (["train", "--quiet", "{p}/folder"], "--quiet takes no value"),
    (["sweep", "--config", "{p}/sweep-no-validation.toml"], "validation"),
    (["sweep", "--grid", "lr"], "--grid"),
    (["sweep", "--grid", "lr=0.1,x"], "--grid lr"),
    (["sweep", "--grid", "lr=[0.1"], "--grid"),
    (["sweep", "--grid", "lr=[]"], "--grid"),
    (["sweep", "--grid", "lrate=[0.1]"], "--grid"),
    (["sweep", "--grid", "lr=[-1]"], "--grid"),
    (["sweep", "--grid", "threads=[2]"], "threads"),
    (["sweep", "--grid", "lr=[0.1]", "--seeds", "a,b"], "--seeds"),
    (["sweep", "--grid", "lr=[0.1]", "--seeds", ""], "--seeds"),
    (["sweep", "--grid", "lr=[0.1]", "--seeds", "-1"], "--seeds"),
    (["sweep", "--grid", "lr=[0.1]", "--epochs", "1000000000"], "--epochs"),
    (["sweep", "--grid", "lr=[0.1]", "--epochs", "ten"], "--epochs"),
    (["sweep", "--grid", "lr=[0.1]", "--data", "nope"], "--data"),
    (["sweep", "--grid", "lr=[0.1]", "--workers", "0"], "--workers"),
    (["sweep", "--grid", "lr=[0.1]", "--workers", "x"], "--workers"),
    (["sweep", "--grid", "lr=[0.1]", "--workers", "2", "--sequential"], "--workers"),
    (["sweep", "--grid", "lr=[0.1]", "--scheduler", "tcp://127.0.0.1:9", "--sequential"], "--scheduler"),
    (["sweep", "--grid", "lr=[0.1]", "--scheduler", "not a url"], "--scheduler"),
    (["sweep", "--grid", "lr=[0.1]", "--scheduler", "http://127.0.0.1:8786"], "--scheduler"),
    (["sweep", "--grid", "lr=[0.1]", "--scheduler", "tcp://127.0.0.1:99999"], "--scheduler"),
    (["sweep", "--grid", "lr=[0.1]", "--scheduler", "tcp://:8786"], "--scheduler"),
    (["sweep", "--grid", "lr=[0.1]", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler"),
    (["sweep", "--grid", "lr=[0.1]", "--resume"], "--resume"),
    (["sweep", "--grid", "lr=[0.1]", "--out", "{p}/file.txt"], "--out"),
    (["sweep", "--grid", "lr=[0.1]", "--out", "{p}/x", "--resume", "--overwrite"], "--overwrite"),
]


def run_cli(argv, capsys):
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _listing(root):
    return sorted((path, os.path.getsize(os.path.join(path, name)) if os.path.isfile(os.path.join(path, name)) else -1)
                  for path, _, names in os.walk(root) for name in names)


@pytest.mark.parametrize("argv, flag", CASES, ids=[" ".join(argv)[:70] for argv, _ in CASES])
def test_a_bad_command_line_is_one_line_exit_2_naming_the_flag(place, argv, flag, capsys, monkeypatch):
    monkeypatch.chdir(place)
    before = _listing(place)
    code, out, err = run_cli([part.replace("{p}", str(place)) for part in argv], capsys)
    assert code == 2, (code, out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and flag.replace("{p}", str(place)) in err, err
    assert err.startswith(f"fnn {argv[0]}: error: "), err
    assert _listing(place) == before  # a refused command changes nothing on disk


@pytest.mark.parametrize("kind", ["silent", "http"])
def test_a_scheduler_that_never_answers_or_is_not_dask_fails_within_10_s(kind, silent_server, http_server, capsys, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.chdir(tmp_path)
    address = silent_server if kind == "silent" else http_server
    started = time.perf_counter()
    code, _, err = run_cli(["sweep", "--grid", "lr=[0.1]", "--data", "iris", "--scheduler", address], capsys)
    assert time.perf_counter() - started < 10
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"--scheduler {address}" in err
    assert "not answer as a Dask scheduler" in err or "not a Dask scheduler" in err


def test_plots_without_matplotlib_are_refused_before_training(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli([*TRAIN, "--plots", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "--plots" in err and "pip install 'fnn[plots]'" in err
    assert out == "" and not (tmp_path / "run").exists()  # nothing trained, nothing written


def test_help_and_version_exit_0_through_main(capsys):
    assert main(["train", "--help"]) == 0 and "--threads" in capsys.readouterr().out
    assert main(["--version"]) == 0
