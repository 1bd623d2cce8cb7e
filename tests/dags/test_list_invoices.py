"""InfaktListInvoicesOperator in a real Airflow run (dag.test, SQLite) against the emulator: its ids feed
a mapped delivery."""

from __future__ import annotations

import pytest

from .conftest import run_dag


@pytest.mark.parametrize("kind", [{"api_version": "v3"}, {"api_version": "v2", "format": "json"}])
def test_listed_ids_feed_a_mapped_delivery(airflow_db, infakt_emulator, use_connection, kind):
    use_connection(**kind)
    for client_id, day in [(2, "2025-10-31"), (2, "2025-11-03"), (3, "2025-11-04"), (2, "2025-11-28")]:
        infakt_emulator.create_invoice(client_id=client_id, invoice_date=day)  # 7, 8, 9, 10
    run = run_dag("infakt_test_list_and_deliver", {"client_id": 2, "from": "2025-11-01", "to": "2025-11-30"})
    assert run.state == "success"
    assert run.xcom[("list_invoices", -1, "return_value")] == [8, 10]
    assert sorted(d.invoice_id for d in infakt_emulator.deliveries) == [8, 10]
    assert {run.tasks[("deliver_invoice", i)][0] for i in (0, 1)} == {"success"}


def test_nothing_matching_is_an_empty_list_and_no_delivery(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_list_and_deliver", {"status": "paid"})
    assert run.state == "success"
    assert run.xcom[("list_invoices", -1, "return_value")] == []
    assert infakt_emulator.deliveries == []


def test_a_wrong_date_in_the_conf_fails_the_list_before_any_request(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_list_and_deliver", {"from": "1.11.2025"})
    assert run.state == "failed"
    assert run.tasks[("list_invoices", -1)][0] == "failed"
    assert infakt_emulator.requests == [] and infakt_emulator.deliveries == []
