"""The README runs as written: every block, in order, in one empty folder, as a newcomer would follow it.

- ```python blocks run in one namespace (``__name__ == "__main__"``, as in a script);
- ```toml blocks whose first line is ``# file: NAME`` are written to NAME;
- each ``$ fnn ...`` line of a ```console block runs as a real command, and the output lines shown after it must
  appear in what it printed (numbers to the precision shown);
- every other ``fnn ...`` command in a ```sh block is parsed by the command line's own parser, so a renamed or
  removed flag fails here; the two set-up commands at the top are checked for what they promise;
- a block that needs an optional package has ``<!-- needs: NAME, ... -->`` on the line above it: where one is
  missing the block is left out (and so is a block using names only such a block defines, and a ``$ fnn`` line
  refused in one line naming its extra), and the test says which; a test hides every optional package and checks
  that exactly the marked blocks are left out.
"""

import ast
import importlib.util
import json
import os
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


NEEDS = re.compile(r"<!-- needs: ([\w, ]+) -->\n$")


def marked_blocks():
    """``(line, kind, body, needs)`` for every block, ``needs`` the import names its ``<!-- needs: ... -->`` gives."""
    text = README.read_text()
    found = []
    for match in BLOCK.finditer(text):
        mark = NEEDS.search(text, 0, match.start())
        needs = tuple(name.strip() for name in mark.group(1).split(",")) if mark else ()
        found.append((text.count("\n", 0, match.start()) + 1, match.group(1), match.group(2), needs))
    return found


def _defined_names(body):
    """The names a Python block binds."""
    names = set()
    for node in ast.walk(ast.parse(body)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


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


# Set to comma-separated import names to run the README's commands with those packages hidden, as on a bare machine.
HIDDEN = "FNN_README_HIDDEN"
_HIDING_MAIN = (
    "import os, sys\nfor _n in filter(None, os.environ.get('FNN_README_HIDDEN', '').split(',')):\n    sys.modules[_n] = None\n"
    "from fnn.cli import main\nsys.exit(main(sys.argv[1:]))"
)


def run_fnn(args, cwd, check=True):
    command = [sys.executable, "-c", _HIDING_MAIN, *args] if os.environ.get(HIDDEN) else [sys.executable, "-m", "fnn", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300)
    assert not check or result.returncode == 0, f"fnn {' '.join(args)} failed:\n{result.stderr}"
    return result


def _missing_extra(result):
    """The extra a command names when it refused for an optional package this environment lacks."""
    extra = re.search(r"pip install 'fnn\[(\w+)\]'", result.stderr)
    return extra.group(1) if result.returncode == 2 and extra else None


def walk(folder, run_marked=False):
    """Follow the README in ``folder``: ``(namespace, commands run, {line: why that block or command did not run})``.
    A block marked as needing a package this environment lacks is left out (with ``run_marked`` it runs, and is
    left out when it fails for that package), as is a block using a name only such blocks define; a ``$ fnn`` line
    refused in one line naming a missing extra is left out with the output lines shown after it."""
    namespace, ran, left_out, undefined = {"__name__": "__main__"}, [], {}, set()
    for line, kind, body, needs in marked_blocks():
        missing = [name for name in needs if importlib.util.find_spec(name) is None]
        if kind == "python" and missing and not run_marked:
            left_out[line], undefined = f"needs {', '.join(missing)}", undefined | _defined_names(body)
        elif kind == "python":
            try:
                exec(compile(body, str(README), "exec"), namespace)
            except ModuleNotFoundError as error:  # fnn's own message names the package, Python's sets its name
                named = [name for name in missing if name == (error.name or "").split(".")[0] or name.lower() in str(error).lower()]
                if not named:
                    raise
                left_out[line], undefined = f"needs {named[0]}", undefined | _defined_names(body)
            except NameError as error:
                if error.name not in undefined:
                    raise
                left_out[line], undefined = f"uses {error.name}, from a block left out", undefined | _defined_names(body)
        elif kind == "toml":
            first = body.partition("\n")[0]
            name = re.fullmatch(r"# file: (\S+)", first.strip())
            assert name, f"a TOML example must start with '# file: NAME':\n{body}"
            (folder / name.group(1)).write_text(body)
        elif kind == "console":
            result = None
            for number, text in enumerate(body.splitlines(), start=line + 1):
                if text.startswith("$ "):
                    (args,) = fnn_commands(text[2:])
                    result = run_fnn(args, folder, check=False)
                    if _missing_extra(result):
                        left_out[number] = f"fnn {args[0]} needs the {_missing_extra(result)} extra"
                        continue
                    assert result.returncode == 0, f"fnn {' '.join(args)} failed:\n{result.stderr}"
                    ran.append(args)
                elif text.strip() and not _missing_extra(result):
                    assert result is not None and _shown_line_matches(text, result.stdout), f"{text!r} not in:\n{result.stdout}"
    return namespace, ran, left_out


def test_every_block_kind_is_one_the_test_knows():
    kinds = {kind for kind, _ in blocks()}
    assert kinds <= {"python", "console", "sh", "toml", "text", ""}, kinds
    assert sum(kind == "python" for kind, _ in blocks()) >= 8


def test_the_readme_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty folder: whatever a block needs, an earlier block made
    namespace, ran, left_out = walk(tmp_path)

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
    assert (tmp_path / "predictions.json").stat().st_size > 500
    # and the console blocks ran their commands
    assert ["evaluate", "runs/iris"] in ran
    assert (tmp_path / "runs" / "moons-seed3" / "record.json").exists()
    assert len(list((tmp_path / "runs" / "sweep-iris" / "runs").iterdir())) == 4
    if left_out:  # every other block ran and held; say what did not
        pytest.skip("README parts left out for a missing optional package, not installed: " + "; ".join(f"line {k}: {v}" for k, v in left_out.items()))
    for name in ("moons_boundary.png", "moons_curves.png", "activations.png", "runs/iris/learning_curves.png"):
        assert (tmp_path / name).stat().st_size > 500, name


def test_a_block_is_marked_iff_it_needs_an_optional_package(tmp_path, optional_packages, missing_optional_packages):
    """With every optional package hidden, the README runs but for exactly its marked Python blocks (each, run
    anyway, fails for a package it names or a name only such a block defines) and commands naming their extra."""
    if missing_optional_packages(optional_packages):
        pytest.skip("on a machine that lacks optional packages, test_the_readme_runs_as_written is this test")
    hidden = ",".join(optional_packages)
    code = (
        f"import sys, json, pathlib\nfor _n in {hidden!r}.split(','):\n    sys.modules[_n] = None\n"
        f"sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})\nimport test_readme\n"
        "print(json.dumps(test_readme.walk(pathlib.Path.cwd(), run_marked=True)[2]))"
    )
    env = {**os.environ, HIDDEN: hidden, "PYTHONPATH": os.pathsep.join([str(README.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    left_out = {int(line): why for line, why in json.loads(result.stdout.splitlines()[-1]).items()}
    python_blocks = {line: needs for line, kind, _, needs in marked_blocks() if kind == "python"}
    marked = {line for line, needs in python_blocks.items() if needs}
    assert set(left_out) & set(python_blocks) == marked, f"marked {sorted(marked)}; left out {left_out}"
    assert any(line not in python_blocks for line in left_out), f"no command named its missing extra: {left_out}"


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
    out = run_fnn(fnn_commands(commands[0])[0], tmp_path).stdout
    assert "test accuracy" in out and (tmp_path / "runs").is_dir()
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out).group(1))
    assert accuracy >= 0.9
