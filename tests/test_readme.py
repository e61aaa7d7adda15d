"""The README's Python examples run as written, in order (they build on each other)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write run folders write them here
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace = {}
    for block in blocks:
        if "load_mnist_pickle" in block or "table.csv" in block:
            continue  # these name files a reader has, not ones the tests ship
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["more"].epoch == 25
    assert namespace["best"].epoch <= namespace["stopped"].epoch
    assert namespace["params_after_5"].spec == namespace["params"].spec
    assert len(namespace["result"].records) == 6 and (tmp_path / "runs" / "sweep" / "summary.json").exists()
