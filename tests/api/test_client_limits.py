"""The client's own rate limiter, engaged through the clients (not only as a unit): it must make the
client wait before sending once its budget is spent. The emulator's limits are tested apart, in
test_client_emulator.py; these tests are about the client's."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest

from airflow_provider_infakt.api import AsyncInfaktClient, InfaktClient, RateLimit

from .localserver import Reply, ScriptedServer, scripted_server
from .test_client_emulator import settings_for
from .test_client_transport import settings

INVOICE = json.dumps({"id": 1, "uuid": "u-1", "number": "1/2026", "status": "sent"}).encode()


class Clock:
    """A monotonic clock that moves only when the client sleeps; every sleep notes how many requests
    the server had seen by then (so a test can tell the wait came before the request it delayed)."""

    def __init__(self, server: ScriptedServer | None = None, real_fraction: float = 0.0) -> None:
        self.now = 1000.0
        self.sleeps: list[tuple[float, int]] = []
        self.server = server
        self.real_fraction = real_fraction

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((seconds, len(self.server.seen) if self.server is not None else -1))
        self.now += seconds
        if self.real_fraction:
            time.sleep(seconds * self.real_fraction)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def calls(mode: str, config: Any, clock: Clock, steps: list[tuple[str, tuple[Any, ...]]]) -> None:
    if mode == "sync":
        with InfaktClient(config, sleep=clock.sleep, monotonic=clock) as client:
            for method, args in steps:
                getattr(client, method)(*args)
        return

    async def main() -> None:
        async with AsyncInfaktClient(config, sleep=clock.asleep, monotonic=clock) as client:
            for method, args in steps:
                await getattr(client, method)(*args)

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_client_waits_once_its_read_budget_is_spent(mode):
    with scripted_server() as server:
        server.default = Reply(200, {"Content-Type": "application/json"}, INVOICE)
        clock = Clock(server)
        config = settings(server.url, rate_limit=RateLimit(get_per_minute=2, other_per_minute=1))
        calls(mode, config, clock, [("get_invoice", (1,))] * 4)
        # 2 a minute: one every 30.5 s (a minute and the 1 s margin, shared by two), no burst of two that
        # a sliding window would count with the next; each wait before the request it delays
        assert [(pytest.approx(s), seen) for s, seen in clock.sleeps] == [(30.5, 1), (30.5, 2), (30.5, 3)]
        assert len(server.seen) == 4


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_delivers_have_their_own_smaller_budget(mode):
    with scripted_server() as server:
        server.script = [Reply(202, body=b""), Reply(200, {"Content-Type": "application/json"}, INVOICE)]
        server.default = Reply(202, body=b"")
        clock = Clock(server)
        config = settings(server.url, rate_limit=RateLimit(get_per_minute=100, other_per_minute=1))
        calls(mode, config, clock, [("deliver_invoice", (1, "mail", "org")), ("get_invoice", (1,))])
        assert clock.sleeps == []  # a read does not spend the deliver budget
        calls(mode, config, clock, [("deliver_invoice", (1, "mail", "org"))] * 2)  # a new client
        assert [(pytest.approx(s), seen) for s, seen in clock.sleeps] == [(61.0, 3)]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_a_limit_the_client_never_waits(mode):
    with scripted_server() as server:
        server.default = Reply(200, {"Content-Type": "application/json"}, INVOICE)
        clock = Clock(server)
        calls(mode, settings(server.url, rate_limit=None), clock, [("get_invoice", (1,))] * 5)
        assert clock.sleeps == [] and len(server.seen) == 5


def test_the_client_limiter_spaces_requests_as_the_emulator_sees_them(infakt_emulator):
    """Over real HTTP: waits scaled down 300 times (30.5 s -> 0.1 s) and the emulator's request log shows
    the gaps they made."""
    emu = infakt_emulator
    clock = Clock(real_fraction=1 / 300)
    config = settings_for(emu.connection(), rate_limit=RateLimit(get_per_minute=2, other_per_minute=1))
    calls("sync", config, clock, [("get_invoice", (1,))] * 4)
    assert [pytest.approx(s) for s, _ in clock.sleeps] == [30.5, 30.5, 30.5]
    times = [r.time for r in emu.requests if r.route == "v3.invoice"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 3 and min(gaps) >= 30.5 / 300 - 0.01
