"""InfaktDeliverInvoiceOperator.execute against the emulator, with a dictionary standing in for the
delivery ledger's store (Airflow's asset state store) where a test needs to set up an earlier record."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from airflow_provider_infakt._compat import AirflowException, AirflowFailException
from airflow_provider_infakt.ledger import Entry, resolve
from airflow_provider_infakt.links import INVOICE_URL_XCOM_KEY, InfaktInvoiceLink
from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator


class FakeTI:
    def __init__(self, try_number: int = 1, map_index: int = -1) -> None:
        self.dag_id, self.run_id, self.task_id = "billing", "manual__1", "deliver"
        self.try_number = try_number
        self.map_index = map_index
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class DictStore(dict):
    def set(self, key: str, value: Any) -> None:
        self[key] = json.loads(json.dumps(value))  # what the real store keeps is JSON

    def delete(self, key: str) -> None:
        self.pop(key, None)

    def only(self) -> Entry:
        """The one record in the store."""
        assert len(self) == 1, dict(self)
        entry = Entry.load(next(iter(self.values())))
        assert entry is not None
        return entry


_current_store: list[DictStore | None] = [None]


@pytest.fixture(autouse=True)
def ledger_store(monkeypatch):
    """The ledger's store is whatever the test's ``context(store)`` gave last (None: no ledger)."""
    from airflow_provider_infakt import _compat

    monkeypatch.setattr(_compat, "ledger_store", lambda: _current_store[0])
    _current_store[0] = None


def context(store: DictStore | None = None, try_number: int = 1, map_index: int = -1) -> dict[str, Any]:
    _current_store[0] = store
    return {"ti": FakeTI(try_number, map_index)}


@pytest.fixture
def conn(infakt_emulator, monkeypatch):
    def use(**kind: str) -> dict[str, Any]:
        c = infakt_emulator.connection(**kind)
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(c))
        return c

    use()
    return use


def op(**kwargs: Any) -> InfaktDeliverInvoiceOperator:
    return InfaktDeliverInvoiceOperator(task_id="deliver", **kwargs)


def test_arguments_are_stored_as_given_and_templated():
    task = op(invoice_id="{{ dag_run.conf['invoice_id'] }}", doc_type="{{ params.doc }}", recipient="x")
    assert task.invoice_id == "{{ dag_run.conf['invoice_id'] }}"
    assert task.doc_type == "{{ params.doc }}"
    assert {"invoice_id", "type", "doc_type", "recipient"} <= set(task.template_fields)
    assert [link.name for link in task.operator_extra_links] == ["inFakt invoice"]


@pytest.mark.parametrize(
    ("kwargs", "kind", "expected"),
    [
        ({"invoice_id": 1, "doc_type": "kopia"}, {}, "did you mean 'KOPIA'?"),
        ({"invoice_id": 1, "type": "email"}, {}, "invalid type 'email'"),
        ({"invoice_id": "FV/1/2026"}, {}, "invalid invoice_id 'FV/1/2026'"),
        ({"invoice_id": 1.5}, {}, "invalid invoice_id 1.5"),
        ({"invoice_id": True}, {}, "a bool is not an invoice id"),
        ({"invoice_id": 1, "doc_type": "org_kop"}, {}, "org_kop"),
        ({"invoice_id": "31c2db5e-1f5c-5f0a-a3d8-40bd5eb3f9da"}, {"api_version": "v2"}, "uuid works on v3"),
        ({"invoice_id": 1, "recipient": "jan.kowalski@"}, {}, "recipient"),
        ({"invoice_id": 1, "locale": "de"}, {}, "locale"),
    ],
)
def test_bad_values_fail_before_any_request(infakt_emulator, conn, kwargs, kind, expected):
    if kind:
        conn(**kind)
    with pytest.raises(AirflowFailException) as raised:
        op(**kwargs).execute(context(DictStore()))
    message = str(raised.value)
    assert message.startswith("Nothing was sent: ")
    assert expected in message
    assert infakt_emulator.requests == []
    assert "jan.kowalski@" not in message


@pytest.mark.parametrize(
    ("api_version", "allowed"),
    [("v2", "'org', 'KOPIA', 'org_kop', 'd_org', 'd_kop'"), ("v3", "'org', 'KOPIA', 'd_org', 'd_kop'")],
)
def test_allowed_set_is_named(infakt_emulator, conn, api_version, allowed):
    conn(api_version=api_version)
    with pytest.raises(AirflowFailException) as raised:
        op(invoice_id=1, doc_type="kopia").execute(context())
    assert f"allowed values are {allowed}" in str(raised.value)


@pytest.mark.parametrize("invoice_id", ["2", " 2 ", 2])
def test_numeric_strings_from_plain_jinja_are_ids(infakt_emulator, conn, invoice_id):
    ctx = context(DictStore())
    assert op(invoice_id=invoice_id).execute(ctx) == 2
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]
    assert ctx["ti"].pushed[INVOICE_URL_XCOM_KEY] == f"{infakt_emulator.url}/app/invoices/2"


def test_v3_uuid_is_delivered_and_returned(infakt_emulator, conn):
    uuid = infakt_emulator.invoice(3)["uuid"]
    assert op(invoice_id=uuid, doc_type="d_kop").execute(context(DictStore())) == uuid
    assert [(d.invoice_id, d.doc_type) for d in infakt_emulator.deliveries] == [(3, "d_kop")]


def test_ledger_records_sent_without_the_address(infakt_emulator, conn):
    store = DictStore()
    op(invoice_id=1, recipient="klient@firma.example").execute(context(store))
    entry = store.only()
    assert (entry.state, entry.invoice_id, entry.status_before, entry.try_number) == ("sent", 1, "draft", 1)
    assert "klient@firma.example" not in json.dumps(store)
    # "sent" keeps the time the attempt started sending (the "sending" record's), not when it finished
    deliver = [r.time for r in infakt_emulator.requests if "deliver" in r.route]
    assert len(deliver) == 1 and entry.started <= deliver[0]


def test_a_retry_after_sent_does_not_send(infakt_emulator, conn):
    store = DictStore()
    task = op(invoice_id=1)
    task.execute(context(store))
    assert task.execute(context(store, try_number=2)) == 1
    assert len(infakt_emulator.deliveries) == 1
    # Another invoice in the same task instance (a changed template) is a different delivery.
    assert op(invoice_id=2).execute(context(store, try_number=3)) == 2
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1, 2]


def test_api_refusal_fails_without_retry_and_clears_the_record(infakt_emulator, conn):
    store = DictStore()
    with pytest.raises(AirflowFailException) as raised:
        op(invoice_id=6).execute(context(store))  # client without an e-mail address: 422
    assert "HTTP 422" in str(raised.value)
    assert "no e-mail address" in str(raised.value)
    assert store == {}


def test_unknown_invoice_fails_on_the_first_read(infakt_emulator, conn):
    with pytest.raises(AirflowFailException, match="HTTP 404"):
        op(invoice_id=404).execute(context(DictStore()))
    assert [r.route for r in infakt_emulator.requests] == ["v3.invoice"]


def test_retryable_failure_raises_for_airflow_retries(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", status=429, retry_after="0", times=None)
    store = DictStore()
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=1).execute(context(store))
    assert not isinstance(raised.value, AirflowFailException)
    assert store == {}  # 429 proves nothing was sent


def test_unknown_outcome_message_and_record(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    store = DictStore()
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=1).execute(context(store))
    assert not isinstance(raised.value, AirflowFailException)
    assert "will find out what happened before sending anything" in str(raised.value)
    assert store.only().state == "sending"


def test_cannot_tell_message_says_what_to_do(infakt_emulator, conn):
    store = DictStore()
    infakt_emulator.mark_paid(1)
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    task = op(invoice_id=1, doc_type="d_org", in_flight_window=0)
    with pytest.raises(AirflowException):
        task.execute(context(store))
    with pytest.raises(AirflowFailException) as raised:
        task.execute(context(store, try_number=2))
    message = str(raised.value)
    assert "was 'paid' before and is 'paid' now" in message
    assert "on_unknown_outcome='resend'" in message
    assert len(infakt_emulator.deliveries) == 1


def test_without_a_store_unknown_outcome_fails_for_good(infakt_emulator, conn, caplog, capsys):
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    with pytest.raises(AirflowFailException) as raised:
        op(invoice_id=1).execute(context(None))
    assert "Without a delivery ledger" in str(raised.value)
    assert "no delivery ledger" in caplog.text + capsys.readouterr().out
    assert [r.route for r in infakt_emulator.requests] == ["v3.deliver_via_email"]  # no status read either


def test_bad_on_unknown_outcome(infakt_emulator, conn):
    with pytest.raises(AirflowFailException, match="on_unknown_outcome='maybe' is not one of"):
        op(invoice_id=1, on_unknown_outcome="maybe").execute(context())


@pytest.mark.parametrize(
    ("before", "now", "decision"),
    [
        ("draft", "sent", "delivered"),
        ("printed", "sent", "delivered"),
        ("printed", "paid", "cannot_tell"),  # a customer can pay without the e-mail
        ("draft", "paid", "cannot_tell"),
        ("draft", "unpaid", "cannot_tell"),
        ("draft", "draft", "not_delivered"),
        ("printed", "printed", "not_delivered"),
        ("draft", "printed", "cannot_tell"),  # someone printed it meanwhile: a delivery would say sent
        ("sent", "sent", "cannot_tell"),
        ("paid", "paid", "cannot_tell"),
        (None, "sent", "cannot_tell"),
        ("draft", None, "cannot_tell"),
    ],
)
def test_resolution_table(before, now, decision):
    assert resolve(before, now) == decision


def test_link_reads_only_xcom(monkeypatch):
    from airflow_provider_infakt import _compat

    asked = []
    monkeypatch.setattr(_compat, "xcom_value", lambda ti_key, key: asked.append(key) or "https://x/1")
    assert InfaktInvoiceLink().get_link(op(invoice_id=1), ti_key=object()) == "https://x/1"
    assert asked == [INVOICE_URL_XCOM_KEY]


def test_a_failed_status_read_says_so_and_sends_nothing(infakt_emulator, conn):
    """Settling an unknown outcome needs the invoice's status; when that read fails, a retry decides."""
    store = DictStore()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    task = op(invoice_id=2, in_flight_window=0)
    with pytest.raises(AirflowException):
        task.execute(context(store))
    infakt_emulator.fault("v3.invoice", status=404, times=None)
    with pytest.raises(AirflowException) as raised:
        task.execute(context(store, try_number=2))
    assert not isinstance(raised.value, AirflowFailException)
    assert "reading the invoice to find out what happened failed, so nothing was sent" in str(raised.value)
    assert len(infakt_emulator.deliveries) == 1 and store.only().state == "sending"


def test_without_a_store_resend_leaves_the_decision_to_a_retry(infakt_emulator, conn):
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=1, on_unknown_outcome="resend").execute(context(None))
    assert not isinstance(raised.value, AirflowFailException)  # Airflow retries it, as asked
    assert "on_unknown_outcome='resend': a retry will send again" in str(raised.value)


@pytest.mark.parametrize("window", [0, 0.0, 86400, 86400.0, dt.timedelta(days=1), dt.timedelta(0)])
def test_in_flight_window_bounds_are_inclusive(window):
    from airflow_provider_infakt.operators.deliver import _window_seconds

    assert _window_seconds(window) == float(window.total_seconds() if isinstance(window, dt.timedelta) else window)


@pytest.mark.parametrize(
    "window",
    ["5", -1, -0.001, 86400.001, 86401, float("nan"), float("inf"), True, None, dt.timedelta(days=2), 10**400],
)
def test_bad_in_flight_window_fails_before_any_request(infakt_emulator, conn, window):
    with pytest.raises(AirflowFailException, match=r"in_flight_window=.* is not a number of seconds"):
        op(invoice_id=1, in_flight_window=window).execute(context(DictStore()))
    assert infakt_emulator.requests == []


def test_a_retry_waits_out_the_in_flight_window_before_reading(infakt_emulator, conn):
    """An earlier attempt's request may still be in flight: no status read before the window passed."""
    import time

    store = DictStore()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    task = op(invoice_id=2, in_flight_window=1.0)
    with pytest.raises(AirflowException):
        task.execute(context(store))
    started = store.only().started
    assert task.execute(context(store, try_number=2)) == 2
    reads = [r.time for r in infakt_emulator.requests if r.route == "v3.invoice"]
    assert reads[-1] >= started + 1.0 - 0.05  # the settling read came after the window
    assert len(infakt_emulator.deliveries) == 1
    assert store.only().state == "sent"
    assert time.time() >= started + 1.0


def test_a_window_longer_than_execution_timeout_fails_with_not_known_yet(infakt_emulator, conn):
    store = DictStore()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    task = op(invoice_id=2, in_flight_window=600, execution_timeout=dt.timedelta(seconds=60))
    with pytest.raises(AirflowException):
        task.execute(context(store))
    with pytest.raises(AirflowException) as raised:
        task.execute(context(store, try_number=2))
    assert not isinstance(raised.value, AirflowFailException)  # a later retry will check
    assert "outcome is not known yet" in str(raised.value)
    assert [r.route for r in infakt_emulator.requests].count("v3.deliver_via_email") == 1


class FakeClock:
    """Stands in for the delivery module's ``time`` module: a fixed ``time()``, and ``sleep`` that only records."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.mark.parametrize(("before_window_end", "waits"), [(8.0, True), (8.5, False)])
def test_the_wait_budget_is_four_fifths_of_execution_timeout_inclusive(
    infakt_emulator, conn, monkeypatch, before_window_end, waits
):
    """execution_timeout 10 s: a retry may wait up to 8 s for the in-flight window; longer fails."""
    from airflow_provider_infakt import delivery as delivery_module  # the operator's delivery-once logic

    store = DictStore()
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    task = op(invoice_id=2, in_flight_window=600, execution_timeout=dt.timedelta(seconds=10))
    with pytest.raises(AirflowException):
        task.execute(context(store))
    (key,) = store
    store[key]["started"] = 1000.0  # the window ends at 1600.0
    clock = FakeClock(1600.0 - before_window_end)
    monkeypatch.setattr(delivery_module, "time", clock)
    if waits:
        assert task.execute(context(store, try_number=2)) == 2  # waited, read 'sent': delivered
        assert clock.slept == [before_window_end]
    else:
        with pytest.raises(AirflowException, match="outcome is not known yet"):
            task.execute(context(store, try_number=2))
        assert clock.slept == []
    assert len(infakt_emulator.deliveries) == 1


def test_a_record_from_another_map_index_is_honoured(infakt_emulator, conn):
    """The ledger is per invoice per DAG run: map index 3 finds what map index 0 sent."""
    store = DictStore()
    op(invoice_id=2).execute(context(store, map_index=0))
    assert op(invoice_id=2).execute(context(store, map_index=3)) == 2
    assert len(infakt_emulator.deliveries) == 1
    assert (store.only().map_index, store.only().writer) == (0, "try 1 of map index 0")


class BrokenStore(DictStore):
    """A store whose writes fail from the ``fail_from``-th on (a lost connection to Airflow's API)."""

    def __init__(self, fail_from: int) -> None:
        super().__init__()
        self.writes = 0
        self.fail_from = fail_from

    def set(self, key: str, value: Any) -> None:
        self.writes += 1
        if self.writes >= self.fail_from:
            raise RuntimeError("the API server is gone")
        super().set(key, value)


def test_a_ledger_that_cannot_record_sending_stops_before_sending(infakt_emulator, conn):
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=2).execute(context(BrokenStore(fail_from=1)))
    assert str(raised.value).startswith("Nothing was sent: the delivery ledger could not be written")
    assert infakt_emulator.deliveries == []


def test_a_ledger_that_cannot_record_sent_says_it_was_delivered_and_a_retry_does_not_resend(infakt_emulator, conn):
    store = BrokenStore(fail_from=2)
    task = op(invoice_id=2, in_flight_window=0)
    with pytest.raises(AirflowException) as raised:
        task.execute(context(store))
    assert str(raised.value).startswith("Invoice 2 was delivered, but that could not be recorded")
    store.fail_from = 10**6
    assert task.execute(context(store, try_number=2)) == 2  # the "sending" record and the status settle it
    assert len(infakt_emulator.deliveries) == 1


class FailingStore(DictStore):
    """A ledger store that fails on the ``times``-th call of ``operation`` (the state store's database
    or API server being unreachable)."""

    def __init__(self, operation: str, times: int = 1) -> None:
        super().__init__()
        self.operation, self.left = operation, times

    def _maybe_fail(self, operation: str) -> None:
        if operation == self.operation:
            self.left -= 1
            if self.left == 0:
                raise OSError("state store unreachable")

    def get(self, key: str, default: Any = None) -> Any:
        self._maybe_fail("get")
        return super().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._maybe_fail("set")
        super().set(key, value)

    def delete(self, key: str) -> None:
        self._maybe_fail("delete")
        super().delete(key)


def test_a_ledger_that_cannot_be_read_sends_nothing(infakt_emulator, conn):
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=1).execute(context(FailingStore("get")))
    assert not isinstance(raised.value, AirflowFailException)  # a retry may find the store back
    assert "Nothing was sent: the delivery ledger could not be read (OSError)" in str(raised.value)
    assert infakt_emulator.requests == []


def test_a_ledger_that_cannot_record_about_to_send_sends_nothing(infakt_emulator, conn):
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=1).execute(context(FailingStore("set")))
    assert not isinstance(raised.value, AirflowFailException)
    assert "Nothing was sent: the delivery ledger could not be written (OSError: state store unreachable)" in str(
        raised.value
    )
    assert [r.route for r in infakt_emulator.requests] == ["v3.invoice"]  # the status read, no delivery
    assert infakt_emulator.deliveries == []


def test_a_ledger_that_cannot_record_sent_is_resolved_by_the_retry(infakt_emulator, conn):
    store = FailingStore("set", times=2)  # "about to send" is written, "sent" is not
    task = op(invoice_id=1, in_flight_window=0)
    with pytest.raises(AirflowException) as raised:
        task.execute(context(store))
    assert "could not be written" in str(
        raised.value
    ) and "reads the ledger and the invoice before it sends anything" in str(raised.value)
    assert store.only().state == "sending" and len(infakt_emulator.deliveries) == 1
    assert task.execute(context(store, try_number=2)) == 1  # 'draft' before, 'sent' now: delivered
    assert store.only().state == "sent" and len(infakt_emulator.deliveries) == 1


def test_a_refusal_whose_record_cannot_be_removed_fails_for_a_retry(infakt_emulator, conn):
    store = FailingStore("delete")
    with pytest.raises(AirflowException) as raised:
        op(invoice_id=6).execute(context(store))  # 422: the client has no e-mail address
    assert not isinstance(raised.value, AirflowFailException)
    assert "could not be written" in str(raised.value)
    assert infakt_emulator.deliveries == []


def _user_asset(name: str) -> Any:
    try:  # Airflow 3
        from airflow.sdk import Asset

        return Asset(name=name, uri=f"s3://bucket/{name}")
    except ImportError:  # Airflow 2.10-2.11
        from airflow.datasets import Dataset

        return Dataset(uri=f"s3://bucket/{name}")


def _inlet_names(inlets: Any) -> list[str]:
    return [getattr(i, "name", None) or i.uri for i in inlets]


def test_every_delivery_task_declares_the_ledger_asset_once_and_keeps_the_users_inlets():
    from airflow_provider_infakt._compat import ledger_asset
    from airflow_provider_infakt.ledger import LEDGER_ASSET_NAME

    ledger = [LEDGER_ASSET_NAME] if ledger_asset() is not None else []  # no asset state store before 3.3
    mine, other = _user_asset("mine"), _user_asset("other")
    mine_name, other_name = _inlet_names([mine, other])
    assert _inlet_names(op(invoice_id=1).inlets) == ledger
    assert _inlet_names(op(invoice_id=1, inlets=mine).inlets) == [mine_name, *ledger]
    assert _inlet_names(op(invoice_id=1, inlets=[mine, other]).inlets) == [mine_name, other_name, *ledger]
    if ledger_asset() is not None:  # declared by the user already: not twice
        assert _inlet_names(op(invoice_id=1, inlets=[ledger_asset(), mine]).inlets) == [*ledger, mine_name]
    mapped = InfaktDeliverInvoiceOperator.partial(task_id="deliver_many", inlets=[mine]).expand(invoice_id=[1, 2])
    assert _inlet_names(mapped.partial_kwargs["inlets"]) == [mine_name, *ledger]
