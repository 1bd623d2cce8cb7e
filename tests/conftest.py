"""Test-wide settings, set before anything imports Airflow: an isolated AIRFLOW_HOME with a SQLite
database, and a DAGs folder holding the example DAGs and the tests' own DAGs."""

from __future__ import annotations

import os
import pathlib
import secrets
import tempfile
import warnings

from airflow_provider_infakt.testing.dagrun import isolate_airflow_home

_ROOT = pathlib.Path(__file__).resolve().parents[1]
_home = pathlib.Path(tempfile.mkdtemp(prefix="infakt-airflow-home-"))
_dags = _home / "dags"
_dags.mkdir()
for source in [
    *(_ROOT / "example_dags").glob("*.py"),
    *(_ROOT / "tests" / "dags" / "dag_files").glob("*.py"),
]:
    (_dags / source.name).symlink_to(source)

# AIRFLOW_HOME, marked throw-away: the plugin's infakt_airflow fixture gives each test a fresh database in it.
isolate_airflow_home(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_dags)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
# What `airflow config` would write into a new airflow.cfg. This process reads its configuration when it
# first imports Airflow, before any airflow.cfg exists, and Airflow 3.0-3.2's dag.test() fails every
# task without it: the in-process Execution API's start-up needs [api_auth] jwt_secret (3.3 makes one up).
os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(24))

# benchmarks/mutation_run.py sets HYPOTHESIS_PROFILE=mutation: a failing example is enough there, so
# Hypothesis skips shrinking it. The examples generated are the same in every profile.
from hypothesis import Phase, settings  # noqa: E402

settings.register_profile("mutation", phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _secrets_maskers() -> list:
    """Airflow's process-wide secrets maskers (where they live differs by version)."""
    found = []
    for module in (
        "airflow.sdk._shared.secrets_masker.secrets_masker",  # Airflow 3 task SDK
        "airflow._shared.secrets_masker.secrets_masker",  # Airflow 3 core
        "airflow.sdk.execution_time.secrets_masker",  # Airflow 3.0 and 3.1 (deprecated later)
        "airflow.utils.log.secrets_masker",  # Airflow 2
    ):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                masker = __import__(module, fromlist=["_secrets_masker"])._secrets_masker()
        except Exception:  # noqa: S112 (a version without that module)
            continue
        if masker not in found:
            found.append(masker)
    return found


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _bounded_secrets_masker():
    """Forget the secrets a test module registered once they are many (the property tests register
    random keys and whole connection extras): Airflow's masker rebuilds one regex of all secrets for
    each new secret (a 20,000-character regex took 50 ms to build, 850 ms on a loaded machine), which
    made a later trigger test's first ``mask_secret`` block its event loop."""
    yield
    for masker in _secrets_maskers():
        if sum(len(str(p)) for p in getattr(masker, "patterns", ())) > 2000 and hasattr(masker, "reset_masker"):
            masker.reset_masker()


@pytest.fixture(autouse=True)
def _idle_rate_budget():
    """Each test starts with an idle client-side rate budget, as the emulator it talks to starts with
    its limit counts forgotten: every client of one origin in a process shares one limiter, and the
    session's emulator keeps its port, so the reads of earlier tests on this worker would otherwise pace
    this one's (up to 0.2 s a read once the burst is spent)."""
    from airflow_provider_infakt.api.ratelimit import reset_shared_limiters

    reset_shared_limiters()
    yield
