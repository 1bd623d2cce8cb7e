"""Test-wide settings, set before anything imports Airflow: an isolated AIRFLOW_HOME with a SQLite
database, and a DAGs folder holding the example DAGs and the tests' own DAGs."""

from __future__ import annotations

import os
import pathlib
import secrets
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
# What `airflow config` would write into a new airflow.cfg. This process reads its configuration when it
# first imports Airflow, before any airflow.cfg exists, and Airflow 3.0-3.2's dag.test() fails every
# task without it: the in-process Execution API's start-up needs [api_auth] jwt_secret (3.3 makes one up).
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(24))
