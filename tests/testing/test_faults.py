"""Faults on demand, from Python and over the admin route."""

from __future__ import annotations

import time

import pytest
import requests

from airflow_provider_infakt.testing import InfaktEmulator
from airflow_provider_infakt.testing.faults import Fault

from .helpers import v2_get, v3

EMAIL = "/invoices/1/deliver_via_email.json"


@pytest.fixture
def conn(infakt_emulator):
    return infakt_emulator.connection()


def deliver(conn):
    return v3(conn, "POST", EMAIL, json={"print_type": "copy"})


def test_status_for_the_next_k_requests(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", status=503, times=2, retry_after=7)
    first, second, third = deliver(conn), deliver(conn), deliver(conn)
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 202]
    assert first.headers["Retry-After"] == "7"
    assert first.json() == {"error": "Emulated fault: HTTP 503"}
    assert len(infakt_emulator.deliveries) == 1
    assert [r.status for r in infakt_emulator.requests] == [503, 503, 202]


def test_fault_only_hits_matching_routes(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_*", status=500, times=None)
    assert v3(conn, "GET", "/invoices/1.json").status_code == 200
    assert [deliver(conn).status_code for _ in range(3)] == [500, 500, 500]
    infakt_emulator.clear_faults()
    assert deliver(conn).status_code == 202


def test_v2_fault_answers_in_the_routes_format(infakt_emulator):
    infakt_emulator.fault("v2.deliver", status=429, retry_after="2")
    v2 = infakt_emulator.connection(api_version="v2", format="xml")
    response = v2_get(v2, "/invoices/deliver.xml?type=mail&doc_type=org&id=1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert b"<message>Emulated fault: HTTP 429</message>" in response.content


def test_custom_body(infakt_emulator, conn):
    infakt_emulator.fault("v3.invoice", status=502, body="<html>Bad gateway</html>")
    response = v3(conn, "GET", "/invoices/1.json")
    assert (response.status_code, response.text) == (502, "<html>Bad gateway</html>")


def test_latency(infakt_emulator, conn):
    # 0.6 s: the second request (no latency: the fault was used up) must be quicker than that, which a
    # plain request is by far, even on a loaded machine running several suites
    infakt_emulator.fault("v3.invoice", latency=0.6)
    started = time.monotonic()
    assert v3(conn, "GET", "/invoices/1.json").status_code == 200
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    v3(conn, "GET", "/invoices/1.json")
    assert time.monotonic() - started < 0.6


def test_drop_before_processing_records_nothing(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", drop="before")
    with pytest.raises(requests.ConnectionError):
        deliver(conn)
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.invoice(1)["status"] == "draft"
    assert infakt_emulator.requests[-1].status is None


def test_drop_after_processing_records_the_delivery(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    with pytest.raises(requests.ConnectionError):
        deliver(conn)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]
    assert infakt_emulator.invoice(1)["status"] == "sent"
    assert infakt_emulator.requests[-1].status is None


def test_drop_after_on_v2_deliver(infakt_emulator):
    infakt_emulator.fault("v2.deliver", drop="after")
    v2 = infakt_emulator.connection(api_version="v2")
    with pytest.raises(requests.ConnectionError):
        v2_get(v2, "/invoices/deliver.json?type=mail&doc_type=org&id=2")
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]


def test_redirect(infakt_emulator, conn):
    infakt_emulator.fault("v3.invoice", redirect_to="http://127.0.0.2:9/elsewhere")
    response = v3(conn, "GET", "/invoices/1.json", allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (307, "http://127.0.0.2:9/elsewhere")


def test_faults_over_the_admin_route(infakt_emulator, conn):
    base = infakt_emulator.url + "/_emulator/faults"
    created = requests.post(base, json={"route": "v3.*", "status": 503, "times": 1, "retry_after": 3}, timeout=5)
    assert created.status_code == 201
    assert created.json()["retry_after"] == "3"
    assert [f["route"] for f in requests.get(base, timeout=5).json()["faults"]] == ["v3.*"]
    assert deliver(conn).status_code == 503
    assert requests.get(base, timeout=5).json()["faults"] == []
    requests.post(base, json={"route": "v3.*", "drop": "after"}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        deliver(conn)
    assert len(infakt_emulator.deliveries) == 1
    requests.post(base, json={"route": "*", "status": 500, "times": None}, timeout=5)
    assert requests.delete(base, timeout=5).json() == {"faults": []}
    assert deliver(conn).status_code == 202
    bad = requests.post(base, json={"route": "*", "drop": "sideways"}, timeout=5)
    assert bad.status_code == 400
    assert "drop='sideways' is not one of" in bad.json()["error"]
    assert requests.post(base, json={"status": 500}, timeout=5).status_code == 400


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 503, "drop": "after"}, "not status and drop"),
        ({}, "needs status, drop, redirect_to, latency, processing_delay or answer_delay"),
        ({"status": 99}, "status=99 is not an HTTP status code"),
        ({"status": 500, "times": 0}, "times=0 must be at least 1"),
        ({"latency": -1.0}, "latency=-1.0 must not be negative"),
    ],
)
def test_fault_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Fault(route="*", **kwargs)


def test_emulators_are_independent():
    with InfaktEmulator() as one, InfaktEmulator() as two:
        one.fault("*", status=500, times=None)
        conn = two.connection()
        assert v3(conn, "GET", "/invoices/1.json").status_code == 200
        assert one.port != two.port


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_processing_delay_delivers_after_the_client_gave_up(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", processing_delay=1.5)
    sent_at = time.time()
    with pytest.raises(requests.ReadTimeout):
        v3(conn, "POST", EMAIL, json={"print_type": "copy"}, timeout=0.5)
    # the client has given up and closed its connection; inFakt has the request and has not acted yet
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.invoice(1)["status"] == "draft"
    assert _wait_for(lambda: len(infakt_emulator.deliveries) == 1)
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.doc_type) == (1, "KOPIA")
    assert delivery.time - sent_at >= 1.5
    assert infakt_emulator.invoice(1)["status"] == "sent"
    # the request is recorded once its handler ends, just after the delivery: on a loaded machine later
    assert _wait_for(lambda: infakt_emulator.requests)
    assert infakt_emulator.requests[-1].status == 202


def test_processing_delay_with_a_patient_client_answers_after_processing(infakt_emulator):
    infakt_emulator.fault("v2.deliver", processing_delay=0.4)
    v2 = infakt_emulator.connection(api_version="v2")
    started = time.monotonic()
    response = v2_get(v2, "/invoices/deliver.json?type=mail&doc_type=org&id=2")
    assert (response.status_code, response.json()) == (200, {"invoice": {"invoice_id": 2}})
    assert time.monotonic() - started >= 0.4
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]


def test_answer_delay_processes_first_then_keeps_the_answer_back(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", answer_delay=1.5)
    with pytest.raises(requests.ReadTimeout):
        v3(conn, "POST", EMAIL, json={"print_type": "copy"}, timeout=0.5)
    # already processed when the client timed out
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]
    assert infakt_emulator.invoice(1)["status"] == "sent"


@pytest.mark.parametrize("delay", ["processing_delay", "latency"])
def test_a_request_still_waiting_at_a_reset_is_not_carried_out_on_the_new_account(infakt_emulator, conn, delay):
    """One test's delayed delivery must not land in the next test: the reset account is another one."""
    infakt_emulator.fault("v3.deliver_via_email", **{delay: 1.0})
    with pytest.raises(requests.ReadTimeout):
        v3(conn, "POST", EMAIL, json={"print_type": "copy"}, timeout=0.3)
    infakt_emulator.reset()
    time.sleep(1.5)  # past the delay: the old request has been dealt with by now
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.invoice(1)["status"] == "draft"
    assert infakt_emulator.requests == []
    assert deliver(conn).status_code == 202  # the new account works as ever
    assert [r.status for r in infakt_emulator.requests] == [202]


def test_a_request_answered_after_a_reset_is_not_in_the_new_log(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", answer_delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        v3(conn, "POST", EMAIL, json={"print_type": "copy"}, timeout=0.3)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]  # processed before the reset
    infakt_emulator.reset()
    time.sleep(1.5)
    assert infakt_emulator.requests == []
    assert infakt_emulator.deliveries == []


def test_delays_over_the_admin_route(infakt_emulator, conn):
    base = infakt_emulator.url + "/_emulator/faults"
    armed = requests.post(base, json={"route": "v3.deliver_*", "processing_delay": 1.0}, timeout=5)
    assert armed.status_code == 201
    assert (armed.json()["processing_delay"], armed.json()["answer_delay"]) == (1.0, 0.0)
    with pytest.raises(requests.ReadTimeout):
        v3(conn, "POST", EMAIL, json={"print_type": "copy"}, timeout=0.3)
    assert infakt_emulator.deliveries == []
    assert _wait_for(lambda: len(infakt_emulator.deliveries) == 1)
    bad = requests.post(base, json={"route": "*", "status": 503, "processing_delay": 1}, timeout=5)
    assert bad.status_code == 400
    assert "processing_delay applies to requests that are processed" in bad.json()["error"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 503, "processing_delay": 1.0}, "processing_delay applies to requests that are processed"),
        ({"drop": "before", "answer_delay": 1.0}, "answer_delay applies to requests that are processed"),
        ({"processing_delay": -1.0}, "processing_delay=-1.0 must not be negative"),
        ({"answer_delay": float("nan")}, "answer_delay must be a non-negative number"),
        ({"latency": 1e9}, "latency must be a non-negative number"),
        ({"body": "x"}, "give status too"),
    ],
)
def test_delay_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Fault(route="*", **kwargs)


# -- deferred sending: inFakt's 202 Accepted taken at its word ---------------------------------------
def test_deferred_sending_answers_at_once_and_sends_later(infakt_emulator, conn):
    infakt_emulator.defer_sending(1.0)
    started = time.monotonic()
    response = deliver(conn)
    assert (response.status_code, response.content) == (202, b"")
    assert time.monotonic() - started < 0.9
    assert infakt_emulator.deliveries == []
    (pending,) = infakt_emulator.pending_deliveries
    assert (pending.invoice_id, pending.doc_type, pending.address) == (1, "KOPIA", "faktury@zloty-klos.example")
    assert v3(conn, "GET", "/invoices/1.json").json()["status"] == "draft"
    assert _wait_for(lambda: v3(conn, "GET", "/invoices/1.json").json()["status"] == "sent")
    (delivery,) = infakt_emulator.deliveries
    assert delivery.time - delivery.accepted_at >= 1.0
    assert delivery.accepted_at == pending.accepted_at
    assert infakt_emulator.pending_deliveries == []


def test_deferred_sending_checks_at_once_and_leaves_v2_alone(infakt_emulator, conn):
    infakt_emulator.defer_sending(0.5)
    refused = v3(conn, "POST", "/invoices/6/deliver_via_email.json", json={})
    assert refused.status_code == 422
    assert infakt_emulator.pending_deliveries == []
    v2 = infakt_emulator.connection(api_version="v2")
    assert v2_get(v2, "/invoices/deliver.json?type=mail&doc_type=org&id=2").status_code == 200
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]


def test_reset_drops_deliveries_not_sent_yet(infakt_emulator, conn):
    infakt_emulator.defer_sending(0.3)
    assert deliver(conn).status_code == 202
    infakt_emulator.reset()
    time.sleep(0.6)
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.invoice(1)["status"] == "draft"


def test_deferred_sending_over_the_admin_route(infakt_emulator, conn):
    admin = infakt_emulator.url + "/_emulator"
    answer = requests.post(admin + "/scenarios/deferred-sending", json={"seconds": 0.5}, timeout=5)
    assert answer.json() == {"seconds": 0.5}
    assert deliver(conn).status_code == 202
    listed = requests.get(admin + "/deliveries", timeout=5).json()
    assert (listed["deliveries"], [p["invoice_id"] for p in listed["pending"]]) == ([], [1])
    assert _wait_for(lambda: requests.get(admin + "/deliveries", timeout=5).json()["pending"] == [])
    assert [d["invoice_id"] for d in requests.get(admin + "/deliveries", timeout=5).json()["deliveries"]] == [1]
    requests.post(admin + "/scenarios/deferred-sending", json={"seconds": None}, timeout=5)
    assert deliver(conn).status_code == 202
    assert len(infakt_emulator.deliveries) == 2
    bad = requests.post(admin + "/scenarios/deferred-sending", json={"seconds": "soon"}, timeout=5)
    assert bad.status_code == 400


def test_latency_is_not_a_processing_delay(infakt_emulator, conn, caplog):
    infakt_emulator.fault("v3.deliver_via_email", latency=1.0)
    with pytest.raises(requests.ReadTimeout):
        v3(conn, "POST", EMAIL, json={"print_type": "copy"}, timeout=0.3)
    assert _wait_for(lambda: len(infakt_emulator.requests) == 1)
    # the client took its request with it before the emulator read it: nothing happened, no error logged
    assert infakt_emulator.requests[-1].status is None
    assert infakt_emulator.deliveries == []
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
