"""scripts/bench_seeds.py and scripts/bench_halving.py keep working: each runs on a small slice and prints its table."""

import pathlib
import subprocess
import sys

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent / "scripts"


def run(script, *args):
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_seeds_reports_a_ratio_and_identical_bytes():
    out = run("bench_seeds.py", "--repeats", "1", "--digits-epochs", "1", "--fashion-rows", "0")
    line = next(line for line in out.splitlines() if line.startswith("8 seeds, digits"))
    assert float(line.split("->")[1].split("x")[0]) > 0 and line.endswith("bytes identical: True")


def test_bench_halving_reports_share_rank_and_hash():
    out = run("bench_halving.py", "--data", "iris", "--seeds", "0", "--epochs", "4", "--min-epochs", "1")
    row = next(line.split() for line in out.splitlines() if line.startswith("iris"))
    assert row[2] == "48/108" and row[3] == "44.4%" and 1 <= int(row[4]) <= 27 and row[7] == "same"
    assert "picked the full grid's best in" in out
