"""Shared by the trigger tests: Airflow's secrets backends loaded once, and the emulator as infakt_default."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(autouse=True, scope="module")
def airflow_secrets_backends_loaded():
    """Airflow 3 loads its secrets backends on the first connection lookup of a process, a one-time
    cost of Airflow's own that a real triggerer pays once, before any particular trigger matters."""
    try:
        from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded
    except ImportError:  # Airflow 2: the trigger looks connections up in a worker thread
        return
    ensure_secrets_backend_loaded()


@pytest.fixture
def conn(infakt_emulator, monkeypatch):
    def use(**kind):
        extra = kind.pop("extra", {})
        c = infakt_emulator.connection(**kind)
        c["extra"].update(extra)
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(c))
        return c

    use()
    return use
