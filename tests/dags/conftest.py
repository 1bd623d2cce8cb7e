"""Real Airflow runs (``dag.test()``) of the example DAGs against the emulator, on SQLite."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from ..compat import keep_in_process_execution_api_alive, validate_in_process_reschedule_start_date

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def _in_process_execution_api_ready() -> Any:
    """dag.test() on Airflow 3.0-3.2 closes its in-process API under a running task (see
    :func:`tests.compat.keep_in_process_execution_api_alive`); keep it open, as 3.3 does. dag.test() on
    Airflow 3.0 hands a rescheduled sensor an unvalidated answer (see
    :func:`tests.compat.validate_in_process_reschedule_start_date`); validate it, as a worker does."""
    undos = [keep_in_process_execution_api_alive(), validate_in_process_reschedule_start_date()]
    yield
    for undo in reversed(undos):
        undo()


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Create the metadata database of the test AIRFLOW_HOME (set in tests/conftest.py) once.

    ``airflow db migrate`` runs once per test run: the first process that needs a database migrates a
    template (under a lock), and each process, every xdist worker with its own AIRFLOW_HOME, copies it
    into its own SQLite file with SQLite's backup API (safe while the process holds connections to it).
    Migrating takes ten seconds and more on this machine; a copy takes milliseconds.
    """
    import fcntl
    import sqlite3

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # one run's workers share it
    template = shared / "airflow-template.db"
    with (shared / "airflow-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            home = shared / "airflow-template-home"
            home.mkdir(exist_ok=True)
            airflow = pathlib.Path(sys.executable).with_name("airflow")
            env = {**os.environ, "AIRFLOW_HOME": str(home)}  # the default database: $AIRFLOW_HOME/airflow.db
            subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=env)
            (home / "airflow.db").replace(template)
    own = pathlib.Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    source, target = sqlite3.connect(template), sqlite3.connect(own)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@dataclass
class Run:
    """What a DAG run left behind."""

    state: str
    tasks: dict[tuple[str, int], tuple[str, int]]  # (task_id, map_index) -> (state, try_number)
    xcom: dict[tuple[str, int, str], Any]  # (task_id, map_index, key) -> value


_loaded: dict[str, Any] = {}


def load_dag(dag_id: str) -> Any:
    """The DAG object ``dag_id`` from the DAGs folder (each file imported once per session)."""
    import importlib.util

    if not _loaded:
        for path in sorted(pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).glob("*.py")):
            spec = importlib.util.spec_from_file_location(f"infakt_dagfile_{path.stem}", path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for value in vars(module).values():
                if hasattr(value, "dag_id") and hasattr(value, "test") and hasattr(value, "task_dict"):
                    _loaded[value.dag_id] = value
    return _loaded[dag_id]


def run_dag(dag_id: str, conf: dict[str, Any] | None = None, logical_date: Any = None) -> Run:
    """``dag.test(run_conf=conf)`` and collect task states and XComs of that run.

    With ``logical_date``, a run of that date that exists already is replaced by a new one of the same
    run id: what a user sees after clearing the whole run (its task state store is gone too)."""
    dag = load_dag(dag_id)
    same_run = {"logical_date": logical_date, "run_after": logical_date} if logical_date else {}
    dagrun = dag.test(run_conf=conf or {}, **same_run)
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = {}
        for ti in session.scalars(_ti_query(dagrun)):
            tis[(ti.task_id, ti.map_index)] = (str(getattr(ti.state, "value", ti.state)), ti.try_number)
        xcom = _xcoms(dagrun, session)
    return Run(str(getattr(dagrun.state, "value", dagrun.state)), tis, xcom)


def _ti_query(dagrun: Any) -> Any:
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    return select(TaskInstance).where(TaskInstance.dag_id == dagrun.dag_id, TaskInstance.run_id == dagrun.run_id)


def _xcoms(dagrun: Any, session: Any) -> dict[tuple[str, int, str], Any]:
    try:
        from airflow.models.xcom import XComModel
    except ImportError:  # Airflow 2: the ORM object deserializes its value on load
        from airflow.models.xcom import XCom

        rows = session.scalars(XCom.get_many(run_id=dagrun.run_id, dag_ids=dagrun.dag_id, session=session))
        return {(r.task_id, r.map_index, r.key): r.value for r in rows}
    rows = session.scalars(XComModel.get_many(run_id=dagrun.run_id, dag_ids=dagrun.dag_id))
    return {(r.task_id, r.map_index, r.key): XComModel.deserialize_value(r) for r in rows}


@pytest.fixture
def use_connection(infakt_emulator, monkeypatch):
    """Point ``infakt_default`` at the emulator with the given connection kind."""

    def use(**kind: str) -> dict[str, Any]:
        conn = infakt_emulator.connection(**kind)
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(conn))
        return conn

    return use


@pytest.fixture
def pay_after_reads(infakt_emulator):
    """``pay(invoice_id, reads, after_route=None)``: mark the invoice paid (from a thread) once the
    emulator has served ``reads`` reads of it; with ``after_route``, only reads after the first answered
    request whose route contains it count. The thread ends with the test."""
    stop = threading.Event()
    threads = []

    def pay(invoice_id, reads, after_route=None):
        def served_reads():
            requests = infakt_emulator.requests
            if after_route is not None:
                start = next((i for i, r in enumerate(requests) if after_route in r.route and r.status), None)
                requests = [] if start is None else requests[start + 1 :]
            return sum(1 for r in requests if r.route.endswith(".invoice") and r.status == 200)

        def watch():
            while not stop.wait(0.02):
                if served_reads() >= reads:
                    infakt_emulator.mark_paid(invoice_id)
                    return

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        threads.append(thread)

    yield pay
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
