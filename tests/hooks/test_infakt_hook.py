"""InfaktHook against the emulator over HTTP, for every connection kind."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import socket

import pytest

from airflow_provider_infakt.api import (
    InfaktAuthError,
    InfaktLookupError,
    InfaktUnknownOutcome,
    InfaktValidationError,
)
from airflow_provider_infakt.api.errors import InfaktUnprocessableError
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


# -- finding invoices, marking them paid (issue 11, item 7) ------------------------------------------
def _month(emu):
    """Invoices 7-11 of clients 2 and 3 around November 2025 (the seeded 1-6 are dated today)."""
    for client_id, day, number in [
        (2, "2025-10-31", "FV/7/2025"),
        (2, "2025-11-01", "FV/8/2025"),
        (3, "2025-11-15", "FV/9/2025"),
        (2, "2025-11-30", "FV/10/2025"),
        (2, "2025-12-01", "FV/11/2025"),
    ]:
        emu.create_invoice(client_id=client_id, invoice_date=day, number=number)
    emu.account.mark_paid(8, "2025-11-10")


@pytest.mark.parametrize("kind", KINDS)
def test_iter_invoices_filters_by_status_client_and_dates(infakt_emulator, monkeypatch, kind):
    _month(infakt_emulator)
    use(monkeypatch, infakt_emulator.connection(**KINDS[kind]))
    hook = InfaktHook()
    november = {"invoice_date_from": "2025-11-01", "invoice_date_to": dt.date(2025, 11, 30)}
    assert [i.id for i in hook.iter_invoices(**november)] == [8, 9, 10]
    assert [i.id for i in hook.iter_invoices(client_id=2, **november)] == [8, 10]
    assert [i.id for i in hook.iter_invoices("draft", client_id="2", **november)] == [10]
    assert [i.id for i in hook.iter_invoices(paid_date_from="2025-11-01", page_size=1)] == [8]
    assert [i.id for i in hook.iter_invoices(id_from=9, id_to=10)] == [9, 10]
    assert [i.number for i in hook.iter_invoices(number="FV/9/2025")] == ["FV/9/2025"]


def test_v3_filters_go_to_infakt_as_its_own_predicates(infakt_emulator, monkeypatch):
    _month(infakt_emulator)
    use(monkeypatch, infakt_emulator.connection(api_version="v3"))
    listed = list(InfaktHook().iter_invoices("paid", client_id=2, invoice_date_from="2025-11-01", page_size=50))
    assert [i.id for i in listed] == [8]
    (request,) = infakt_emulator.requests
    assert request.path == (
        "/api/v3/invoices.json?offset=0&limit=50&q%5Bstatus_eq%5D=paid&q%5Bclient_id_eq%5D=2"
        "&q%5Binvoice_date_gteq%5D=2025-11-01"
    )


def test_get_invoice_by_number_finds_exactly_one(infakt_emulator, monkeypatch):
    _month(infakt_emulator)
    use(monkeypatch, infakt_emulator.connection(api_version="v3"))
    hook = InfaktHook()
    invoice = hook.get_invoice_by_number("FV/8/2025")
    assert (invoice.id, invoice.invoice_id, invoice.status, invoice.paid_date) == (8, 8, "paid", "2025-11-10")
    assert [r.path for r in infakt_emulator.requests] == [
        "/api/v3/invoices.json?offset=0&limit=100&q%5Bnumber_eq%5D=FV%2F8%2F2025"
    ]


@pytest.mark.parametrize("kind", ["v3", "v2-xml-oauth"])
def test_get_invoice_by_number_none_or_two_is_a_clear_lookup_error(infakt_emulator, monkeypatch, kind):
    _month(infakt_emulator)
    infakt_emulator.create_invoice(number="FV/8/2025")  # 12: the same number twice
    use(monkeypatch, infakt_emulator.connection(**KINDS[kind]))
    hook = InfaktHook()
    with pytest.raises(InfaktLookupError, match=r"no invoice is numbered 'FV/99/2025'") as none:
        hook.get_invoice_by_number("FV/99/2025")
    assert none.value.matches == ()
    with pytest.raises(InfaktLookupError, match=r"2 invoices are numbered 'FV/8/2025' \(ids 8, 12\)") as two:
        hook.get_invoice_by_number("FV/8/2025")
    assert two.value.matches == (8, 12)
    assert isinstance(two.value, LookupError)


def test_a_hostile_number_stays_one_value(infakt_emulator, monkeypatch):
    # from dag_run.conf: it must not add a filter (status) nor drop one (number)
    _month(infakt_emulator)
    use(monkeypatch, infakt_emulator.connection(api_version="v3"))
    with pytest.raises(InfaktLookupError, match="no invoice is numbered"):
        InfaktHook().get_invoice_by_number("FV/8/2025&q[status_eq]=paid")
    (request,) = infakt_emulator.requests
    assert request.path.endswith("q%5Bnumber_eq%5D=FV%2F8%2F2025%26q%5Bstatus_eq%5D%3Dpaid")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda h: list(h.iter_invoices("payed")), "status"),
        (lambda h: list(h.iter_invoices("unpaid")), "status"),  # v3 has no 'unpaid'
        (lambda h: list(h.iter_invoices(client_id=-3)), "client_id"),
        (lambda h: list(h.iter_invoices(client_id=True)), "client_id"),
        (lambda h: list(h.iter_invoices(invoice_date_from="01.11.2025")), "invoice_date_from"),
        (lambda h: list(h.iter_invoices(paid_date_to=dt.datetime(2025, 11, 1))), "paid_date_to"),
        (lambda h: list(h.iter_invoices(sale_date_from="2025-11-02", sale_date_to="2025-11-01")), "sale_date_from"),
        (lambda h: list(h.iter_invoices(number="")), "number"),
        (lambda h: list(h.iter_invoices(number="FV\n1")), "number"),
        (lambda h: list(h.get_client().iter_invoices(client=2)), "filters"),
        (lambda h: h.get_invoice_by_number(None), "number"),
        (lambda h: h.mark_paid(0), "invoice_id"),
        (lambda h: h.mark_paid(3, "tomorrow"), "paid_date"),
        (lambda h: h.mark_paid(3, dt.datetime(2026, 1, 1, 12)), "paid_date"),
    ],
)
def test_bad_filters_are_refused_before_any_request(infakt_emulator, monkeypatch, call, field):
    use(monkeypatch, infakt_emulator.connection(api_version="v3"))
    with pytest.raises(InfaktValidationError) as caught:
        call(InfaktHook())
    assert caught.value.field == field
    assert field.split("_")[0] in str(caught.value)
    assert infakt_emulator.requests == []


def test_an_unknown_filter_names_the_allowed_ones(infakt_emulator, monkeypatch):
    use(monkeypatch, infakt_emulator.connection(api_version="v3"))
    with pytest.raises(InfaktValidationError, match=r"unknown invoice filter 'invoice_date_form'.*did you mean") as c:
        InfaktHook().get_client().iter_invoices(invoice_date_form="2025-11-01")
    assert "invoice_date_from" in c.value.allowed and "paid_date_to" in str(c.value)
    assert infakt_emulator.requests == []


def test_mark_paid_on_v3(infakt_emulator, monkeypatch):
    infakt_emulator.create_invoice(invoice_date="2025-11-02")  # 7
    use(monkeypatch, infakt_emulator.connection(api_version="v3"))
    hook = InfaktHook()
    payment = hook.mark_paid(7, dt.date(2025, 11, 20))
    assert payment.to_dict() == {"invoice_id": 7, "paid_date": "2025-11-20", "api_version": "v3"}
    assert (hook.get_invoice(7).status, hook.get_invoice(7).paid_date) == ("paid", "2025-11-20")
    today = hook.mark_paid("3")
    assert (today.invoice_id, today.paid_date) == (3, None)
    assert infakt_emulator.invoice(3)["paid_date"] == dt.date.today().isoformat()
    with pytest.raises(InfaktUnprocessableError, match="not be earlier than the invoice date"):
        hook.mark_paid(7, "2025-11-01")
    assert [(r.method, r.route, r.status) for r in infakt_emulator.requests if r.method == "POST"] == [
        ("POST", "v3.paid", 204),
        ("POST", "v3.paid", 204),
        ("POST", "v3.paid", 422),
    ]


def test_mark_paid_on_v2_is_refused_before_any_request(infakt_emulator, monkeypatch):
    use(monkeypatch, infakt_emulator.connection(api_version="v2"))
    with pytest.raises(InfaktValidationError, match="mark_paid needs API v3") as caught:
        InfaktHook().mark_paid(3)
    assert caught.value.field == "api_version"
    assert infakt_emulator.requests == []


@pytest.mark.parametrize("kind", ["v3", "v2-json-oauth"])
def test_every_result_names_its_invoice_invoice_id(infakt_emulator, monkeypatch, kind):
    use(monkeypatch, infakt_emulator.connection(**KINDS[kind]))
    hook = InfaktHook()
    delivery = hook.deliver_invoice(2, "mail", "org")
    invoice = hook.get_invoice(2)
    (listed,) = hook.iter_invoices(id_from=2, id_to=2)
    assert delivery.invoice_id == invoice.invoice_id == listed.invoice_id == invoice.id == 2
    assert invoice.to_dict()["invoice_id"] == 2
