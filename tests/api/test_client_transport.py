"""Transport behaviour of both clients against a scripted local HTTP server: retries, unknown outcomes,
redirects, the size cap. Every test runs with the sync client and the async one; sleeps are recorded,
never slept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_infakt.api import ApiKeyAuth, AsyncInfaktClient, ClientSettings, InfaktClient
from airflow_provider_infakt.api import errors as e

from .localserver import Reply, closed_port, scripted_server

KEY = "transport-test-key"
INVOICE = json.dumps({"id": 1, "uuid": "u-1", "number": "1/2026", "status": "sent"}).encode()


def settings(url: str, **kwargs: Any) -> ClientSettings:
    kwargs.setdefault("timeout", (2.0, 2.0))
    return ClientSettings(url + "/api/v3", "v3", ApiKeyAuth(KEY), **kwargs)


class Runner:
    """Calls a client method through the sync or the async client, recording requested sleeps."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sleeps: list[float] = []

    def __call__(self, config: ClientSettings, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            with InfaktClient(config, sleep=self.sleeps.append) as client:
                result = getattr(client, method)(*args, **kwargs)
                return list(result) if method == "iter_invoices" else result

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        async def main() -> Any:
            async with AsyncInfaktClient(config, sleep=sleep) as client:
                if method == "iter_invoices":
                    return [i async for i in client.iter_invoices(*args, **kwargs)]
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(main())


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Callable[..., Any]:
    return Runner(request.param)


def test_deliver_success_and_headers(run):
    with scripted_server() as server:
        server.default = Reply(202, body=b"")
        delivery = run(settings(server.url), "deliver_invoice", 7, "mail", "KOPIA", locale="pl")
        assert delivery.invoice_id == 7 and delivery.doc_type == "KOPIA"
        (seen,) = server.seen
        assert (seen.method, seen.path) == ("POST", "/api/v3/invoices/7/deliver_via_email.json")
        assert seen.headers["X-inFakt-ApiKey"] == KEY
        assert json.loads(seen.body) == {"print_type": "copy", "locale": "pl"}


def test_429_then_success_honours_retry_after(run):
    with scripted_server() as server:
        server.script = [Reply(429, {"Retry-After": "4"}, b'{"error": "slow down"}'), Reply(202, body=b"")]
        run(settings(server.url), "deliver_invoice", 1, "mail", "org")
        assert len(server.seen) == 2 and run.sleeps == [4.0]


def test_rate_limited_until_out_of_retries(run):
    with scripted_server() as server:
        server.default = Reply(503, body=b'{"error": "busy"}')
        with pytest.raises(e.InfaktRateLimitedError) as caught:
            run(settings(server.url, max_retries=2), "get_invoice", 1)
        assert len(server.seen) == 3 and len(run.sleeps) == 2
        assert caught.value.api_message == "busy" and caught.value.retryable


@pytest.mark.parametrize("status", [500, 502, 504])
def test_deliver_5xx_is_not_resent(run, status):
    with scripted_server() as server:
        server.default = Reply(status, body=b'{"error": "oops"}')
        with pytest.raises(e.InfaktUnknownOutcome) as caught:
            run(settings(server.url), "deliver_invoice", 1, "mail", "org")
        assert len(server.seen) == 1 and run.sleeps == []
        assert caught.value.status == status


@pytest.mark.parametrize(
    "reply",
    [
        Reply(503, {"Retry-After": "1"}, b'{"error": "busy"}'),
        Reply(503, {"Content-Type": "text/html"}, b"<html>Service Unavailable</html>"),
        Reply(404, {"Content-Type": "text/html"}, b"<html>gateway: no route</html>"),
        Reply(403, {}, b""),
        Reply(409, {}, b'{"error": "conflict"}'),
        Reply(202, {"Content-Type": "text/html"}, b"<html>Welcome to the captive portal</html>"),
        Reply(203, {}, b""),
        Reply(307, {"Location": "/api/v3/invoices/1/deliver_via_email.json"}, b""),
    ],
    ids=["503", "503-html", "404-html", "403-empty", "409", "202-html", "203", "307-same-origin"],
)
def test_deliver_answers_that_prove_nothing_are_unknown_and_never_resent(run, reply):
    with scripted_server() as server:
        server.default = reply
        with pytest.raises(e.InfaktError) as caught:
            run(settings(server.url), "deliver_invoice", 1, "mail", "org")
        assert isinstance(caught.value, e.InfaktUnknownOutcome), repr(caught.value)
        assert caught.value.status == reply.status and f"HTTP {reply.status}" in str(caught.value)
        assert len(server.seen) == 1 and run.sleeps == []


@pytest.mark.parametrize("action", ["answer", "stream"])  # with and without Content-Length
def test_deliver_answer_over_the_size_cap_is_unknown(run, action):
    with scripted_server() as server:
        server.default = Reply(202, body=b'{"pad": "' + b"x" * 5000 + b'"}', action=action)
        with pytest.raises(e.InfaktUnknownOutcome) as caught:
            run(settings(server.url, max_response_bytes=2048), "deliver_invoice", 1, "mail", "org")
        assert caught.value.status == 202 and "2048" in str(caught.value)
        assert len(server.seen) == 1


def test_deliver_429_is_retried_whatever_the_body(run):
    with scripted_server() as server:
        server.script = [Reply(429, {"Content-Type": "text/html"}, b"<html>Too Many Requests</html>")]
        server.default = Reply(202, body=b"")
        assert run(settings(server.url), "deliver_invoice", 1, "mail", "org").invoice_id == 1
        assert len(server.seen) == 2 and len(run.sleeps) == 1


def test_reads_retry_503_honouring_retry_after(run):
    with scripted_server() as server:
        server.script = [Reply(503, {"Retry-After": "2"}, b"<html>busy</html>"), Reply(200, body=INVOICE)]
        assert run(settings(server.url), "get_invoice", 1).id == 1
        assert len(server.seen) == 2 and run.sleeps == [2.0]


def test_reads_retry_5xx(run):
    with scripted_server() as server:
        server.script = [Reply(502, body=b"<html>bad gateway</html>"), Reply(200, body=INVOICE)]
        invoice = run(settings(server.url), "get_invoice", 1)
        assert invoice.status == "sent" and len(server.seen) == 2 and len(run.sleeps) == 1


def test_deliver_dropped_after_sending_is_unknown_and_not_resent(run):
    with scripted_server() as server:
        server.script = [Reply(action="drop")]
        with pytest.raises(e.InfaktUnknownOutcome):
            run(settings(server.url), "deliver_invoice", 1, "mail", "org")
        assert len(server.seen) == 1


def test_read_dropped_is_retried(run):
    with scripted_server() as server:
        server.script = [Reply(action="drop"), Reply(200, body=INVOICE)]
        assert run(settings(server.url), "get_invoice", 1).id == 1
        assert len(server.seen) == 2


def test_deliver_read_timeout_is_unknown(run):
    with scripted_server() as server:
        server.script = [Reply(action="stall")]
        with pytest.raises(e.InfaktUnknownOutcome) as caught:
            run(settings(server.url, timeout=(2.0, 0.2)), "deliver_invoice", 1, "mail", "org")
        assert len(server.seen) == 1 and caught.value.status is None


def test_connection_refused_is_retried_then_raised(run):
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(e.InfaktConnectionError) as caught:
        run(settings(url, max_retries=2), "deliver_invoice", 1, "mail", "org")
    assert caught.value.retryable and "nothing was sent" in str(caught.value)
    assert len(run.sleeps) == 2


def test_cross_origin_redirect_is_refused_and_the_key_stays_home(run):
    with scripted_server() as evil, scripted_server() as server:
        server.default = Reply(307, {"Location": evil.url + "/steal"}, b"")
        with pytest.raises(e.InfaktRedirectError) as caught:
            run(settings(server.url), "get_invoice", 1)
        assert evil.seen == [] and len(server.seen) == 1
        assert KEY not in str(caught.value)
        localhost = server.url.replace("127.0.0.1", "localhost")  # same port, other host name
        server.default = Reply(302, {"Location": localhost + "/api/v3/invoices/1.json"}, b"")
        with pytest.raises(e.InfaktRedirectError):
            run(settings(server.url), "get_invoice", 1)


def test_same_origin_redirect_is_followed(run):
    with scripted_server() as server:
        server.script = [Reply(301, {"Location": "/api/v3/invoices/2.json"}, b""), Reply(200, body=INVOICE)]
        assert run(settings(server.url), "get_invoice", 1).id == 1
        assert [s.path for s in server.seen] == ["/api/v3/invoices/1.json", "/api/v3/invoices/2.json"]
        assert server.seen[1].headers["X-inFakt-ApiKey"] == KEY


@pytest.mark.parametrize("action", ["answer", "stream"])  # with and without Content-Length
def test_response_size_cap(run, action):
    with scripted_server() as server:
        server.default = Reply(200, body=b'{"id": 1, "pad": "' + b"x" * 5000 + b'"}', action=action)
        with pytest.raises(e.InfaktResponseTooLargeError) as caught:
            run(settings(server.url, max_response_bytes=2048), "get_invoice", 1)
        assert caught.value.limit == 2048


def test_iter_invoices_pages_through(run):
    def page(ids: list[int], has_next: bool) -> Reply:
        body = {
            "metainfo": {"count": len(ids), "total_count": 3, "next": "x" if has_next else None},
            "entities": [{"id": i, "status": "paid"} for i in ids],
        }
        return Reply(200, body=json.dumps(body).encode())

    with scripted_server() as server:
        server.script = [page([1, 2], True), page([3], False)]
        invoices = run(settings(server.url), "iter_invoices", status="paid", page_size=2)
        assert [i.id for i in invoices] == [1, 2, 3]
        assert [s.path for s in server.seen] == [
            "/api/v3/invoices.json?offset=0&limit=2&q%5Bstatus_eq%5D=paid",
            "/api/v3/invoices.json?offset=2&limit=2&q%5Bstatus_eq%5D=paid",
        ]


def test_validation_costs_no_request(run):
    with scripted_server() as server:
        with pytest.raises(e.InfaktValidationError):
            run(settings(server.url), "deliver_invoice", 1, "mail", "org_kop")
        assert server.seen == []


def test_client_repr_has_no_key():
    config = settings("http://127.0.0.1:1")
    with InfaktClient(config) as client:
        assert KEY not in repr(client) and KEY not in repr(client.settings)


def test_http_library_logs_mask_the_recipient(run, caplog):
    import logging

    from .conftest import v2_settings

    caplog.set_level(logging.DEBUG)
    with scripted_server() as server:
        server.default = Reply(200, body=b'{"invoice":{"invoice_id":1}}')
        config = v2_settings(base=server.url + "/api/v2")
        run(config, "deliver_invoice", 1, "mail", "org", "jan.kowalski@example.com")
        assert "jan.kowalski%40example.com" in server.seen[0].path  # it was sent...
    assert "kowalski" not in caplog.text  # ...but not logged
    assert "test-consumer-secret" not in caplog.text and "test-token-secret" not in caplog.text


def _sync_ssl_error(reason: BaseException) -> BaseException:
    import requests
    import urllib3

    return requests.exceptions.SSLError(
        urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.SSLError(reason))  # type: ignore[arg-type]
    )


def _async_error(cls_name: str, cause: BaseException) -> BaseException:
    import httpx

    error = getattr(httpx, cls_name)("boom")
    error.__cause__ = cause
    return error


def test_tls_failures_count_as_nothing_sent_only_when_they_happen_in_the_handshake():
    """A certificate that does not verify stops the handshake: nothing was sent. Any other TLS error may
    come after the request went out (while reading the answer): on a deliver that proves nothing."""
    import ssl

    from airflow_provider_infakt.api import aio, client

    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    mid_stream = ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] decryption failed")
    assert client._classify(_sync_ssl_error(verify)) == "fatal"
    assert client._classify(_sync_ssl_error(mid_stream)) == "maybe_sent"
    assert aio._classify(_async_error("ConnectError", verify)) == "fatal"
    assert aio._classify(_async_error("ConnectError", ssl.SSLError(1, "wrong version number"))) == "fatal"
    assert aio._classify(_async_error("ReadError", mid_stream)) == "maybe_sent"
    assert aio._classify(_async_error("ReadError", verify)) == "maybe_sent"
