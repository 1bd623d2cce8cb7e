"""InfaktInvoiceSetTrigger against the emulator: one event with every invoice's status, the reads it
plans, failures naming the invoice."""

from __future__ import annotations

import inspect
import json
import threading
import time

import pytest

from airflow_provider_infakt.triggers.invoice import InfaktInvoiceSetTrigger

from .test_invoice_trigger import run_trigger


def test_serialize_round_trip_carries_every_argument():
    trigger = InfaktInvoiceSetTrigger(
        invoice_ids=[3, "31c2db5e-1f5c-5f0a-a3d8-40bd5eb3f9da", 1],
        target_statuses=["paid"],
        infakt_conn_id="infakt_prod",
        poke_interval=30,
        timeout_at=1_900_000_000.5,
        max_backoff=120,
        exact_status=True,
        wait_for="any",
        known_statuses={"3": "sent", "1": None},
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_infakt.triggers.invoice.InfaktInvoiceSetTrigger"
    parameters = set(inspect.signature(InfaktInvoiceSetTrigger.__init__).parameters) - {"self"}
    assert set(kwargs) == parameters
    rebuilt = InfaktInvoiceSetTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (path, kwargs)


@pytest.mark.parametrize("version", ["v3", "v2"])
def test_one_success_event_with_every_status(infakt_emulator, conn, version):
    conn(api_version=version)
    ids = [infakt_emulator.create_invoice(status="sent", client_id=1)["id"] for _ in range(4)]

    def pay():
        while not any(r.route.endswith((".list", ".invoice")) for r in infakt_emulator.requests):
            time.sleep(0.01)
        for invoice_id in ids:
            infakt_emulator.mark_paid(invoice_id)

    payer = threading.Thread(target=pay, daemon=True)
    payer.start()
    events = run_trigger(InfaktInvoiceSetTrigger([ids[2], ids[0], ids[3], ids[1]], ["sent"], poke_interval=0.05))
    payer.join(5)
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "success"
    assert payload["invoice_ids"] == [ids[2], ids[0], ids[3], ids[1]]  # 'sent' reached at once: input order
    assert set(payload["invoice_statuses"]) == {str(i) for i in ids}


def test_waits_until_every_invoice_is_paid(infakt_emulator, conn):
    ids = [infakt_emulator.create_invoice(status="sent", client_id=1)["id"] for _ in range(3)]

    def pay():  # one invoice after each read: the trigger must poll again and again
        for n, invoice_id in enumerate(ids, start=1):
            while sum(1 for r in infakt_emulator.requests if r.status == 200) < n:
                time.sleep(0.01)
            infakt_emulator.mark_paid(invoice_id)

    payer = threading.Thread(target=pay, daemon=True)
    payer.start()
    events = run_trigger(InfaktInvoiceSetTrigger(ids, ["paid"], poke_interval=0.05), timeout=20)
    payer.join(5)
    assert [e.payload for e in events] == [
        {"status": "success", "invoice_ids": ids, "invoice_statuses": {str(i): "paid" for i in ids}}
    ]
    lists = [r for r in infakt_emulator.requests if r.route == "v3.list"]
    assert len(lists) >= 3  # it polled while they were paid one by one: one list page a poll


def test_a_gone_invoice_is_one_error_event_naming_it(infakt_emulator, conn):
    events = run_trigger(InfaktInvoiceSetTrigger([1, 2, 4040], ["paid"], poke_interval=0.05))
    assert [e.payload["status"] for e in events] == ["error"]
    assert events[0].payload["message"].startswith("Cannot wait for invoice 4040: ")


def test_timeout_names_what_is_still_pending(infakt_emulator, conn):
    infakt_emulator.mark_paid(2)
    trigger = InfaktInvoiceSetTrigger([1, 2, 3], ["paid"], poke_interval=0.05, timeout_at=time.time() + 0.3)
    events = run_trigger(trigger)
    assert [e.payload["status"] for e in events] == ["timeout"]
    message = events[0].payload["message"]
    assert "1 of 3 invoice(s) reached paid; waiting for 1 (draft), 3 (draft)" in message


def test_retryable_answers_are_waited_out(infakt_emulator, conn):
    infakt_emulator.mark_paid(1)
    infakt_emulator.mark_paid(2)
    infakt_emulator.fault("v3.list", status=503, times=2)
    events = run_trigger(InfaktInvoiceSetTrigger([1, 2], ["paid"], poke_interval=0.05, max_backoff=0.2))
    assert [e.payload["status"] for e in events] == ["success"]
    assert [r.status for r in infakt_emulator.requests if r.route == "v3.list"] == [503, 503, 200]


def test_wait_for_any(infakt_emulator, conn):
    infakt_emulator.mark_paid(3)
    events = run_trigger(InfaktInvoiceSetTrigger([1, 2, 3], ["paid"], wait_for="any", poke_interval=0.05))
    statuses = {str(i): infakt_emulator.invoice(i)["status"] for i in (1, 2, 3)}
    assert statuses == {"1": "draft", "2": "draft", "3": "paid"}  # nothing but the test changed them
    assert [e.payload for e in events] == [{"status": "success", "invoice_ids": [3], "invoice_statuses": statuses}]


def test_known_statuses_are_not_asked_again(infakt_emulator, conn):
    infakt_emulator.mark_paid(1)
    trigger = InfaktInvoiceSetTrigger([1, 5], ["paid"], known_statuses={"1": "paid"}, poke_interval=0.05)
    infakt_emulator.mark_paid(5)
    events = run_trigger(trigger)
    assert [e.payload for e in events] == [
        {"status": "success", "invoice_ids": [1, 5], "invoice_statuses": {"1": "paid", "5": "paid"}}
    ]
    assert [r.path for r in infakt_emulator.requests] == ["/api/v3/invoices/5.json"]
