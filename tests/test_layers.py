"""The package's layout is its architecture: folders in import order, no circles, no private names across folders.

Every module of ``fnn`` is parsed (function-local imports included). A module may import only from its own folder
or from a folder earlier in ``LAYERS``; a name with a leading underscore may not be taken from another folder; and
the graph of modules has no cycle. The face (``fnn/__init__.py``) and ``fnn/__main__.py`` sit on top and may import
anything, lazily. The checker is tested on a planted package too, so that each rule is seen to bite.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "fnn"

# Foundations at the root, then one folder a concept, in the order data flows through a run.
LAYERS = ("", "data", "core", "optim", "train", "store", "run", "observe", "proof", "interop", "cli")
ROOT_MODULES = ("errors", "arrays", "registry", "version", "seeds", "lazy", "limits", "values")
TOP = ("fnn", "fnn.__main__")


def _module_name(path, package):
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, module):
    """``(line, imported module, names)`` for every import of an fnn module in ``path``, at any depth."""
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


def _folder(module):
    parts = module.split(".")
    if module in TOP or (len(parts) == 2 and parts[1] in ROOT_MODULES):
        return ""
    return parts[1]


def violations(package):
    """What breaks the layout in the package folder ``package``: ``{rule: [where, ...]}``, every list empty when
    the layout holds."""
    modules = {_module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    edges = []  # (module, where, reached module, imported-from module, names)
    for module, path in modules.items():
        for line, target, names in _imports(path, module):
            where = f"{path.relative_to(package.parent)}:{line}"
            # ``from fnn.x import y`` reaches the module fnn.x.y when there is one
            for reached in {f"{target}.{n}" if f"{target}.{n}" in modules else target for n in names} or {target}:
                edges.append((module, where, reached, target, names))

    found = {"outside the map": [], "upward": [], "private across folders": [], "circle": []}
    for module in modules:
        if module not in TOP and (_folder(module) not in LAYERS or (module.count(".") == 1 and module.split(".")[1] not in ROOT_MODULES + LAYERS)):
            found["outside the map"].append(module)
    for module, where, reached, target, names in edges:
        if module in TOP:
            continue
        if reached == "fnn":
            found["upward"].append(f"{where} imports the package face")
        elif _folder(reached) in LAYERS and LAYERS.index(_folder(reached)) > LAYERS.index(_folder(module)):
            found["upward"].append(f"{where} ({_folder(module) or 'root'}) imports {reached}")
        found["private across folders"] += [
            f"{where} takes {name} from {target}"
            for name in names
            if name.startswith("_") and not name.startswith("__") and _folder(module) != _folder(target)
        ]

    graph = {m: set() for m in modules}
    for module, _, reached, _, _ in edges:
        if reached in graph and reached != module and module not in TOP:
            graph[module].add(reached)
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found["circle"].append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_package_keeps_its_layout():
    found = violations(PACKAGE)
    assert found == {rule: [] for rule in found}, "\n".join(f"{rule}: {where}" for rule, places in found.items() for where in places)


def test_every_rule_catches_a_planted_break(tmp_path):
    package = tmp_path / "fnn"
    files = {
        "__init__.py": "from fnn.cli import main\n",  # the face may import anything
        "errors.py": "",
        "core/__init__.py": "",
        "core/params.py": "def f():\n    from fnn.store.model import save  # function-local, upward\n",
        "core/spec.py": "from fnn.core.params import f\n",
        "store/__init__.py": "",
        "store/model.py": "from fnn.core.spec import _hidden\nfrom fnn.store.atomic import g\n",
        "store/atomic.py": "from fnn.store.model import save\n",
        "cli/__init__.py": "import fnn\n",
        "stray.py": "",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    found = violations(package)
    assert found["outside the map"] == ["fnn.stray"]
    assert found["upward"] == ["fnn/cli/__init__.py:1 imports the package face", "fnn/core/params.py:2 (core) imports fnn.store.model"]
    assert found["private across folders"] == ["fnn/store/model.py:1 takes _hidden from fnn.core.spec"]
    assert found["circle"] == [
        "fnn.core.params -> fnn.store.model -> fnn.core.spec -> fnn.core.params",  # through a function-local import
        "fnn.store.model -> fnn.store.atomic -> fnn.store.model",
    ]
