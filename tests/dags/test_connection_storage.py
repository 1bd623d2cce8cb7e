"""The deferrable sensor under ``dag.test()`` (what ``airflow dags test`` runs) with the connection stored
either way a user stores one: in the metadata database (``airflow connections add``, the UI) or as an
``AIRFLOW_CONN_*`` environment variable.

``dag.test()`` runs the deferred sensor's trigger in line. On Airflow 3.1-3.3 Airflow's async
connection lookup there never reaches the metadata database (see
``airflow_provider_infakt._compat.native_async_connection_lookup``): before the provider worked around
it, the metadata-database case failed with "The conn_id `infakt_default` isn't defined".
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..compat import dag_test_logs_deferrals
from .conftest import run_dag

CONN_ID = "infakt_default"
ENV_VAR = f"AIRFLOW_CONN_{CONN_ID.upper()}"
KINDS = {"v3": {"api_version": "v3"}, "v2-xml": {"api_version": "v2", "format": "xml"}}


@pytest.fixture
def stored_in_metadata_db(airflow_db, infakt_emulator, monkeypatch) -> Iterator[Callable[..., dict[str, Any]]]:
    """``store(**kind)``: the emulator's connection of that kind, written to the metadata database
    through Airflow's own model (what ``airflow connections add`` writes), with no environment variable
    of the same id; deleted again at the end of the test."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    monkeypatch.delenv(ENV_VAR, raising=False)

    def store(**kind: str) -> dict[str, Any]:
        conn = infakt_emulator.connection(**kind)
        with create_session() as session:
            session.add(
                Connection(
                    conn_id=CONN_ID,
                    conn_type=conn["conn_type"],
                    host=conn["host"],
                    login=conn.get("login"),
                    password=conn.get("password"),
                    extra=json.dumps(conn["extra"]),
                )
            )
        return conn

    yield store
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == CONN_ID).delete()


def _run_deferred_sensor(infakt_emulator: Any, pay_after_reads: Any, capsys: Any) -> None:
    # Paid after two reads (the sensor's first poke, in the task; then the trigger's first): so the
    # sensor defers, and the trigger must look the connection up itself and read again to succeed.
    pay_after_reads(5, reads=2)
    run = run_dag("infakt_test_wait_deferrable", {"invoice_id": 5})
    assert run.state == "success", run.tasks
    assert run.xcom[("wait", -1, "invoice_status")] == "paid"
    assert run.xcom[("got", -1, "return_value")] == 5
    reads = [r for r in infakt_emulator.requests if r.route.endswith(".invoice") and r.status == 200]
    assert len(reads) >= 3  # one by the task, two or more by the trigger
    assert "new_state=deferred" in capsys.readouterr().out or not dag_test_logs_deferrals()


@pytest.mark.parametrize("kind", KINDS)
def test_deferrable_sensor_with_the_connection_in_the_metadata_database(
    stored_in_metadata_db, infakt_emulator, pay_after_reads, capsys, kind
):
    stored_in_metadata_db(**KINDS[kind])
    assert ENV_VAR not in os.environ
    _run_deferred_sensor(infakt_emulator, pay_after_reads, capsys)


@pytest.mark.parametrize("kind", KINDS)
def test_deferrable_sensor_with_the_connection_in_an_environment_variable(
    airflow_db, infakt_emulator, use_connection, pay_after_reads, capsys, kind
):
    use_connection(**KINDS[kind])
    _run_deferred_sensor(infakt_emulator, pay_after_reads, capsys)
