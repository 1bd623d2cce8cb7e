"""The delivery-outcome model on a real Airflow (``dag.test()``) against the emulator: each test is a
fault that made main send twice or report success with nothing sent (issue 8, findings 1, 4, 5, 6)."""

from __future__ import annotations

import datetime
import json
import time

import pytest

from .conftest import run_dag
from .test_delivery_retries import deliver_requests, needs_store


def use_slow_client(monkeypatch, infakt_emulator, timeout: float, **kind: str) -> None:
    conn = infakt_emulator.connection(**kind)
    conn.setdefault("extra", {})["timeout"] = timeout
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(conn))


@needs_store
@pytest.mark.parametrize("api_version", ["v3", "v2"])
def test_slow_server_is_not_read_as_not_delivered(airflow_db, infakt_emulator, monkeypatch, api_version):
    """Finding 1: the client gives up after 1 s, inFakt finishes processing at 2.5 s. The retry must
    not read the still-draft status as "not delivered" while that request may still be in flight."""
    use_slow_client(monkeypatch, infakt_emulator, 1, api_version=api_version)
    infakt_emulator.fault("*.deliver*", processing_delay=2.5)
    run = run_dag("infakt_test_outcome", {"invoice_id": 2})
    time.sleep(2.5)  # a request still being processed would add its delivery by now
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]
    assert len(deliver_requests(infakt_emulator)) == 1  # the retry waited, read 'sent', did not resend
    assert run.state == "success"
    assert run.tasks[("deliver_invoice", -1)] == ("success", 2)


@needs_store
def test_v3_accepted_then_sent_later_is_not_sent_again(airflow_db, infakt_emulator, use_connection):
    """inFakt answers 202 and sends 1.5 s later; the answer is lost on the way (finding 1, v3)."""
    use_connection()
    infakt_emulator.defer_sending(1.5)
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    run = run_dag("infakt_test_outcome", {"invoice_id": 3})
    time.sleep(1.5)  # a delivery accepted later than the check would be sent by now
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [3]
    assert len(deliver_requests(infakt_emulator)) == 1
    assert run.state == "success"


@needs_store
def test_payment_between_tries_is_not_a_delivery(airflow_db, infakt_emulator, use_connection):
    """Finding 6: cut before inFakt saw the request, then the customer pays: `paid` proves nothing."""
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", drop="before")
    run = run_dag("infakt_test_outcome", {"invoice_id": 3, "between_tries": "pay"})
    assert infakt_emulator.deliveries == []
    assert run.state == "failed"  # never "success" with nothing sent
    assert run.tasks[("deliver_invoice", -1)][0] == "failed"


@needs_store
def test_status_read_failure_never_sends_again(airflow_db, infakt_emulator, use_connection):
    """Audit gap: when the status read that would settle an unknown outcome fails, nothing is sent."""
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    every_read_fails = {"route": "v3.invoice", "status": 404, "times": None}
    run = run_dag("infakt_test_outcome", {"invoice_id": 2, "between_tries": every_read_fails})
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]
    assert len(deliver_requests(infakt_emulator)) == 1
    assert run.state == "failed"


REORDERINGS = [[1, 2, 3], [3, 1, 2], [2, 3, 1], [1, 3, 2]]


@needs_store
def test_mapped_list_reordered_between_clears_sends_each_once(airflow_db, infakt_emulator, use_connection):
    """Finding 4: the whole run cleared three times, its upstream list in another order each time."""
    use_connection()
    date = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    for order in REORDERINGS:
        run = run_dag("infakt_test_mapped_conf", {"invoice_ids": order}, logical_date=date)
        assert run.state == "success"
        assert [run.xcom[("deliver_invoice", i, "return_value")] for i in range(3)] == order
    assert sorted(d.invoice_id for d in infakt_emulator.deliveries) == [1, 2, 3]


@needs_store
def test_clear_on_success_does_not_reopen_a_delivery(airflow_db, infakt_emulator, use_connection, monkeypatch):
    """Finding 5: `[state_store] clear_on_success` wipes the task state store; the ledger is elsewhere."""
    use_connection()
    monkeypatch.setenv("AIRFLOW__STATE_STORE__CLEAR_ON_SUCCESS", "True")
    date = datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc)
    for _ in range(2):
        run = run_dag("infakt_test_outcome", {"invoice_id": 4}, logical_date=date)
        assert run.state == "success"
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [4]


@needs_store
def test_a_new_dag_run_sends_again(airflow_db, infakt_emulator, use_connection):
    """The guarantee is per DAG run: a new run is how a user sends an invoice again on purpose."""
    use_connection()
    for day in (3, 4):
        date = datetime.datetime(2026, 3, day, tzinfo=datetime.timezone.utc)
        assert run_dag("infakt_test_outcome", {"invoice_id": 5}, logical_date=date).state == "success"
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [5, 5]


@pytest.fixture
def via_proxy(infakt_emulator, monkeypatch):
    """``infakt_default`` pointed at a fault proxy in front of the emulator; yields the proxy."""
    from airflow_provider_infakt.testing import FaultProxy, connection_for

    with FaultProxy(infakt_emulator.url) as proxy:

        def use(**kind: str) -> FaultProxy:
            monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(connection_for(proxy.url, **kind)))
            return proxy

        yield use


@needs_store
@pytest.mark.parametrize(
    ("kind", "status", "api_version"),
    [
        ("gateway", 502, "v3"),
        ("gateway", 503, "v3"),
        ("status", 503, "v3"),
        ("gateway", 504, "v2"),
        ("status", 500, "v2"),
    ],
)
def test_a_5xx_after_inFakt_acted_is_not_sent_again(airflow_db, infakt_emulator, via_proxy, kind, status, api_version):
    """Finding 2: a proxy answers 5xx (inFakt's body or a gateway's HTML) after inFakt delivered."""
    proxy = via_proxy(api_version=api_version)
    proxy.fault("*deliver*", kind=kind, status=status, times=None)  # every deliver answer is spoilt
    run = run_dag("infakt_test_outcome", {"invoice_id": 4})
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [4]
    assert len(deliver_requests(infakt_emulator)) == 1
    assert run.state == "success"  # the retry settled it from the ledger and the invoice's status


@needs_store
def test_an_oversized_answer_after_delivery_is_not_sent_again_even_after_a_clear(
    airflow_db, infakt_emulator, via_proxy
):
    """Finding 3: a 200 with a body over the size cap, after inFakt acted; then the run is cleared."""
    proxy = via_proxy(api_version="v2")
    proxy.fault("v2.deliver", kind="oversize", times=None)
    date = datetime.datetime(2026, 3, 5, tzinfo=datetime.timezone.utc)
    for _ in range(2):
        run = run_dag("infakt_test_outcome", {"invoice_id": 5}, logical_date=date)
        assert run.state == "success"
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [5]


@pytest.mark.parametrize(
    ("conf", "recipient"),
    [
        ({"invoice_id": 2}, None),  # recipient renders 'None', locale '', send_copy 'None': none given
        ({"invoice_id": 2, "recipient": "", "send_copy": False, "locale": "en"}, None),  # send_copy 'False'
        ({"invoice_id": 2, "recipient": "ksiegowosc@firma.example", "send_copy": True}, "ksiegowosc@firma.example"),
    ],
)
def test_optional_fields_work_with_plain_jinja(airflow_db, infakt_emulator, use_connection, capsys, conf, recipient):
    """Airflow's default rendering turns a missing value into the text 'None' and a bool into 'True'."""
    use_connection()
    run = run_dag("infakt_test_plain_jinja", conf)
    assert run.state == "success", (run.tasks, capsys.readouterr().out[-3000:])
    [delivery] = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.recipient) == (2, recipient)
    assert delivery.address is not None
