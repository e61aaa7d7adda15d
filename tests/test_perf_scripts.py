"""scripts/bench_step_memory.py keeps working: page faults and CPU time per step, and the products both ways."""

import pathlib
import re
import subprocess
import sys

SCRIPTS = pathlib.Path(__file__).resolve().parent.parent / "scripts"


def test_bench_step_memory_reports_faults_per_step_and_both_products():
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_step_memory.py"), "--rows", "1000", "--epochs", "2", "--rounds", "2"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    epochs = re.findall(r"^(sgd|adam) +epoch (\d): +(\d+) us/step CPU, +([\d.]+) minor page faults/step$", done.stdout, re.M)
    assert [(name, epoch) for name, epoch, _, _ in epochs] == [("sgd", "1"), ("sgd", "2"), ("adam", "1"), ("adam", "2")]
    assert all(int(us) > 0 and float(faults) >= 0 for _, _, us, faults in epochs)
    products = re.search(r"new arrays (\d+) us, reused \(out=\) (\d+) us$", done.stdout, re.M)
    assert products is not None and int(products[1]) > 0 and int(products[2]) > 0
