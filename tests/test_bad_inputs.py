"""Malformed input, table by table: each case must raise FnnInputError whose message names the argument (or the
file) and what was expected, and must leave the folder it ran in exactly as it was.

A case is ``(id, prepare, call, expected)``: ``prepare(folder)`` makes the files the case needs (before the
folder is fingerprinted), ``call(folder)`` is the refused call, ``expected`` a regex the message must match.
Every call runs with the folder as the working directory, so a stray relative write would be caught too.
"""

import os
import zipfile

import numpy as np
import pytest
from checkpoint_files import rewrite
from folder_state import folder_state

import fnn
from fnn import optim
from fnn.store import load_checkpoint, save_checkpoint


def small_state(optimizer=None, epochs=1):
    params = fnn.init_params(fnn.network([3, 4, 2], activation="tanh"), seed=0)
    x = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    return fnn.fit(params, (x, np.arange(12) % 2), epochs=epochs, optimizer=optimizer or optim.adam(0.01), batch_size=4)


STATE = small_state()


def good_checkpoint(folder, name="c.npz"):
    path = os.path.join(folder, name)
    save_checkpoint(path, STATE, config={"run": 1}, extras={"mean": np.zeros(3)})
    return path


def edited(change_header=None, change_arrays=None, rehash=True):
    """A prepare step: a good checkpoint, then edited (and rehashed, so only the semantic checks can refuse it)."""

    def prepare(folder):
        rewrite(good_checkpoint(folder), change_header, change_arrays, rehash)

    return prepare


def writes(name, data):
    def prepare(folder):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)

    return prepare


def truncated(folder):
    path = good_checkpoint(folder)
    with open(path, "rb") as handle:
        data = handle.read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])


def zipped(members, compression=zipfile.ZIP_STORED):
    def prepare(folder):
        with zipfile.ZipFile(os.path.join(folder, "c.npz"), "w", compression) as archive:
            for name, data in members.items():
                archive.writestr(name, data)

    return prepare


def npy(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def strip_hash(folder):
    path = good_checkpoint(folder)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "__sha256__"}
    np.savez(path, **arrays)


def load(folder):
    load_checkpoint(os.path.join(folder, "c.npz"))


def nothing(folder):
    pass


def setitem(key, value):
    return lambda mapping: mapping.__setitem__(key, value)


FILE = r"c\.npz: "
CHECKPOINT_CASES = [
    ("tampered header: epoch", edited(setitem("epoch", 7), rehash=False), load, FILE + "the header and arrays do not match the checkpoint's SHA-256"),
    ("tampered header: config", edited(setitem("config", {"run": 2}), rehash=False), load, FILE + "the header and arrays do not match"),
    ("tampered header: spec", edited(lambda h: h["spec"]["layers"][0].update(activation="relu"), rehash=False), load, FILE + "the header and arrays do not match"),
    ("tampered header: optimiser", edited(lambda h: h["opt_state"]["fields"].update(count={"value": 0}), rehash=False), load, FILE + "the header and arrays do not match"),
    ("tampered arrays", edited(change_arrays=lambda a: a.__setitem__("params/0/w", a["params/0/w"] * 2), rehash=False), load, FILE + "the header and arrays do not match"),
    ("removed hash", strip_hash, load, FILE + r"the header and arrays do not match the checkpoint's SHA-256 \(__sha256__\)"),
    ("missing key: epoch", edited(lambda h: h.pop("epoch")), load, FILE + r"the checkpoint header lacks \['epoch'\]; a version 2 header has"),
    ("missing key: spec", edited(lambda h: h.pop("spec")), load, FILE + r"the checkpoint header lacks \['spec'\]"),
    ("missing key: opt_state", edited(lambda h: h.pop("opt_state")), load, FILE + r"the checkpoint header lacks \['opt_state'\]"),
    ("negative epoch", edited(setitem("epoch", -1)), load, FILE + "the header's 'epoch' must be a non-negative int; got -1"),
    ("history not records", edited(setitem("history", [{"oops": 1}])), load, FILE + "the header's 'history' holds a record that is not an epoch record"),
    ("history loss not a number", edited(lambda h: h["history"][0].update(loss="low")), load, FILE + r"the header's history\[0\]\['loss'\] must be a number or null; got 'low'"),
    ("state count not an int", edited(lambda h: h["opt_state"]["fields"].update(count={"value": "3"})), load, FILE + "the optimiser state fnn.optim:AdamState field 'count' is declared int; got str '3'"),
    ("state moments not Params", edited(lambda h: h["opt_state"]["fields"].update(mu={"value": 0.0})), load, FILE + "the optimiser state fnn.optim:AdamState field 'mu' is declared Params; got float"),
    ("state value a list", edited(lambda h: h["opt_state"]["fields"].update(count={"value": [1]})), load, FILE + r"a value of the optimiser state must be a number, text or null; got \[1\]"),
    ("bad spec", edited(lambda h: h["spec"]["layers"][0].update(activation="nope")), load, FILE + "the checkpoint's network spec is not valid: Unknown activation 'nope'"),
    ("wrong version", edited(setitem("version", 3)), load, FILE + "checkpoint format 'fnn-checkpoint' version 3; this fnn reads 'fnn-checkpoint' version 2 only"),
    ("wrong format", edited(setitem("format", "other")), load, FILE + "checkpoint format 'other' version 2; this fnn reads"),
    ("unknown state class", edited(lambda h: h["opt_state"].update(record="not_a_module_here:State")), load, FILE + "the optimiser state is a State from the module 'not_a_module_here', which is not imported. Import not_a_module_here"),
    ("state class not a record", edited(lambda h: h["opt_state"].update(record="json:dumps")), load, FILE + "'json:dumps' is not a frozen attrs record class"),
    ("state fields renamed", edited(lambda h: h["opt_state"]["fields"].update(extra={"value": 1})), load, FILE + "the optimiser state fnn.optim:AdamState needs the fields"),
    ("extras listed but absent", edited(setitem("extras", ["mean", "scale"])), load, FILE + "the checkpoint lacks the array 'extras/scale'"),
    ("unexplained array", edited(change_arrays=setitem("smuggled", np.zeros(2))), load, FILE + r"the checkpoint holds arrays its header does not describe: \['smuggled'\]"),
    ("wrong weight shape", edited(change_arrays=setitem("params/0/w", np.zeros((3, 5), np.float32))), load, FILE + r"params layer 0 has w float32\(3, 5\).*the spec needs float w\(3, 4\)"),
    ("header not JSON", zipped({"__meta__.npy": npy(np.frombuffer(b"{not json", np.uint8))}), load, FILE + "the checkpoint header is not valid JSON text"),
    ("header deeply nested", zipped({"__meta__.npy": npy(np.frombuffer(b"[" * 100000, np.uint8))}), load, FILE + "the checkpoint header is not valid JSON text"),
    ("plain .npy", writes("c.npz", npy(np.zeros(3))), load, FILE + "a single-array .npy file, not a checkpoint; expected an .npz"),
    ("zip without header", zipped({"x.npy": npy(np.zeros(3))}), load, FILE + r"an .npz archive but not an fnn checkpoint \(no __meta__ header"),
    ("zip of text", zipped({"notes.txt": b"hi"}), load, FILE + "the archive holds 'notes.txt', which is not an .npy array"),
    ("zip bomb", zipped({"__meta__.npy": npy(np.zeros(10**7, np.uint8))}, zipfile.ZIP_DEFLATED), load, FILE + "the member '__meta__.npy' is compressed; fnn writes checkpoints uncompressed"),
    ("object array", zipped({"__meta__.npy": npy(np.array([None, 1], dtype=object))}), load, FILE + "the array '__meta__.npy' has dtype object; checkpoints hold only numbers"),
    ("structured array", zipped({"__meta__.npy": npy(np.zeros(2, dtype=[("a", "<f8")]))}), load, FILE + r"the array '__meta__.npy' has dtype \[\('a', '<f8'\)\]; checkpoints hold only numbers"),
    ("declared size beyond the data", zipped({"__meta__.npy": npy(np.zeros(4))[:-8]}), load, FILE + r"the array '__meta__.npy' declares shape \(4,\) of float64 \(32 bytes\) but the member holds 24 bytes"),
    ("folder", lambda f: os.mkdir(os.path.join(f, "c.npz")), load, FILE + "is a folder; expected a checkpoint file"),
    ("empty file", writes("c.npz", b""), load, FILE + "the file is empty; expected a checkpoint"),
    ("garbage", writes("c.npz", bytes(range(256)) * 8), load, FILE + "not a readable fnn checkpoint .expected an .npz zip archive"),
    ("truncated", truncated, load, FILE + "not a readable fnn checkpoint"),
    ("missing file", nothing, load, FILE + "no such checkpoint file"),
    ("save: state not a TrainState", nothing, lambda f: save_checkpoint(os.path.join(f, "c.npz"), STATE.params), "save_checkpoint needs a fnn.TrainState as state; got Params"),
    ("save: object extras", nothing, lambda f: save_checkpoint(os.path.join(f, "c.npz"), STATE, extras={"bad": [{}]}), r"extras\['bad'\] must be an array of numbers"),
    ("save: config not JSON", nothing, lambda f: save_checkpoint(os.path.join(f, "c.npz"), STATE, config={"f": print}), "config must be JSON-ready"),
    ("save: no overwrite", good_checkpoint, lambda f: save_checkpoint(os.path.join(f, "c.npz"), STATE, overwrite=False), r"Refusing to overwrite .*c\.npz \(it already exists"),
    ("save: missing folder", nothing, lambda f: save_checkpoint(os.path.join(f, "no", "c.npz"), STATE), r"Cannot write .*c\.npz: its folder .* does not exist"),
    ("save: path is a folder", lambda f: os.mkdir(os.path.join(f, "c.npz")), lambda f: save_checkpoint(os.path.join(f, "c.npz"), STATE), r"Cannot write .*c\.npz: it is a folder; expected a file path"),
]
@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=[case[0] for case in CHECKPOINT_CASES])
def test_bad_checkpoints_are_refused_and_nothing_changes(tmp_path, monkeypatch, case):
    _, prepare, call, expected = case
    monkeypatch.chdir(tmp_path)
    prepare(str(tmp_path))
    before = folder_state(tmp_path)
    with pytest.raises(fnn.FnnInputError, match=expected):
        call(str(tmp_path))
    assert folder_state(tmp_path) == before


# ------------------------------------------------------------------------------------------ API and numerics

F32 = np.float32
X3 = np.ones((4, 3), F32)
SOFTMAX = fnn.init_params(fnn.network([3, 2], activation="softmax"), seed=0)
SIGMOID = fnn.init_params(fnn.network([3, 1], loss="binary_cross_entropy"), seed=0)
MULTI_SIGMOID = fnn.init_params(fnn.network([3, 2], output="sigmoid"), seed=0)
REGRESSION = fnn.init_params(fnn.network([3, 1], output="identity"), seed=0)


def layer(i, o, activation):
    return {"input_dim": i, "output_dim": o, "activation": activation}


API_CASES = [
    # minibatches
    ("minibatches: x and y lengths", lambda: fnn.minibatches(np.zeros((5, 2)), np.zeros(3), 2, 0, 0), r"'x' and 'y' arguments of fnn.minibatches .* x with 5 rows and y with 3"),
    ("minibatches: batch_size 0", lambda: fnn.minibatches(X3, np.zeros(4), 0, 0, 0), "'batch_size' argument of fnn.minibatches must be a positive int up to 2147483647. Got 0"),
    ("minibatches: batch_size float", lambda: fnn.minibatches(X3, np.zeros(4), 2.5, 0, 0), "'batch_size' .* must be a positive int up to 2147483647. Got 2.5"),
    ("minibatches: negative seed", lambda: fnn.minibatches(X3, np.zeros(4), 2, -1, 0), "'seed' argument of fnn.minibatches must be a non-negative int. Got -1"),
    ("minibatches: negative epoch", lambda: fnn.minibatches(X3, np.zeros(4), 2, 0, -3), "'epoch' .* must be a non-negative int. Got -3"),
    ("minibatches: x without rows", lambda: fnn.minibatches(5, np.zeros(4), 2, 0, 0), "'x' argument of fnn.minibatches must be an array of samples in rows"),
    # the one-output trap
    ("network: one output, no loss", lambda: fnn.network([3, 8, 1]), r"fnn.network\(\[3, 8, 1\]\) has one output and no loss.*loss='binary_cross_entropy'.*output='identity'"),
    ("network: one output, tanh, no loss", lambda: fnn.network([2, 1], activation="tanh"), "has one output and no loss"),
    # activations a layer list cannot use
    ("network: unknown activation in list", lambda: fnn.network([3, 4, 2], activation=["relux", "softmax"]), r"Unknown activation 'relux' for the 'activation\[0\]' argument of fnn.network. Known activations"),
    ("network: unknown single activation", lambda: fnn.network([3, 4, 2], activation="sigmoidd"), "Unknown activation 'sigmoidd' for the 'activation' argument"),
    ("network: unknown output", lambda: fnn.network([3, 4, 2], output="softmaxx"), "Unknown activation 'softmaxx' for the 'output' argument"),
    ("network: leaky_relu:abc", lambda: fnn.network([3, 4, 2], activation=["leaky_relu:abc", "softmax"]), r"'activation\[0\]' argument of fnn.network must be 'leaky_relu' followed by at most 1 number"),
    ("network: leaky_relu two numbers", lambda: fnn.network([3, 4, 2], activation=["leaky_relu:1,2", "softmax"]), r"'activation\[0\]' .* at most 1 number"),
    ("network: relu with an argument", lambda: fnn.network([3, 4, 2], activation=["relu:2", "softmax"]), r"'activation\[0\]' .* must be 'relu' without arguments"),
    ("network: elu negative alpha", lambda: fnn.network([3, 4, 2], activation=["elu:-1", "softmax"]), r"'activation\[0\]' .* elu's alpha must be a finite positive number"),
    ("network: leaky_relu nan slope", lambda: fnn.network([3, 4, 2], activation=["leaky_relu:nan", "softmax"]), r"'activation\[0\]' .* leaky_relu's slope must be a finite number"),
    ("network: object as activation", lambda: fnn.network([3, 4, 2], activation=[object(), "softmax"]), r"'activation\[0\]' argument of fnn.network must be an activation name such as 'relu'"),
    ("network: bare function as activation", lambda: fnn.network([3, 4, 2], activation=[np.tanh, "softmax"]), r"'activation\[0\]' .*\(wrap a function as fnn.Activation"),
    ("network: number as activation", lambda: fnn.network([3, 4, 2], activation=[1, "softmax"]), r"'activation\[0\]' .* an activation name"),
    ("network: activation list too short", lambda: fnn.network([3, 4, 4, 2], activation=["relu", "softmax"]), "'activation' argument of fnn.network must be one entry or a list of 3"),
    ("network: softmax on one unit", lambda: fnn.network([3, 1], output="softmax"), "A softmax output needs at least 2 units"),
    ("network: loss needs another output", lambda: fnn.network([3, 4, 2], activation=["relu", "relu"], loss="cross_entropy"), "computed from softmax outputs, but the output layer's activation is 'relu'"),
    ("network: unknown loss", lambda: fnn.network([3, 2], loss="hinge"), "Unknown loss 'hinge' for the 'loss' argument"),
    ("network: sizes too short", lambda: fnn.network([3]), "'sizes' argument of fnn.network must be a list of at least two layer sizes"),
    ("network: zero size", lambda: fnn.network([3, 0, 2]), "'sizes' .* must be a list of positive ints"),
    ("network_from_layers: bad activation", lambda: fnn.network_from_layers([layer(2, 3, "leaky_relu:x"), layer(3, 2, "softmax")]), r"\"layers\[0\]\['activation'\]\" argument of fnn.network_from_layers must be 'leaky_relu' followed by"),
    ("network_from_layers: unknown activation", lambda: fnn.network_from_layers([layer(2, 3, "relu"), layer(3, 2, "nope")]), r"Unknown activation 'nope' for the \"layers\[1\]\['activation'\]\" argument"),
    ("network_from_layers: non-callable", lambda: fnn.network_from_layers([layer(2, 3, 3.5), layer(3, 2, "softmax")]), r"\"layers\[0\]\['activation'\]\" argument .* must be an activation name"),
    ("network_from_layers: sizes disagree", lambda: fnn.network_from_layers([layer(2, 3, "relu"), layer(4, 2, "softmax")]), "layer 1 has input_dim 4 but layer 0 has output_dim 3"),
    ("Activation: fn not callable", lambda: fnn.Activation("mine", "tanh", lambda z, a: z), "Activation 'mine' needs a callable fn"),
    ("Activation: no name", lambda: fnn.Activation("", np.tanh, lambda z, a: z), "An Activation needs a non-empty name"),
    # cross-entropy targets that are not distributions
    ("CE: row sums to 1.2", lambda: fnn.loss(SOFTMAX, (X3, np.full((4, 2), 0.6, F32))), r"'batch\[1\] \(y\)' argument of fnn.loss must be cross-entropy target rows that are probability distributions \(each summing to 1 within 0.001\). Got row 0 summing to 1.2"),
    ("CE: negative entry", lambda: fnn.loss(SOFTMAX, (X3, np.tile(np.array([1.5, -0.5], F32), (4, 1)))), r"'batch\[1\] \(y\)' .* \(no negative entry\). Got -0.5 at index \(0, 1\)"),
    ("CE: all-zero row", lambda: fnn.loss(SOFTMAX, (X3, np.zeros((4, 2), F32))), r"'batch\[1\] \(y\)' .* Got row 0 summing to 0"),
    ("CE: percentages", lambda: fnn.loss(SOFTMAX, (X3, np.full((4, 2), 50.0, F32))), "Got row 0 summing to 100"),
    ("CE: NaN", lambda: fnn.loss(SOFTMAX, (X3, np.array([[0.5, 0.5]] * 3 + [[np.nan, 1]], F32))), r"'batch\[1\] \(y\)' argument of fnn.loss must be finite targets. Got nan at index \(3, 0\)"),
    ("CE: in fit", lambda: fnn.fit(SOFTMAX, (X3, np.full((4, 2), 0.3, F32)), epochs=1), "must be cross-entropy target rows that are probability distributions"),
    ("CE: in evaluate", lambda: fnn.evaluate(SOFTMAX, X3, np.full((4, 2), 0.3, F32)), "'y' argument of fnn.evaluate must be cross-entropy target rows"),
    ("CE: label out of range", lambda: fnn.loss(SOFTMAX, (X3, np.array([0, 1, 2, 1]))), r"'batch\[1\] \(y\)' argument of fnn.loss must be class labels in 0..1. Got labels in 0..2"),
    ("CE: float labels 1-D", lambda: fnn.loss(SOFTMAX, (X3, np.array([0.0, 1, 1, 0], F32))), r"float targets of shape \(4, 2\) \(or a 1-D array of integer class labels\)"),
    # binary cross-entropy targets outside [0, 1]
    ("BCE: target 1.5", lambda: fnn.loss(SIGMOID, (X3, np.array([0, 1, 1.5, 0], F32))), r"'batch\[1\] \(y\)' argument of fnn.loss must be binary cross-entropy targets in \[0, 1\].* Got 1.5 at index \(2, 0\)"),
    ("BCE: target -1", lambda: fnn.loss(SIGMOID, (X3, np.array([-1, 1, 1, 0], F32))), r"targets in \[0, 1\].* Got -1.0 at index \(0, 0\)"),
    ("BCE: multi-label 2", lambda: fnn.loss(MULTI_SIGMOID, (X3, np.full((4, 2), 2.0, F32))), r"targets in \[0, 1\]"),
    ("BCE: integer label 2", lambda: fnn.loss(SIGMOID, (X3, np.array([0, 1, 2, 0]))), "class labels in 0..1. Got labels in 0..2"),
    ("BCE: infinite", lambda: fnn.loss(SIGMOID, (X3, np.array([0, np.inf, 1, 0], F32))), "must be finite targets"),
    # targets of the wrong kind
    ("y of the wrong length", lambda: fnn.loss(REGRESSION, (X3, np.zeros(3, F32))), r"'batch\[1\] \(y\)' argument of fnn.loss must be 4 labels or targets"),
    ("y a ragged list", lambda: fnn.loss(REGRESSION, (X3, [[0.0], [1.0, 2.0], [0.0], [0.0]])), r"'batch\[1\] \(y\)' argument of fnn.loss must be a rectangular array of real numbers"),
    ("y of strings", lambda: fnn.loss(SOFTMAX, (X3, np.array(["a", "b", "a", "b"]))), r"'batch\[1\] \(y\)' argument of fnn.loss must be real numbers \(ints or floats\). Got an array of dtype <U1"),
    ("x complex", lambda: fnn.predict(SOFTMAX, X3 + 1j), r"'x' argument of fnn.predict must be real numbers \(ints or floats\). Got an array of dtype complex"),
    ("x objects", lambda: fnn.fit(SOFTMAX, (np.array([[None] * 3] * 4), np.zeros(4, int)), epochs=1), r"'data features' argument of fnn.fit must be real numbers"),
    ("classifier labels beyond 0/1", lambda: fnn.loss(SIGMOID, (X3, np.arange(4))), "class labels in 0..1. Got labels in 0..3"),
    # other argument checks
    ("init_params: negative seed", lambda: fnn.init_params(fnn.network([2, 2]), seed=-1), "'seed' argument of fnn.init_params must be a non-negative int"),
    ("init_params: int dtype", lambda: fnn.init_params(fnn.network([2, 2]), seed=0, dtype="int32"), "dtype"),
    ("spec_from_config: not a dict", lambda: fnn.spec_from_config([1, 2]), "'config' argument of fnn.spec_from_config must be a dict with 'layers' and 'loss'"),
]


@pytest.mark.parametrize("case", API_CASES, ids=[case[0] for case in API_CASES])
def test_bad_api_input_is_refused_by_name(tmp_path, monkeypatch, case):
    _, call, expected = case
    monkeypatch.chdir(tmp_path)
    before = folder_state(tmp_path)
    with pytest.raises(fnn.FnnInputError, match=expected):
        call()
    assert folder_state(tmp_path) == before


def test_the_tables_are_big_enough():
    assert len(CHECKPOINT_CASES) >= 35 and len(API_CASES) >= 40
