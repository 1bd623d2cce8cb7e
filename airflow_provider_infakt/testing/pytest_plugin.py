"""pytest plugin (entry point ``pytest11``): the ``infakt_emulator`` fixture.

One emulator is started per test session, on a free loopback port; the ``infakt_emulator`` fixture
hands it to each test freshly reset (seeded demo account, no faults, limits off), so tests do not leak
state into each other. ``infakt_connection`` also sets ``AIRFLOW_CONN_INFAKT_DEFAULT`` for the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .emulator import InfaktEmulator


@pytest.fixture(scope="session")
def infakt_emulator_session() -> Iterator[InfaktEmulator]:
    """The session's emulator, as it is (not reset between tests)."""
    with InfaktEmulator() as emulator:
        yield emulator


@pytest.fixture
def infakt_emulator(infakt_emulator_session: InfaktEmulator) -> Iterator[InfaktEmulator]:
    """A running inFakt emulator, reset to the seeded demo account for this test."""
    infakt_emulator_session.reset()
    infakt_emulator_session.set_limits(enabled=False, time_scale=1.0)
    infakt_emulator_session.set_postal_package(False)
    infakt_emulator_session.pay_after_delivery(None)
    yield infakt_emulator_session
    infakt_emulator_session.reset()


@pytest.fixture
def infakt_connection(infakt_emulator: InfaktEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """``AIRFLOW_CONN_INFAKT_DEFAULT`` pointing at the emulator (v3, demo key) for this test."""
    conn = infakt_emulator.connection()
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(conn))
    return conn
