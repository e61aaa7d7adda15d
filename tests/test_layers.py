"""The package's layout is its architecture: folders in import order, no circles, no private names across folders.

Every module of ``fnn`` is parsed (function-local imports included). A module may import only from its own folder
or from a folder earlier in ``LAYERS``; a name with a leading underscore may not be taken from another folder; and
the graph of modules has no cycle. The face (``fnn/__init__.py``) and ``fnn/__main__.py`` sit on top and may import
anything, lazily.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "fnn"

# Foundations at the root, then one folder a concept, in the order data flows through a run.
LAYERS = ("", "data", "core", "optim", "train", "store", "run", "observe", "proof", "interop", "cli")
ROOT_MODULES = ("errors", "arrays", "registry", "version", "seeds", "lazy")
TOP = ("fnn", "fnn.__main__")


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """``(line, imported module, names)`` for every import of an fnn module in ``path``, at any depth."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "fnn" or target.startswith("fnn."):
                found.append((node.lineno, target, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "fnn"]
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(target, name):
    """The module an import reaches: ``from fnn.x import y`` reaches ``fnn.x.y`` when that is a module."""
    return f"{target}.{name}" if f"{target}.{name}" in MODULES else target


def _folder(module):
    parts = module.split(".")
    if module in TOP or (len(parts) == 2 and parts[1] in ROOT_MODULES):
        return ""
    return parts[1]


def _edges():
    for module, path in MODULES.items():
        for line, target, names in _imports(path):
            for reached in {_resolve(target, name) for name in names} or {target}:
                yield module, path, line, reached, target, names


def test_every_module_sits_in_a_known_folder():
    strays = [m for m in MODULES if m not in TOP and _folder(m) not in LAYERS]
    loose = [m for m in MODULES if m.count(".") == 1 and m not in TOP and m.split(".")[1] not in ROOT_MODULES + LAYERS]
    assert not strays and not loose, f"modules outside the layout: {strays + loose}"


def test_imports_run_one_way():
    upward = []
    for module, path, line, reached, _, _ in _edges():
        if module in TOP or reached == "fnn":
            if reached == "fnn" and module not in TOP:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports the package face")
            continue
        here, there = LAYERS.index(_folder(module)), LAYERS.index(_folder(reached))
        if there > here:
            upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({_folder(module) or 'root'}) imports {reached}")
    assert not upward, "imports from a later folder:\n" + "\n".join(upward)


def test_no_private_name_crosses_a_folder():
    taken = [
        f"{path.relative_to(PACKAGE.parent)}:{line} takes {name} from {target}"
        for module, path, line, reached, target, names in _edges()
        for name in names
        if name.startswith("_") and not name.startswith("__") and _folder(module) != _folder(target)
    ]
    assert not taken, "private names taken across folders:\n" + "\n".join(taken)


def test_no_import_circle():
    graph = {m: set() for m in MODULES}
    for module, _, _, reached, _, _ in _edges():
        if reached in graph and reached != module and module not in TOP:
            # importing a package runs its __init__: an edge to it is an edge to the face of that folder
            graph[module].add(reached)
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_checker_sees_every_module(module):
    # A module the parser cannot read would slip past every rule above.
    assert isinstance(ast.parse(MODULES[module].read_text()), ast.Module)
