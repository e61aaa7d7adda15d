"""One vocabulary on the command line: grouped help with one default per flag, suggestions for mistyped flags, ``fnn``
alone, Ctrl-C, short messages, --overwrite, --label on evaluate, the TOML and grid spellings of fnn train's flags,
and threads from the environment."""

import inspect
import json
import re

import pytest

import fnn.cli
from fnn.cli import main
from fnn.cli import sweep as sweep_cli
from fnn.cli.common import GROUPS
from fnn.run.settings import SETTINGS, default_threads, machine_threads
from fnn.store import RunFolder

IRIS = ["--data", "iris", "--hidden", "4", "--epochs", "2"]


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _sections(help_text):
    """The help's sections: a heading line ending in ':' and the flags under it."""
    sections, current = {}, None
    for line in help_text.splitlines():
        if re.match(r"^[a-z][a-z ]*:$", line):
            current = sections.setdefault(line[:-1], [])
        elif current is not None and line.strip():
            current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_help_is_grouped_by_topic_with_one_nonempty_default_per_flag(command, capsys):
    code, help_text, _ = _run([command, "--help"], capsys)
    assert code == 0
    sections = _sections(help_text)
    assert list(GROUPS) == [name for name in sections if name in GROUPS]
    for setting in SETTINGS:
        flag_line = re.compile(rf"^  {re.escape(setting.flag)}(?=\s)", re.M)
        assert flag_line.search(sections[setting.group]), (setting.flag, setting.group)
        assert sum(bool(flag_line.search(text)) for text in sections.values()) == 1
    entries = re.split(r"\n(?=  -)", help_text)
    for entry in entries:
        flat = " ".join(entry.split())
        assert "(default: )" not in flat and "default: ;" not in flat, flat
        assert flat.count("default") <= 1, flat  # one default per flag


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["train", "--learning-rate", "0.1"], "--learning-rate: did you mean --lr?"),
        (["train", "--batchsize", "8"], "--batchsize: did you mean --batch-size?"),
        (["train", "--hid", "8"], "--hid: did you mean --hidden?"),  # no abbreviations: a prefix is a typo
        (["sweep", "--seed", "1", "--grids", "lr=[0.1]"], "--grids: did you mean --grid?"),
        (["evaluate", "runs/a", "--lable", "y"], "--lable: did you mean --label?"),
        (["export", "runs/a", "--out", "m.onnx", "--force"], "--force: did you mean --overwrite?"),
        (["train", "--max-iter", "5"], "--max-iter: did you mean --epochs?"),
    ],
)
def test_a_mistyped_flag_gets_a_suggestion_in_one_line(argv, hint, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "unrecognized arguments" in err and hint in err


def test_export_says_overwrite_like_every_other_command(capsys):
    code, _, err = _run(["export", "runs/a", "--out", "m.onnx", "--force"], capsys)
    assert code == 2 and "--force: did you mean --overwrite?" in err
    for command in ("train", "sweep", "export"):
        code, help_text, _ = _run([command, "--help"], capsys)
        assert "--overwrite" in help_text and "--force" not in help_text


def test_fnn_alone_prints_the_overview_and_exits_0(capsys):
    code, out, err = _run([], capsys)
    assert code == 0 and err == ""
    for command in ("train", "evaluate", "predict", "sweep", "export", "verify", "diff", "replay"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_ctrl_c_in_train_is_one_line_with_the_resume_command_and_exit_130(tmp_path, monkeypatch, capsys):
    save = RunFolder.save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "save_checkpoint", save_then_interrupt)
    code, _, err = _run(["train", *IRIS, "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 130
    assert err.strip() == f"fnn train: interrupted; the last finished epoch is checkpointed; continue with: fnn train --resume {tmp_path / 'run'}"


def test_ctrl_c_in_sweep_is_one_line_with_the_resume_command_and_exit_130(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_cli, "sweep", interrupted)
    out = tmp_path / "sweep"
    code, _, err = _run(["sweep", "--data", "iris", "--grid", "lr=0.1,0.05", "--sequential", "--out", str(out), "--quiet"], capsys)
    assert code == 130 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"fnn sweep: interrupted; the finished runs are kept in {out}; continue with: fnn sweep ")
    assert err.rstrip().endswith(f"--out {out} --resume") and err.count("--out") == 1 and "--grid lr=0.1,0.05" in err


def test_a_sweep_worker_leaves_ctrl_c_to_the_command():
    import subprocess
    import sys

    code = ("import signal; from fnn.cli.quiet_worker import dask_setup; dask_setup(None); "
            "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr
    assert '"fnn.cli.quiet_worker"' in inspect.getsource(sweep_cli)  # the preload the command gives its workers


def test_a_long_header_is_cut_short_in_the_message(tmp_path, capsys):
    names = [f"feature_{i}" for i in range(3000)]
    (tmp_path / "wide.csv").write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    code, _, err = _run(["train", "--data", f"csv:{tmp_path / 'wide.csv'}", "--no-record"], capsys)
    assert code == 2 and len(err) < 800 and "'feature_0'" in err and "...] (2992 more)" in err


def test_evaluate_takes_label_like_train(tmp_path, capsys):
    rows = ["a,b,kind"] + [f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(60)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    code, _, err = _run(["train", "--data", f"csv:{tmp_path / 't.csv'}", "--label", "kind", "--epochs", "2", "--out", str(run), "--quiet"], capsys)
    assert code == 0, err
    code, out, err = _run(["evaluate", str(run), "--label", "kind", "--json"], capsys)
    assert code == 0 and json.loads(out)["samples"] == 12, err
    code, _, err = _run(["evaluate", str(run), "--label", "nothere"], capsys)
    assert code == 2 and "no column is named 'nothere'" in err
    code, _, err = _run(["evaluate", str(run), "--data", "iris", "--label", "kind"], capsys)
    assert code == 2 and "--label names a column of csv:PATH data" in err


def test_evaluate_on_data_of_another_width_names_the_flag_not_a_function(tmp_path, capsys):
    assert _run(["train", *IRIS, "--out", str(tmp_path / "run"), "--quiet"], capsys)[0] == 0
    code, _, err = _run(["evaluate", str(tmp_path / "run"), "--data", "digits"], capsys)
    assert code == 2 and "--data digits: expected rows of 4 inputs (the model's); got an array of shape (1797, 64)." in err
    assert "fnn.standardize" not in err


def test_toml_takes_what_the_flags_take_and_out_is_the_run_folder(tmp_path, capsys):
    (tmp_path / "exp.toml").write_text(f'data = "iris"\nhidden = 6\nepochs = 2\nout = "{tmp_path / "run"}"\n')
    code, out, err = _run(["train", "--config", str(tmp_path / "exp.toml"), "--quiet"], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "run"), err
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["config"]["hidden"] == [6] and record["network"].startswith("4-6-3 ")
    (tmp_path / "bad.toml").write_text("out = 3\n")
    code, _, err = _run(["train", "--config", str(tmp_path / "bad.toml"), "--no-record"], capsys)
    assert code == 2 and "The key 'out'" in err and "must be a folder name" in err and "did you mean" not in err.lower()


@pytest.mark.parametrize("grid", ["hidden=[6,8]", "hidden=6,8", "hidden=[[6],[8]]"])
def test_grid_keys_take_the_flag_spelling_and_the_scalar_or_list_rule(grid, tmp_path, capsys):
    out = tmp_path / "sweep"
    code, text, err = _run(["sweep", "--data", "iris", "--lr", "0.05", "--epochs", "1", "--batch-size", "16",
                            "--grid", grid, "--sequential", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    configs = [json.loads(path.read_text())["config"] for path in sorted((out / "runs").glob("*.json"))]
    assert sorted(c["hidden"] for c in configs) == [[6], [8]]
    assert {c["lr"] for c in configs} == {0.05} and {c["batch_size"] for c in configs} == {16}


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "2"}, (1, "OPENBLAS_NUM_THREADS")),
        ({"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "3"}, (2, "OMP_NUM_THREADS")),
        ({"MKL_NUM_THREADS": "3"}, (3, "MKL_NUM_THREADS")),
        ({"OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": "x", "MKL_NUM_THREADS": "0"}, None),
        ({}, None),
    ],
)
def test_the_threads_default_reads_the_environment_first(environ, expected):
    assert default_threads(environ) == (expected or (machine_threads(), "cores"))


def test_a_run_uses_and_records_the_environments_threads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert _run(["train", *IRIS, "--out", str(tmp_path / "run"), "--quiet"], capsys)[0] == 0
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert record["threads"] == 1 and record["threads_from"] == "OPENBLAS_NUM_THREADS"
    assert _run(["train", *IRIS, "--threads", "2", "--out", str(tmp_path / "two"), "--quiet"], capsys)[0] == 0
    record = json.loads((tmp_path / "two" / "record.json").read_text())
    assert record["threads"] == 2 and record["threads_from"] == "threads"


@pytest.mark.parametrize("command", [None, *fnn.cli._COMMANDS])  # every command, as it is added
def test_help_command_prints_what_help_flag_prints(command, capsys):
    words = [] if command is None else [command]
    assert main(["help", *words]) == 0
    by_word = capsys.readouterr().out
    assert main([*words, "--help"]) == 0
    assert by_word == capsys.readouterr().out and by_word.startswith("usage: fnn")
