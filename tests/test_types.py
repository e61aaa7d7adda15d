"""Types: every public function and record field of ``fnn`` is annotated, and mypy finds no error in the package.

A public function is one defined at the top of a module or in a public class, whose name has no leading
underscore; nested helpers and private names are the module's own business. A record field typed ``object``
says nothing: name what it holds (``Any`` where it truly may hold anything, such as a user's optimiser state).
"""

import ast
import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "fnn").rglob("*.py"))


def _public_functions(tree):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (not item.name.startswith("_") or item.name == "__init__"):
                    yield f"{node.name}.{item.name}", item


def _missing_hints(function):
    arguments = function.args
    every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    missing = [a.arg for a in every if a.annotation is None and a.arg not in ("self", "cls")]
    if function.returns is None and function.name != "__init__":
        missing.append("return")
    return missing


def _record_fields(tree):
    """``(class, field, annotation)`` of every annotated class attribute of an attrs record."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any("frozen" in ast.unparse(d) or "define" in ast.unparse(d) for d in node.decorator_list):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    yield node.name, item.target.id, ast.unparse(item.annotation)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_public_functions_and_record_fields_are_typed(path):
    tree = ast.parse(path.read_text())
    untyped = [f"{name}: {', '.join(missing)}" for name, node in _public_functions(tree) if (missing := _missing_hints(node))]
    vague = [f"{cls}.{name}: {annotation}" for cls, name, annotation in _record_fields(tree) if annotation in ("object", "'object'")]
    assert not untyped and not vague, f"{path.relative_to(ROOT)}: untyped {untyped}; fields typed object {vague}"


def test_the_package_declares_its_types():
    assert (ROOT / "fnn" / "py.typed").is_file()


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is in the test extra: pip install -e '.[test]'")
def test_mypy_finds_no_error_in_the_package():
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--config-file", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
