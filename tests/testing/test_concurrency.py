"""1,000 parallel connections served, each kept alive for a second request."""

from __future__ import annotations

import asyncio
import resource
import time

import aiohttp

CONNECTIONS = 1000
LATENCY = 0.5


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


async def _round(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> list[int]:
    async def one() -> int:
        async with session.get(url, headers=headers) as response:
            await response.read()
            return response.status

    return list(await asyncio.gather(*(one() for _ in range(CONNECTIONS))))


async def _run(url: str, key: str) -> tuple[list[int], list[int], float]:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        first = await _round(session, url, {"X-inFakt-ApiKey": key})
        elapsed = time.monotonic() - started
        second = await _round(session, url, {"X-inFakt-ApiKey": key})
    return first, second, elapsed


def test_thousand_parallel_connections(infakt_emulator):
    _raise_fd_limit(4 * CONNECTIONS + 256)
    # Every request waits LATENCY seconds inside the server, so the 1,000 requests of a round are all in
    # flight at once, each on its own connection.
    infakt_emulator.fault("v3.invoice", latency=LATENCY, times=None)
    conn = infakt_emulator.connection()
    first, second, elapsed = asyncio.run(_run(conn["host"] + "/invoices/1.json", conn["password"]))
    assert first == [200] * CONNECTIONS
    assert second == [200] * CONNECTIONS
    records = infakt_emulator.requests
    assert len(records) == 2 * CONNECTIONS
    first_peers = {r.peer for r in records[:CONNECTIONS]}
    assert len(first_peers) == CONNECTIONS  # 1,000 distinct connections...
    assert {r.peer for r in records} == first_peers  # ...each reused for the second round (keep-alive)
    # Served side by side, not one after another (which would take CONNECTIONS * LATENCY = 500 s).
    assert elapsed < 60
