"""InfaktHook against the emulator over HTTP, for every connection kind."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest

from airflow_provider_infakt.api import InfaktAuthError, InfaktUnknownOutcome
from airflow_provider_infakt.hooks.infakt import InfaktHook
from airflow_provider_infakt.testing import credentials

KINDS = {
    "v3": {"api_version": "v3"},
    "v2-json-oauth": {"api_version": "v2", "format": "json", "auth": "oauth"},
    "v2-xml-oauth": {"api_version": "v2", "format": "xml", "auth": "oauth"},
    "v2-json-xauth": {"api_version": "v2", "format": "json", "auth": "xauth"},
    "v2-xml-xauth": {"api_version": "v2", "format": "xml", "auth": "xauth"},
}
SECRETS = [
    credentials.API_KEY,
    credentials.READONLY_API_KEY,
    credentials.CONSUMER_SECRET,
    credentials.TOKEN_SECRET,
    credentials.XAUTH_PASSWORD,
]


def use(monkeypatch, conn, conn_id="infakt_default"):
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.mark.parametrize("kind", KINDS)
def test_deliver_records_exactly_one_delivery(infakt_emulator, monkeypatch, kind):
    use(monkeypatch, infakt_emulator.connection(**KINDS[kind]))
    hook = InfaktHook()
    delivery = hook.deliver_invoice(1, type="mail", doc_type="KOPIA")
    assert delivery.invoice_id == 1
    assert (delivery.type, delivery.doc_type, delivery.recipient_given) == ("mail", "KOPIA", False)
    assert delivery.api_version == KINDS[kind]["api_version"]
    recorded = [(d.invoice_id, d.type, d.doc_type, d.api_version) for d in infakt_emulator.deliveries]
    assert recorded == [(1, "mail", "KOPIA", KINDS[kind]["api_version"])]
    invoice = hook.get_invoice(1)
    assert (invoice.id, invoice.status) == (1, "sent")
    infakt_emulator.mark_paid(1)
    assert hook.get_invoice(1).status == "paid"


def test_xauth_exchange_happens_once_per_hook(infakt_emulator, monkeypatch):
    use(monkeypatch, infakt_emulator.connection(api_version="v2", auth="xauth"))
    hook = InfaktHook()
    hook.deliver_invoice(1, "mail", "org")
    hook.deliver_invoice(2, "mail", "org")
    hook.get_invoice(2)
    routes = [r.route for r in infakt_emulator.requests]
    assert routes == ["oauth.access_token", "v2.deliver", "v2.deliver", "v2.invoice"]


@pytest.mark.parametrize("kind", KINDS)
def test_test_connection_succeeds(infakt_emulator, monkeypatch, kind):
    use(monkeypatch, infakt_emulator.connection(**KINDS[kind]))
    ok, message = InfaktHook().test_connection()
    assert ok, message
    assert f"API {KINDS[kind]['api_version']}" in message
    assert "6 invoice(s) visible" in message
    assert infakt_emulator.deliveries == []


def test_test_connection_wrong_key(infakt_emulator, monkeypatch):
    use(monkeypatch, {**infakt_emulator.connection(), "password": "not-the-key"})
    ok, message = InfaktHook().test_connection()
    assert not ok
    assert message.startswith("inFakt rejected the API key (HTTP 401)")
    assert "not-the-key" not in message


def test_test_connection_wrong_signature(infakt_emulator, monkeypatch):
    use(monkeypatch, {**infakt_emulator.connection(api_version="v2"), "password": "wrong-consumer-secret"})
    ok, message = InfaktHook().test_connection()
    assert not ok
    assert message.startswith("inFakt rejected the OAuth credentials or signature (HTTP 401)")
    assert "Invalid OAuth signature" in message
    assert "wrong-consumer-secret" not in message


def test_test_connection_wrong_host(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conn = {
        "conn_type": "infakt",
        "host": f"http://127.0.0.1:{port}/api/v3",
        "password": "k",
        "extra": {"max_retries": 0},
    }
    use(monkeypatch, conn)
    ok, message = InfaktHook().test_connection()
    assert not ok
    assert message.startswith(f"Could not talk to inFakt at http://127.0.0.1:{port}/api/v3")


def test_test_connection_bad_config(monkeypatch):
    use(monkeypatch, {"conn_type": "infakt", "host": "", "password": "k", "extra": {"api_version": "v9"}})
    ok, message = InfaktHook().test_connection()
    assert not ok
    assert "extra.api_version='v9' is not one of 'v3', 'v2'" in message


def test_async_client_from_inside_an_event_loop(infakt_emulator, monkeypatch):
    use(monkeypatch, infakt_emulator.connection(api_version="v2", format="xml", auth="xauth"))
    infakt_emulator.mark_paid(3)

    async def read():
        client = await InfaktHook().get_async_client()
        try:
            return await client.get_invoice(3)
        finally:
            await client.aclose()

    invoice = asyncio.run(read())
    assert (invoice.id, invoice.status, invoice.raw_status) == (3, "paid", "zapłacona")


def test_unknown_outcome_is_not_resent(infakt_emulator, monkeypatch):
    use(monkeypatch, infakt_emulator.connection())
    infakt_emulator.fault("v3.deliver_via_email", drop="after")
    with pytest.raises(InfaktUnknownOutcome):
        InfaktHook().deliver_invoice(2, "mail", "org")
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]


def test_no_secret_in_logs_or_exceptions(infakt_emulator, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    for kind in KINDS.values():
        use(monkeypatch, infakt_emulator.connection(**kind))
        hook = InfaktHook()
        hook.log.info("settings: %r", hook.settings)
        hook.deliver_invoice(4, "mail", "d_kop", "buyer@firma.example")
        texts.append(repr(hook.get_client()) + repr(hook.settings))
    for conn in (
        {**infakt_emulator.connection(), "password": credentials.READONLY_API_KEY},
        {**infakt_emulator.connection(api_version="v2"), "password": "bad-secret-xyz"},
    ):
        use(monkeypatch, conn)
        with pytest.raises((InfaktAuthError,)) as raised:
            InfaktHook().deliver_invoice(1, "mail", "org")
        texts += [str(raised.value), repr(raised.value)]
    combined = caplog.text + "\n".join(texts)
    for secret in [*SECRETS, "bad-secret-xyz"]:
        assert secret not in combined
    # The customer's address travels in the v2 query string (the seed's design), so wire-level DEBUG
    # logs of HTTP libraries may show it; nothing at INFO or above, and no exception or repr, does.
    above_debug = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "buyer@firma.example" not in above_debug + "\n".join(texts)


def test_secrets_are_registered_with_the_masker(infakt_emulator, monkeypatch):
    from airflow_provider_infakt import _compat

    masked = []
    monkeypatch.setattr(_compat, "_mask_secret", lambda secret, name=None: masked.append(secret))
    use(monkeypatch, infakt_emulator.connection(api_version="v2", auth="xauth"))
    InfaktHook().settings  # noqa: B018 - reading the connection is the act under test
    assert set(masked) >= {credentials.CONSUMER_SECRET, credentials.XAUTH_PASSWORD}
    masked.clear()
    use(monkeypatch, infakt_emulator.connection(api_version="v2"))
    InfaktHook().settings  # noqa: B018
    assert set(masked) >= {credentials.CONSUMER_SECRET, credentials.TOKEN_SECRET}
