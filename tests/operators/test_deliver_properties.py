"""Property tests of the delivery-outcome model: an unknown outcome, then a retry, over real HTTP.

One delivery attempt ends in an unknown outcome (the emulator processed it and dropped the
connection, or dropped it unprocessed, or answered as a proxy would: 5xx, an HTML 200); something may
happen in between (the customer pays); the next try runs with some ``on_unknown_outcome``,
``in_flight_window`` and ``execution_timeout``, perhaps with its status read failing. Whatever the
combination, the rules of docs/architecture.md ("When is it safe to send again?") hold:

- never a second delivery, unless ``on_unknown_outcome="resend"`` asked for one;
- no status read before the earlier request's in-flight window has passed (the retry waits, or fails
  with "not known yet" when its ``execution_timeout`` is too short to wait);
- ``sent`` after ``draft`` proves the delivery; an unchanged ``draft`` proves none (then it sends);
  anything else fails the task for a person to decide;
- the ledger ends "sent" exactly when the task succeeded.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_infakt import _compat
from airflow_provider_infakt._compat import AirflowException, AirflowFailException
from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator
from airflow_provider_infakt.operators.ledger import Entry

FAULTS = ["drop_after", "drop_before", 500, 502, 503, 504, 520, "html_200"]
INTERNAL = (TypeError, KeyError, ValueError, RecursionError, AttributeError, UnicodeError, OverflowError)


class DictStore(dict[str, Any]):
    def set(self, key: str, value: Any) -> None:
        self[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.pop(key, None)

    def entry(self) -> Entry | None:
        assert len(self) <= 1, dict(self)
        return Entry.load(next(iter(self.values()))) if self else None


class FakeTI:
    dag_id, run_id, task_id, map_index = "billing", "manual__1", "deliver", -1

    def __init__(self, try_number: int) -> None:
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


_store: list[DictStore | None] = [None]
_sleeps: list[tuple[float, int]] = []  # (seconds, requests the emulator had received by then)
_emulator: list[Any] = [None]


@pytest.fixture(scope="module")
def patched() -> Iterator[None]:
    """The ledger's store is ``_store[0]``; ``time.sleep`` records instead of sleeping."""

    def sleep(seconds: float) -> None:
        _sleeps.append((seconds, len(_emulator[0].requests)))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_compat, "ledger_store", lambda: _store[0])
        patch.setattr(time, "sleep", sleep)
        yield


def arm(emulator: Any, route: str, fault: str | int) -> None:
    if fault in ("drop_after", "drop_before"):
        emulator.fault(route, drop=str(fault).removeprefix("drop_"))
    elif fault == "html_200":
        emulator.fault(route, status=200, body="<html><body>Gateway says hello</body></html>")
    else:
        emulator.fault(route, status=int(fault))


def execute(task: InfaktDeliverInvoiceOperator, try_number: int) -> tuple[Any, BaseException | None]:
    try:
        return task.execute({"ti": FakeTI(try_number)}), None
    except AirflowException as exc:
        return None, exc
    except INTERNAL as exc:
        raise AssertionError(f"an internal {type(exc).__name__} reached the user: {exc!r}") from exc


@settings(
    derandomize=True, max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    version=st.sampled_from(["v3", "v2"]),
    fault=st.sampled_from(FAULTS),
    paid_between=st.booleans(),
    read_fails=st.sampled_from([False, False, True]),
    policy=st.sampled_from(["check", "check", "resend", "fail"]),
    window=st.sampled_from([0, 0.5, 1.0, 30, 100, 3600, 86400, dt.timedelta(minutes=5), dt.timedelta(0)]),
    execution_timeout=st.sampled_from([None, 1, 100, 10_000]),
    invoice_id=st.sampled_from([1, "2", " 3 "]),
)
def test_property_an_unknown_outcome_is_never_sent_twice(
    infakt_emulator_session,
    patched,
    version,
    fault,
    paid_between,
    read_fails,
    policy,
    window,
    execution_timeout,
    invoice_id,
):
    emulator = infakt_emulator_session
    _emulator[0] = emulator
    emulator.reset()
    _sleeps.clear()
    store = _store[0] = DictStore()
    conn = emulator.connection(api_version=version)
    conn["extra"]["max_retries"] = 0
    conn["extra"]["rate_limit"] = False  # `time.sleep` only records here: the pacing would pile up
    os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(conn)
    ref = int(str(invoice_id))
    deliver_route = "v3.deliver_via_email" if version == "v3" else "v2.deliver"
    read_route = f"{version}.invoice"
    task = InfaktDeliverInvoiceOperator(
        task_id="deliver",
        invoice_id=invoice_id,
        on_unknown_outcome=policy,
        in_flight_window=window,
        execution_timeout=None if execution_timeout is None else dt.timedelta(seconds=execution_timeout),
    )
    window_s = window.total_seconds() if isinstance(window, dt.timedelta) else float(window)

    # Try 1: the delivery's outcome is unknown.
    arm(emulator, deliver_route, fault)
    result, error = execute(task, 1)
    processed = fault == "drop_after"
    assert result is None and type(error) is AirflowException, repr(error)  # Airflow may retry
    assert "will find out what happened before sending anything" in str(error)
    assert [r.route for r in emulator.requests] == [read_route, deliver_route]
    earlier = store.entry()
    assert earlier is not None
    assert (earlier.state, earlier.invoice_id, earlier.status_before, earlier.try_number) == (
        "sending",
        ref,
        "draft",
        1,
    )
    assert len(emulator.deliveries) == (1 if processed else 0)
    assert _sleeps == []

    # Meanwhile.
    if paid_between:
        emulator.mark_paid(ref)
    if read_fails:
        emulator.fault(read_route, status=500)
    before = len(emulator.requests)
    started = time.time()

    # Try 2.
    result, error = execute(task, 2)
    ended = time.time()
    added = [r.route for r in emulator.requests[before:]]
    delivered_now = len(emulator.deliveries) - (1 if processed else 0)
    final = store.entry()
    assert (error is None) == (final is not None and final.state == "sent"), (error, final)
    if error is None:
        assert result == ref and final is not None and final.invoice_id == ref

    if policy == "fail":
        assert type(error) is AirflowFailException and "on_unknown_outcome='fail'" in str(error)
        assert (added, delivered_now, _sleeps, final) == ([], 0, [], earlier)
        return
    if policy == "resend":  # sends again, without waiting, after reading the status to record
        assert _sleeps == []
        if read_fails:
            assert type(error) is AirflowException and str(error).startswith("Nothing was sent: ")
            assert (added, delivered_now) == ([read_route], 0)
        else:
            assert error is None and (added, delivered_now) == ([read_route, deliver_route], 1)
        return

    # check: first the in-flight window, then the status. The operator measured what is left of the
    # window at some moment between `started` and `ended`; on a loaded machine that span can straddle
    # a boundary (the budget, or the window's end), and then either side of it is right.
    most = earlier.started + window_s - started
    least = earlier.started + window_s - ended
    budget = None if execution_timeout is None else execution_timeout * 0.8
    over_budget = budget is not None and most > 0 and most > budget
    if over_budget and budget is not None and least > budget:
        assert type(error) is AirflowException and "not known yet" in str(error)
    if over_budget and error is not None and "not known yet" in str(error):
        assert (added, delivered_now, _sleeps, final) == ([], 0, [], earlier)
        return
    if least > 0:
        assert len(_sleeps) == 1, _sleeps
    if most <= 0:
        assert _sleeps == []
    if _sleeps:
        ((slept, seen),) = _sleeps
        assert seen == before, "the status was read before the in-flight window had passed"
        assert least - 2.0 <= slept <= most + 2.0, (slept, least, most)
    if read_fails:
        assert type(error) is AirflowException and "reading the invoice" in str(error)
        assert (added, delivered_now, final) == ([read_route], 0, earlier)
        return
    if paid_between:  # 'draft' before, 'paid' now: cannot tell
        assert type(error) is AirflowFailException
        assert "was 'draft' before and is 'paid' now" in str(error)
        assert (added, delivered_now, final) == ([read_route], 0, earlier)
    elif processed:  # 'draft' before, 'sent' now: it was delivered
        assert error is None and (added, delivered_now) == ([read_route], 0)
        assert final is not None and (final.status_before, final.started) == ("draft", earlier.started)
    else:  # still 'draft' after the window: it was not delivered; send now
        assert error is None and (added, delivered_now) == ([read_route, read_route, deliver_route], 1)
        assert final is not None and final.try_number == 2
    assert len(emulator.deliveries) <= 1


@settings(derandomize=True, max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.sampled_from(["v3", "v2"]),
    fault=st.sampled_from([*FAULTS, 429, 400, 404, 422, "none"]),
    policy=st.sampled_from(["check", "resend", "fail"]),
)
def test_property_without_a_ledger_each_try_sends_at_most_once(
    infakt_emulator_session, patched, version, fault, policy
):
    emulator = infakt_emulator_session
    _emulator[0] = emulator
    emulator.reset()
    _store[0] = None
    conn = emulator.connection(api_version=version)
    conn["extra"]["max_retries"] = 0
    conn["extra"]["rate_limit"] = False  # `time.sleep` only records here: the pacing would pile up
    os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(conn)
    deliver_route = "v3.deliver_via_email" if version == "v3" else "v2.deliver"
    if fault != "none":
        arm(emulator, deliver_route, fault)
    task = InfaktDeliverInvoiceOperator(task_id="deliver", invoice_id=1, on_unknown_outcome=policy)
    result, error = execute(task, 1)
    assert [r.route for r in emulator.requests] == [deliver_route]  # no status read without a ledger
    if fault == "none":
        assert (result, error, len(emulator.deliveries)) == (1, None, 1)
    elif fault == 429:  # proves nothing was sent: Airflow may retry
        assert type(error) is AirflowException and str(error).startswith("Nothing was sent: ")
    elif fault in (400, 404, 422):  # inFakt's own refusal: no retry will change it
        assert type(error) is AirflowFailException and str(error).startswith("Nothing was sent: ")
    elif policy == "resend":
        assert type(error) is AirflowException and "a retry will send again" in str(error)
    else:
        assert type(error) is AirflowFailException and "Without a delivery ledger" in str(error)
    assert len(emulator.deliveries) <= 1


windows = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**20),
    st.sampled_from([10**400, -0.0, True, False, None, "300", "abc", [300], {"seconds": 1}]),
    st.builds(dt.timedelta, seconds=st.floats(min_value=-1e6, max_value=1e6)),
    st.just(dt.timedelta.min),
)


@settings(derandomize=True, max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(window=windows)
def test_property_in_flight_window_is_checked_before_anything_is_sent(infakt_emulator_session, patched, window):
    """Seconds >= 0 or a timedelta >= 0; anything else (NaN, infinity, negative, text, a bool) is
    refused at once: the window is first needed after an unknown outcome, too late to refuse it."""
    emulator = infakt_emulator_session
    _emulator[0] = emulator
    emulator.reset()
    _store[0] = DictStore()
    conn = emulator.connection()
    conn["extra"]["rate_limit"] = False  # `time.sleep` only records here
    os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(conn)
    task = InfaktDeliverInvoiceOperator(task_id="deliver", invoice_id=1, in_flight_window=window)
    result, error = execute(task, 1)
    if isinstance(window, dt.timedelta):
        valid = dt.timedelta(0) <= window <= dt.timedelta(days=1)
    else:
        number = window if isinstance(window, (int, float)) and not isinstance(window, bool) else None
        valid = number is not None and abs(number) < 1e300 and math.isfinite(number) and 0 <= number <= 86400
    if valid:
        assert (result, error, len(emulator.deliveries)) == (1, None, 1)
    else:
        assert type(error) is AirflowFailException and "in_flight_window=" in str(error)
        assert "is not a number of seconds from 0 to 86400 or a timedelta" in str(error)
        assert emulator.requests == []
