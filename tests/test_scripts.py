"""The scripts under scripts/ keep working: each runs on a small slice and prints its table."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent / "scripts"
FASHION = "/usr/share/datasets/fashion-mnist"
needs_fashion = pytest.mark.skipif(not os.path.isdir(FASHION), reason="needs Debian's dataset-fashion-mnist (.ci/run installs it)")


def run(script, *args):
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


SPREAD = re.compile(r"(\d\.\d+) ± (\d\.\d+) \((\d\.\d+)-(\d\.\d+)\)\s+(.+?)\s*$")


def test_reproduce_iris_reports_a_spread_over_seeds():
    out = run("reproduce_iris.py", "--seeds", "0", "1", "2")
    assert "over seeds 0, 1, 2" in out
    rows = {m.group(5): [float(v) for v in m.groups()[:4]] for m in map(SPREAD.search, out.splitlines()) if m}
    assert set(rows) == {"training accuracy, as there", "training accuracy", "stratified 20% test split"}
    for note, (mean, sd, low, high) in rows.items():
        assert 0 <= low <= mean <= high <= 1 and sd >= 0, note
    assert rows["stratified 20% test split"][2] >= 0.9 and rows["training accuracy"][2] >= 0.9


@needs_fashion
def test_reproduce_deep_relu_prints_train_and_test_at_the_tutorials_rate():
    out = run("reproduce_deep_relu.py", "--small-iterations", "2", "--deep-iterations", "2")
    assert "(lr 0.1 and 0.1)" in out
    rows = [line for line in out.splitlines() if line.strip().startswith("[784")]
    assert len(rows) == 2 and all(" train, " in row and " test" in row and "train (MNIST)" in row for row in rows)


def test_reproduce_moons_both_networks_short():
    # 2,000 of the tutorial's 10,000 full-batch epochs already separate the moons well past chance with the larger
    # network; the small one as the tutorial trains it stays at chance, and learns with He init and Adam.
    out = run("reproduce_moons.py", "--epochs", "2000", "--adam-epochs", "100")
    rows = {line.split()[1]: line.split() for line in out.splitlines() if line.strip().startswith("2-")}
    accuracy = {name: float(row[row.index("train") - 1]) for name, row in rows.items()}
    assert set(accuracy) == {"(text)", "(code)", "(text-adam)"}
    assert rows["(text)"][0] == "2-4-6-6-4-1" and rows["(code)"][0] == "2-25-50-50-25-1"
    assert accuracy["(code)"] >= 0.75 and accuracy["(text-adam)"] >= 0.85 and accuracy["(text)"] <= 0.75


@needs_fashion
def test_benchmark_smoke_on_a_tiny_slice():
    out = run("bench_vs_peers.py", "--subset", "600", "--epochs", "2", "--threads", "1", "--repeats", "1", "--no-scaling",
              "--no-model", "--systems", "fnn,numpy", "--accuracy-seeds", "2")
    timing, accuracy = out.split("== test accuracy")
    rows = [line.split() for line in timing.splitlines() if line.startswith(("sgd ", "adam "))]
    assert {(r[0], r[1]) for r in rows} == {("sgd", "fnn"), ("sgd", "numpy"), ("adam", "fnn"), ("adam", "numpy")}
    # optimizer system s/epoch (min-max) CPU-s test-acc peak-MiB fnn/peer x-products CPU-ratio load
    assert all(float(r[2]) > 0 and float(r[4]) > 0 and 0 <= float(r[5]) <= 1 and float(r[6]) > 50 and float(r[10]) >= 0 for r in rows)
    assert all(r[9] == "-" if r[1] == "fnn" else float(r[9]) > 0 for r in rows)
    assert "float32 products alone" in timing
    spread = [line.split() for line in accuracy.splitlines() if line.startswith(("sgd ", "adam "))]
    assert len(spread) == 4 and all(r[-1] == "n=2" and 0.1 < float(r[2]) <= 1 for r in spread)


@needs_fashion
def test_reproduce_tanh_softmax_one_epoch():
    out = run("reproduce_tanh_softmax.py", "--epochs", "1")
    accuracy = float(out.split("after 1 epochs SGD")[1].split()[2])
    assert accuracy >= 0.75


def test_bench_shapes_times_every_product_of_the_step():
    out = run("bench_shapes.py", "--threads", "1", "--rounds", "1")
    rows = {line[:16].strip(): line[16:].split() for line in out.splitlines() if line.startswith("L")}
    # 784-256-128-64-10: a forward and a weight-gradient product per layer, an input gradient past the first
    assert len(rows) == 11 and rows["L0 weight grad"][0] == "784x128x256" and "L0 input grad" not in rows
    per_call = {name: float(row[1].split("/")[0]) for name, row in rows.items()}
    assert all(value > 0 for value in per_call.values())
    assert per_call["L0 forward"] > per_call["L3 forward"]  # 300x the work takes longer, however noisy the machine


def test_scaling_model_rules():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import scaling_model
    finally:
        sys.path.remove(str(SCRIPTS))
    # OpenBLAS gives a thread per 262,144 multiply-adds: the 128x64x10 product stays on one, 128x128x64 on four
    assert scaling_model.blas_threads(128, 64, 10, 16) == 1
    assert scaling_model.blas_threads(128, 128, 64, 16) == 4 and scaling_model.blas_threads(128, 128, 64, 2) == 2
    assert scaling_model.stops_scaling({1: 1.0, 2: 0.6, 4: 0.58, 8: 0.5}) == 2
    assert scaling_model.stops_scaling({1: 1.0, 2: 0.6, 4: 0.4, 8: 0.41}, (1, 2, 4, 8)) == 4


def test_scaling_model_quick_prediction():
    out = run("scaling_model.py", "--quick", "--n-train", "6400")
    rows = [line for line in out.splitlines() if line.startswith(("BLAS threads", "data parallel"))]
    assert len(rows) == 4
    seconds = [[float(v) for v in row[33:83].split()] for row in rows]  # 1, 2, 4, 8, 16 cores
    assert all(value > 0 for row in seconds for value in row)
    # on one core both methods are the same step
    assert seconds[0][0] == seconds[1][0] and seconds[2][0] == seconds[3][0]


@needs_fashion
def test_bench_creep_times_every_epoch_with_and_without_the_flush():
    out = run("bench_creep.py", "--subset", "1280", "--epochs", "3", "--compare")
    runs = out.split("== ")[1:]
    assert [r.splitlines()[0].split(":")[0] for r in runs] == ["adam (flush every 16 updates)", "adam (no flush)"]
    for text in runs:
        rows = [line.split() for line in text.splitlines()[1:] if line.split() and line.split()[0].isdigit()]
        assert [int(r[0]) for r in rows] == [1, 2, 3] and all(float(r[1]) > 0 and int(r[2]) >= 0 for r in rows)
        assert "epoch 3 / epoch 2:" in text


README = SCRIPTS.parent / "README.md"


def test_every_script_the_readme_names_exists_and_every_script_is_named():
    text = README.read_text()
    named = set(re.findall(r"scripts/(\w+\.py)", text)) | {name for name in re.findall(r"`(\w+\.py)`", text) if (SCRIPTS / name).exists()}
    present = {path.name for path in SCRIPTS.glob("*.py") if not path.name.startswith("_")}
    assert named - {"reproduce_NAME.py"} <= present, sorted(named - present)
    assert present <= named, f"scripts the README never names: {sorted(present - named)}"


def test_the_defaults_table_prints_the_readmes_figures():
    """At one BLAS thread on the reference kernel, the README's table of defaults is what the script prints."""
    env = {**os.environ, "OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(SCRIPTS / "defaults_table.py"), "--quick"], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    printed = dict(re.match(r"(\S+(?: \S+)*?)\s{2,}(.+)$", line).groups() for line in done.stdout.splitlines()[1:])
    text = README.read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| `--data` |"))
    header, row = lines[at], lines[at + 2]
    names = [cell.strip(" `") for cell in header.split("|")[2:-1]]
    figures = dict(zip(names, (cell.strip() for cell in row.split("|")[2:-1])))
    assert set(figures) == {"digits", "iris", "moons", "circles", "blobs", "spirals", "sine (regression)"}
    for name, figure in figures.items():
        assert figure.startswith(printed[name.removesuffix(" (regression)")]), (name, figure, printed)
    r2, mae = re.match(r"R\^2 (\S+), MAE (\S+)", printed["prices (CSV, 500 rows)"]).groups()
    assert f"reaches test R^2 {r2}, MAE {mae} (in the target's units" in text
