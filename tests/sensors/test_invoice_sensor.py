"""InfaktInvoiceSensor's own logic against the emulator: validation, poke, deferral, resumption."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_infakt._compat import AirflowFailException, AirflowSensorTimeout
from airflow_provider_infakt.sensors.invoice import STATUS_XCOM_KEY, InfaktInvoiceSensor

from .conftest import FakeTI


def sensor(**kwargs: Any) -> InfaktInvoiceSensor:
    return InfaktInvoiceSensor(task_id="wait", **kwargs)


def test_fields_and_default_deferrable(monkeypatch):
    task = sensor(invoice_id="{{ ti.xcom_pull('deliver') }}")
    assert task.invoice_id == "{{ ti.xcom_pull('deliver') }}"
    assert set(task.template_fields) == {"invoice_id", "invoice_ids", "target_status", "infakt_conn_id"}
    assert task.target_status == "sent"
    assert task.deferrable is False
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "true")
    assert sensor(invoice_id=1).deferrable is True
    assert sensor(invoice_id=1, deferrable=False).deferrable is False


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("zapłacona", "target_status: invalid status 'zapłacona'"),
        ("Paid", "did you mean 'paid'?"),
        (["sent", "lost"], "invalid status 'lost'"),
        ([], "target_status is empty"),
    ],
)
def test_bad_target_status_fails_before_any_request(infakt_emulator, conn, target, expected):
    with pytest.raises(AirflowFailException) as raised:
        sensor(invoice_id=1, target_status=target).poke({"ti": FakeTI()})
    assert expected in str(raised.value)
    assert infakt_emulator.requests == []


def test_poke_not_yet_then_done(infakt_emulator, conn):
    ti = FakeTI()
    task = sensor(invoice_id="2", target_status=["paid", "sent"])
    assert task.poke({"ti": ti}) is False
    infakt_emulator.mark_paid(2)
    done = task.poke({"ti": ti})
    assert (done.is_done, done.xcom_value) == (True, 2)
    assert ti.pushed == {STATUS_XCOM_KEY: "paid"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_poke_waits_out_retryable_answers(infakt_emulator, conn, status):
    infakt_emulator.mark_paid(1)
    infakt_emulator.fault("v3.invoice", status=status)
    task = sensor(invoice_id=1, target_status="paid")
    assert task.poke({"ti": FakeTI()}) is False
    assert task.poke({"ti": FakeTI()}).xcom_value == 1


@pytest.mark.parametrize(
    ("invoice_id", "password", "status"), [(404, None, "HTTP 404"), (1, "bad-key-123", "HTTP 401")]
)
def test_poke_fails_at_once_on_answers_waiting_cannot_change(
    infakt_emulator, conn, monkeypatch, invoice_id, password, status
):
    if password:
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps({**conn, "password": password}))
    with pytest.raises(AirflowFailException) as raised:
        sensor(invoice_id=invoice_id).poke({"ti": FakeTI()})
    assert f"Cannot wait for invoice {invoice_id}: {status}" in str(raised.value)
    assert "bad-key-123" not in str(raised.value)


def test_deferrable_returns_at_once_when_already_there(infakt_emulator, conn):
    infakt_emulator.mark_paid(4)
    ti = FakeTI()
    assert sensor(invoice_id=4, target_status="paid", deferrable=True).execute({"ti": ti}) == 4
    assert ti.pushed == {STATUS_XCOM_KEY: "paid"}


def test_deferrable_defers_with_every_argument(infakt_emulator, conn):
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:
        from airflow.exceptions import TaskDeferred
    task = sensor(invoice_id="5", target_status=["paid"], deferrable=True, poke_interval=7, timeout=100)
    with pytest.raises(TaskDeferred) as raised:
        task.execute({"ti": FakeTI()})
    trigger = raised.value.trigger
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_infakt.triggers.invoice.InfaktInvoiceTrigger"
    assert (kwargs["invoice_id"], kwargs["target_statuses"], kwargs["poke_interval"]) == (5, ["paid"], 7.0)
    assert abs(kwargs["timeout_at"] - (time.time() + 100)) < 5
    assert raised.value.method_name == "execute_complete"
    assert raised.value.timeout.total_seconds() > 100


def test_execute_complete():
    task = sensor(invoice_id=5)
    ti = FakeTI()
    assert task.execute_complete({"ti": ti}, {"status": "success", "invoice_id": 5, "invoice_status": "sent"}) == 5
    assert ti.pushed == {STATUS_XCOM_KEY: "sent"}
    with pytest.raises(AirflowSensorTimeout, match="did not reach"):
        task.execute_complete({"ti": ti}, {"status": "timeout", "message": "Invoice 5 did not reach paid"})
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        task.execute_complete({"ti": ti}, {"status": "error", "message": "Cannot wait: HTTP 404"})


@pytest.mark.parametrize(
    ("target", "status", "done"),
    [
        ("sent", "paid", True),  # paid is later than sent: a fast payer ends the wait for "sent"
        ("printed", "paid", True),
        ("unpaid", "paid", True),
        ("sent", "printed", False),  # sent, printed and unpaid are alternatives, not steps
        ("printed", "sent", False),
        ("draft", "sent", False),  # "draft or later" would be every invoice: draft is exact
        ("paid", "sent", False),
    ],
)
def test_a_later_status_reaches_the_target(infakt_emulator, conn, target, status, done):
    invoice = infakt_emulator.create_invoice(status=status)
    ti = FakeTI()
    result = sensor(invoice_id=invoice["id"], target_status=target).poke({"ti": ti})
    assert bool(result) is done
    assert ti.pushed == ({STATUS_XCOM_KEY: status} if done else {})


def test_exact_status_waits_for_the_status_itself(infakt_emulator, conn, caplog, capsys):
    infakt_emulator.mark_paid(2)
    task = sensor(invoice_id=2, target_status="sent", exact_status=True)
    with caplog.at_level("INFO"):
        assert task.poke({"ti": FakeTI()}) is False
        assert sensor(invoice_id=3, target_status="sent").poke({"ti": FakeTI()}) is False
    logged = caplog.text + capsys.readouterr().out  # Airflow 3 logs through structlog, to stdout
    assert "Invoice 2 is 'paid'; waiting for exactly sent." in logged
    assert "Invoice 3 is 'draft'; waiting for sent (or later: paid)." in logged


def test_deferred_wait_carries_exact_status(infakt_emulator, conn):
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:
        from airflow.exceptions import TaskDeferred
    infakt_emulator.mark_paid(5)
    with pytest.raises(TaskDeferred) as raised:
        sensor(invoice_id=5, target_status="sent", exact_status=True, deferrable=True).execute({"ti": FakeTI()})
    assert raised.value.trigger.serialize()[1]["exact_status"] is True


@pytest.mark.parametrize("rendered", ["['paid', 'sent']", '["paid", "sent"]', " ['sent'] "])
def test_a_list_of_targets_rendered_as_text_is_that_list(infakt_emulator, conn, rendered):
    """Plain Jinja renders a list from dag_run.conf as its text."""
    infakt_emulator.mark_paid(2)
    done = sensor(invoice_id=2, target_status=rendered).poke({"ti": FakeTI()})
    assert done.is_done


def test_text_that_only_looks_like_a_list_is_still_refused(infakt_emulator, conn):
    with pytest.raises(AirflowFailException, match="invalid status"):
        sensor(invoice_id=2, target_status="[paid, 1]").poke({"ti": FakeTI()})
    assert infakt_emulator.requests == []
