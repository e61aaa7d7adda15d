"""The README's figures for training with no flag but ``--data``: each bundled and generated data set (20 epochs,
the command line's defaults), spirals with the deeper, longer run the README gives, and a generated CSV table of
prices (500 rows, targets near 47,000) as a regression, each through ``fnn train --data NAME --no-record --json``.

The figures are this machine's: they depend on the BLAS kernel and thread count. The README's were measured at one
thread under ``OPENBLAS_CORETYPE=Haswell`` and ``SkylakeX``, which give the same figures::

    OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 python scripts/defaults_table.py
    python scripts/defaults_table.py --quick      # without the 300-epoch spirals run
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

DATA_SETS = ["digits", "iris", "moons", "circles", "blobs", "spirals", "sine"]


def prices_csv(path, rows=500):
    """``csv:PATH`` of a table whose ``target`` is a price near 47,000: linear and quadratic in three features."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    price = 50_000 + 8_000 * x[:, 0] - 3_000 * x[:, 1] ** 2 + 1_000 * rng.normal(size=rows)
    np.savetxt(path, np.c_[x, price], fmt=["%.4f"] * 3 + ["%.0f"], delimiter=",", header="a,b,c,target", comments="")
    return f"csv:{path}"


def test_metrics(*flags):
    """The test metrics ``fnn train`` reports for ``flags``."""
    command = [sys.executable, "-m", "fnn", "train", *flags, "--no-record", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])["final_metrics"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="leave out the 300-epoch spirals run")
    args = parser.parse_args(argv)
    print("data                                 test accuracy, or R^2")
    for name in DATA_SETS:
        metrics = test_metrics("--data", name)
        figure = f"R^2 {metrics['r2']:.3f} (MSE {metrics['mse']:.4f}, MAE {metrics['mae']:.3f})" if name == "sine" else f"{metrics['accuracy']:.3f}"
        print(f"{name:<36} {figure}")
    if not args.quick:
        print(f"{'spirals --hidden 64,64 --epochs 300':<36} {test_metrics('--data', 'spirals', '--hidden', '64,64', '--epochs', '300')['accuracy']:.3f}")
    with tempfile.TemporaryDirectory() as folder:
        metrics = test_metrics("--data", prices_csv(pathlib.Path(folder) / "prices.csv"))
    print(f"{'prices (CSV, 500 rows)':<36} R^2 {metrics['r2']:.3f}, MAE {metrics['mae']:,.0f}")


if __name__ == "__main__":
    main()
