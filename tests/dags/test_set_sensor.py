"""One InfaktInvoiceSensor for many invoices (``invoice_ids``), on a real Airflow, in each mode and on
both API versions: what it returns and pushes, what it costs in reads, how it fails."""

from __future__ import annotations

import threading
import urllib.parse

import pytest

from .conftest import run_dag

MODES = ["poke", "reschedule", "deferrable"]
VERSIONS = ["v3", "v2"]


def _reads(emulator):
    return [r for r in emulator.requests if r.route.endswith((".invoice", ".list"))]


@pytest.fixture
def pay_when_read(infakt_emulator):
    """``pay(ids, after_reads)``: mark ``ids`` paid (from a thread, one every 20 ms) once the emulator has
    served ``after_reads`` invoice reads or lists; the thread ends with the test."""
    stop = threading.Event()
    threads = []

    def pay(ids, after_reads=1):
        def work():
            while not stop.wait(0.02):
                if len(_reads(infakt_emulator)) >= after_reads:
                    break
            for invoice_id in ids:
                if stop.wait(0.02):
                    return
                infakt_emulator.mark_paid(invoice_id)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        threads.append(thread)

    yield pay
    stop.set()
    for thread in threads:
        thread.join(5)


def _sent_invoices(emulator, count):
    return [emulator.create_invoice(status="sent", client_id=1)["id"] for _ in range(count)]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mode", MODES)
def test_waits_for_every_invoice(airflow_db, infakt_emulator, use_connection, pay_when_read, mode, version):
    use_connection(api_version=version)
    ids = _sent_invoices(infakt_emulator, 5)
    given = [ids[3], str(ids[0]), ids[4], ids[1], ids[3], ids[2]]  # out of order, one twice, one as text
    pay_when_read(ids, after_reads=1)
    run = run_dag(f"infakt_test_set_sensor_{mode}_all", {"invoice_ids": given})
    assert run.state == "success", run.tasks
    assert run.xcom[("wait", -1, "return_value")] == [ids[3], ids[0], ids[4], ids[1], ids[2]]
    assert run.xcom[("wait", -1, "invoice_statuses")] == {str(i): "paid" for i in ids}
    reads = _reads(infakt_emulator)
    assert reads, "the sensor read nothing"
    assert all(r.status == 200 for r in reads)
    if version == "v3":
        # the five ids are contiguous: one list page per poll (two while some have changed), never a read each
        assert sum(1 for r in reads if r.route == "v3.list") >= 1
        assert sum(1 for r in reads if r.route == "v3.invoice") <= 1


@pytest.mark.parametrize("mode", MODES)
def test_any_returns_the_first_to_arrive(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    ids = _sent_invoices(infakt_emulator, 3)
    infakt_emulator.mark_paid(ids[1])
    run = run_dag(f"infakt_test_set_sensor_{mode}_any", {"invoice_ids": ids})
    assert run.state == "success", run.tasks
    assert run.xcom[("wait", -1, "return_value")] == [ids[1]]
    assert run.xcom[("wait", -1, "invoice_statuses")] == {str(ids[0]): "sent", str(ids[1]): "paid", str(ids[2]): "sent"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mode", MODES)
def test_an_invoice_that_is_gone_fails_naming_it(airflow_db, infakt_emulator, use_connection, mode, version):
    use_connection(api_version=version)
    ids = _sent_invoices(infakt_emulator, 2)
    run = run_dag(f"infakt_test_set_sensor_{mode}_all", {"invoice_ids": [*ids, 4040]})
    assert run.state == "failed"
    assert run.tasks[("wait", -1)][0] == "failed"
    gone = [r for r in infakt_emulator.requests if r.status == 404]
    assert [r.path.rsplit("/", 1)[-1].split(".")[0] for r in gone] == ["4040"]


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_skips_on_timeout(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    ids = _sent_invoices(infakt_emulator, 2)
    run = run_dag(f"infakt_test_set_sensor_{mode}_soft", {"invoice_ids": ids})
    assert run.tasks[("wait", -1)][0] == "skipped"
    assert len(_reads(infakt_emulator)) >= 2


@pytest.mark.parametrize("mode", MODES)
def test_timeout_fails(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    ids = _sent_invoices(infakt_emulator, 2)
    infakt_emulator.mark_paid(ids[0])
    run = run_dag(f"infakt_test_set_sensor_{mode}_all", {"invoice_ids": ids})
    assert run.state == "failed"
    if mode != "reschedule":  # (a rescheduled poke starts afresh, with what it knows forgotten)
        # the paid one is not asked about again once it is known to be paid: only the other one is read
        later = _reads(infakt_emulator)[1:]
        assert later and all(r.route == "v3.invoice" and r.path.endswith(f"/{ids[1]}.json") for r in later), [
            (r.route, r.path) for r in later
        ]


def test_contiguous_set_costs_at_most_one_read_per_hundred(airflow_db, infakt_emulator, use_connection):
    use_connection()
    ids = _sent_invoices(infakt_emulator, 250)
    infakt_emulator.mark_paid(ids[7])
    for invoice_id in ids[100:]:
        infakt_emulator.mark_paid(invoice_id)
    run = run_dag("infakt_test_set_sensor_poke_soft", {"invoice_ids": ids})
    assert run.tasks[("wait", -1)][0] == "skipped"  # 99 stay sent: a timeout
    lists = [r for r in infakt_emulator.requests if r.route == "v3.list"]
    assert [r for r in infakt_emulator.requests if r.route == "v3.invoice"] == []
    # the first poll: ceil(250/100) pages, a window of 100 ids each
    ranges = [(ids[0], ids[99]), (ids[100], ids[199]), (ids[200], ids[249])]
    assert [_id_range(r.path) for r in lists[:3]] == ranges
    # every later poll: only the 99 still pending, all in the first window: one read
    assert len(lists) > 4
    assert {_id_range(r.path) for r in lists[3:]} == {(ids[0], ids[99])}


def _id_range(path):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    return int(query["q[id_gteq]"][0]), int(query["q[id_lteq]"][0])
