"""Names every doctest may use, as the docs assume them: ``np`` and ``fnn``."""

import numpy as np
import pytest

import fnn


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["fnn"] = fnn
