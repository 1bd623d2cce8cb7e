"""How a trigger's hook looks its connection up (``_compat.aget_connection``): Airflow's async lookup in a
real triggerer, the sync lookup in a worker thread where the async one cannot see every secrets backend
(Airflow 2.10-3.0; ``dag.test()`` on 3.1+), and never by blocking the event loop.

The end-to-end cases (a connection in the metadata database and one in an environment variable, with
the deferrable sensor under ``dag.test()``) are in ``tests/dags/test_connection_storage.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from airflow_provider_infakt import _compat
from airflow_provider_infakt.hooks.infakt import InfaktHook

HAS_ASYNC_LOOKUP = getattr(_compat.BaseHook, "aget_connection", None) is not None
CONN = {"conn_type": "infakt", "host": "http://127.0.0.1:9/api/v3", "password": "lookup-test-key"}
LOOKUP_SECONDS = 0.5


def comms_of(kind: str) -> Any:
    """An instance of the comms class Airflow itself installs as ``SUPERVISOR_COMMS`` (never connected:
    only which methods its class has matters here): a real triggerer's, or ``dag.test()``'s in-line one."""
    if kind == "triggerer":
        from airflow.jobs.triggerer_job_runner import TriggerCommsDecoder as comms_class
    else:
        from airflow.sdk.execution_time.supervisor import InProcessSupervisorComms as comms_class
    return comms_class.__new__(comms_class)


def supervised_by(monkeypatch: pytest.MonkeyPatch, kind: str | None) -> None:
    """Put this process in the place of a real triggerer's trigger runner (``"triggerer"``), of
    ``dag.test()``'s in-line trigger (``"dag.test"``), or of a process without a supervisor (None)."""
    from airflow.sdk.execution_time import task_runner

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", None if kind is None else comms_of(kind), raising=False)


def test_native_async_lookup_exactly_where_it_reaches_the_supervisor(monkeypatch):
    if not _compat.AIRFLOW_V3:  # Airflow 2.10, 2.11: no async lookup, no supervisor: the thread, always
        assert _compat.native_async_connection_lookup() is False
        return
    # Airflow 3.0 has no async lookup either (HAS_ASYNC_LOOKUP is false there): the thread, always
    for kind, native in [(None, HAS_ASYNC_LOOKUP), ("triggerer", HAS_ASYNC_LOOKUP), ("dag.test", False)]:
        supervised_by(monkeypatch, kind)
        assert _compat.native_async_connection_lookup() is native, kind


def slowed_sync_lookup(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make Airflow's sync lookup take ``LOOKUP_SECONDS`` (a slow metadata database); return the list of
    the threads it ran in."""
    original = _compat.BaseHook.get_connection
    threads: list[int] = []

    def get_connection(conn_id: str) -> Any:
        threads.append(threading.get_ident())
        time.sleep(LOOKUP_SECONDS)
        return original(conn_id)

    monkeypatch.setattr(_compat.BaseHook, "get_connection", staticmethod(get_connection))
    return threads


def settings_while_ticking() -> tuple[Any, int, int]:
    """``InfaktHook().asettings()`` in an event loop that also runs a 10 ms ticker: the settings, the
    ticks meanwhile, and the loop's thread."""

    async def main() -> tuple[Any, int, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            settings = await InfaktHook().asettings()
        finally:
            ticker.cancel()
        return settings, ticks, threading.get_ident()

    return asyncio.run(main())


def test_the_sync_lookup_runs_beside_the_loop_not_on_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(CONN))
    # Airflow 3.1+: as dag.test()'s in-line trigger. Airflow 2.10-3.0 take the thread for every trigger
    # (3.0's dag.test() runs its in-line trigger with no supervisor at all, as this process is)
    if HAS_ASYNC_LOOKUP:
        supervised_by(monkeypatch, "dag.test")
    threads = slowed_sync_lookup(monkeypatch)
    settings, ticks, loop_thread = settings_while_ticking()
    assert settings.base_url == CONN["host"]
    assert len(threads) == 1 and threads[0] != loop_thread
    # the loop ran on during the lookup: about 50 ticks; a blocked loop makes none (at most one late)
    assert ticks >= 10


@pytest.mark.skipif(not HAS_ASYNC_LOOKUP, reason="Airflow before 3.1 has no async lookup; see the tests above")
def test_a_real_triggerer_keeps_airflows_async_lookup(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(CONN))
    supervised_by(monkeypatch, "triggerer")
    threads = slowed_sync_lookup(monkeypatch)
    original = _compat.BaseHook.aget_connection
    asked: list[str] = []

    async def aget_connection(conn_id: str) -> Any:
        asked.append(conn_id)
        return await original(conn_id)

    monkeypatch.setattr(_compat.BaseHook, "aget_connection", staticmethod(aget_connection))
    settings, _, _ = settings_while_ticking()
    assert settings.base_url == CONN["host"]
    assert asked == ["infakt_default"]
    assert threads == []


def _has_amask_secret() -> bool:
    try:
        from airflow.sdk.log import amask_secret  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(
    not _has_amask_secret(),
    reason="Airflow before 3.3 has no amask_secret: a trigger masks with the sync call, as Airflow's own hooks do",
)
def test_a_trigger_tells_its_supervisor_the_secrets_with_asend_not_send(monkeypatch):
    """In a real triggerer the sync ``send`` would block the event loop (and fail silently while
    another request is in flight, leaving the secret unmasked in the supervisor's logs)."""
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(CONN))

    class Comms:
        def __init__(self) -> None:
            self.sent: list[Any] = []
            self.asent: list[Any] = []

        def send(self, message: Any) -> None:
            self.sent.append(message)

        async def asend(self, message: Any) -> None:
            self.asent.append(message)

    from airflow.sdk.execution_time import task_runner

    comms = Comms()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", comms, raising=False)

    async def original_lookup(conn_id: str) -> Any:  # the connection found, without a supervisor round trip
        from airflow.sdk import Connection

        return Connection(conn_id=conn_id, conn_type="infakt", host=CONN["host"], password=CONN["password"])

    monkeypatch.setattr(_compat.BaseHook, "aget_connection", staticmethod(original_lookup))
    settings_while_ticking()
    masked = [m.value for m in comms.asent if type(m).__name__ == "MaskSecret"]
    assert CONN["password"] in masked
    assert [m for m in comms.sent if type(m).__name__ == "MaskSecret"] == []
