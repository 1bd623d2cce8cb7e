"""pytest plugin (entry point ``pytest11``): an inFakt emulator, connections to it, and DAG runs on a
throw-away Airflow.

Emulator fixtures:

- ``infakt_emulator``: one emulator per test session, on a free loopback port, handed to each test
  freshly reset (seeded demo account, no faults, limits off), so tests do not leak state into each other.
- ``infakt_connection``: ``AIRFLOW_CONN_INFAKT_DEFAULT`` pointing at it (v3) for the test; the
  connection (a dict) is the fixture's value. Parametrize it indirectly for another kind:
  ``@pytest.mark.parametrize("infakt_connection", [{"api_version": "v2", "format": "xml"}], indirect=True)``.
- ``infakt_connection_factory``: ``factory(conn_id="infakt_default", api_version="v3", format="json",
  auth="oauth", scope="write")`` sets ``AIRFLOW_CONN_<CONN_ID>`` for the test and returns the connection;
  call it as often as needed.

Airflow fixtures:

- ``infakt_airflow``: a fresh, migrated SQLite metadata database for this test (the migration runs once
  per test run, shared by pytest-xdist workers; each test gets a copy), examples off, a JWT secret set;
  its value is the Airflow home.
- ``infakt_dag_runner``: :func:`~airflow_provider_infakt.testing.dagrun.run_dag` on that database:
  ``infakt_dag_runner(dag_or_path, conf=..., logical_date=..., dag_id=...)`` returns a
  :class:`~airflow_provider_infakt.testing.dagrun.DagRunResult`.

Airflow reads its home when it is first imported, so the plugin chooses it before any ``conftest.py``
or test module is imported: with the ini option ``infakt_airflow_home = auto`` (the default) it makes a
throw-away home when ``AIRFLOW_HOME`` is not set (each pytest-xdist worker its own), ``always`` makes one
even when it is set, ``off`` leaves Airflow alone (then ``infakt_airflow`` refuses to run). The home is
removed when pytest ends. ``infakt_airflow`` never overwrites a database the plugin did not make.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol

import pytest

from . import _dagtest_fixes
from ._airflow_home import (
    fresh_database,
    hide_from_airflow,
    isolate_airflow_home,
    migrated_template,
    needs_own_home,
    require_throwaway_home,
)
from .dagrun import DagRunResult, run_dag
from .emulator import InfaktEmulator

HOME_OPTION = "infakt_airflow_home"
HOME_MODES = ("auto", "always", "off")
_made_home = pytest.StashKey[pathlib.Path]()
#: One per process: dag.test()'s in-process API server is made once per process and reads it then.
_JWT_SECRET = secrets.token_urlsafe(24)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini option ``infakt_airflow_home``.

    :param parser: pytest's parser.
    """
    parser.addini(
        HOME_OPTION,
        "airflow_provider_infakt: make a throw-away AIRFLOW_HOME for the test run: auto (when AIRFLOW_HOME "
        "is not set), always, or off",
        default="auto",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Choose the Airflow home before any ``conftest.py`` (and so Airflow) is imported.

    :param early_config: pytest's configuration.
    :param parser: pytest's parser.
    :param args: the command line's arguments.
    """
    mode = str(early_config.getini(HOME_OPTION)).strip() or "auto"
    if mode not in HOME_MODES:
        raise pytest.UsageError(f"ini option {HOME_OPTION} = {mode!r} is not one of {', '.join(HOME_MODES)}")
    if mode == "off" or "airflow" in sys.modules:
        return
    if mode == "always" or needs_own_home():
        early_config.stash[_made_home] = isolate_airflow_home()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the throw-away home the plugin made.

    :param config: pytest's configuration.
    """
    home = config.stash.get(_made_home, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


# -- the emulator and connections to it ------------------------------------------------------------


class ConnectionFactory(Protocol):
    """What ``infakt_connection_factory`` gives: set an Airflow connection to the emulator for the test."""

    def __call__(
        self,
        *,
        conn_id: str = "infakt_default",
        api_version: Literal["v3", "v2"] = "v3",
        format: Literal["json", "xml"] = "json",
        auth: Literal["oauth", "xauth"] = "oauth",
        scope: Literal["write", "read"] = "write",
    ) -> dict[str, Any]:
        """Set ``AIRFLOW_CONN_<CONN_ID>`` to the emulator for this test and return the connection.

        :param conn_id: the connection's id, e.g. ``infakt_default``.
        :param api_version: as for :meth:`InfaktEmulator.connection`.
        :param format: as for :meth:`InfaktEmulator.connection`.
        :param auth: as for :meth:`InfaktEmulator.connection`.
        :param scope: as for :meth:`InfaktEmulator.connection`.
        """


@pytest.fixture(scope="session")
def infakt_emulator_session() -> Iterator[InfaktEmulator]:
    """The session's emulator, as it is (not reset between tests)."""
    with InfaktEmulator() as emulator:
        yield emulator


@pytest.fixture
def infakt_emulator(infakt_emulator_session: InfaktEmulator) -> Iterator[InfaktEmulator]:
    """A running inFakt emulator, reset to the seeded demo account for this test."""
    infakt_emulator_session.reset()  # the state it was started with: limits off, no scenarios, no faults
    yield infakt_emulator_session
    infakt_emulator_session.reset()


@pytest.fixture
def infakt_connection_factory(infakt_emulator: InfaktEmulator, monkeypatch: pytest.MonkeyPatch) -> ConnectionFactory:
    """``factory(conn_id=..., api_version=..., format=..., auth=..., scope=...)``: set
    ``AIRFLOW_CONN_<CONN_ID>`` to the emulator for this test and return the connection."""

    def factory(
        *,
        conn_id: str = "infakt_default",
        api_version: Literal["v3", "v2"] = "v3",
        format: Literal["json", "xml"] = "json",
        auth: Literal["oauth", "xauth"] = "oauth",
        scope: Literal["write", "read"] = "write",
    ) -> dict[str, Any]:
        if not isinstance(conn_id, str) or not conn_id or any(c.isspace() or c == "=" for c in conn_id):
            raise ValueError(f"conn_id={conn_id!r} is not a connection id (a non-empty word, no spaces or '=')")
        conn = infakt_emulator.connection(api_version=api_version, format=format, auth=auth, scope=scope)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn

    return factory


@pytest.fixture
def infakt_connection(infakt_connection_factory: ConnectionFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    """``AIRFLOW_CONN_INFAKT_DEFAULT`` pointing at the emulator (v3, demo key) for this test; parametrized
    indirectly, the parameter holds the factory's arguments (``{"api_version": "v2"}``)."""
    options = getattr(request, "param", None) or {}
    if not isinstance(options, dict):
        raise TypeError(
            f"infakt_connection's parameter {options!r} is not a dict of infakt_connection_factory's "
            "arguments, e.g. {'api_version': 'v2', 'format': 'xml'}"
        )
    return infakt_connection_factory(**options)


# -- Airflow -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def infakt_airflow_session(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The migrated metadata database every test's copy is made from (one per test run); also corrects
    Airflow 3.0-3.2's ``dag.test()`` for the session (see :func:`~.dagrun.run_dag`)."""
    require_throwaway_home()  # fail before the migration (seconds), not after it
    _dagtest_fixes.apply_once()
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # one run's workers share it
    return migrated_template(shared)


@pytest.fixture
def infakt_airflow(infakt_airflow_session: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pathlib.Path]:
    """A fresh metadata database for this test in the throw-away Airflow home (its value); examples off
    and, unless set, ``[api_auth] jwt_secret`` (Airflow 3.0-3.2's ``dag.test()`` needs one) for the test."""
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    if not os.environ.get("AIRFLOW__API_AUTH__JWT_SECRET"):
        monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", _JWT_SECRET)
    yield fresh_database(infakt_airflow_session)
    hide_from_airflow()


@pytest.fixture
def infakt_dag_runner(infakt_airflow: pathlib.Path) -> Callable[..., DagRunResult]:
    """:func:`~airflow_provider_infakt.testing.dagrun.run_dag` on this test's fresh metadata database:
    ``infakt_dag_runner(dag_or_path, conf=None, logical_date=None, dag_id=None)``."""
    return run_dag
