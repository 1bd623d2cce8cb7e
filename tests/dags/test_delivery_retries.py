"""Retries without double sends, on a real Airflow against the emulator's faults."""

from __future__ import annotations

import pytest

from ..compat import HAS_LEDGER_STORE, HAS_LEDGER_STORE_REASON, NO_LEDGER_STORE_REASON
from .conftest import run_dag

# The delivery ledger lives in Airflow 3.3's asset state store: a test of what it guarantees means
# something only there, and a test of the guarantee without it only where it is missing (2.10-3.2).
needs_store = pytest.mark.skipif(not HAS_LEDGER_STORE, reason=NO_LEDGER_STORE_REASON)
without_store = pytest.mark.skipif(HAS_LEDGER_STORE, reason=HAS_LEDGER_STORE_REASON)


def deliver_requests(emu):
    return [r for r in emu.requests if "deliver" in r.route]


@needs_store
@pytest.mark.parametrize("api_version", ["v3", "v2"])
def test_drop_after_delivery_then_retry_succeeds_with_one_delivery(
    airflow_db, infakt_emulator, use_connection, api_version
):
    use_connection(api_version=api_version)
    infakt_emulator.fault("*.deliver*", drop="after")
    run = run_dag("infakt_test_retry_check", {"invoice_id": 2})
    assert run.state == "success"
    assert run.tasks[("deliver_invoice", -1)] == ("success", 2)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]
    assert len(deliver_requests(infakt_emulator)) == 1  # the retry read the invoice instead of resending
    assert run.xcom[("deliver_invoice", -1, "return_value")] == 2


@needs_store
def test_drop_before_processing_then_retry_sends_once(airflow_db, infakt_emulator, use_connection):
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", drop="before")
    run = run_dag("infakt_test_retry_check", {"invoice_id": 4})
    assert run.state == "success"
    assert run.tasks[("deliver_invoice", -1)] == ("success", 2)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [4]
    assert len(deliver_requests(infakt_emulator)) == 2  # status still draft: the retry sent it


@needs_store
def test_unknown_outcome_that_the_status_cannot_tell_fails_clearly(airflow_db, infakt_emulator, use_connection):
    use_connection()
    assert infakt_emulator.create_invoice(status="sent")["id"] == 7  # a copy of an invoice sent before
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    run = run_dag("infakt_test_retry_check", {"invoice_id": 7, "doc_type": "d_org"})
    assert run.state == "failed"
    assert run.tasks[("deliver_invoice", -1)] == ("failed", 2)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [7]
    assert len(deliver_requests(infakt_emulator)) == 1


@needs_store
def test_resend_mode_sends_again(airflow_db, infakt_emulator, use_connection):
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    run = run_dag("infakt_test_retry_resend", {"invoice_id": 2})
    assert run.state == "success"
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2, 2]


@needs_store
def test_fail_mode_leaves_it_to_a_person(airflow_db, infakt_emulator, use_connection):
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    run = run_dag("infakt_test_retry_fail", {"invoice_id": 2})
    assert run.state == "failed"
    assert run.tasks[("deliver_invoice", -1)] == ("failed", 2)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]


@without_store
def test_without_store_unknown_outcome_fails_without_retry(airflow_db, infakt_emulator, use_connection):
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    run = run_dag("infakt_test_retry_check", {"invoice_id": 2})
    assert run.state == "failed"
    assert run.tasks[("deliver_invoice", -1)] == ("failed", 1)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]


def test_429_then_200_delivers_once(airflow_db, infakt_emulator, use_connection):
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", status=429, retry_after="0")
    run = run_dag("infakt_test_retry_check", {"invoice_id": 1})
    assert run.state == "success"
    assert run.tasks[("deliver_invoice", -1)] == ("success", 1)  # the client waited; no Airflow retry
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]
    assert [r.status for r in deliver_requests(infakt_emulator)] == [429, 202]


def test_422_fails_at_once_without_retries(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_retry_check", {"invoice_id": 6})  # the client has no e-mail address
    assert run.state == "failed"
    assert run.tasks[("deliver_invoice", -1)] == ("failed", 1)
    assert [r.status for r in deliver_requests(infakt_emulator)] == [422]
    assert infakt_emulator.deliveries == []


def test_exhausted_429_is_left_to_airflow_retries(airflow_db, infakt_emulator, use_connection):
    use_connection()
    infakt_emulator.fault("v3.deliver_via_email", status=429, retry_after="0", times=4)  # 1 + 3 client retries
    run = run_dag("infakt_test_retry_check", {"invoice_id": 5})
    assert run.state == "success"
    assert run.tasks[("deliver_invoice", -1)] == ("success", 2)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [5]


def test_mapped_run_delivers_each_once(airflow_db, infakt_emulator, use_connection):
    use_connection(api_version="v2", format="xml")
    run = run_dag("infakt_test_mapped")
    assert run.state == "success"
    assert sorted(d.invoice_id for d in infakt_emulator.deliveries) == [1, 2, 3, 4, 5]
    assert {i: run.xcom[("deliver_invoice", i, "return_value")] for i in range(5)} == {
        0: 1,
        1: 2,
        2: 3,
        3: 4,
        4: 5,
    }
    assert run.xcom[("collect", -1, "return_value")] == [1, 2, 3, 4, 5]
