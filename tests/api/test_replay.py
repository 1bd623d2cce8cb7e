"""A proxy that resends a v2 deliver (a GET) reaches inFakt twice with one OAuth nonce: inFakt refuses
the copy with 401 "nonce already used", and that refusal must not pass for "nothing was sent"."""

from __future__ import annotations

import json

import pytest

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p
from airflow_provider_infakt.testing import FaultProxy

from .conftest import v2_settings


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_replayed_v2_deliver_is_an_unknown_outcome(infakt_emulator, monkeypatch, fmt):
    from airflow_provider_infakt.hooks.infakt import InfaktHook
    from airflow_provider_infakt.testing import connection_for

    with FaultProxy(infakt_emulator.url) as proxy:
        conn = connection_for(proxy.url, api_version="v2", format=fmt)
        monkeypatch.setenv("AIRFLOW_CONN_INFAKT_DEFAULT", json.dumps(conn))
        proxy.fault("v2.deliver", kind="replay")
        with InfaktHook().get_client() as client, pytest.raises(e.InfaktUnknownOutcome) as raised:
            client.deliver_invoice(2, "mail", "org")
    assert "nonce" in str(raised.value)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [2]  # the first copy went out
    assert [r.status for r in infakt_emulator.requests if r.route == "v2.deliver"] == [200, 401]


def test_other_401s_on_a_deliver_still_prove_nothing_was_sent():
    request = p.build_deliver(v2_settings("json"), 1, "mail", "org", None, None, None)
    body = json.dumps({"message": "Invalid OAuth signature", "request": "/api/v2/invoices/deliver.json"}).encode()
    error = p.error_for(request, 401, {"Content-Type": "application/json"}, body)
    assert isinstance(error, e.InfaktAuthError)
    replay = json.dumps({"message": "oauth_nonce already used", "request": "/api/v2/..."}).encode()
    assert isinstance(p.error_for(request, 401, {"Content-Type": "application/json"}, replay), e.InfaktUnknownOutcome)
