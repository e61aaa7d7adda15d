"""Names every doctest may use, as the docs assume them: ``np`` and ``fnn``; and files that import an optional
package this environment lacks are reported as skipped, with the reason, instead of failing to collect."""

import doctest
import importlib.util
import re

import numpy as np
import pytest

import fnn

# The optional packages (import name -> how to get it): none is needed by ``pip install -e .``.
OPTIONAL = {
    "sklearn": "the sklearn extra",
    "scipy": "the sklearn extra",
    "joblib": "the sklearn extra",
    "pandas": "the test extra",
    "matplotlib": "the plots extra",
    "dask": "the sweep extra",
    "distributed": "the sweep extra",
    "onnx": "the onnx extra",
    "onnxruntime": "the test extra",
    "safetensors": "the safetensors extra",
    "tensorboardX": "the tensorboard extra",
    "tensorboard": "the test extra",
    "torch": "pip install torch==2.13.0 (CPU wheel)",
    "psutil": "the bench extra",
}


def missing_optional(names):
    """``"pkg (how to get it)"`` for each optional package among ``names`` that is not installed."""
    return [f"{name} ({OPTIONAL[name]})" for name in sorted(set(names) & set(OPTIONAL)) if importlib.util.find_spec(name) is None]


@pytest.fixture
def optional_packages():
    """The import names of the optional packages."""
    return tuple(OPTIONAL)


@pytest.fixture
def missing_optional_packages():
    """:func:`missing_optional`, for tests that check which optional packages a whole scenario needs."""
    return missing_optional


def _missing_package_of(error):
    """The reason to skip when ``error`` (a test's or an example's) is an optional package this environment lacks."""
    if isinstance(error, doctest.UnexpectedException):
        error = error.exc_info[1]
    if not isinstance(error, ModuleNotFoundError):
        return None
    named = {error.name.split(".")[0]} if error.name else {word.strip("'.,:") for word in str(error).split()}
    missing = missing_optional(named | {name for name in OPTIONAL if name.lower() in str(error).lower().replace("-", "")})
    return f"needs {', '.join(missing)}, not installed" if missing else None


# How a missing optional package shows in what a command printed: fnn's one line naming the extra, or Python's own.
_NAMED_MISSING = re.compile(r"pip install 'fnn\[(\w+)\]'|No module named '([\w.]+)'")


def _missing_package_in(text):
    """The reason to skip when a failure's text (a command's refusal in it) names an optional package this
    environment lacks: a test reaching one through the command line or a script sees an exit code, not an import."""
    named = set()
    for extra, module in _NAMED_MISSING.findall(text):
        named |= {name for name, how in OPTIONAL.items() if how == f"the {extra} extra"} if extra else {module.split(".")[0]}
    missing = missing_optional(named)
    return f"needs {', '.join(missing)}, not installed (a command it runs said so)" if missing else None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A test or doctest file whose import (direct or through an fnn module) stops at a missing optional package is
    one skip, saying which, instead of a collection error."""
    report = yield
    if report.failed and report.call is not None and report.call.excinfo is not None:
        error = report.call.excinfo.value
        reason = _missing_package_of(error.__cause__ or error.__context__ or error)
        if reason:
            report.outcome, report.longrepr = "skipped", (str(collector.path), 0, f"Skipped: {collector.path.name} {reason}")
    return report


_SKIPPED_FOR = {}  # id(error) -> (error, the reason a test it stopped was skipped)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A test or example stopped by a missing optional package (imported where it is used, or named by a command it
    runs) is skipped, saying which."""
    report = yield
    if call.excinfo is not None and report.failed:
        printed = "\n".join([str(report.longrepr), report.capstdout, report.capstderr])
        error = call.excinfo.value
        reason = _missing_package_of(error) or _missing_package_in(printed) or _SKIPPED_FOR.get(id(error), (None, None))[1]
        if reason:  # a shared fixture's error comes back to each of its tests, without what the first one printed
            _SKIPPED_FOR[id(error)] = error, reason
        if reason:
            report.outcome, report.longrepr = "skipped", (str(item.path), item.location[1] or 0, f"Skipped: {reason}")
    return report


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["fnn"] = fnn
