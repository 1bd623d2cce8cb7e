"""InfaktBulkDeliverInvoicesOperator.execute against the emulator, with a dictionary standing in for the
delivery ledger's store where a test needs it (as tests/operators/test_deliver.py does)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from airflow_provider_infakt._compat import AirflowException, AirflowFailException
from airflow_provider_infakt.operators.bulk import InfaktBulkDeliverInvoicesOperator, _is_quota_refusal


class FakeTI:
    def __init__(self, try_number: int = 1) -> None:
        self.dag_id, self.run_id, self.task_id = "billing", "manual__1", "deliver_all"
        self.try_number = try_number
        self.map_index = -1
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class DictStore(dict):
    def set(self, key: str, value: Any) -> None:
        self[key] = json.loads(json.dumps(value))  # what the real store keeps is JSON

    def delete(self, key: str) -> None:
        self.pop(key, None)


_store: list[DictStore | None] = [None]


@pytest.fixture(autouse=True)
def ledger_store(monkeypatch):
    from airflow_provider_infakt import _compat

    monkeypatch.setattr(_compat, "ledger_store", lambda: _store[0])
    _store[0] = None


@pytest.fixture
def conn(infakt_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(infakt_emulator.connection()))


def run(task: InfaktBulkDeliverInvoicesOperator, store: DictStore | None, try_number: int = 1) -> tuple[Any, FakeTI]:
    _store[0] = store
    ti = FakeTI(try_number)
    return task.execute({"ti": ti}), ti  # type: ignore[arg-type]


def op(**kwargs: Any) -> InfaktBulkDeliverInvoicesOperator:
    return InfaktBulkDeliverInvoicesOperator(task_id="deliver_all", **kwargs)


def logged(caplog, capsys) -> list[str]:
    """The task's log lines: Airflow 3's task logger writes to stdout, Airflow 2's to logging (and, when a
    console handler is set up, to stdout as well: each line once)."""
    records = [r.getMessage() for r in caplog.records]
    out = capsys.readouterr().out.splitlines()
    return records + [line for line in out if not any(record and record in line for record in records)]


def progress_lines(caplog, capsys) -> list[str]:
    return [line[line.index("Progress: ") :] for line in logged(caplog, capsys) if "Progress: " in line]


def delivered(emu) -> list[int]:
    return [d.invoice_id for d in emu.deliveries]


def test_arguments_are_stored_as_given_and_templated():
    task = op(invoice_ids="{{ ti.xcom_pull('list') }}", requests_per_minute=60)
    assert task.invoice_ids == "{{ ti.xcom_pull('list') }}"
    assert {"invoice_ids", "type", "doc_type", "locale", "send_copy", "requests_per_minute"} <= set(
        task.template_fields
    )


@pytest.mark.parametrize(
    ("ids", "position", "shown"),
    [([1, 2, "abc", 3], 2, "abc"), ([0], 0, "0"), ([1, True], 1, "True"), (["1", 2.5], 1, "2.5")],
)
def test_a_bad_id_fails_before_any_request_naming_it_and_its_position(infakt_emulator, conn, ids, position, shown):
    with pytest.raises(AirflowFailException) as failure:
        run(op(invoice_ids=ids), DictStore())
    message = str(failure.value)
    assert message.startswith("Nothing was sent: ")
    assert f"invoice_ids[{position}] (position {position + 1} of {len(ids)})" in message and shown in message
    assert infakt_emulator.requests == []


@pytest.mark.parametrize("given", [{"a": 1}, 7, "not a list", "[1, 2"])
def test_invoice_ids_that_are_no_list_fail_before_any_request(infakt_emulator, conn, given):
    with pytest.raises(AirflowFailException, match="is not a list of invoice ids"):
        run(op(invoice_ids=given), DictStore())
    assert infakt_emulator.requests == []


@pytest.mark.parametrize("text", ['[1, "2"]', "['1', '2']", " [1, 2] "])
def test_a_text_of_a_list_is_read(infakt_emulator, conn, text):
    result, _ = run(op(invoice_ids=text), DictStore())
    assert result == [1, 2] and delivered(infakt_emulator) == [1, 2]


def test_duplicates_are_delivered_once_and_the_log_says_so(infakt_emulator, conn, caplog, capsys):
    caplog.set_level(logging.INFO)
    result, ti = run(op(invoice_ids=[3, "3", 1, 3]), DictStore())
    assert result == [3, 1] and delivered(infakt_emulator) == [3, 1]
    said = "Invoice 3 is given 3 times in invoice_ids (positions 0, 1, 3): it is delivered once."
    assert any(said in line for line in logged(caplog, capsys))
    assert ti.pushed["failed"] == {}


def test_an_empty_list_sends_nothing(infakt_emulator, conn):
    result, _ = run(op(invoice_ids=[]), DictStore())
    assert result == [] and infakt_emulator.requests == []


def test_a_retry_sends_only_what_is_left(infakt_emulator, conn):
    store = DictStore()
    infakt_emulator.fault("v3.deliver_via_email", latency=0.001, times=2)  # invoices 1 and 2 pass
    infakt_emulator.fault("v3.deliver_via_email", status=429, retry_after="0", times=4)  # 3: 1 + 3 client retries
    with pytest.raises(AirflowException) as stopped:
        run(op(invoice_ids=[1, 2, 3, 4]), store)
    assert type(stopped.value) is AirflowException  # Airflow retries it
    assert "Left, not sent: 2 (3, 4)" in str(stopped.value) and "resumes from the ledger" in str(stopped.value)
    assert delivered(infakt_emulator) == [1, 2]
    result, _ = run(op(invoice_ids=[1, 2, 3, 4]), store, try_number=2)
    assert result == [1, 2, 3, 4]
    assert delivered(infakt_emulator) == [1, 2, 3, 4]


def test_the_quota_stops_the_run_at_once_with_the_ids_left_and_a_retry_finishes(infakt_emulator, conn):
    store = DictStore()
    infakt_emulator.account.email_daily_limit = 2
    infakt_emulator.set_limits(True)  # the daily e-mail quota counts only with the limits on
    task = op(invoice_ids=[1, 2, 3, 4, 5])
    with pytest.raises(AirflowException) as stopped:
        run(task, store)
    message = str(stopped.value)
    assert "quota is used up" in message and "Delivered 2 of 5" in message
    assert "Left, not sent: 3 (3, 4, 5)" in message
    assert delivered(infakt_emulator) == [1, 2]
    asked = [r.path for r in infakt_emulator.requests if "deliver" in r.route]
    assert asked[2:] and all(invoice_in(p, 3) for p in asked[2:])  # nothing after invoice 3 was tried
    assert infakt_emulator.email_quota()["left_today"] == 0
    infakt_emulator.next_day()  # the emulator's day starts over: the quota with it (2 again)
    with pytest.raises(AirflowException, match=r"Delivered 4 of 5 .* Left, not sent: 1 \(5\)"):
        run(task, store, try_number=2)  # the retry resumes from the ledger: 3 and 4 today, 5 is left
    assert delivered(infakt_emulator) == [1, 2, 3, 4]
    infakt_emulator.next_day()
    result, _ = run(task, store, try_number=3)
    assert result == [1, 2, 3, 4, 5]
    assert delivered(infakt_emulator) == [1, 2, 3, 4, 5]  # each once, over three days


def invoice_in(path: str, invoice_id: int) -> bool:
    from airflow_provider_infakt.testing.model import invoice_uuid

    return f"/invoices/{invoice_id}/" in path or invoice_uuid(invoice_id) in path


def test_quota_refusal_is_told_apart():
    from airflow_provider_infakt.api.errors import (
        InfaktQuotaExceededError,
        InfaktRateLimitedError,
        InfaktUnprocessableError,
    )

    assert _is_quota_refusal(InfaktQuotaExceededError(422, "Daily limit of 3000 invoice e-mails reached."))
    assert not _is_quota_refusal(InfaktRateLimitedError(429, "Too many requests"))
    assert not _is_quota_refusal(InfaktUnprocessableError(422, "Client has no e-mail address."))
    assert not _is_quota_refusal(None)


def test_without_a_store_an_unknown_outcome_is_not_resent_and_fails_without_retry(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", latency=0.001, times=1)
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    with pytest.raises(AirflowFailException) as failure:
        run(op(invoice_ids=[1, 2, 3]), None)
    assert "Without a delivery ledger" in str(failure.value) and "Delivered 2 of 3" in str(failure.value)
    assert delivered(infakt_emulator) == [1, 2, 3]  # 2 went out once, and was not sent again


def test_without_a_store_a_stop_after_deliveries_fails_without_retry(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", latency=0.001, times=1)
    infakt_emulator.fault("v3.deliver_via_email", status=429, retry_after="0", times=4)
    with pytest.raises(AirflowFailException) as failure:
        run(op(invoice_ids=[1, 2, 3]), None)
    assert "a retry would send those invoices again" in str(failure.value)
    assert delivered(infakt_emulator) == [1]


def test_without_a_store_a_stop_before_any_delivery_may_be_retried(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", status=429, retry_after="0", times=4)
    with pytest.raises(AirflowException) as stopped:
        run(op(invoice_ids=[1, 2]), None)
    assert type(stopped.value) is AirflowException
    assert delivered(infakt_emulator) == []


@pytest.mark.parametrize("value", [151, 0, -1, "many", True])
def test_requests_per_minute_can_only_lower_the_connections_limit(infakt_emulator, conn, value):
    with pytest.raises(AirflowFailException, match="requests_per_minute"):
        run(op(invoice_ids=[1], requests_per_minute=value), DictStore())
    assert infakt_emulator.requests == []


@pytest.mark.parametrize(("value", "expected"), [(None, 150), ("None", 150), (30, 30), ("150", 150)])
def test_requests_per_minute_sets_the_clients_limit(infakt_emulator, conn, caplog, capsys, value, expected):
    caplog.set_level(logging.INFO)
    run(op(invoice_ids=[1], requests_per_minute=value), DictStore())
    assert any(f"at most {expected} delivery requests a minute" in line for line in logged(caplog, capsys))
    assert delivered(infakt_emulator) == [1]


def test_progress_lines(infakt_emulator, conn, caplog, capsys):
    caplog.set_level(logging.INFO)
    task = op(invoice_ids=[1, 6, 2])
    task.progress_interval = 0
    with pytest.raises(AirflowFailException, match=r"6: Nothing was sent: HTTP 422"):
        run(task, DictStore())
    lines = progress_lines(caplog, capsys)
    assert lines[0].startswith("Progress: 1/3 delivered, 0 failed; ")
    assert lines[1].startswith("Progress: 1/3 delivered, 1 failed; ")
    assert lines[-1].startswith("Progress: 2/3 delivered, 1 failed; ")
    assert "pace not measured yet (150/min allowed); done" in lines[-1]  # 3 requests: no pace


def test_progress_is_logged_at_most_every_interval(infakt_emulator, conn, caplog, capsys):
    caplog.set_level(logging.INFO)
    run(op(invoice_ids=[1, 2, 3, 4]), DictStore())  # a quick run: only the closing line
    lines = progress_lines(caplog, capsys)
    assert len(lines) == 1 and lines[0].startswith("Progress: 4/4 delivered, 0 failed; ")


def test_ledger_size_for_3000_invoices(infakt_emulator, conn):
    """One small record per invoice: no key grows with the number of invoices."""
    from airflow_provider_infakt.delivery import delivery_ledger
    from airflow_provider_infakt.hooks.infakt import InfaktHook

    store = DictStore()
    settings = InfaktHook().settings
    ti = FakeTI()
    for invoice_id in range(1, 3001):
        ledger = delivery_ledger(store, ti, settings, invoice_id, "mail", "org", None, None, None)
        ledger.mark_sent(ledger.mark_sending("draft"))
    sizes = [len(key) + len(json.dumps(value)) for key, value in store.items()]
    assert len(sizes) == 3000
    assert max(sizes) < 250
    print(f"ledger for 3,000 invoices: {sum(sizes)} bytes in {len(sizes)} keys, largest {max(sizes)} bytes")
    assert sum(sizes) < 750_000


def test_the_progress_rate_is_the_pace_not_a_burst_extrapolated():
    """A first burst (the limiter lets 3 go at once) or a pause must not read as a rate over the limit:
    a demo run logged "1676.4 deliveries/min now (1500/min allowed)" with the rate counted per elapsed time."""
    from airflow_provider_infakt.operators.bulk import _Progress

    progress = _Progress(total=100, allowed=150, interval=10, started=0.0)
    progress.sent_at.extend([0.0, 0.0, 0.0])  # the burst
    progress.sent_at.extend(0.41 * k for k in range(1, 30))  # then one every 0.41 s
    assert progress.rate(12.0) == pytest.approx(60 / 0.41)
    assert progress.rate(12.0) <= 150
    progress.sent_at.append(40.0)  # after a 28 s pause (a 429's Retry-After): still the pace
    assert progress.rate(41.0) == pytest.approx(60 / 0.41)
    few = _Progress(total=5, allowed=150, interval=10, started=0.0)
    few.sent_at.extend([0.0, 0.001])  # two at once: no pace yet, not 120,000 a minute
    assert few.rate(1.0) is None
    assert "pace not measured yet (150/min allowed); ~2 s left" in few.line(1.0)  # 5 at 150 a minute


def test_hostile_invoice_ids_text_is_refused_cleanly_and_logs_stay_short(infakt_emulator, conn, caplog, capsys):
    """What a dag_run.conf can hold: a JSON text nested past Python's stack is "not a list", never a raw
    RecursionError; an id given 5,000 times is logged with a few positions, not all of them."""
    with pytest.raises(AirflowFailException, match="is not a list of invoice ids"):
        run(op(invoice_ids="[" * 100_000 + "]" * 100_000), DictStore())
    assert infakt_emulator.requests == []
    caplog.set_level(logging.INFO)
    result, _ = run(op(invoice_ids=[1] * 5000), DictStore())
    assert result == [1]
    logged = caplog.text + capsys.readouterr().out
    line = next(line for line in logged.splitlines() if "given 5000 times" in line)
    assert "and 4950 more" in line and len(line) < 600  # the first 50 positions
