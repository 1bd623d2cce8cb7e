"""Test-wide settings, set before anything imports Airflow: an isolated AIRFLOW_HOME with a SQLite
database, and a DAGs folder holding the example DAGs and the tests' own DAGs."""

from __future__ import annotations

import os
import pathlib
import tempfile

_ROOT = pathlib.Path(__file__).resolve().parents[1]
_home = pathlib.Path(tempfile.mkdtemp(prefix="infakt-airflow-home-"))
_dags = _home / "dags"
_dags.mkdir()
for source in [
    *(_ROOT / "example_dags").glob("*.py"),
    *(_ROOT / "tests" / "dags" / "dag_files").glob("*.py"),
]:
    (_dags / source.name).symlink_to(source)

os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_dags)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")

# benchmarks/mutation_run.py sets HYPOTHESIS_PROFILE=mutation: a failing example is enough there, so
# Hypothesis skips shrinking it. The examples generated are the same in every profile.
from hypothesis import Phase, settings  # noqa: E402

settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
