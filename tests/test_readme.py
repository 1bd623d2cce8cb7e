"""The README shows the example DAG as it is, so what users copy is what the tests run."""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_shows_the_example_dag_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    dag = (ROOT / "example_dags" / "example_infakt_deliver.py").read_text(encoding="utf-8")
    assert f"```python\n{dag}```" in readme
