"""InfaktInvoiceTrigger against the emulator: one event per run, no blocking of the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import json
import os
import time
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_infakt.triggers.invoice import InfaktInvoiceTrigger

# Seconds: a callback running longer blocks the loop. Airflow's own triggerer warns from 0.2 s
# ([triggerer] blocked_main_thread_warning_threshold); 0.05 s flaked on a cold, loaded CI machine
# (first connect in a fresh virtual environment). Speed itself is measured by benchmarks/trigger_scale.py.
SLOW = 0.2


def _waited_for_a_cpu() -> float:
    """Seconds the threads of this process have spent runnable but not running, waiting for a CPU
    (Linux schedstat, summed over /proc/self/task; 0 where the kernel does not tell).

    Every thread, not only the loop's: the emulator serves from a thread of the test's process, and
    while it holds the GIL but waits for a CPU, the loop's thread waits for the GIL, asleep, which its
    own schedstat does not count.
    """
    total = 0.0
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return 0.0
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread}/schedstat") as stats:
                total += int(stats.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
            continue
    return total


class _GcClock:
    """Seconds spent in the garbage collector so far (``gc.callbacks``): a full collection of the test
    process's heap (Hypothesis, Airflow's models) pauses every thread, whoever allocated."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._began = 0.0

    def __call__(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.spent += time.perf_counter() - self._began


@contextlib.contextmanager
def loop_blocks(loop_of_test: list) -> Iterator[list[str]]:
    """Collect the callbacks of the test's event loop (the first of ``loop_of_test``) that held the
    loop for ``SLOW`` seconds or more.

    A callback holds the loop while it computes or waits on blocking I/O, not while its process waits
    for a CPU or collects garbage: on a loaded machine (parallel test workers, other suites) those
    alone reached 0.5 s. So the time is the callback's wall time less what the process's threads waited
    for a CPU and the collector took meanwhile; a blocking call (a socket, a file, a sleep) still
    counts in full.
    """
    original = asyncio.events.Handle._run
    blocks: list[str] = []
    gc_clock = _GcClock()

    def timed_run(handle: asyncio.events.Handle) -> None:
        # only while the trigger runs, judged when the callback starts (its last step also ends the
        # run): not asyncio.run's own shutdown of its thread pool afterwards (on a loaded machine
        # joining that pool's threads held the loop for 0.5 s)
        running = len(loop_of_test) < 2
        started, waited, collected = time.perf_counter(), _waited_for_a_cpu(), gc_clock.spent
        try:
            return original(handle)
        finally:
            wall = time.perf_counter() - started
            held = wall - (_waited_for_a_cpu() - waited) - (gc_clock.spent - collected)
            # only the test's loop (known once its first callback ran), not the emulator server's
            ours = bool(loop_of_test) and asyncio.events._get_running_loop() is loop_of_test[0]
            if held >= SLOW and running and ours:
                blocks.append(f"{handle!r} held the loop for {held:.3f} s ({wall:.3f} s of wall time)")

    gc.callbacks.append(gc_clock)
    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    try:
        yield blocks
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
        gc.callbacks.remove(gc_clock)


def run_trigger(trigger: InfaktInvoiceTrigger, timeout: float = 30) -> list:
    """Every event the trigger yields until it returns, in asyncio debug mode; fail if it blocked the loop."""
    loop_of_test: list = []

    async def collect():
        loop_of_test.append(asyncio.get_running_loop())
        events = [event async for event in trigger.run()]
        loop_of_test.append("done")  # what follows is asyncio.run's teardown, not the trigger
        return events

    with loop_blocks(loop_of_test) as blocks:
        events = asyncio.run(asyncio.wait_for(collect(), timeout), debug=True)
    assert blocks == [], f"the trigger blocked the event loop: {blocks}"
    return events


class _BlockingTrigger:
    """A trigger that makes the mistake the check exists for: a blocking call inside the loop."""

    def __init__(self, block: Callable[[], object]) -> None:
        self.block = block

    async def run(self):
        await asyncio.sleep(0)
        self.block()
        yield "event"


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(lambda: time.sleep(SLOW + 0.1), id="sleep"),
        pytest.param(lambda: _spin(SLOW + 0.1), id="computation"),
    ],
)
def test_the_check_sees_a_blocking_call(block):
    with pytest.raises(AssertionError, match=r"the trigger blocked the event loop: .* held the loop for"):
        run_trigger(_BlockingTrigger(block))  # type: ignore[arg-type]


def _spin(seconds: float) -> None:
    """Compute for ``seconds`` of CPU time (however long a loaded machine makes that in wall time)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_serialize_round_trip_carries_every_argument():
    trigger = InfaktInvoiceTrigger(
        invoice_id="31c2db5e-1f5c-5f0a-a3d8-40bd5eb3f9da",
        target_statuses=["paid", "unpaid"],
        infakt_conn_id="infakt_prod",
        poke_interval=30,
        timeout_at=1_900_000_000.5,
        max_backoff=120,
        exact_status=True,
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_infakt.triggers.invoice.InfaktInvoiceTrigger"
    parameters = set(inspect.signature(InfaktInvoiceTrigger.__init__).parameters) - {"self"}
    assert set(kwargs) == parameters
    module, _, name = path.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (path, kwargs)
    assert vars(rebuilt) == vars(trigger) | {k: v for k, v in vars(rebuilt).items() if k.startswith("_")}


def test_success_is_one_event(infakt_emulator, conn):
    infakt_emulator.mark_paid(2)
    events = run_trigger(InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.05))
    assert [e.payload for e in events] == [{"status": "success", "invoice_id": 2, "invoice_status": "paid"}]


@pytest.mark.parametrize("kind", ["single", "set"])
def test_a_trigger_cancelled_as_an_answer_arrives_ends(infakt_emulator, conn, monkeypatch, kind):
    """The triggerer cancels the trigger of a cleared task; a cancel that lands in the loop iteration in
    which a read's answer arrives must still end it (``asyncio.wait_for`` on Python 3.11 lost it, and
    the trigger polled on for ever)."""
    from airflow_provider_infakt.api.aio import AsyncInfaktClient
    from airflow_provider_infakt.triggers.invoice import InfaktInvoiceSetTrigger

    trigger = (
        InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.05)
        if kind == "single"
        else InfaktInvoiceSetTrigger([1, 2], ["paid"], poke_interval=0.05)
    )
    running: list[asyncio.Task] = []
    exchange = AsyncInfaktClient._exchange_once

    async def answered_then_cancelled(client, built):
        answer = await exchange(client, built)
        running[0].cancel()
        return answer

    monkeypatch.setattr(AsyncInfaktClient, "_exchange_once", answered_then_cancelled)

    async def main():
        running.append(asyncio.ensure_future(_collect(trigger)))
        done, _ = await asyncio.wait(running, timeout=10)
        return bool(done) and running[0].cancelled()

    assert asyncio.run(main()) is True, "the trigger went on after it was cancelled"
    assert len(infakt_emulator.requests) == 1


async def _collect(trigger) -> list:
    return [event async for event in trigger.run()]


def test_waits_until_the_status_is_reached(infakt_emulator, conn):
    asyncio_loop_marker = {}

    def reads():
        return len([r for r in infakt_emulator.requests if r.route == "v3.invoice"])

    async def pay_later():
        # Paid once the trigger has read the invoice twice (not at a fixed time: on a loaded machine its
        # first read came after 0.3 s, so it never had to wait).
        while reads() < 2:
            await asyncio.sleep(0.01)
        infakt_emulator.mark_paid(3)
        asyncio_loop_marker["paid"] = True

    loop_of_test: list = []

    async def both():
        loop_of_test.append(asyncio.get_running_loop())
        payer = asyncio.create_task(pay_later())
        events = [e async for e in InfaktInvoiceTrigger(3, ["paid"], poke_interval=0.05).run()]
        await payer
        loop_of_test.append("done")  # what follows is asyncio.run's teardown, not the trigger
        return events

    with loop_blocks(loop_of_test) as blocks:
        events = asyncio.run(asyncio.wait_for(both(), 30), debug=True)
    assert [e.payload["status"] for e in events] == ["success"]
    assert reads() >= 3  # two before the payment, one after
    assert blocks == []


def test_unknown_invoice_is_one_error_event(infakt_emulator, conn):
    events = run_trigger(InfaktInvoiceTrigger(404, ["paid"], poke_interval=0.05))
    assert len(events) == 1
    payload = events[0].payload
    assert (payload["status"], payload["invoice_id"]) == ("error", 404)
    assert "HTTP 404" in payload["message"]
    assert [r.status for r in infakt_emulator.requests] == [404]


def test_wrong_key_is_one_error_event(infakt_emulator, conn, monkeypatch):
    c = infakt_emulator.connection()
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps({**c, "password": "nope-nope"}))
    events = run_trigger(InfaktInvoiceTrigger(1, ["sent"], poke_interval=0.05))
    assert [e.payload["status"] for e in events] == ["error"]
    assert "HTTP 401" in events[0].payload["message"]
    assert "nope-nope" not in events[0].payload["message"]


def test_timeout_is_one_event_at_the_deadline(infakt_emulator, conn, caplog, capsys):
    deadline = time.time() + 0.4
    with caplog.at_level("INFO", logger="airflow.triggers"):
        # a poke interval far past the deadline: the wait after the first read must be cut at the deadline
        events = run_trigger(InfaktInvoiceTrigger(1, ["paid"], poke_interval=10, timeout_at=deadline))
    ended = time.time()
    assert [e.payload["status"] for e in events] == ["timeout"]
    assert ended >= deadline
    assert ended - deadline < 2.0  # not the 10 s interval (a loaded CI machine took 0.53 s past it)
    # the message says what was seen last; each read was logged while waiting
    message = events[0].payload["message"]
    assert message.startswith(
        "Invoice 1 did not reach paid before the sensor's timeout; its last status was 'draft' (read "
    )
    logged = caplog.text + capsys.readouterr().out  # Airflow 3 logs through structlog, to stdout
    assert "Invoice 1 is 'draft'; waiting for paid, next read in " in logged


def test_timeout_message_tells_a_failing_read(infakt_emulator, conn):
    conn(extra={"max_retries": 0})
    infakt_emulator.fault("v3.invoice", status=503, times=None)
    events = run_trigger(InfaktInvoiceTrigger(1, ["paid"], poke_interval=0.05, timeout_at=time.time() + 0.5))
    message = events[0].payload["message"]
    assert "no read succeeded; the last read failed: " in message and "503" in message


@pytest.mark.parametrize(("exact", "expected"), [(False, "success"), (True, "timeout")])
def test_a_paid_invoice_has_reached_sent_unless_exact(infakt_emulator, conn, exact, expected):
    infakt_emulator.mark_paid(2)
    trigger = InfaktInvoiceTrigger(2, ["sent"], poke_interval=0.05, timeout_at=time.time() + 0.5, exact_status=exact)
    events = run_trigger(trigger)
    assert [e.payload["status"] for e in events] == [expected]
    if exact:
        assert "did not reach exactly sent" in events[0].payload["message"]
    else:
        assert events[0].payload["invoice_status"] == "paid"


def test_429_then_success_backs_off_and_ends_with_one_event(infakt_emulator, conn, monkeypatch):
    conn(extra={"max_retries": 0})  # the trigger's own backoff, not the client's
    infakt_emulator.mark_paid(1)
    infakt_emulator.fault("v3.invoice", status=429, times=3)
    waits = trigger_waits(monkeypatch)
    events = run_trigger(InfaktInvoiceTrigger(1, ["paid"], poke_interval=0.02, max_backoff=0.2))
    assert [e.payload for e in events] == [{"status": "success", "invoice_id": 1, "invoice_status": "paid"}]
    statuses = [r.status for r in infakt_emulator.requests]
    assert statuses == [429, 429, 429, 200]
    # backing off: the waits double from poke_interval, up to max_backoff. (The gaps the server sees
    # between the requests include each request's own time, which a loaded machine stretched more than
    # the 0.04 s a wait grows by: compared with each other, they flaked.)
    assert waits == pytest.approx([0.04, 0.08, 0.16])
    gaps = [b.time - a.time for a, b in zip(infakt_emulator.requests, infakt_emulator.requests[1:], strict=False)]
    assert all(gap >= wait for gap, wait in zip(gaps, waits, strict=True))  # and each wait was waited


def trigger_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the trigger itself asks ``asyncio.sleep`` for (others' sleeps are not recorded)."""
    import sys

    waits: list[float] = []
    sleep = asyncio.sleep

    def recording_sleep(delay: float, *args: object, **kwargs: object) -> object:
        if sys._getframe(1).f_globals.get("__name__") == InfaktInvoiceTrigger.__module__:
            waits.append(delay)
        return sleep(delay, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    return waits


def test_503_with_retry_after_is_honoured(infakt_emulator, conn):
    conn(extra={"max_retries": 0})
    infakt_emulator.fault("v3.invoice", status=503, retry_after="1")
    events = run_trigger(InfaktInvoiceTrigger(1, ["draft"], poke_interval=0.02))
    assert [e.payload["status"] for e in events] == ["success"]
    first, second = infakt_emulator.requests
    assert second.time - first.time >= 1.0


def test_v2_xauth_connection_works_in_the_loop(infakt_emulator, conn):
    conn(api_version="v2", format="xml", auth="xauth")
    infakt_emulator.mark_paid(6)
    events = run_trigger(InfaktInvoiceTrigger(6, ["paid"], poke_interval=0.05))
    assert [e.payload["invoice_status"] for e in events] == ["paid"]
    assert [r.route for r in infakt_emulator.requests] == ["oauth.access_token", "v2.invoice"]


def test_unusable_connection_is_one_error_event(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_INFAKT_DEFAULT",
        json.dumps({"conn_type": "infakt", "password": "k", "extra": {"api_version": "v7"}}),
    )
    events = run_trigger(InfaktInvoiceTrigger(1, ["paid"]))
    assert [e.payload["status"] for e in events] == ["error"]
    assert "api_version='v7'" in events[0].payload["message"]


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom for jan.kowalski@example.com"),
        ValueError("Exceeds the limit (4300 digits) for integer string conversion"),
        RecursionError("maximum recursion depth exceeded"),
        KeyError("status"),
        OSError("Too many open files"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_any_exception_while_reading_is_one_error_event(infakt_emulator, conn, monkeypatch, error):
    from airflow_provider_infakt.api.aio import AsyncInfaktClient

    async def broken(self, invoice_id):
        raise error

    monkeypatch.setattr(AsyncInfaktClient, "get_invoice", broken)
    events = run_trigger(InfaktInvoiceTrigger(1, ["paid"], poke_interval=0.02))
    assert [e.payload["status"] for e in events] == ["error"]
    message = events[0].payload["message"]
    assert type(error).__name__ in message and "kowalski" not in message


def test_any_exception_getting_the_client_is_one_error_event(monkeypatch):
    from airflow_provider_infakt.hooks.infakt import InfaktHook

    async def broken(self):
        raise TypeError("the hook broke")

    monkeypatch.setattr(InfaktHook, "get_async_client", broken)
    events = run_trigger(InfaktInvoiceTrigger(1, ["paid"]))
    assert [e.payload["status"] for e in events] == ["error"]
    assert "TypeError" in events[0].payload["message"]


def test_a_failing_close_does_not_change_the_event(infakt_emulator, conn, monkeypatch):
    from airflow_provider_infakt.api.aio import AsyncInfaktClient

    async def broken(self):
        raise RuntimeError("close failed")

    monkeypatch.setattr(AsyncInfaktClient, "aclose", broken)
    infakt_emulator.mark_paid(2)
    events = run_trigger(InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.02))
    assert [e.payload for e in events] == [{"status": "success", "invoice_id": 2, "invoice_status": "paid"}]


def test_a_deeply_nested_answer_is_one_error_event(infakt_emulator, conn):
    infakt_emulator.fault("v3.invoice", status=200, body="[" * 200_000, times=None)
    events = run_trigger(InfaktInvoiceTrigger(1, ["paid"], poke_interval=0.02))
    assert [e.payload["status"] for e in events] == ["error"]
    assert len(events[0].payload["message"]) < 1000
    infakt_emulator.clear_faults()
