"""The emulator's public API is a deliberate list: changing it means changing this test and docs/emulator.md."""

from __future__ import annotations

import pathlib

import airflow_provider_infakt.testing as testing

PUBLIC = [
    "PROXY_FAULT_KINDS",
    "DeliveryRecord",
    "Fault",
    "FaultProxy",
    "InfaktEmulator",
    "PendingDelivery",
    "ProxyFault",
    "ProxyRecord",
    "RequestRecord",
    "connection_for",
    "connection_json",
    "credentials",
]


def test_the_public_api_is_the_documented_list():
    assert sorted(testing.__all__) == sorted(PUBLIC)
    assert all(getattr(testing, name) is not None for name in PUBLIC)
    reference = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text(encoding="utf-8")
    paragraph = reference[reference.index("**Public API.**") :].split("\n\n")[0]
    assert [name for name in PUBLIC if f"`{name}`" not in paragraph] == []


def test_server_keeps_its_names():
    from airflow_provider_infakt.testing import server

    assert {"EmulatorApp", "API_KEYS", "MAX_BODY", "V3_PREFIXES", "Handler", "server_logger"} <= set(dir(server))
