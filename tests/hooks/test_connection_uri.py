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
    assert "write the scheme in the connection's host: http://host:port/api/v3" in message
    assert key not in message
