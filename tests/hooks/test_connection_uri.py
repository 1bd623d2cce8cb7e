"""Connections as users write them: a URI puts the port and the path in fields of their own."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from airflow_provider_infakt.api import InfaktConfigError
from airflow_provider_infakt.hooks.connection import ConnectionFields, base_url_for
from airflow_provider_infakt.hooks.infakt import InfaktHook


def url(host, port=None, schema=None):
    return base_url_for(ConnectionFields("c", host, None, "k", {}, port, schema), "v3", False)


@pytest.mark.parametrize(
    ("host", "port", "schema", "expected"),
    [
        ("http://127.0.0.1", 8765, "api/v3", "http://127.0.0.1:8765/api/v3"),
        ("127.0.0.1", 8765, "api/v3", "https://127.0.0.1:8765/api/v3"),  # no scheme: https
        ("http://127.0.0.1:8765/api/v3", None, "", "http://127.0.0.1:8765/api/v3"),
        ("http://127.0.0.1:8765", 8765, "/api/v3/", "http://127.0.0.1:8765/api/v3"),  # the same port twice
        ("http://[::1]", 8765, "api/v3", "http://[::1]:8765/api/v3"),
        ("https://api.infakt.pl/api/v3/", None, None, "https://api.infakt.pl/api/v3"),
    ],
)
def test_port_and_schema_join_the_host(host, port, schema, expected):
    assert url(host, port, schema) == expected


@pytest.mark.parametrize(
    ("host", "port", "schema", "message"),
    [
        ("http://127.0.0.1:8765", 9000, None, "has port 8765 but the port field says 9000"),
        ("http://127.0.0.1/api/v2", None, "api/v3", "has the path /api/v2 but schema says /api/v3"),
        (None, 8765, None, "a port or schema (path) is set but no host"),
    ],
)
def test_a_port_or_path_given_twice_differently_is_refused(host, port, schema, message):
    with pytest.raises(InfaktConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        url(host, port, schema)


def _emulator_parts(emulator):
    parts = urllib.parse.urlsplit(emulator.connection()["host"])
    return parts.hostname, parts.port, parts.path.strip("/"), emulator.connection()["password"]


def test_a_uri_connection_reaches_the_emulator_on_its_port_and_path(infakt_emulator, monkeypatch):
    host, port, path, key = _emulator_parts(infakt_emulator)
    # What `airflow connections add infakt_default --conn-uri ...` and AIRFLOW_CONN_ take: the scheme
    # of the host goes after the connection type (Airflow's own get_uri writes it so).
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_URI", f"infakt://http://:{key}@{host}:{port}/{path}")
    hook = InfaktHook("infakt_uri")
    assert hook.settings.base_url == f"http://{host}:{port}/{path}"
    assert hook.get_invoice(2).id == 2
    assert [r.route for r in infakt_emulator.requests] == ["v3.invoice"]


def test_port_and_schema_fields_of_a_json_connection(infakt_emulator, monkeypatch):
    host, port, path, key = _emulator_parts(infakt_emulator)
    conn = {"conn_type": "infakt", "host": f"http://{host}", "port": port, "schema": path, "password": key}
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_PARTS", json.dumps(conn))
    assert InfaktHook("infakt_parts").get_invoice(3).id == 3


def test_a_host_without_scheme_on_a_plain_http_server_gets_a_hint(infakt_emulator, monkeypatch):
    host, port, path, key = _emulator_parts(infakt_emulator)
    conn = {"conn_type": "infakt", "host": f"{host}:{port}/{path}", "password": key, "extra": {"max_retries": 0}}
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_NO_SCHEME", json.dumps(conn))
    ok, message = InfaktHook("infakt_no_scheme").test_connection()
    assert ok is False
    assert "the server did not answer in TLS" in message
    assert "write the scheme in the connection's host (http://host:port/api/v3)" in message
    assert "4 attempts" not in message  # a configuration mistake: nothing sent, not retried
    assert key not in message


def test_a_sensor_fails_at_once_on_a_host_without_scheme_instead_of_waiting(infakt_emulator, monkeypatch):
    from airflow_provider_infakt._compat import AirflowFailException
    from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor

    host, port, path, key = _emulator_parts(infakt_emulator)
    conn = {"conn_type": "infakt", "host": f"{host}:{port}/{path}", "password": key}
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(conn))

    class TI:
        def xcom_push(self, key, value):
            raise AssertionError("nothing to push")

    with pytest.raises(AirflowFailException, match="did not answer in TLS"):
        InfaktInvoiceSensor(task_id="wait", invoice_id=1).poke({"ti": TI()})


BROKEN_EXTRAS = ['{"sandbox": true', "{not json", "{'api_version': 'v2'}"]


@pytest.mark.parametrize("extra", BROKEN_EXTRAS)
def test_an_extra_that_is_not_json_is_refused_not_read_as_none(extra):
    """Airflow reads such an extra as no extras at all: a lost sandbox flag would send to production."""
    from airflow_provider_infakt.hooks.connection import settings_from_connection

    try:
        from airflow.sdk import Connection
    except ImportError:  # Airflow 2
        from airflow.models import Connection
    conn = Connection(conn_id="infakt_broken", conn_type="infakt", password="sandbox-key-123456", extra=extra)
    with pytest.raises(InfaktConfigError, match="extra is not valid JSON") as refused:
        settings_from_connection(InfaktHook._fields_of(conn))
    assert extra not in str(refused.value) and "sandbox-key" not in str(refused.value)


@pytest.mark.parametrize("extra", BROKEN_EXTRAS)
def test_the_connection_test_tells_an_extra_that_is_not_json(monkeypatch, extra):
    conn = {"conn_type": "infakt", "password": "sandbox-key-123456", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_INFAKT_BROKEN", json.dumps(conn))
    try:
        InfaktHook.get_connection("infakt_broken")
    except Exception as exc:  # Airflow 3.0 itself refuses to read such a connection: nothing is sent either
        assert "isn't defined" in str(exc)
        return
    ok, message = InfaktHook("infakt_broken").test_connection()
    assert ok is False
    assert "extra is not valid JSON" in message
    assert extra not in message and "sandbox-key" not in message


def test_the_connection_test_points_at_a_wrong_version_path(infakt_emulator, monkeypatch):
    v2_on_v3 = {**infakt_emulator.connection(api_version="v2"), "host": infakt_emulator.url + "/api/v3"}
    no_path = {**infakt_emulator.connection(), "host": infakt_emulator.url}
    monkeypatch.setenv("AIRFLOW_CONN_V2_ON_V3", json.dumps(v2_on_v3))
    monkeypatch.setenv("AIRFLOW_CONN_NO_PATH", json.dumps(no_path))
    ok, message = InfaktHook("v2_on_v3").test_connection()
    assert not ok and "set up for API v2 (extra.api_version) but its host ends in /v3" in message
    ok, message = InfaktHook("no_path").test_connection()
    assert not ok and "HTTP 404" in message and "is the host's path right?" in message
