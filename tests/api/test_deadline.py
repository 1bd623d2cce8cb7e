"""Finding 11: one overall deadline per HTTP request. A server that trickles a byte at a time never
trips the read timeout (it applies to each read), so without a deadline one call could stay open for
minutes. Past the deadline a deliver is an unknown outcome; a read is a retryable transport error."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api.aio import AsyncInfaktClient, _within

from .conftest import v3_settings
from .localserver import Reply, scripted_server
from .test_client_transport import Runner, settings

INVOICE = json.dumps({"id": 1, "uuid": "u-1", "number": "1/2026", "status": "sent", "pad": "x" * 40}).encode()
TRICKLES = {
    "body": Reply(200, {"Content-Type": "application/json"}, INVOICE, action="trickle", interval=0.1),
    "headers": Reply(200, {}, b"", action="trickle_headers", interval=0.05),
}


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    return Runner(request.param)


@pytest.mark.parametrize("where", list(TRICKLES))
def test_a_trickling_deliver_is_cut_at_the_deadline_and_unknown(run, where):
    with scripted_server() as server:
        server.default = TRICKLES[where]
        started = time.monotonic()
        with pytest.raises(e.InfaktUnknownOutcome) as caught:
            run(settings(server.url, timeout=(1.0, 1.0), deadline=1.5), "deliver_invoice", 1, "mail", "org")
        elapsed = time.monotonic() - started
        assert elapsed < 3.5, elapsed  # the whole trickle takes about 10 s
        assert "1.5-second deadline" in str(caught.value)
        assert len(server.seen) == 1


@pytest.mark.parametrize("where", list(TRICKLES))
def test_a_trickling_read_is_cut_at_the_deadline_and_retryable(run, where):
    with scripted_server() as server:
        server.default = TRICKLES[where]
        started = time.monotonic()
        with pytest.raises(e.InfaktTransportError) as caught:
            run(settings(server.url, timeout=(1.0, 1.0), deadline=1.5, max_retries=1), "get_invoice", 1)
        elapsed = time.monotonic() - started
        assert elapsed < 5.0, elapsed
        assert caught.value.retryable and "1.5-second deadline" in str(caught.value)
        assert len(server.seen) == 2 and len(run.sleeps) == 1


def test_a_read_cut_at_the_deadline_is_retried(run):
    with scripted_server() as server:
        server.script = [TRICKLES["body"]]
        server.default = Reply(200, {"Content-Type": "application/json"}, INVOICE)
        assert run(settings(server.url, timeout=(1.0, 1.0), deadline=1.0), "get_invoice", 1).id == 1
        assert len(server.seen) == 2


def test_an_answer_within_the_deadline_is_kept(run):
    with scripted_server() as server:
        server.default = Reply(200, {"Content-Type": "application/json"}, INVOICE[:80] + b" " * 10 + INVOICE[80:])
        server.default.action = "trickle"
        server.default.interval = 0.005  # about 0.6 s in all, each byte well within the read timeout
        assert run(settings(server.url, timeout=(1.0, 1.0), deadline=5.0), "get_invoice", 1).id == 1


def test_the_connection_cut_at_the_deadline_is_not_reused(run):
    """After a cut, the next request must get a fresh connection and a clean answer."""
    with scripted_server() as server:
        server.script = [TRICKLES["body"], Reply(200, {"Content-Type": "application/json"}, INVOICE)]
        config = settings(server.url, timeout=(1.0, 1.0), deadline=1.0, max_retries=0)
        with pytest.raises(e.InfaktTransportError):
            run(config, "get_invoice", 1)
        assert run(config, "get_invoice", 1).id == 1


def test_the_default_deadline_follows_the_timeouts():
    assert v3_settings().request_deadline == 10.0 + 2 * 30.0
    assert v3_settings(timeout=(2.0, 5.0)).request_deadline == 12.0
    assert v3_settings(deadline=7.5).request_deadline == 7.5
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(e.InfaktConfigError, match="deadline"):
            v3_settings(deadline=bad)


def test_without_a_deadline_setting_the_default_one_cuts_a_trickle(run):
    with scripted_server() as server:
        server.default = TRICKLES["body"]  # about 10 s in all, each byte well within the read timeout
        started = time.monotonic()
        with pytest.raises(e.InfaktUnknownOutcome):
            run(settings(server.url, timeout=(0.5, 0.5)), "deliver_invoice", 1, "mail", "org")
        assert time.monotonic() - started < 4.0  # the default: connect + 2 x read = 1.5 s


# -- a cancel always wins over an answer arriving in the same loop iteration ------------------------


def test_a_cancel_at_the_moment_the_work_ends_is_not_lost():
    """``asyncio.wait_for`` on Python 3.10/3.11 returns the result here (CPython gh-86296)."""

    async def main():
        finished = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(_within(finished, 5))
        await asyncio.sleep(0)  # waiting: inside the deadline
        finished.set_result("answer")  # the work ends...
        waiting.cancel()  # ...in the same iteration as the cancel
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return waiting.cancelled()

    assert asyncio.run(main()) is True


def test_past_the_deadline_the_work_is_cancelled_and_has_ended():
    ended = []

    async def slow():
        try:
            await asyncio.sleep(10)
        finally:
            ended.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await _within(slow(), 0.05)
        return list(ended)  # before anything else runs: the work's cleanup is done

    assert asyncio.run(main()) == [1]


def test_the_work_s_result_and_exception_pass_through():
    async def answer():
        return 42

    async def failing():
        raise ValueError("bad answer")

    async def main():
        assert await _within(answer(), 1) == 42
        with pytest.raises(ValueError, match="bad answer"):
            await _within(failing(), 1)

    asyncio.run(main())


def test_a_client_call_cancelled_as_its_answer_arrives_is_cancelled(monkeypatch):
    """Over real HTTP: the answer is read, and the caller is cancelled in that same iteration."""
    with scripted_server() as server:
        server.default = Reply(200, {"Content-Type": "application/json"}, INVOICE)

        async def main():
            async with AsyncInfaktClient(settings(server.url)) as client:
                caller = asyncio.current_task()
                exchange = client._exchange_once

                async def answered_then_cancelled(built):
                    answer = await exchange(built)
                    caller.cancel()  # type: ignore[union-attr]
                    return answer

                monkeypatch.setattr(client, "_exchange_once", answered_then_cancelled)
                try:
                    await client.get_invoice(1)
                except asyncio.CancelledError:
                    return "cancelled"
                return "returned as if not cancelled"

        assert asyncio.run(main()) == "cancelled"
        assert len(server.seen) == 1
