"""Real Airflow runs (``dag.test()``) of the example DAGs against the emulator, on SQLite, with the
package's own DAG-test helpers (:mod:`airflow_provider_infakt.testing.dagrun` and its fixtures)."""

from __future__ import annotations

import os
import pathlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_infakt.testing.dagrun import DagRunResult, TaskOutcome, load_dags
from airflow_provider_infakt.testing.dagrun import run_dag as _run_dag

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def airflow_db(infakt_airflow: pathlib.Path) -> pathlib.Path:
    """A fresh metadata database for the test: the package's ``infakt_airflow`` fixture, in the
    throw-away AIRFLOW_HOME tests/conftest.py makes (``airflow db migrate`` once per test run, shared by
    the xdist workers; a copy per test)."""
    return infakt_airflow


@dataclass
class Run:
    """What a DAG run left behind, as these tests read it (the package's :class:`DagRunResult` is in
    ``result``)."""

    state: str
    tasks: Mapping[tuple[str, int], TaskOutcome]  # (task_id, map_index) -> (state, try_number)
    xcom: Mapping[tuple[str, int, str], Any]  # (task_id, map_index, key) -> value
    result: DagRunResult


_loaded: dict[str, Any] = {}


def load_dag(dag_id: str) -> Any:
    """The DAG object ``dag_id`` from the DAGs folder (each file imported once per session)."""
    if not _loaded:
        _loaded.update(load_dags(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]))
    return _loaded[dag_id]


def run_dag(dag_id: str, conf: dict[str, Any] | None = None, logical_date: Any = None) -> Run:
    """``dag.test(run_conf=conf)`` and collect task states and XComs of that run.

    With ``logical_date``, a run of that date that exists already is replaced by a new one of the same
    run id: what a user sees after clearing the whole run (its task state store is gone too)."""
    result = _run_dag(load_dag(dag_id), conf=conf, logical_date=logical_date)
    return Run(result.state, result.tasks, result.xcoms, result)


@pytest.fixture
def use_connection(infakt_connection_factory):
    """``use(api_version=..., format=..., auth=..., scope=...)``: point ``infakt_default`` at the emulator
    with that connection kind (the package's ``infakt_connection_factory``)."""
    return infakt_connection_factory


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
