"""Export: safetensors into a real PyTorch nn.Sequential and back, ONNX through onnxruntime, and `fnn export`."""

import json
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
from safetensors import safe_open

import fnn
from fnn.interop import from_safetensors, onnx_model, to_onnx, to_safetensors

try:  # PyTorch is not in the test extra: its CPU wheel is installed by hand (pip install torch==2.13.0) or by CI
    import safetensors.torch
    import torch
except ModuleNotFoundError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch, which is outside the test extra: pip install torch==2.13.0")

# fnn's built-in activations that torch has a module for, and that module (built here, not from fnn's metadata).
TORCH_ACTIVATIONS = {
    "identity": lambda: torch.nn.Identity(),
    "relu": lambda: torch.nn.ReLU(),
    "tanh": lambda: torch.nn.Tanh(),
    "sigmoid": lambda: torch.nn.Sigmoid(),
    "softplus": lambda: torch.nn.Softplus(),
    "silu": lambda: torch.nn.SiLU(),
    "gelu": lambda: torch.nn.GELU(approximate="tanh"),
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.01),
    "leaky_relu:0.2": lambda: torch.nn.LeakyReLU(0.2),
    "prelu": lambda: torch.nn.LeakyReLU(0.25),
    "elu": lambda: torch.nn.ELU(),
    "elu:0.5": lambda: torch.nn.ELU(0.5),
    "softmax": lambda: torch.nn.Softmax(dim=-1),
}


def inputs(n_features, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal((64, n_features)).astype(dtype)


def params_with(hidden, output="softmax", sizes=(5, 16, 12, 3), dtype=np.float32):
    spec = fnn.network(list(sizes), activation=hidden, output=output, bias_init="normal:0.5")
    return fnn.init_params(spec, seed=1, dtype=dtype)


def torch_sequential(params):
    modules = []
    for layer in params.spec.layers:
        modules += [torch.nn.Linear(layer.input_dim, layer.output_dim), TORCH_ACTIVATIONS[layer.activation.name]()]
    return torch.nn.Sequential(*modules)


@needs_torch
@pytest.mark.parametrize("hidden", sorted(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("output", ["softmax", "identity", "sigmoid"])
def test_safetensors_load_into_torch_sequential(tmp_path, hidden, output):
    sizes = (5, 16, 12, 1 if output == "sigmoid" else 3)
    params = params_with(hidden, output, sizes)
    path = to_safetensors(params, tmp_path / "net.safetensors")
    model = torch_sequential(params)
    model.load_state_dict(safetensors.torch.load_file(path), strict=True)
    x = inputs(5)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    # float32 sums in another order (torch's BLAS, not NumPy's): within 1e-6, relative for outputs above 1.
    np.testing.assert_allclose(fnn.forward(params, x), expected, rtol=1e-6, atol=1e-6)


def test_safetensors_layout_and_metadata(tmp_path):
    params = params_with("leaky_relu:0.2", sizes=(5, 7, 3))
    path = to_safetensors(params, tmp_path / "net.safetensors")
    with safe_open(str(path), framework="np") as handle:
        metadata = handle.metadata()
        assert sorted(handle.keys()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
        np.testing.assert_array_equal(handle.get_tensor("0.weight"), params.layers[0].w.T)
        np.testing.assert_array_equal(handle.get_tensor("2.bias"), params.layers[1].b)
    assert metadata["format"] == "pt"
    assert json.loads(metadata["fnn.torch_modules"]) == ["Linear(5, 7)", "LeakyReLU(0.2)", "Linear(7, 3)", "Softmax(dim=-1)"]
    assert fnn.spec_from_config(json.loads(metadata["fnn.spec"])) == params.spec
    assert from_safetensors(path) == params


@needs_torch
def test_float64_params_export_as_float64_tensors(tmp_path):
    params = params_with("tanh", "softmax", dtype=np.float64)
    path = to_safetensors(params, tmp_path / "net.safetensors")
    tensors = safetensors.torch.load_file(path)
    assert {tensor.dtype for tensor in tensors.values()} == {torch.float64}
    model = torch_sequential(params).double()
    model.load_state_dict(tensors, strict=True)
    x = inputs(5, np.float64)
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.from_numpy(x)).numpy(), fnn.forward(params, x), rtol=1e-12, atol=1e-14)
    single = torch_sequential(params)
    single.load_state_dict(tensors, strict=True)  # cast into a float32 module
    assert single[0].weight.dtype == torch.float32
    assert from_safetensors(path) == params and from_safetensors(path).dtype == np.float64


@needs_torch
def test_torch_stack_imports_as_fnn_params(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 6, bias=False), torch.nn.ReLU(), torch.nn.Linear(6, 3)
    )
    safetensors.torch.save_file(model.state_dict(), tmp_path / "torch.safetensors")
    x = inputs(4)
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
    params = from_safetensors(tmp_path / "torch.safetensors", activation=["tanh", "relu", "identity"])
    assert params.spec.sizes == (4, 8, 6, 3) and params.dtype == np.float32
    np.testing.assert_allclose(fnn.forward(params, x), logits.numpy(), rtol=0, atol=1e-6)
    classifier = from_safetensors(tmp_path / "torch.safetensors", activation=["tanh", "relu", "softmax"])
    assert classifier.spec.loss.name == "cross_entropy"
    np.testing.assert_allclose(fnn.forward(classifier, x), torch.softmax(logits, -1).numpy(), rtol=0, atol=1e-6)


@needs_torch
def test_torch_module_prefix_and_float64(tmp_path):
    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ELU(), torch.nn.Linear(5, 2)).double()

        def forward(self, x):
            return self.net(x)

    model = Wrapper()
    safetensors.torch.save_file(model.state_dict(), tmp_path / "w.safetensors")
    params = from_safetensors(tmp_path / "w.safetensors", activation="elu", output="identity")
    x = inputs(3, np.float64)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert params.dtype == np.float64
    np.testing.assert_allclose(fnn.forward(params, x), expected, rtol=1e-12, atol=1e-12)


@needs_torch
def test_safetensors_import_refusals(tmp_path):
    plain = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    safetensors.torch.save_file(plain.state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(fnn.FnnInputError, match="pass activation="):
        from_safetensors(tmp_path / "plain.safetensors")
    normed = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    safetensors.torch.save_file(normed.state_dict(), tmp_path / "normed.safetensors")
    with pytest.raises(fnn.FnnInputError, match=r"tensor '1\.\w+' is not the weight or bias of a Linear"):
        from_safetensors(tmp_path / "normed.safetensors", activation="relu")
    safetensors.torch.save_file(plain.half().state_dict(), tmp_path / "half.safetensors")
    with pytest.raises(fnn.FnnInputError, match="float16.*\\.float\\(\\)"):
        from_safetensors(tmp_path / "half.safetensors", activation="relu")
    with pytest.raises(fnn.FnnInputError, match="output=.*'identity'"):
        from_safetensors(tmp_path / "plain.safetensors", activation="relu")  # logits or probabilities? not guessed
    assert from_safetensors(tmp_path / "plain.safetensors", activation="relu", output="identity").spec.sizes == (3, 4, 2)
    with pytest.raises(fnn.FnnInputError, match="is a folder"):
        from_safetensors(tmp_path, activation="relu", output="identity")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(fnn.FnnInputError, match="not a readable safetensors file"):
        from_safetensors(tmp_path / "junk.safetensors", activation="relu")


# Every built-in activation has an ONNX form; the test fails when one is added to fnn without one.
ONNX_HIDDEN = sorted(set(fnn.ACTIVATIONS) | {"leaky_relu:0.2", "elu:0.5", "prelu:0.1"})


def run_onnx(model_or_path, x):
    source = model_or_path if isinstance(model_or_path, (str, bytes)) else model_or_path.SerializeToString()
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("hidden", ONNX_HIDDEN)
def test_onnx_matches_forward_for_every_builtin_activation(hidden):
    for output, n_outputs in (("softmax", 3), ("sigmoid", 1), ("identity", 2)):
        params = params_with(hidden, output, (5, 16, 12, n_outputs))
        x = inputs(5)
        np.testing.assert_allclose(run_onnx(onnx_model(params), x), fnn.forward(params, x), rtol=0, atol=1e-5)


def test_onnx_gelu_operator_from_opset_20():
    params = params_with("gelu")
    model = onnx_model(params, opset=20)
    assert "Gelu" in {node.op_type for node in model.graph.node}
    x = inputs(5)
    np.testing.assert_allclose(run_onnx(model, x), fnn.forward(params, x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("hidden", sorted(set(ONNX_HIDDEN) - {"arctan"}))  # onnxruntime has no float64 Atan
def test_onnx_float64_graph_keeps_float64_precision(hidden, opset):
    params = params_with(hidden, dtype=np.float64)
    x = np.r_[inputs(5, np.float64), 40 * inputs(5, np.float64, seed=1)]  # tails too
    np.testing.assert_allclose(run_onnx(onnx_model(params, opset=opset), x), fnn.forward(params, x), rtol=1e-12, atol=1e-12)


def identity_network(activation, dtype, width=1):
    """One layer with w = I and b = 0, so the activation sees the inputs themselves."""
    spec = fnn.network([width, width], activation=[activation])
    return fnn.Params(spec, [fnn.Layer(np.eye(width, dtype=dtype), np.zeros(width, dtype))])


EXTREMES = np.array([-1e30, -1e4, -1e3, -100, -89, -88, -50, -30, -20, -5, -1e-30, 0, 1e-30, 5, 20, 30, 50, 88, 89, 100, 1e3, 1e4, 1e30])


@pytest.mark.parametrize(
    "activation, dtype, tolerance",
    [(name, np.float32, 1e-6) for name in ONNX_HIDDEN]
    + [(name, np.float64, 1e-12) for name in ONNX_HIDDEN if name != "arctan"],  # onnxruntime has no float64 Atan
)
def test_onnx_agrees_at_extreme_inputs(activation, dtype, tolerance):
    x = EXTREMES.astype(dtype)[:, None]
    if activation == "softmax":  # one unit would always give 1: logits far apart in a row instead
        params, x = identity_network("softmax", dtype, 3), np.c_[x, -x, 0 * x]
    else:
        params = identity_network(activation, dtype)
    np.testing.assert_allclose(run_onnx(onnx_model(params), x), fnn.forward(params, x), rtol=tolerance, atol=tolerance)


def test_onnx_batch_dimension_is_dynamic_and_names_are_input_and_output():
    params = params_with("relu")
    session = onnxruntime.InferenceSession(onnx_model(params).SerializeToString(), providers=["CPUExecutionProvider"])
    (given,), (result,) = session.get_inputs(), session.get_outputs()
    assert (given.name, given.shape, result.name, result.shape) == ("input", ["batch", 5], "output", ["batch", 3])
    for batch in (1, 1000):
        x = inputs(5, seed=batch)[:1] if batch == 1 else np.random.default_rng(2).standard_normal((batch, 5), np.float32)
        out = session.run(None, {"input": x})[0]
        assert out.shape == (batch, 3)
        np.testing.assert_allclose(out, fnn.forward(params, x), rtol=0, atol=1e-5)


def test_onnx_graph_is_gemm_and_activation_nodes():
    model = onnx_model(params_with("relu"))
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax"]
    assert model.opset_import[0].version == 17
    assert json.loads({p.key: p.value for p in model.metadata_props}["fnn.spec"]) == params_with("relu").spec.to_config()


def test_onnx_refuses_a_users_own_activation_by_name():
    cube = fnn.Activation("cube", lambda z: z**3, lambda z, a: 3 * z**2)
    params = fnn.init_params(fnn.network([3, 4, 2], activation=[cube, "softmax"]), seed=0)
    with pytest.raises(fnn.FnnInputError, match="activation 'cube' of layer 0"):
        onnx_model(params)


@pytest.mark.parametrize("opset", [13, 10_000, "18", 18.0, True])
def test_onnx_opset_is_checked_against_what_onnx_knows(opset):
    with pytest.raises(fnn.FnnInputError, match=r"'opset' argument of fnn.interop.onnx_model must be an int from 17 to \d+"):
        onnx_model(params_with("relu"), opset=opset)


def test_every_opset_from_17_to_the_newest_runs(tmp_path):
    params, x = params_with("gelu"), inputs(5)
    newest = onnx.defs.onnx_opset_version()
    for opset in (np.int64(17), 20, newest):
        model = onnx_model(params, opset=opset)
        assert model.opset_import[0].version == opset
        np.testing.assert_allclose(run_onnx(model, x), fnn.forward(params, x), rtol=0, atol=1e-5)
    for flags in (["--opset", "12", "--out", tmp_path / "m.onnx"], ["--opset", "18", "--out", tmp_path / "m.safetensors"]):
        done = fnn_cli("export", tmp_path / "nothing", *flags)
        assert done.returncode == 2 and "--opset" in done.stderr and len(done.stderr.splitlines()) == 1


def test_exporters_do_not_overwrite_unless_asked(tmp_path):
    params = params_with("relu")
    for function, name in ((to_onnx, "net.onnx"), (to_safetensors, "net.safetensors")):
        path = tmp_path / name
        path.write_text("mine")
        with pytest.raises(fnn.FnnInputError, match="exists.*overwrite=True"):
            function(params, path)
        assert path.read_text() == "mine"
        function(params, path, overwrite=True)
        assert path.stat().st_size > 100


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "iris"
    done = fnn_cli("train", "--data", "iris", "--epochs", "3", "--out", folder)
    assert done.returncode == 0, done.stderr
    return folder


def fnn_cli(*args):
    return subprocess.run([sys.executable, "-m", "fnn", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_export_onnx_takes_raw_features(tmp_path, run_folder):
    done = fnn_cli("export", run_folder, "--out", tmp_path / "iris.onnx")
    assert done.returncode == 0, done.stderr
    model = fnn.load(run_folder)
    x = fnn.data.iris().features
    expected = fnn.forward(model.params, model.prepare_features(x))
    np.testing.assert_allclose(run_onnx(str(tmp_path / "iris.onnx"), x), expected, rtol=0, atol=1e-5)


@needs_torch
def test_cli_export_safetensors_into_torch(tmp_path, run_folder):
    out = tmp_path / "iris.weights"
    done = fnn_cli("export", run_folder, "--format", "safetensors", "--out", out)
    assert done.returncode == 0, done.stderr
    model = fnn.load(run_folder)
    with safe_open(str(out), framework="np") as handle:
        metadata = handle.metadata()
    assert json.loads(metadata["fnn.class_names"]) == ["setosa", "versicolor", "virginica"]
    mean = np.array(json.loads(metadata["fnn.standardizer"])["mean"], np.float32)
    np.testing.assert_array_equal(mean, model.standardizer.mean)
    torch_model = torch_sequential(model.params)
    torch_model.load_state_dict(safetensors.torch.load_file(out))
    x = model.prepare_features(fnn.data.iris().features)
    with torch.no_grad():
        np.testing.assert_allclose(torch_model(torch.from_numpy(x)).numpy(), fnn.forward(model.params, x), atol=1e-6)


def test_cli_export_opset(tmp_path, run_folder):
    assert fnn_cli("export", run_folder, "--opset", "21", "--out", tmp_path / "m.onnx").returncode == 0
    assert onnx.load(tmp_path / "m.onnx").opset_import[0].version == 21


def test_cli_export_refusals_name_the_flag(tmp_path, run_folder):
    existing = tmp_path / "taken.onnx"
    existing.write_text("mine")
    done = fnn_cli("export", run_folder, "--out", existing)
    assert done.returncode == 2 and "--out" in done.stderr and "--overwrite" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and existing.read_text() == "mine"
    assert fnn_cli("export", run_folder, "--out", existing, "--overwrite").returncode == 0
    assert existing.stat().st_size > 100
    unknown = fnn_cli("export", run_folder, "--out", tmp_path / "model.bin")
    assert unknown.returncode == 2 and "--format" in unknown.stderr
    missing = fnn_cli("export", tmp_path / "nothing", "--out", tmp_path / "m.onnx")
    assert missing.returncode == 2 and "nothing" in missing.stderr
    crossed = fnn_cli("export", run_folder, "--format", "onnx", "--out", tmp_path / "m.safetensors")
    assert crossed.returncode == 2 and "--format" in crossed.stderr and "--out" in crossed.stderr
    assert not (tmp_path / "m.safetensors").exists()
    bad_format = fnn_cli("export", run_folder, "--format", "tflite", "--out", tmp_path / "m.tflite")
    assert bad_format.returncode == 2 and "--format" in bad_format.stderr


def test_exporters_name_a_missing_folder(tmp_path):
    for function, name in ((to_onnx, "net.onnx"), (to_safetensors, "net.safetensors")):
        with pytest.raises(fnn.FnnInputError, match=rf"{name}: its folder .*missing does not exist"):
            function(params_with("relu"), tmp_path / "missing" / name)
    done = fnn_cli("export", tmp_path / "nothing", "--out", tmp_path / "missing" / "net.onnx")
    assert done.returncode == 2 and "--out" in done.stderr and ".tmp" not in done.stderr


def test_a_missing_extra_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if fnn[onnx] were not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'fnn\[onnx\]'"):
        to_onnx(params_with("relu"), tmp_path / "net.onnx")
    assert not (tmp_path / "net.onnx").exists()


_WITHOUT = """import sys
for name in {blocked!r}:
    sys.modules[name] = None  # as if that extra were not installed
import fnn.interop, fnn.observe
print(sorted(m for m in {blocked!r} + ('fnn.interop.sklearn',) if sys.modules.get(m) is not None))
try:
    fnn.interop.FNNRegressor
except ModuleNotFoundError as error:
    print(error)
"""


def test_the_faces_import_without_their_optional_packages_and_the_estimators_say_what_to_install():
    blocked = ("sklearn", "onnx", "safetensors", "matplotlib", "tensorboardX")
    done = subprocess.run([sys.executable, "-c", _WITHOUT.format(blocked=blocked)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "fnn.interop.FNNRegressor needs scikit-learn: pip install 'fnn[sklearn]'."]


def test_the_interop_face_gives_the_estimators_on_first_use():
    import fnn.interop
    from fnn.interop import sklearn as estimators

    assert fnn.interop.FNNClassifier is estimators.FNNClassifier and fnn.interop.FNNRegressor is estimators.FNNRegressor
    assert {"FNNClassifier", "FNNRegressor"} <= set(dir(fnn.interop))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fnn.interop.nothing
