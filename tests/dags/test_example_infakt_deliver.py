"""example_infakt_deliver on a real Airflow (dag.test, SQLite) against the emulator."""

from __future__ import annotations

import pytest

from ..compat import task_runner_calls_get_link
from .conftest import run_dag

KINDS = {
    "v2-json": {"api_version": "v2", "format": "json"},
    "v2-xml": {"api_version": "v2", "format": "xml"},
    "v3": {"api_version": "v3"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_delivers_what_the_conf_asks_and_passes_the_id_on(airflow_db, infakt_emulator, use_connection, kind):
    conn = use_connection(**KINDS[kind])
    run = run_dag("example_infakt_deliver", {"invoice_id": 3, "type": "mail", "doc_type": "KOPIA"})
    assert run.state == "success"
    recorded = [(d.invoice_id, d.type, d.doc_type, d.recipient, d.api_version) for d in infakt_emulator.deliveries]
    assert recorded == [(3, "mail", "KOPIA", None, KINDS[kind]["api_version"])]
    assert run.xcom[("deliver_invoice", -1, "return_value")] == 3
    assert run.xcom[("record_delivery", -1, "return_value")] == 3
    base = conn["host"].rsplit("/api/", 1)[0]
    assert run.xcom[("deliver_invoice", -1, "infakt_invoice_url")] == f"{base}/app/invoices/3"
    if ("deliver_invoice", -1, "_link_InfaktInvoiceLink") in run.xcom or task_runner_calls_get_link():
        assert run.xcom[("deliver_invoice", -1, "_link_InfaktInvoiceLink")] == f"{base}/app/invoices/3"


def test_defaults_and_recipient_stays_out_of_xcom(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("example_infakt_deliver", {"invoice_id": 6, "recipient": "ksiegowa@firma.example"})
    assert run.state == "success"
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.type, delivery.doc_type, delivery.address) == (
        6,
        "mail",
        "org",
        "ksiegowa@firma.example",
    )
    assert "ksiegowa@firma.example" not in repr(run.xcom)


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"invoice_id": 1, "doc_type": "kopia"}, "doc_type"),
        ({"invoice_id": 1, "type": "email"}, "type"),
        ({"invoice_id": "FV/1/2026"}, "invoice_id"),
        ({"invoice_id": 1, "recipient": "not-an-address"}, "recipient"),
    ],
)
def test_invalid_conf_fails_before_any_request(airflow_db, infakt_emulator, use_connection, conf, field):
    use_connection()
    run = run_dag("example_infakt_deliver", conf)
    assert run.state == "failed"
    assert run.tasks[("deliver_invoice", -1)] == ("failed", 1)  # no Airflow retry despite retries=2
    assert infakt_emulator.requests == []
    assert infakt_emulator.deliveries == []
