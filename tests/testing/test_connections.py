"""The emulator counts the TCP connections it holds (not requests): what a test of a shared, pooled
client needs to see that one connection serves many requests and that closing the client closes it."""

from __future__ import annotations

import time

import httpx
import pytest

from airflow_provider_infakt.testing import InfaktEmulator, credentials


@pytest.fixture
def emu():
    """An emulator of this test's own: no other test's connections in its counts."""
    with InfaktEmulator() as emulator:
        yield emulator


def _client(emu: InfaktEmulator) -> httpx.Client:
    return httpx.Client(base_url=emu.url + "/api/v3", headers={"X-inFakt-ApiKey": credentials.API_KEY}, timeout=10)


def _wait_for_open(emu: InfaktEmulator, expected: int, within: float = 5.0) -> int:
    """The open count once it is ``expected``, or what it is after ``within`` seconds: a close reaches
    the server a moment after the client makes it."""
    deadline = time.monotonic() + within
    while (count := emu.open_connections()) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def test_a_keep_alive_client_holds_one_connection_for_many_requests(emu):
    assert (emu.open_connections(), emu.connections_opened()) == (0, 0)
    with _client(emu) as client:
        for invoice_id in range(1, 6):
            assert client.get(f"/invoices/{invoice_id}.json").status_code == 200
        assert emu.open_connections() == 1
        assert emu.connections_opened() == 1
        assert len(emu.requests) == 5
    assert _wait_for_open(emu, 0) == 0
    assert emu.connections_opened() == 1


def test_two_clients_hold_two_connections_and_each_close_counts(emu):
    first, second = _client(emu), _client(emu)
    try:
        assert first.get("/invoices/1.json").status_code == 200
        assert second.get("/invoices/2.json").status_code == 200
        assert first.get("/invoices/3.json").status_code == 200
        assert emu.open_connections() == 2
        first.close()
        assert _wait_for_open(emu, 1) == 1
    finally:
        first.close()
        second.close()
    assert _wait_for_open(emu, 0) == 0
    assert emu.connections_opened() == 2


def test_a_client_without_keep_alive_opens_one_connection_per_request(emu):
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(
        base_url=emu.url + "/api/v3", headers={"X-inFakt-ApiKey": credentials.API_KEY}, limits=limits
    ) as client:
        for _ in range(3):
            assert client.get("/invoices/1.json").status_code == 200
    assert _wait_for_open(emu, 0) == 0
    assert emu.connections_opened() == 3


def test_the_admin_route_shows_the_counts_and_a_reset_forgets_the_total(emu):
    with _client(emu) as client:
        client.get("/invoices/1.json")
        with httpx.Client(base_url=emu.url) as admin:
            counts = admin.get("/_emulator/connections").json()
            # the API client's connection and the admin request's own
            assert counts == {"open": 2, "opened_total": 2}
            assert admin.post("/_emulator/reset", json={}).status_code == 200
            assert admin.get("/_emulator/connections").json() == {"open": 2, "opened_total": 0}
    assert _wait_for_open(emu, 0) == 0
    emu.reset()
    assert emu.connections_opened() == 0


def test_stopping_the_emulator_closes_every_connection():
    emulator = InfaktEmulator().start()
    try:
        client = _client(emulator)
        client.get("/invoices/1.json")
        assert emulator.open_connections() == 1
    finally:
        emulator.stop()
    assert emulator.open_connections() == 0
    client.close()
