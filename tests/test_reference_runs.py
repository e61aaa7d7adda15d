"""Refactoring must not change results: reference runs keep the parameter hashes recorded before it.

The hashes in ``reference_runs.json`` were recorded at one BLAS thread on the BLAS kernel named beside them, which
the runs here ask OpenBLAS for; a machine that cannot run that kernel (another CPU architecture or BLAS) may round
differently, so the test is skipped only then.
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _kernels(blas):
    return [(b["internal_api"], b["architecture"]) for b in blas]


def test_reference_runs_keep_their_parameter_hashes():
    with open(os.path.join(HERE, "reference_runs.json")) as handle:
        reference = json.load(handle)
    # The kernel is read in the fresh process that makes the runs: this test process may have loaded other BLAS
    # copies (torch's, scipy's) that the runs never use.
    # OpenBLAS picks its kernel by CPU; asking for the recorded one lets any CPU that can run it check the hashes
    # (an AVX-512 CPU runs SkylakeX whether OpenBLAS would have picked it or not).
    kernel = {"OPENBLAS_CORETYPE": reference["blas"][0]["architecture"]}
    result = subprocess.run(
        [sys.executable, os.path.join(HERE, "reference_runs.py")],
        env={**os.environ, **ONE_THREAD, **kernel}, capture_output=True, text=True, check=True,
    )
    now = json.loads(result.stdout)
    if _kernels(now["blas"]) != _kernels(reference["blas"]):
        pytest.skip(f"hashes were recorded on BLAS {_kernels(reference['blas'])}; this machine has {_kernels(now['blas'])}")
    assert now["blas"] == reference["blas"]
    assert now["hashes"] == reference["hashes"]
