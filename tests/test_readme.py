"""The README runs as written: every block, in order, in one empty folder, as a newcomer would follow it.

- ```python blocks run in one namespace (``__name__ == "__main__"``, as in a script);
- ```toml blocks whose first line is ``# file: NAME`` are written to NAME;
- each ``$ fnn ...`` line of a ```console block runs as a real command, and the output lines shown after it must
  appear in what it printed (numbers to the precision shown);
- every other ``fnn ...`` command in a ```sh block is parsed by the command line's own parser, so a renamed or
  removed flag fails here; the two set-up commands at the top are checked for what they promise.
"""

import ast
import importlib.util
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from fnn.cli import _parser

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)


def blocks():
    return [(kind, body) for kind, body in BLOCK.findall(README.read_text())]


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def _shown_line_matches(shown, printed):
    """A printed line that has the shown line's cells: text equal, numbers equal to the precision shown."""
    want = shown.split(",")
    for line in printed.splitlines():
        cells = line.split(",")
        if len(cells) != len(want):
            continue
        ok = True
        for a, b in zip(want, cells):
            x, y = _number(a), _number(b)
            if x is None or y is None:
                ok = ok and a.strip() == b.strip()
            else:
                ok = ok and abs(x - y) <= 0.005 + 0.05 * abs(y)
        if ok:
            return True
    return False


def fnn_commands(line):
    """The ``fnn`` commands of a shell line (``a && fnn b | jq``), as argument lists without the ``fnn``."""
    commands = []
    for part in re.split(r"&&|\|\|?|;", line.split(" #")[0]):
        words = shlex.split(part, comments=True)
        if words and words[0] == "fnn":
            commands.append(words[1:])
    return commands


def run_fnn(args, cwd):
    result = subprocess.run([sys.executable, "-m", "fnn", *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert result.returncode == 0, f"fnn {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


# Packages a README block may use that the test extra does not install (PyTorch's CPU wheel is installed by hand).
OUTSIDE_THE_TEST_EXTRA = ("torch",)


def missing_outside_packages(body):
    """The packages outside the test extra that a block imports and this machine lacks."""
    imported = set()
    for node in ast.walk(ast.parse(body)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    return sorted(name for name in imported & set(OUTSIDE_THE_TEST_EXTRA) if importlib.util.find_spec(name) is None)


def test_every_block_kind_is_one_the_test_knows():
    kinds = {kind for kind, _ in blocks()}
    assert kinds <= {"python", "console", "sh", "toml", "text", ""}, kinds
    assert sum(kind == "python" for kind, _ in blocks()) >= 8


# What the README's walk-through uses besides PyTorch: the test extra installs them all.
README_NEEDS = ("matplotlib", "dask", "distributed", "sklearn", "pandas", "safetensors", "onnx", "onnxruntime", "tensorboardX")


def test_the_readme_runs_as_written(tmp_path, monkeypatch, missing_optional_packages):
    missing = missing_optional_packages(README_NEEDS)
    if missing:
        pytest.skip(f"the README's walk-through needs {', '.join(missing)}: pip install -e '.[test]'")
    monkeypatch.chdir(tmp_path)  # an empty folder: whatever a block needs, an earlier block made
    namespace = {"__name__": "__main__"}
    ran, left_out = [], []
    for kind, body in blocks():
        if kind == "python" and missing_outside_packages(body):
            left_out += missing_outside_packages(body)
        elif kind == "python":
            exec(compile(body, str(README), "exec"), namespace)
        elif kind == "toml":
            first = body.partition("\n")[0]
            name = re.fullmatch(r"# file: (\S+)", first.strip())
            assert name, f"a TOML example must start with '# file: NAME':\n{body}"
            (tmp_path / name.group(1)).write_text(body)
        elif kind == "console":
            output = None
            for line in body.splitlines():
                if line.startswith("$ "):
                    (args,) = fnn_commands(line[2:])
                    output = run_fnn(args, tmp_path)
                    ran.append(args)
                elif line.strip():
                    assert output is not None and _shown_line_matches(line, output), f"{line!r} not in:\n{output}"

    # what the Python blocks promise
    import fnn

    assert namespace["more"].epoch == 25
    at_once = fnn.fit(namespace["params"], namespace["train"], epochs=25, lr=0.1, batch_size=32, seed=0, validation=0.1)
    assert namespace["more"].params == at_once.params
    assert namespace["scores"]["correct"] == round(namespace["scores"]["accuracy"] * len(namespace["test"]))
    assert namespace["best"].epoch <= namespace["stopped"].epoch
    assert namespace["params_after_5"].spec == namespace["params"].spec
    assert namespace["table"].class_names == ("setosa", "versicolor", "virginica")
    assert len(namespace["result"].records) == 6 and (tmp_path / "runs" / "sweep" / "summary.json").exists()
    for name in ("moons_boundary.png", "moons_curves.png", "activations.png", "predictions.json"):
        assert (tmp_path / name).stat().st_size > 500, name
    # and the console blocks ran their commands
    assert ["evaluate", "runs/iris"] in ran and (tmp_path / "runs" / "iris" / "learning_curves.png").exists()
    assert (tmp_path / "runs" / "moons-seed3" / "record.json").exists()
    assert len(list((tmp_path / "runs" / "sweep-iris" / "runs").iterdir())) == 4
    if left_out:  # every other block ran and held; say what did not run
        pytest.skip(f"the README blocks that import {sorted(set(left_out))} did not run: outside the test extra, not installed")


def test_every_other_fnn_command_parses():
    parser = _parser()
    checked = 0
    for kind, body in blocks():
        if kind not in ("sh", "bash"):
            continue
        for line in body.splitlines():
            for args in fnn_commands(line):
                try:
                    parser.parse_args(args)
                except SystemExit:
                    pytest.fail(f"the README's command 'fnn {' '.join(args)}' does not parse")
                checked += 1
    assert checked >= 10


def test_the_two_commands_at_the_top(tmp_path):
    text = README.read_text()
    top = text[text.index("## Two commands") : text.index("## A first network")]
    commands = [body.strip() for kind, body in BLOCK.findall(top)]
    assert commands[:2] == ["pip install -e . && fnn train", "pip install -e '.[test]' && python -m pytest -q"]
    out = run_fnn(fnn_commands(commands[0])[0], tmp_path)
    assert "test accuracy" in out and (tmp_path / "runs").is_dir()
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert accuracy >= 0.9
