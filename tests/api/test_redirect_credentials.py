"""Finding 7: credentials never reach another host, whatever a redirect's ``Location`` says.

Two scripted servers on two ports of 127.0.0.1: the configured one answers with a redirect whose
``Location`` is crafted to be read one way by one URL parser and another way by the next (backslashes,
``@`` in userinfo, tabs, ``//host``, IPv6 brackets, percent-encoded host characters, odd ports). The
other one stands ready to answer like inFakt would. Whatever the client does with the redirect
(follow it, refuse it), no request carrying ``X-inFakt-ApiKey``, an OAuth ``Authorization`` header or
the xAuth password may ever reach the second port, with the sync client or the async one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_infakt.api import ApiKeyAuth, ClientSettings, OAuth1Auth, XAuth
from airflow_provider_infakt.api import errors as e

from .localserver import Reply, ScriptedServer, scripted_server
from .test_client_transport import Runner

KEY = "redirect-test-api-key"
PASSWORD = "redirect-test-xauth-password"
INVOICE_V3 = json.dumps({"id": 1, "uuid": "u-1", "number": "1/2026", "status": "sent"}).encode()
INVOICE_V2 = json.dumps({"invoice": {"invoice_id": 1, "number": "1/2026", "status": "szkic"}}).encode()
TOKEN = b"oauth_token=t&oauth_token_secret=s"


def crafted(a: int, b: int) -> list[str]:
    """Locations that point at port ``b`` while looking, to some parser, as if they pointed at ``a``."""
    here, there = f"127.0.0.1:{a}", f"127.0.0.1:{b}"
    return [
        f"http://{there}/api/v3/invoices/1.json",
        f"http://{there}\\@{here}/api/v3/invoices/1.json",
        f"http://{here}\\@{there}/api/v3/invoices/1.json",
        f"http://{there}\\\\@{here}/",
        f"http://{there}\\/@{here}/",
        f"http://x@{there}/",
        f"http://{here}@{there}/",
        f"http://{here}:@{there}/",
        f"http://{there}#@{here}/",
        f"http://{there}?@{here}/",
        f"http://{there};@{here}/",
        f"http://{there}\t@{here}/",
        f"http://{here}\t@{there}/",
        f"http://{there}%09@{here}/",
        f"http://{there}%5C@{here}/",
        f"http://127.0.0.1%3A{b}@{here}/",
        f"http://127.0.0.1%3A{b}/",
        f"//{there}/api/v3/invoices/1.json",
        f"///{there}/api/v3/invoices/1.json",
        f"/\\{there}/api/v3/invoices/1.json",
        f"\\\\{there}/api/v3/invoices/1.json",
        f"http:\\\\{there}/",
        f"http:/{there}/",
        f"http:{there}/",
        f"HTTP://{there}/",
        f" http://{there}/",
        f"http://127.0.0.1:0{b}/",
        f"http://127.0.0.1:{a}:{b}/",
        f"http://127.0.0.1:{b}x/",
        f"http://127.0.0.1:{a}x@127.0.0.1:{b}/",
        f"http://127.0.0.1:+{b}/",
        f"http://127.0.0.1:{b}\u200b/",
        f"http://[::ffff:127.0.0.1]:{b}/",
        f"http://[127.0.0.1:{b}]@{here}/",
        f"http://{here}[@127.0.0.1:{b}/",
        f"http://localhost:{b}/",
        f"http://127.1:{b}/",
        f"http://2130706433:{b}/",
        f"http://127.0.0.1\u3002:{b}/",
        f"http://{there}/%2e%2e/",
    ]


def two_servers() -> tuple[Any, Any]:
    return scripted_server(), scripted_server()


def leaked(server: ScriptedServer) -> list[str]:
    """What of ours reached ``server``: credential headers and the xAuth password."""
    found = []
    for seen in server.seen:
        headers = {k.lower(): v for k, v in seen.headers.items()}
        if "x-infakt-apikey" in headers:
            found.append(f"{seen.method} {seen.path}: X-inFakt-ApiKey")
        if "authorization" in headers:
            found.append(f"{seen.method} {seen.path}: Authorization")
        if PASSWORD.encode() in seen.body or b"x_auth_password" in seen.body:
            found.append(f"{seen.method} {seen.path}: xAuth password")
    return found


def run_case(mode: str, flavour: str, location_for: int) -> tuple[list[str], BaseException | None]:
    run = Runner(mode)
    with scripted_server() as home, scripted_server() as elsewhere:
        port = int(home.url.rsplit(":", 1)[1])
        other = int(elsewhere.url.rsplit(":", 1)[1])
        location = crafted(port, other)[location_for]
        if flavour == "v3":
            config = ClientSettings(home.url + "/api/v3", "v3", ApiKeyAuth(KEY), timeout=(2.0, 2.0), max_retries=0)
            home.script = [Reply(302, {"Location": location}, b"")]
            home.default = elsewhere.default = Reply(200, {"Content-Type": "application/json"}, INVOICE_V3)
        elif flavour == "v2-oauth":
            auth: Any = OAuth1Auth("ck", "cs", "tok", "tok-secret")
            config = ClientSettings(home.url + "/api/v2", "v2", auth, timeout=(2.0, 2.0), max_retries=0)
            home.script = [Reply(302, {"Location": location}, b"")]
            home.default = elsewhere.default = Reply(200, {"Content-Type": "application/json"}, INVOICE_V2)
        else:  # xAuth: the password travels in the body of a POST, which follows 307
            auth = XAuth("ck", "cs", "user@example.com", PASSWORD)
            config = ClientSettings(home.url + "/api/v2", "v2", auth, timeout=(2.0, 2.0), max_retries=0)
            home.script = [Reply(307, {"Location": location}, b"")]
            home.default = Reply(200, {"Content-Type": "application/json"}, INVOICE_V2)
            elsewhere.script = [Reply(200, {"Content-Type": "application/x-www-form-urlencoded"}, TOKEN)]
            elsewhere.default = Reply(200, {"Content-Type": "application/json"}, INVOICE_V2)
        error: BaseException | None = None
        try:
            run(config, "get_invoice", 1)
        except Exception as exc:
            error = exc
        return leaked(elsewhere), error


@pytest.mark.parametrize("index", range(len(crafted(1, 2))), ids=[repr(loc) for loc in crafted(8080, 9999)])
@pytest.mark.parametrize("flavour", ["v3", "v2-oauth", "xauth"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_no_credential_reaches_another_port(mode, flavour, index):
    found, error = run_case(mode, flavour, index)
    assert found == []
    assert error is None or isinstance(error, e.InfaktError), repr(error)  # never a raw ValueError
    if error is not None:
        assert KEY not in str(error) and PASSWORD not in str(error)


def _naive_follow(request: Any, status: int, location: str | None) -> Any:
    """What the redirect check did before: trust urllib.parse to say where the Location points."""
    import dataclasses
    import urllib.parse

    return dataclasses.replace(request, url=urllib.parse.urljoin(request.full_url, location or ""), params=())


@pytest.mark.parametrize("index", range(len(crafted(1, 2))), ids=[repr(loc) for loc in crafted(8080, 9999)])
@pytest.mark.parametrize("flavour", ["v3", "xauth"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_check_right_before_sending_stops_what_the_redirect_check_lets_through(monkeypatch, mode, flavour, index):
    """The last line of defence alone: with the redirect check replaced by a naive one, every request
    is still checked, with the transport's own URL parser, right before it goes out."""
    from airflow_provider_infakt.api import policy

    monkeypatch.setattr(policy, "follow_redirect", _naive_follow)
    found, error = run_case(mode, flavour, index)
    assert found == []
    # urljoin (in the naive check) and oauthlib (signing) raise ValueError on some of these URLs
    # before anything is sent; the real redirect check refuses them first (see the test above).
    assert error is None or isinstance(error, (e.InfaktError, ValueError)), repr(error)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8080/api/v3/x", False),
        ("HTTP://127.0.0.1:8080/api/v3/x", False),
        ("http://127.0.0.1:9999/x", True),
        ("http://127.0.0.1:9999\\@127.0.0.1:8080/x", True),  # urllib3 reads port 9999 here
        ("http://127.0.0.1:8080\\@127.0.0.1:9999/x", True),  # urllib.parse reads port 9999 here
        ("http://localhost:8080/x", True),
        ("https://127.0.0.1:8080/x", True),
        ("http://127.0.0.1:8080x/x", True),
    ],
)
def test_the_sync_destination_check_asks_both_parsers(url, refused):
    from airflow_provider_infakt.api import client, protocol

    request = protocol.build_get_invoice(ClientSettings("http://127.0.0.1:8080/api/v3", "v3", ApiKeyAuth(KEY)), 1)
    problem = client._destination_problem(request, ("http", "127.0.0.1", 8080), url)
    assert (problem is not None) is refused, problem
