"""The triggers' client pool: one client per connection per event loop, shared, looked up once,
closed by its last user, whichever way that user leaves."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_infakt.triggers import pool
from airflow_provider_infakt.triggers.invoice import InfaktInvoiceSetTrigger, InfaktInvoiceTrigger


@pytest.fixture
def opened(monkeypatch):
    """The connection ids the pool opened a client for, in order (the real opener does the work)."""
    calls: list[str] = []
    real = pool.opener

    async def counting(conn_id):
        calls.append(conn_id)
        return await real(conn_id)

    monkeypatch.setattr(pool, "opener", counting)
    return calls


async def _events(trigger):
    return [event.payload async for event in trigger.run()]


def test_triggers_share_one_client_and_the_last_closes_it(infakt_emulator, conn, opened):
    conn(extra={"rate_limit": False})  # fifty reads at once: the sharing is the point, not the pacing
    for invoice_id in (2, 3):
        infakt_emulator.mark_paid(invoice_id)

    async def main():
        singles = [InfaktInvoiceTrigger(2 + n % 2, ["paid"], poke_interval=0.05) for n in range(40)]
        sets = [InfaktInvoiceSetTrigger([2, 3], ["paid"], poke_interval=0.05) for _ in range(10)]
        results = await asyncio.gather(*(_events(t) for t in singles + sets))
        return results, pool.open_pools()

    results, left_open = asyncio.run(main())
    assert all(events[0]["status"] == "success" and len(events) == 1 for events in results)
    assert opened == ["infakt_default"]  # one lookup and one client for fifty triggers
    assert left_open == {}


def test_a_cancelled_trigger_leaves_the_pool_working_for_the_others(infakt_emulator, conn, opened):
    async def main():
        waiting = [
            asyncio.ensure_future(_events(InfaktInvoiceTrigger(1, ["paid"], poke_interval=0.05))) for _ in range(3)
        ]
        await asyncio.sleep(0.3)
        assert pool.open_pools() == {"infakt_default": 3}
        waiting[0].cancel()  # the triggerer cancels a trigger whose task was cleared
        await asyncio.gather(waiting[0], return_exceptions=True)
        assert pool.open_pools() == {"infakt_default": 2}
        before = len(infakt_emulator.requests)
        infakt_emulator.mark_paid(1)
        rest = await asyncio.wait_for(asyncio.gather(*waiting[1:]), 10)
        return rest, len(infakt_emulator.requests) - before, pool.open_pools()

    rest, reads_after, left_open = asyncio.run(main())
    assert [events[0]["status"] for events in rest] == ["success", "success"]
    assert reads_after >= 2
    assert opened == ["infakt_default"]
    assert left_open == {}


def test_cancelled_while_the_client_opens_does_not_stop_the_others(infakt_emulator, conn, monkeypatch):
    infakt_emulator.mark_paid(2)
    real = pool.opener

    async def slow(conn_id):
        await asyncio.sleep(0.3)
        return await real(conn_id)

    monkeypatch.setattr(pool, "opener", slow)

    async def main():
        first = asyncio.ensure_future(_events(InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.05)))
        second = asyncio.ensure_future(_events(InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.05)))
        await asyncio.sleep(0.1)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        return await asyncio.wait_for(second, 10), pool.open_pools()

    events, left_open = asyncio.run(main())
    assert events == [{"status": "success", "invoice_id": 2, "invoice_status": "paid"}]
    assert left_open == {}


def test_the_last_user_cancelled_while_opening_stops_the_opening(monkeypatch):
    started, finished = [], []

    async def slow(conn_id):
        started.append(conn_id)
        await asyncio.sleep(5)
        finished.append(conn_id)

    monkeypatch.setattr(pool, "opener", slow)

    async def main():
        only = asyncio.ensure_future(_events(InfaktInvoiceTrigger(2, ["paid"])))
        await asyncio.sleep(0.1)
        only.cancel()
        await asyncio.gather(only, return_exceptions=True)
        await asyncio.sleep(0)
        return pool.open_pools(), [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    left_open, tasks = asyncio.run(main())
    assert (started, finished, left_open, tasks) == (["infakt_default"], [], {}, [])


def test_a_failed_opening_fails_its_waiters_and_the_next_trigger_tries_again(infakt_emulator, conn, monkeypatch):
    attempts = []
    real = pool.opener

    async def flaky(conn_id):
        attempts.append(conn_id)
        if len(attempts) == 1:
            await asyncio.sleep(0.1)
            raise RuntimeError("lookup failed")
        return await real(conn_id)

    monkeypatch.setattr(pool, "opener", flaky)
    infakt_emulator.mark_paid(2)

    async def main():
        first = await asyncio.gather(
            *(_events(InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.05)) for _ in range(3))
        )
        again = await _events(InfaktInvoiceTrigger(2, ["paid"], poke_interval=0.05))
        return first, again, pool.open_pools()

    first, again, left_open = asyncio.run(main())
    assert [events[0]["status"] for events in first] == ["error"] * 3
    assert all("RuntimeError" in events[0]["message"] for events in first)
    assert again[0]["status"] == "success"
    assert len(attempts) == 2 and left_open == {}


def test_each_event_loop_has_its_own_pool(infakt_emulator, conn, opened):
    infakt_emulator.mark_paid(2)
    for _ in range(2):
        assert asyncio.run(_events(InfaktInvoiceTrigger(2, ["paid"])))[0]["status"] == "success"
    assert opened == ["infakt_default", "infakt_default"]


def test_fifty_triggers_hold_the_connections_of_one_client_and_none_once_done(monkeypatch):
    from airflow_provider_infakt.testing import InfaktEmulator

    with InfaktEmulator() as emu:  # an emulator of this test's own: no other test's connections counted
        c = emu.connection()
        c["extra"]["rate_limit"] = False  # the pool is the point here, not the pacing
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(c))
        for invoice_id in (2, 3):
            emu.mark_paid(invoice_id)

        async def main():
            # the first waits on a draft (invoice 1) until the others are done: the pool is open by then
            tasks = [asyncio.ensure_future(_events(InfaktInvoiceTrigger(1, ["paid"], poke_interval=0.05)))]
            while not emu.requests:
                await asyncio.sleep(0.01)
            for n in range(49):  # then one after another, as a triggerer picks them up
                trigger = InfaktInvoiceTrigger(2 + n % 2, ["paid"], poke_interval=0.05)
                tasks.append(asyncio.ensure_future(_events(trigger)))
                await asyncio.sleep(0.01)
            await asyncio.gather(*tasks[1:])
            emu.mark_paid(1)
            return await asyncio.gather(*tasks)

        results = asyncio.run(main())
        assert all(events[0]["status"] == "success" for events in results)
        assert len([r for r in emu.requests if not r.path.endswith("/1.json")]) == 49
        # one client for all, its connections reused; fifty clients of their own would have opened fifty
        assert emu.connections_opened() <= 3
        deadline = time.monotonic() + 5
        while emu.open_connections() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert emu.open_connections() == 0  # the last trigger closed the pooled client
