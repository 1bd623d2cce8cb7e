"""The README shows the example DAG as it is, so what users copy is what the tests run."""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_shows_the_example_dag_verbatim():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    dag = (ROOT / "example_dags" / "example_infakt_deliver.py").read_text(encoding="utf-8")
    assert f"```python\n{dag}```" in readme


def test_readme_version_table_lists_the_tested_versions_and_pyproject_the_lowest():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r"^AIRFLOW_MATRIX \?= (.+)$", makefile, re.MULTILINE)
    assert found, "the Makefile names the tested Airflow versions in AIRFLOW_MATRIX"
    tested = found.group(1).split()
    section = readme.split("\n## Airflow versions\n", 1)[1].split("\n## ", 1)[0]
    first_column = [row.split("|")[1] for row in section.splitlines() if re.match(r"\| \d", row)]
    listed = [version for cell in first_column for version in re.findall(r"\d+\.\d+\.\d+", cell)]
    assert sorted(listed) == sorted(tested)
    lowest = min(tested, key=lambda v: tuple(int(part) for part in v.split(".")))
    floor = ".".join(lowest.split(".")[:2])
    assert f'"apache-airflow>={floor}"' in pyproject
