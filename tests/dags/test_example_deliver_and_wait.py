"""example_infakt_deliver_and_wait, deferrable and poke sensors, on a real Airflow against the emulator."""

from __future__ import annotations

import pytest

from ..compat import dag_test_logs_deferrals
from .conftest import run_dag

KINDS = {"v2-xml": {"api_version": "v2", "format": "xml"}, "v3": {"api_version": "v3"}}


@pytest.fixture
def sensors_mode(monkeypatch):
    """Run the example DAG's sensors deferred (as written) or in poke mode (switched for the test)."""
    from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor

    from .conftest import load_dag

    def use(mode: str) -> None:
        for task in load_dag("example_infakt_deliver_and_wait").tasks:
            if isinstance(task, InfaktInvoiceSensor):
                monkeypatch.setattr(task, "deferrable", mode == "deferrable")
                monkeypatch.setattr(task, "poke_interval", 0.5)

    return use


@pytest.mark.parametrize("mode", ["deferrable", "poke"])
@pytest.mark.parametrize("kind", KINDS)
def test_deliver_wait_sent_wait_paid_chain(
    airflow_db, infakt_emulator, use_connection, sensors_mode, pay_after_reads, capsys, kind, mode
):
    use_connection(**KINDS[kind])
    sensors_mode(mode)
    # Paid once both sensors have seen it sent (wait_until_sent's read, wait_until_paid's first poke): so
    # wait_until_sent cannot miss "sent" and wait_until_paid has to wait (defer, or poke again), however
    # slowly the machine runs the tasks. (A payment at a fixed time after the delivery raced both.)
    pay_after_reads(4, reads=2, after_route="deliver")
    run = run_dag("example_infakt_deliver_and_wait", {"invoice_id": 4})
    assert run.state == "success", run.tasks
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [4]
    assert run.xcom[("wait_until_sent", -1, "return_value")] == 4
    assert run.xcom[("wait_until_sent", -1, "invoice_status")] == "sent"
    assert run.xcom[("wait_until_paid", -1, "invoice_status")] == "paid"
    assert run.xcom[("book_payment", -1, "return_value")] == 4
    deferred = "new_state=deferred" in capsys.readouterr().out
    assert deferred == (mode == "deferrable") or not dag_test_logs_deferrals()


@pytest.mark.parametrize("mode", ["deferrable", "poke"])
@pytest.mark.parametrize("kind", KINDS)
def test_sensor_waits_and_passes_the_id(
    airflow_db, infakt_emulator, use_connection, pay_after_reads, capsys, mode, kind
):
    use_connection(**KINDS[kind])
    infakt_emulator.fault("v*.invoice", status=503, times=1)  # waited out, not a failure
    pay_after_reads(5, reads=3)
    run = run_dag(f"infakt_test_wait_{mode}", {"invoice_id": 5})
    assert run.state == "success", run.tasks
    assert run.xcom[("wait", -1, "return_value")] == 5
    assert run.xcom[("wait", -1, "invoice_status")] == "paid"
    assert run.xcom[("got", -1, "return_value")] == 5
    reads = [r.status for r in infakt_emulator.requests if r.route.endswith(".invoice")]
    assert reads[0] == 503
    assert reads.count(200) >= 4  # three reads before the payment, one after
    deferred = "new_state=deferred" in capsys.readouterr().out
    assert deferred == (mode == "deferrable") or not dag_test_logs_deferrals()


@pytest.mark.parametrize("mode", ["deferrable", "poke"])
def test_sensor_fails_on_first_poke_for_unknown_invoice(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    run = run_dag(f"infakt_test_wait_{mode}", {"invoice_id": 404})
    assert run.state == "failed"
    assert run.tasks[("wait", -1)][0] == "failed"
    assert [r.status for r in infakt_emulator.requests] == [404]


@pytest.mark.parametrize("mode", ["deferrable", "poke"])
def test_sensor_fails_on_first_poke_for_a_wrong_key(airflow_db, infakt_emulator, use_connection, monkeypatch, mode):
    import json

    conn = use_connection()
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps({**conn, "password": "wrong-key"}))
    run = run_dag(f"infakt_test_wait_{mode}", {"invoice_id": 1})
    assert run.state == "failed"
    assert [r.status for r in infakt_emulator.requests] == [401]


def test_sensor_refuses_an_unknown_status_before_any_request(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_wait_poke", {"invoice_id": 1, "target_status": "zapłacona"})
    assert run.state == "failed"
    assert infakt_emulator.requests == []


@pytest.mark.parametrize("mode", ["deferrable", "poke"])
def test_a_customer_who_pays_at_once_does_not_time_out_the_example(
    airflow_db, infakt_emulator, use_connection, sensors_mode, monkeypatch, mode
):
    """Paid the moment it is delivered: waiting for "sent" is over (paid is later), not a timeout."""
    from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor

    from .conftest import load_dag

    use_connection()
    sensors_mode(mode)
    for task in load_dag("example_infakt_deliver_and_wait").tasks:
        if isinstance(task, InfaktInvoiceSensor):
            monkeypatch.setattr(task, "timeout", 6.0)  # the example's hour, cut short for a test
    infakt_emulator.pay_after_delivery(0)
    run = run_dag("example_infakt_deliver_and_wait", {"invoice_id": 4})
    assert run.state == "success", run.tasks
    assert run.xcom[("wait_until_sent", -1, "invoice_status")] == "paid"
    assert run.xcom[("wait_until_paid", -1, "invoice_status")] == "paid"
    assert run.xcom[("book_payment", -1, "return_value")] == 4
