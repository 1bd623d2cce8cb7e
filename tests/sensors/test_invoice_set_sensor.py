"""InfaktInvoiceSensor with ``invoice_ids``: arguments, messages and what each poke reads, against the
emulator (the modes on a real Airflow are in tests/dags/test_set_sensor.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_infakt._compat import AirflowFailException
from airflow_provider_infakt.sensors.invoice import STATUSES_XCOM_KEY, InfaktInvoiceSensor
from airflow_provider_infakt.triggers.invoice import InfaktInvoiceSetTrigger

from .conftest import FakeTI


def sensor(**kwargs: Any) -> InfaktInvoiceSensor:
    return InfaktInvoiceSensor(task_id="wait", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "give exactly one of invoice_id (one invoice) and invoice_ids (many), not neither"),
        ({"invoice_id": 1, "invoice_ids": [1, 2]}, "not both"),
        ({"invoice_ids": [1], "wait_for": "most"}, "invalid wait_for 'most': expected 'all'"),
        ({"invoice_id": 1, "wait_for": "any"}, "wait_for applies to invoice_ids only"),
    ],
)
def test_arguments_are_refused_when_the_dag_is_parsed(kwargs, expected):
    with pytest.raises(ValueError) as raised:
        sensor(**kwargs)
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], "is an empty list"),
        ("7", "is not a list of invoice ids"),
        ({"a": 1}, "is not a list of invoice ids"),
        ([1, 2, -3], "invoice_ids[2] (position 3 of 3): invalid invoice_id -3"),
        ("[1, true]", "invoice_ids[1] (position 2 of 2)"),
        (list(range(1, 10_002)), "invoice_ids holds 10001 ids; one sensor waits on at most 10,000"),
    ],
)
def test_bad_ids_fail_before_any_request(infakt_emulator, conn, ids, expected):
    with pytest.raises(AirflowFailException) as raised:
        sensor(invoice_ids=ids).poke({"ti": FakeTI()})
    assert expected in str(raised.value)
    assert infakt_emulator.requests == []


@pytest.mark.parametrize("given", ["[3, 1]", "['3', '1']", (3, 1)])
def test_ids_as_json_plain_jinja_text_or_tuple(infakt_emulator, conn, given):
    infakt_emulator.mark_paid(1)
    infakt_emulator.mark_paid(3)
    ti = FakeTI()
    done = sensor(invoice_ids=given, target_status="paid").poke({"ti": ti})
    assert (done.is_done, done.xcom_value) == (True, [3, 1])
    assert ti.pushed == {STATUSES_XCOM_KEY: {"3": "paid", "1": "paid"}}


def test_a_gone_invoice_fails_naming_it(infakt_emulator, conn):
    with pytest.raises(AirflowFailException) as raised:
        sensor(invoice_ids=[1, 2, 4040]).poke({"ti": FakeTI()})
    assert str(raised.value).startswith("Cannot wait for invoice 4040: ")
    assert "404" in str(raised.value) or "not found" in str(raised.value).lower()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_poke_waits_out_retryable_answers_and_keeps_what_it_knows(infakt_emulator, conn, status):
    infakt_emulator.mark_paid(2)
    task = sensor(invoice_ids=[1, 2], target_status="paid")
    assert task.poke({"ti": FakeTI()}) is False  # one list page: 1 draft, 2 paid
    infakt_emulator.fault("v3.*", status=status)
    assert task.poke({"ti": FakeTI()}) is False
    infakt_emulator.clear_faults()
    before = len(infakt_emulator.requests)
    infakt_emulator.mark_paid(1)
    done = task.poke({"ti": FakeTI()})
    assert done.xcom_value == [1, 2]
    assert [r.path for r in infakt_emulator.requests[before:]] == ["/api/v3/invoices/1.json"]  # 2 not asked again


def test_deferring_hands_over_what_the_first_poke_read(infakt_emulator, conn):
    try:
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow 2
        from airflow.exceptions import TaskDeferred

    infakt_emulator.mark_paid(2)
    task = sensor(invoice_ids=[1, 2, 3], target_status="paid", exact_status=True, deferrable=True, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        task.poke({"ti": FakeTI()})
    trigger = deferred.value.trigger
    assert isinstance(trigger, InfaktInvoiceSetTrigger)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_infakt.triggers.invoice.InfaktInvoiceSetTrigger"
    assert kwargs["invoice_ids"] == [1, 2, 3] and kwargs["target_statuses"] == ["paid"]
    assert kwargs["known_statuses"] == {"1": "draft", "2": "paid", "3": "draft"}
    assert (kwargs["exact_status"], kwargs["wait_for"]) == (True, "all")
    assert InfaktInvoiceSetTrigger(**kwargs).serialize() == (path, kwargs)


def test_execute_complete_returns_the_ids_and_pushes_the_statuses():
    ti = FakeTI()
    event = {"status": "success", "invoice_ids": [5, 4], "invoice_statuses": {"5": "paid", "4": "paid"}}
    assert sensor(invoice_ids=[5, 4]).execute_complete({"ti": ti}, event) == [5, 4]
    assert ti.pushed == {STATUSES_XCOM_KEY: {"5": "paid", "4": "paid"}}
