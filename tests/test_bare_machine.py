"""fnn on a bare machine: with every optional package hidden, the package imports quietly, the suite collects (a
file needing what is absent is one skip naming it), each command that needs an extra says which in one line, and
the built wheel and source distribution carry what a non-editable install and the README's test command need.

Optional packages are hidden in a subprocess by ``sys.modules[name] = None``: ``import name`` then fails as for a
missing package, and ``importlib.util.find_spec(name)`` answers None."""

import ast
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: fnn depends on tomli there
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPTIONAL = next(  # the root conftest's table of optional packages
    ast.literal_eval(node.value)
    for node in ast.parse((ROOT / "conftest.py").read_text()).body
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "OPTIONAL"
)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
HIDE = f"import sys\nfor _name in {sorted(OPTIONAL)!r}:\n    sys.modules[_name] = None\n"
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "fnn").rglob("*.py")
    if path.name != "__main__.py"
)
FACES = ["fnn", "fnn.data", "fnn.optim", "fnn.run", "fnn.store", "fnn.observe", "fnn.proof", "fnn.interop"]


def _bare(code, *args, cwd=ROOT, timeout=300):
    """Run ``code`` in a fresh interpreter with the optional packages hidden, warnings as errors."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", HIDE + code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _top_level_optional(module):
    """The optional packages ``module``'s own file imports at module level."""
    path = ROOT / pathlib.Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names & set(OPTIONAL)


@pytest.fixture(scope="module")
def bare_imports():
    """``{module: None or the error}`` for every fnn module and face name, imported with the optional packages hidden."""
    code = f"""
import importlib, json
out = {{}}
for name in {MODULES!r}:
    try:
        importlib.import_module(name)
        out[name] = None
    except Exception as error:
        out[name] = f"{{type(error).__name__}}: {{error}}"
for face in {FACES!r}:
    module = importlib.import_module(face)
    for name in module.__all__:
        try:
            getattr(module, name)
            out[face + "." + name] = None
        except Exception as error:
            out[face + "." + name] = f"{{type(error).__name__}}: {{error}}"
print(json.dumps(out))
"""
    result = _bare(code)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports_without_the_optional_packages(bare_imports, module):
    """Only an adapter whose own file imports an optional package may fail, and only for that package."""
    error = bare_imports[module]
    adapted = _top_level_optional(module)
    if adapted:
        assert error is not None and error.startswith("ModuleNotFoundError") and any(name in error for name in adapted), error
    else:
        assert error is None, f"{module} needs an optional package at import: {error}"


@pytest.mark.parametrize("face", FACES)
def test_every_face_name_resolves_or_names_its_extra(bare_imports, face):
    names = {key: error for key, error in bare_imports.items() if key.rpartition(".")[0] == face and key not in MODULES}
    assert names, face
    for name, error in names.items():
        if error is not None:
            extra = re.search(r"pip install 'fnn\[(\w+)\]'", error)
            assert error.startswith("ModuleNotFoundError") and extra and extra.group(1) in EXTRAS, f"{name}: {error}"


def test_import_prints_no_warning_with_everything_installed():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-W", "error", "-c", "import fnn, fnn.cli"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == result.stderr == "", result.stderr


def test_the_suite_collects_without_the_optional_packages():
    """Whatever a test file imports, directly or through an fnn module, a missing optional package is a skip."""
    result = _bare("import pytest; sys.exit(pytest.main(['--collect-only', '-q', '-rs', '-p', 'no:cacheprovider']))")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) >= 5, result.stdout[-2000:]
    for line in skipped:
        named = set(re.findall(r"[\w.]+", line)) & set(OPTIONAL) | {m.split(".")[0] for m in re.findall(r"import '([\w.]+)'", line)}
        assert named & set(OPTIONAL), f"a skip that names no optional package: {line}"


@pytest.fixture(scope="module")
def bare_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bare")
    result = _bare("from fnn.cli import main; sys.exit(main(sys.argv[1:]))", "train", "--data", "iris", "--epochs", "2", "--out", "run", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


# Every command that needs an extra, and the extra: each pyproject extra a command can need appears here.
NEEDS_AN_EXTRA = [
    ("plot run", "plots"),
    ("plot --activations --out a.png", "plots"),
    ("plot run run --out cmp.png", "plots"),
    ("train --data iris --epochs 1 --plots --out t1", "plots"),
    ("train --data iris --epochs 1 --tensorboard --out t2", "tensorboard"),
    ("export run --out m.onnx", "onnx"),
    ("export run --format onnx --out m.bin", "onnx"),
    ("export run --out m.safetensors", "safetensors"),
    ("sweep --data iris --epochs 1 --grid lr=[0.1] --out s1 --scheduler tcp://127.0.0.1:9", "sweep"),
]


def test_the_table_covers_every_extra_a_command_can_need():
    assert {extra for _, extra in NEEDS_AN_EXTRA} == set(EXTRAS) - {"test", "bench", "sklearn"}


@pytest.mark.parametrize(("command", "extra"), NEEDS_AN_EXTRA)
def test_a_command_without_its_extra_says_which_in_one_line(bare_run, command, extra):
    result = _bare("from fnn.cli import main; sys.exit(main(sys.argv[1:]))", *command.split(), cwd=bare_run)
    assert result.returncode == 2 and result.stdout == "", result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"pip install 'fnn[{extra}]'" in result.stderr, result.stderr
    assert not any(p.name in ("t1", "t2", "s1") for p in bare_run.iterdir()), "a refused command left a folder"


def test_a_sweep_without_dask_runs_in_this_process(bare_run):
    result = _bare(
        "from fnn.cli import main; sys.exit(main(sys.argv[1:]))", *"sweep --data iris --epochs 1 --grid lr=[0.1,0.2] --out s2".split(), cwd=bare_run
    )
    assert result.returncode == 0, result.stderr
    assert len(list((bare_run / "s2" / "runs").glob("*.json"))) == 2 and "chosen: lr=" in result.stdout


def test_every_extra_a_message_names_exists():
    files = [*(ROOT / "fnn").rglob("*.py"), *(ROOT / "tests").glob("*.py"), *(ROOT / "scripts").glob("*.py"), ROOT / "README.md", ROOT / "conftest.py"]
    text = "\n".join(path.read_text() for path in files if path.name != "test_bare_machine.py")
    named = set(re.findall(r"fnn\[([a-z]+)\]", text)) | set(re.findall(r"the (?!optional)([a-z]+) extra\b", text))
    assert named and named <= set(EXTRAS), named - set(EXTRAS)


def _build(kind, source, out):
    """Build a ``wheel`` or ``sdist`` of ``source`` with setuptools' own backend, no network."""
    code = f"import sys, setuptools.build_meta as b; print(b.build_{kind}({str(out)!r}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory):
    setuptools = pytest.importorskip("setuptools", reason="building needs setuptools (the test extra)")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"building needs setuptools>=77 (the test extra); found {setuptools.__version__}")
    source = tmp_path_factory.mktemp("source") / "fnn-src"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "runs", "build", "dist", ".ci-*", ".hypothesis", ".pytest_cache")
    shutil.copytree(ROOT, source, ignore=ignore)
    return source


def test_the_wheel_alone_trains_on_the_bundled_data(source_copy, tmp_path):
    wheel = _build("wheel", source_copy, tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {f"fnn/data/files/{path.name}" for path in (ROOT / "fnn" / "data" / "files").iterdir()}
    assert data | {"fnn/py.typed"} <= names, sorted(data - names)
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    (tmp_path / "elsewhere").mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    for data_set in ("digits", "iris"):
        args = [sys.executable, "-m", "fnn", "train", "--data", data_set, "--epochs", "1", "--out", data_set]
        result = subprocess.run(args, cwd=tmp_path / "elsewhere", env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0 and "test accuracy" in result.stdout, result.stderr
        assert str(tmp_path / "site") in subprocess.run(
            [sys.executable, "-c", "import fnn; print(fnn.__file__)"], cwd=tmp_path / "elsewhere", env=env, capture_output=True, text=True
        ).stdout


def test_the_source_distribution_carries_the_tests_and_scripts(source_copy, tmp_path):
    import tarfile

    sdist = _build("sdist", source_copy, tmp_path)
    prefix = sdist.name.removesuffix(".tar.gz")
    names = {name.removeprefix(prefix + "/") for name in tarfile.open(sdist).getnames()}
    wanted = {"README.md", "LICENSE", "pyproject.toml", "conftest.py"} | {
        str(path.relative_to(source_copy))
        for folder in ("tests", "scripts", "fnn")
        for path in (source_copy / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert wanted <= names, sorted(wanted - names)


CASES = {
    "test_imports.py": "from fnn.interop.sklearn import FNNClassifier  # an fnn module that needs scikit-learn\n",
    "test_reaches.py": '''
import subprocess
import sys

import pytest

from fnn.cli import main


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    assert main(["train", "--data", "iris", "--epochs", "1", "--tensorboard", "--out", str(folder / "a")]) == 0
    return folder


def test_one(logged):
    assert logged.is_dir()


def test_two(logged):
    assert logged.is_dir()


def test_plot_through_the_command_line(capsys, tmp_path):
    assert main(["plot", "--activations", "--out", str(tmp_path / "a.png")]) == 0, capsys.readouterr().err


def test_a_script_importing_it():
    code = "import sys; sys.path = [p for p in sys.path if 'packages' not in p]; import safetensors"  # none installed
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_real_failure_still_fails():
    assert main(["train", "--data", "iris", "--epochs", "0"]) == 0
''',
}


def test_a_test_stopped_by_a_missing_optional_package_is_skipped_saying_which(tmp_path):
    """However a test meets a missing optional package (its file's import, a shared fixture, a command's one-line
    refusal, a script's traceback), it is skipped naming the package; any other failure still fails."""
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    for name, text in CASES.items():
        (tmp_path / name).write_text(text)
    result = _bare(f"import pytest; sys.exit(pytest.main(['-q', '-rs', '-p', 'no:cacheprovider', {str(tmp_path)!r}]))", cwd=tmp_path)
    out = result.stdout
    assert "1 failed, 5 skipped" in out and "test_a_real_failure_still_fails" in out, out[-3000:]
    for module in ("sklearn", "tensorboardX", "matplotlib", "safetensors"):
        assert re.search(rf"^SKIPPED .*needs {module}\b", out, re.MULTILINE), (module, out[-3000:])


def test_only_the_tests_that_need_a_package_skip_in_the_limits_and_folder_attacks():
    """The shared fixtures of these files need no optional package: on a bare machine their tests run, and the
    few that do need one skip one by one, each naming it (not ~100 at once behind a fixture)."""
    files = ["tests/test_limits.py", "tests/test_run_folder_adversarial.py"]
    result = _bare(f"import pytest; sys.exit(pytest.main(['-q', '-rs', '-p', 'no:cacheprovider', *{files!r}]))", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    skipped = sum(int(re.search(r"SKIPPED \[(\d+)\]", line).group(1)) for line in skips)
    assert passed >= 100 and skipped <= 20, result.stdout[-3000:]
    assert all(re.search(r"needs \w+ \(|could not import '\w+'", line) for line in skips), skips
