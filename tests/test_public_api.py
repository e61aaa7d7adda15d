"""The public face: what each folder offers a user is its ``__init__``'s ``__all__``, every function and class there
carries a runnable example, and ``import fnn`` loads the network and its training but no machinery beyond them."""

import ast
import importlib
import inspect
import json
import pathlib
import subprocess
import sys

import pytest

FACES = ("fnn", "fnn.data", "fnn.optim", "fnn.run", "fnn.store", "fnn.observe", "fnn.proof", "fnn.interop")
LOADED_ON_FIRST_USE = ("fnn.store", "fnn.run", "fnn.observe", "fnn.proof", "fnn.interop", "fnn.cli")


def _public(face):
    module = importlib.import_module(face)
    for name in getattr(module, "__all__", ()):
        value = getattr(module, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            yield f"{face}.{name}", value


@pytest.mark.parametrize("face", FACES)
def test_every_face_lists_its_public_names(face):
    module = importlib.import_module(face)
    names = getattr(module, "__all__", None)
    assert names, f"{face} has no __all__"
    assert len(set(names)) == len(names) and all(hasattr(module, name) for name in names)


@pytest.mark.parametrize("face", FACES)
def test_every_public_function_and_class_has_an_example(face):
    bare = [name for name, value in _public(face) if ">>>" not in (inspect.getdoc(value) or "")]
    assert not bare, f"public names of {face} without a runnable example: {bare}"


def test_import_fnn_loads_only_the_network_and_its_training():
    code = "import json, sys, fnn; print(json.dumps(sorted(m for m in sys.modules if m.startswith('fnn'))))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    early = [m for m in loaded if m.startswith(LOADED_ON_FIRST_USE)]
    assert not early, f"import fnn loaded {early}"
    assert "fnn.core.params" in loaded and "fnn.train.loop" in loaded


def test_the_lazy_names_load_on_first_use():
    code = "import fnn, sys; fnn.load; fnn.verify_run; print('fnn.store.model' in sys.modules, 'fnn.proof.checks' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == ["True", "True"]


def test_only_the_faces_list_public_names():
    # A module below a face is internal: the face's __all__ is the one list of what a user may rely on.
    package = pathlib.Path(importlib.import_module("fnn").__file__).parent
    faces = {f"{face.replace('.', '/')}/__init__.py" for face in FACES}
    listing = sorted(
        str(path.relative_to(package.parent))
        for path in package.rglob("*.py")
        if any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
               for node in ast.parse(path.read_text()).body)
    )
    assert set(listing) <= faces, f"internal modules with an __all__: {sorted(set(listing) - faces)}"
