"""Both clients against the bundled inFakt emulator (docs/emulator-contract.md): real bytes, real OAuth,
real error bodies, faults. Sleeps are recorded, never slept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_infakt.api import (
    ApiKeyAuth,
    AsyncInfaktClient,
    ClientSettings,
    InfaktClient,
    OAuth1Auth,
    XAuth,
)
from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.testing import credentials

pytestmark = pytest.mark.timeout(60)


def settings_for(conn: dict[str, Any], **overrides: Any) -> ClientSettings:
    """ClientSettings from the emulator's connection dict (what the hook will do with a connection)."""
    extra = conn["extra"]
    version = extra["api_version"]
    if version == "v3":
        auth: Any = ApiKeyAuth(conn["password"])
    elif "xauth_username" in extra:
        auth = XAuth(conn["login"], conn["password"], extra["xauth_username"], extra["xauth_password"])
    else:
        auth = OAuth1Auth(conn["login"], conn["password"], extra["oauth_token"], extra["oauth_token_secret"])
    return ClientSettings(conn["host"], version, auth, format=extra.get("format", "json"), **overrides)


class Sleeps(list):  # type: ignore[type-arg]
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(emu: Any, sleeps: Sleeps | None = None, **options: Any) -> InfaktClient:
    overrides = options.pop("settings", {})
    return InfaktClient(
        settings_for(emu.connection(**options), **overrides), sleep=sleeps if sleeps is not None else Sleeps()
    )


def invoice_without_email(emu: Any) -> int:
    return next(i for i in range(1, 100) if emu.invoice(i).get("client_email") is None)


@pytest.mark.parametrize(
    "options",
    [
        {"api_version": "v2", "format": "json", "auth": "oauth"},
        {"api_version": "v2", "format": "xml", "auth": "oauth"},
        {"api_version": "v2", "format": "json", "auth": "xauth"},
        {"api_version": "v2", "format": "xml", "auth": "xauth"},
        {"api_version": "v3"},
    ],
    ids=["v2-json-oauth", "v2-xml-oauth", "v2-json-xauth", "v2-xml-xauth", "v3"],
)
def test_deliver_read_and_list(infakt_emulator, options):
    emu = infakt_emulator
    version = options["api_version"]
    with client(emu, **options) as api:
        delivery = api.deliver_invoice(1, "mail", "KOPIA")
        second = api.deliver_invoice("2", "mail", "d_org", "ksiegowa@example.com")
        invoice = api.get_invoice(1)
        everything = list(api.iter_invoices(page_size=2))
        sent = list(api.iter_invoices(status="sent"))
    assert delivery.to_dict() == {
        "invoice_id": 1,
        "type": "mail",
        "doc_type": "KOPIA",
        "api_version": version,
        "recipient_given": False,
    }
    assert second.invoice_id == 2 and second.recipient_given
    records = [(d.invoice_id, d.type, d.doc_type, d.recipient, d.api_version) for d in emu.deliveries]
    assert records == [
        (1, "mail", "KOPIA", None, version),
        (2, "mail", "d_org", "ksiegowa@example.com", version),
    ]
    assert invoice.id == 1 and invoice.status == "sent"
    assert invoice.raw_status == ("wysłana" if version == "v2" else "sent")
    assert len(everything) == len({i.id for i in everything}) >= 3
    assert {i.id for i in sent} >= {1, 2} and all(i.status == "sent" for i in sent)
    if options.get("auth") == "xauth":  # exchanged once, kept for the client's life
        assert [r.route for r in emu.requests].count("oauth.access_token") == 1


def test_v3_by_uuid_and_options(infakt_emulator):
    emu = infakt_emulator
    uuid = emu.invoice(3)["uuid"]
    with client(emu) as api:
        assert api.get_invoice(uuid).id == 3
        delivery = api.deliver_invoice(uuid, "mail", "org", locale="en", send_copy=True)
    assert delivery.invoice_id == uuid
    assert [d.invoice_id for d in emu.deliveries] == [3]


def test_async_client(infakt_emulator):
    emu = infakt_emulator

    async def main() -> list[Any]:
        results = []
        for options in ({"api_version": "v3"}, {"api_version": "v2", "format": "xml", "auth": "xauth"}):
            async with AsyncInfaktClient(settings_for(emu.connection(**options))) as api:
                results.append(await api.deliver_invoice(4, "mail", "org"))
                results.append(await api.get_invoice(4))
                results.append([i.id async for i in api.iter_invoices(page_size=4)])
        return results

    v3_delivery, v3_invoice, v3_ids, v2_delivery, v2_invoice, v2_ids = asyncio.run(main())
    assert v3_delivery.invoice_id == 4 and v2_delivery.invoice_id == 4
    assert v3_invoice.status == v2_invoice.status == "sent"
    assert v3_ids == v2_ids and len(v3_ids) >= 5
    assert [(d.invoice_id, d.api_version) for d in emu.deliveries] == [(4, "v3"), (4, "v2")]


# -- every exception class from a real emulator answer ------------------------------------------
def test_400_v2_no_postal_package(infakt_emulator):
    with (
        client(infakt_emulator, api_version="v2", format="xml") as api,
        pytest.raises(e.InfaktBadRequestError) as caught,
    ):
        api.deliver_invoice(1, "post", "org")
    assert "post" in caught.value.api_message.lower() and caught.value.request_echo.startswith("/api/v2/")
    assert infakt_emulator.deliveries == []


def test_400_v2_no_client_address(infakt_emulator):
    bare = invoice_without_email(infakt_emulator)
    with client(infakt_emulator, api_version="v2") as api, pytest.raises(e.InfaktBadRequestError):
        api.deliver_invoice(bare, "mail", "org")


def test_401_v3_wrong_key(infakt_emulator):
    settings = ClientSettings(infakt_emulator.url + "/api/v3", "v3", ApiKeyAuth("wrong-key"))
    with InfaktClient(settings) as api, pytest.raises(e.InfaktAuthError) as caught:
        api.get_invoice(1)
    assert type(caught.value) is e.InfaktAuthError and "wrong-key" not in str(caught.value)


def test_401_v2_wrong_signature(infakt_emulator):
    auth = OAuth1Auth(credentials.CONSUMER_KEY, "not-the-secret", credentials.ACCESS_TOKEN, credentials.TOKEN_SECRET)
    settings = ClientSettings(infakt_emulator.url + "/api/v2", "v2", auth)
    with InfaktClient(settings) as api, pytest.raises(e.InfaktAuthError) as caught:
        api.deliver_invoice(1, "mail", "org")
    assert "not-the-secret" not in str(caught.value)
    assert infakt_emulator.deliveries == []


def test_401_xauth_wrong_password(infakt_emulator):
    auth = XAuth(credentials.CONSUMER_KEY, credentials.CONSUMER_SECRET, credentials.XAUTH_USERNAME, "bad-pass")
    settings = ClientSettings(infakt_emulator.url + "/api/v2", "v2", auth)
    with InfaktClient(settings) as api, pytest.raises(e.InfaktAuthError) as caught:
        api.get_invoice(1)
    assert "bad-pass" not in str(caught.value) and credentials.XAUTH_USERNAME not in str(caught.value)


def test_402_v3_post_without_package(infakt_emulator):
    with client(infakt_emulator) as api, pytest.raises(e.InfaktPaymentRequiredError):
        api.deliver_invoice(1, "post", "org")


def test_403_v3_read_only_key(infakt_emulator):
    with client(infakt_emulator, scope="read") as api:
        assert api.get_invoice(1).id == 1
        with pytest.raises(e.InfaktForbiddenError) as caught:
            api.deliver_invoice(1, "mail", "org")
    assert isinstance(caught.value, e.InfaktAuthError) and "write" in caught.value.api_message


@pytest.mark.parametrize("options", [{"api_version": "v3"}, {"api_version": "v2", "format": "xml"}])
def test_404(infakt_emulator, options):
    with client(infakt_emulator, **options) as api:
        with pytest.raises(e.InfaktNotFoundError):
            api.deliver_invoice(99999, "mail", "org")
        with pytest.raises(e.InfaktNotFoundError):
            api.get_invoice(99999)


def test_422_v3_no_client_address(infakt_emulator):
    bare = invoice_without_email(infakt_emulator)
    with client(infakt_emulator) as api, pytest.raises(e.InfaktUnprocessableError) as caught:
        api.deliver_invoice(bare, "mail", "org")
    assert caught.value.api_message or caught.value.errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [(406, e.InfaktNotAcceptableError), (423, e.InfaktLockedError), (501, e.InfaktServerError)],
)
def test_fault_statuses(infakt_emulator, status, cls):
    infakt_emulator.fault("v3.invoice", status=status)
    with client(infakt_emulator) as api, pytest.raises(cls) as caught:
        api.get_invoice(1)
    assert caught.value.api_message == f"Emulated fault: HTTP {status}"


# -- faults: rate limits, unknown outcomes, redirects -------------------------------------------
@pytest.mark.parametrize("route", ["v3.deliver_via_email", "v2.deliver"])
def test_429_then_success(infakt_emulator, route):
    emu = infakt_emulator
    emu.fault(route, status=429, times=2)
    sleeps = Sleeps()
    options = {"api_version": "v3"} if route.startswith("v3") else {"api_version": "v2", "format": "xml"}
    with client(emu, sleeps, **options) as api:
        assert api.deliver_invoice(1, "mail", "org").invoice_id == 1
    assert len(sleeps) == 2 and len(emu.deliveries) == 1


def test_429_until_out_of_retries(infakt_emulator):
    infakt_emulator.fault("v3.invoice", status=429, times=None)
    sleeps = Sleeps()
    with (
        client(infakt_emulator, sleeps, settings={"max_retries": 2}) as api,
        pytest.raises(e.InfaktRateLimitedError) as caught,
    ):
        api.get_invoice(1)
    assert len(sleeps) == 2 and caught.value.retryable
    infakt_emulator.clear_faults()


def test_503_with_retry_after_is_waited_out_by_a_read(infakt_emulator):
    emu = infakt_emulator
    emu.fault("v3.invoice", status=503, retry_after=7)
    sleeps = Sleeps()
    with client(emu, sleeps) as api:
        assert api.get_invoice(1).id == 1
    assert sleeps == [7.0]


@pytest.mark.parametrize("route", ["v3.deliver_via_email", "v2.deliver"])
def test_503_on_a_deliver_is_an_unknown_outcome_sent_once(infakt_emulator, route):
    """A proxy, load balancer or CDN may answer 503 after inFakt acted: never resend."""
    emu = infakt_emulator
    emu.fault(route, status=503, retry_after=7, times=None)
    sleeps = Sleeps()
    options = {"api_version": "v3"} if route.startswith("v3") else {"api_version": "v2", "format": "xml"}
    with client(emu, sleeps, **options) as api, pytest.raises(e.InfaktUnknownOutcome) as caught:
        api.deliver_invoice(1, "mail", "KOPIA")
    assert caught.value.status == 503 and sleeps == []
    assert [r.route for r in emu.requests].count(route) == 1
    emu.clear_faults()


def test_the_emulators_limits_refuse_the_301st_get_of_a_minute(infakt_emulator):
    """The emulator's limiter (inFakt's documented 300 GET a minute), met by a client with no limiter of
    its own; the client's limiter has its own tests in test_client_limits.py."""
    emu = infakt_emulator
    emu.set_limits(enabled=True, time_scale=1.0)  # a real minute: 300 requests take far less
    sleeps = Sleeps()
    with client(emu, sleeps, settings={"max_retries": 0, "rate_limit": None}) as api:
        for _ in range(300):
            api.get_invoice(1)
        with pytest.raises(e.InfaktRateLimitedError) as caught:
            api.get_invoice(1)
    assert "300 GET requests a minute" in caught.value.api_message
    assert [r.status for r in emu.requests] == [200] * 300 + [429]
    assert sleeps == []  # the client did not wait: it has no limiter here


@pytest.mark.parametrize(
    "options",
    [{"api_version": "v3"}, {"api_version": "v2", "format": "json"}, {"api_version": "v2", "format": "xml"}],
)
def test_drop_after_processing_is_an_unknown_outcome(infakt_emulator, options):
    emu = infakt_emulator
    route = "v3.deliver_via_email" if options["api_version"] == "v3" else "v2.deliver"
    emu.fault(route, drop="after")
    with client(emu, **options) as api, pytest.raises(e.InfaktUnknownOutcome) as caught:
        api.deliver_invoice(1, "mail", "org")
    assert len(emu.deliveries) == 1  # it did happen, and it was not sent twice
    assert "not resent" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_deliver_5xx_is_unknown_and_sent_once(infakt_emulator, status):
    emu = infakt_emulator
    emu.fault("v3.deliver_via_email", status=status)
    with client(emu) as api, pytest.raises(e.InfaktUnknownOutcome):
        api.deliver_invoice(1, "mail", "org")
    assert [r.route for r in emu.requests].count("v3.deliver_via_email") == 1


def test_read_survives_a_drop_and_a_500(infakt_emulator):
    emu = infakt_emulator
    emu.fault("v3.invoice", drop="before")
    emu.fault("v3.invoice", status=500)
    with client(emu) as api:
        assert api.get_invoice(1).id == 1


def test_no_key_header_across_a_redirect(infakt_emulator):
    from .localserver import scripted_server

    emu = infakt_emulator
    with scripted_server() as elsewhere:
        emu.fault("v3.deliver_via_email", redirect_to=elsewhere.url + "/api/v3/invoices/1/deliver_via_email.json")
        with client(emu) as api, pytest.raises(e.InfaktUnknownOutcome) as unknown:
            api.deliver_invoice(1, "mail", "org")  # a deliver is never sent again, not even to follow
        emu.fault("v3.invoice", redirect_to=elsewhere.url + "/api/v3/invoices/1.json")
        with client(emu) as api, pytest.raises(e.InfaktRedirectError):
            api.get_invoice(1)
        assert elsewhere.seen == []
    assert emu.deliveries == [] and unknown.value.status == 307
    emu.fault("v2.invoice", redirect_to="http://localhost:1/api/v2/invoices/1.json")
    with client(emu, api_version="v2") as api, pytest.raises(e.InfaktRedirectError) as caught:
        api.get_invoice(1)
    assert credentials.CONSUMER_SECRET not in str(caught.value)
