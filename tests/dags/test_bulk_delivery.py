"""InfaktBulkDeliverInvoicesOperator on a real Airflow (``dag.test()``) against the emulator over HTTP."""

from __future__ import annotations

import collections

import pytest

from ..compat import HAS_LEDGER_STORE, NO_LEDGER_STORE_REASON
from .conftest import run_dag

needs_store = pytest.mark.skipif(not HAS_LEDGER_STORE, reason=NO_LEDGER_STORE_REASON)

TASK = ("deliver_all", -1)


def delivered(emu):
    return [d.invoice_id for d in emu.deliveries]


def deliver_requests(emu):
    return [r for r in emu.requests if "deliver" in r.route]


def more_invoices(emu, n):
    """``n`` new draft invoices (each client with an address); their ids."""
    return [emu.create_invoice()["id"] for _ in range(n)]


def test_every_invoice_exactly_once_at_the_defaults(airflow_db, infakt_emulator, use_connection):
    use_connection()
    ids = [1, 2, 3, 4, 5, *more_invoices(infakt_emulator, 10)]
    run = run_dag("infakt_test_bulk_continue", {"invoice_ids": ids})
    assert run.state == "success"
    assert run.tasks[TASK] == ("success", 1)
    assert sorted(delivered(infakt_emulator)) == sorted(ids)  # every one
    assert len(deliver_requests(infakt_emulator)) == len(ids)  # and once
    assert [r.status for r in infakt_emulator.requests if r.status == 429] == []
    assert run.xcom[(*TASK, "return_value")] == ids
    assert run.xcom[(*TASK, "failed")] == {}


def test_with_the_limits_on_a_sliding_window_sees_no_429_and_every_invoice_once(
    airflow_db, infakt_emulator, use_connection, monkeypatch
):
    """The emulator counts inFakt's way, in a sliding minute, here 12 times faster (a minute of 5 s) at
    20 deliveries and 40 reads a minute. The client cannot know the time scale: its own limits, per real
    minute, are chosen so that no 5 s window can hold more than the emulator allows (180 a minute spaced
    61/178 s apart after a burst of 3: at most 3 + 14.6 in 5 s; 360 reads: at most 7 + 29). 30 invoices
    span two emulated minutes."""
    import json

    infakt_emulator.set_limits(True, time_scale=12, get_per_minute=40, other_per_minute=20)
    conn = use_connection()
    conn["extra"]["rate_limit"] = {"get_per_minute": 360, "other_per_minute": 180}
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(conn))
    ids = [1, 2, 3, 4, 5, *more_invoices(infakt_emulator, 25)]
    run = run_dag("infakt_test_bulk_continue", {"invoice_ids": ids})
    assert [r.status for r in infakt_emulator.requests if r.status == 429] == []
    assert run.state == "success", run.tasks
    assert collections.Counter(delivered(infakt_emulator)) == dict.fromkeys(ids, 1)
    assert len(deliver_requests(infakt_emulator)) == len(ids)


@needs_store
@pytest.mark.parametrize("api_version", ["v3", "v2"])
def test_connection_dropped_after_invoice_k_then_a_retry_delivers_everything_once(
    airflow_db, infakt_emulator, use_connection, api_version
):
    use_connection(api_version=api_version)
    ids = [1, 2, 3, 4, 5]
    route = "v3.deliver_via_email" if api_version == "v3" else "v2.deliver"
    infakt_emulator.fault(route, latency=0.001, times=2)  # invoices 1 and 2 pass
    infakt_emulator.fault(route, drop="after")  # the server delivers invoice 3, the answer is lost
    run = run_dag("infakt_test_bulk_continue", {"invoice_ids": ids})
    assert run.state == "success"
    assert run.tasks[TASK] == ("success", 2)  # the retry resolved invoice 3 from the ledger and its status
    assert collections.Counter(delivered(infakt_emulator)) == dict.fromkeys(ids, 1)
    assert len(deliver_requests(infakt_emulator)) == 5  # nothing sent twice: the retry read invoice 3
    assert run.xcom[(*TASK, "return_value")] == ids


def test_a_422_leaves_the_others_delivered_and_the_task_failed_naming_it(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_bulk_continue", {"invoice_ids": [1, 6, 2, 3]})  # 6: its client has no address
    assert run.state == "failed"
    assert run.tasks[TASK] == ("failed", 1)  # a retry would not change a 422: no Airflow retry
    assert delivered(infakt_emulator) == [1, 2, 3]
    failed = run.xcom[(*TASK, "failed")]
    assert list(failed) == ["6"]
    assert "422" in failed["6"] and "no e-mail address" in failed["6"] and "@" not in failed["6"]
    assert run.xcom[(*TASK, "return_value")] == [1, 2, 3]
    assert [r.status for r in deliver_requests(infakt_emulator)] == [202, 422, 202, 202]  # 6 asked once


def test_on_error_fail_stops_at_the_first_failure(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_bulk_fail", {"invoice_ids": [1, 6, 2, 3]})
    assert run.state == "failed"
    assert run.tasks[TASK] == ("failed", 1)
    assert delivered(infakt_emulator) == [1]
    assert list(run.xcom[(*TASK, "failed")]) == ["6"]


def test_duplicates_are_sent_once(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_bulk_continue", {"invoice_ids": [2, "2", 1, " 2 ", 1]})
    assert run.state == "success"
    assert delivered(infakt_emulator) == [2, 1]
    assert run.xcom[(*TASK, "return_value")] == [2, 1]


def test_a_bad_id_fails_before_anything_is_sent(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_bulk_continue", {"invoice_ids": [1, 2, "7x", 3]})
    assert run.state == "failed"
    assert run.tasks[TASK] == ("failed", 1)
    assert infakt_emulator.requests == []  # not even a status read


def test_ids_as_json_text_with_plain_jinja(airflow_db, infakt_emulator, use_connection):
    use_connection()
    run = run_dag("infakt_test_bulk_json", {"invoice_ids": [3, "4"]})  # locale renders 'None': not given
    assert run.state == "success"
    assert delivered(infakt_emulator) == [3, 4]
    assert run.xcom[(*TASK, "return_value")] == [3, 4]
