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


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_is_ordered_for_its_readers():
    import re

    headings = re.findall(r"^## (.+)$", _readme(), re.MULTILINE)
    expected = [
        "Install",
        "Quick start",
        "Airflow versions",
        "Connections",
        "Operators",
        "Sensors",
        "Hook and client",
        "Testing your DAGs with the emulator",
        "Reliability: what a retry does",
        "Running in production",
        "Development",
        "License",
    ]
    assert headings == expected


def test_readme_speaks_without_project_jargon():
    readme = _readme().lower()
    for jargon in ("the seed", "seed's", "user's v2 document", "the user's document"):
        assert jargon not in readme, jargon
    # the emulator's wire reference lives in docs/, not in the user guide
    assert "### admin routes" not in readme and "## admin routes" in (ROOT / "docs" / "emulator.md").read_text().lower()


def test_readme_names_every_value_the_doc_type_error_allows():
    from airflow_provider_infakt.api.vocabulary import DOC_TYPES, PRINT_TYPES

    readme = _readme()
    for value in (*DOC_TYPES, *PRINT_TYPES):
        assert f"`{value}`" in readme, value
