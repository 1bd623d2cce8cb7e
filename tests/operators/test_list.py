"""InfaktListInvoicesOperator.execute against the emulator: filters as templates render them, ids out."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from airflow_provider_infakt._compat import AirflowException, AirflowFailException
from airflow_provider_infakt.operators.list import InfaktListInvoicesOperator


@pytest.fixture
def conn(infakt_emulator, monkeypatch):
    def use(**kind: str) -> dict[str, Any]:
        c = infakt_emulator.connection(**kind)
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(c))
        return c

    use()
    return use


@pytest.fixture
def month(infakt_emulator):
    """Invoices 7-11 of clients 2 and 3 around November 2025 (the seeded 1-6 are dated today)."""
    for client_id, day in [
        (2, "2025-10-31"),
        (2, "2025-11-01"),
        (3, "2025-11-15"),
        (2, "2025-11-30"),
        (2, "2025-12-01"),
    ]:
        infakt_emulator.create_invoice(client_id=client_id, invoice_date=day, number=f"FV/{day}")
    infakt_emulator.account.mark_paid(8, "2025-11-10")


def run(**kwargs: Any) -> Any:
    return InfaktListInvoicesOperator(task_id="list", **kwargs).execute({})


def test_filters_are_templated_and_stored_as_given():
    task = InfaktListInvoicesOperator(task_id="list", status="{{ params.status }}", invoice_date_from="{{ ds }}")
    assert (task.status, task.invoice_date_from) == ("{{ params.status }}", "{{ ds }}")
    assert {"status", "number", "client_id", "invoice_date_from", "paid_date_to", "infakt_conn_id"} <= set(
        task.template_fields
    )


@pytest.mark.parametrize("kind", [{"api_version": "v3"}, {"api_version": "v2", "format": "xml"}])
def test_returns_the_ids_of_the_matching_invoices(infakt_emulator, conn, month, kind):
    conn(**kind)
    assert run(invoice_date_from="2025-11-01", invoice_date_to="2025-11-30") == [8, 9, 10]
    assert run(client_id="2", invoice_date_from=dt.date(2025, 11, 1), status="draft") == [2, 10, 11]
    assert run(status="paid") == [8]
    assert run(number="FV/2025-11-15") == [9]
    assert run() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def test_what_plain_jinja_renders_for_a_missing_value_is_not_a_filter(infakt_emulator, conn, month):
    # render_template_as_native_obj off (Airflow's default): {{ dag_run.conf.get('status') }} -> "None"
    ids = run(status="None", number="", client_id="None", invoice_date_from="2025-11-01", paid_date_to=" ")
    assert ids == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11]


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"status": "payed"}, "invalid status 'payed'"),
        ({"invoice_date_from": "2025-11-01T00:00:00+00:00"}, "invalid invoice_date_from '2025-11-01T00:00:00+00:00'"),
        ({"invoice_date_to": "30.11.2025"}, "expected a date"),
        ({"client_id": "abc"}, "invalid client_id 'abc': expected a positive integer"),
        ({"paid_date_from": "2025-11-30", "paid_date_to": "2025-11-01"}, "is after paid_date_to"),
        ({"max_results": 0}, "max_results=0 is not a positive int"),
        ({"max_results": "10"}, "max_results='10' is not a positive int"),
    ],
)
def test_a_wrong_filter_fails_before_any_request(infakt_emulator, conn, kwargs, shown):
    with pytest.raises(AirflowFailException, match="Nothing was read") as caught:
        run(**kwargs)
    assert shown in str(caught.value)
    assert infakt_emulator.requests == []


def test_unpaid_is_a_v2_status_only(infakt_emulator, conn):
    infakt_emulator.create_invoice(status="unpaid")  # 7
    with pytest.raises(AirflowFailException, match="v3 has no 'unpaid' status"):
        run(status="unpaid")
    conn(api_version="v2")
    assert run(status="unpaid") == [7]


def test_more_matches_than_max_results_fail_rather_than_cut(infakt_emulator, conn, month):
    assert run(max_results=11) == list(range(1, 12))
    with pytest.raises(AirflowFailException, match=r"More than max_results=10 invoices match \(no filters\)"):
        run(max_results=10)
    with pytest.raises(AirflowFailException, match=r"More than max_results=2 invoices match \(client_id=2\)"):
        run(client_id=2, max_results=2)
    listed = [r for r in infakt_emulator.requests if r.route == "v3.list"]
    assert len(listed) == 3  # one page each: the reading stops once the limit is passed


def test_api_errors_fail_or_retry_by_kind(infakt_emulator, conn):
    infakt_emulator.fault("v3.list", status=503, times=None)
    with pytest.raises(AirflowException, match="a retry may succeed") as retryable:
        run()
    assert not isinstance(retryable.value, AirflowFailException)
    infakt_emulator.clear_faults()
    infakt_emulator.fault("v3.list", status=403)
    with pytest.raises(AirflowFailException, match="Listing invoices failed: HTTP 403"):
        run()


def test_no_invoice_data_in_the_log(infakt_emulator, conn, caplog, capsys):
    infakt_emulator.create_invoice(client_email="jan.kowalski@example.com", client_name="Jan Kowalski")
    with caplog.at_level(logging.INFO):
        ids = run(number="7/" + dt.date.today().strftime("%m/%Y"), invoice_date_from=dt.date(2025, 1, 1))
    assert ids == [7]
    logged = caplog.text + capsys.readouterr().out  # Airflow 3 logs through structlog to stdout
    assert "1 invoice(s) match (number='7/" in logged and "invoice_date_from='2025-01-01'" in logged
    assert "example.com" not in logged and "Kowalski" not in logged
