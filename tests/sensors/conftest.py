"""Shared by the sensor tests: a task instance that records XComs, and the emulator as infakt_default."""

from __future__ import annotations

import json
from typing import Any

import pytest


class FakeTI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def conn(infakt_emulator, monkeypatch):
    c = infakt_emulator.connection()
    c["extra"]["max_retries"] = 0
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(c))
    return c
