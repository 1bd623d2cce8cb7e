"""Bad input gets a clear 4xx in inFakt's error shape, never a 500, and the emulator stays up."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest
import requests

from airflow_provider_infakt.testing import credentials

from .helpers import oauth_headers, raw_http, v2_get, v3

#: Strings that ``str.isdigit()`` accepts but that are not ASCII digits (``int()`` reads some of them):
#: Arabic-Indic one, Extended Arabic-Indic one, fullwidth one, superscript two, double-struck one, and
#: "1" followed by an Arabic-Indic one.
NON_ASCII_DIGITS = ["\u0661", "\u06f1", "\uff11", "\u00b2", "\U0001d7d9", "1\u0661"]
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def conn(infakt_emulator):
    return infakt_emulator.connection()


@pytest.fixture
def v2conn(infakt_emulator):
    return infakt_emulator.connection(api_version="v2")


def admin(emu, method, path, **kwargs):
    return requests.request(method, emu.url + "/_emulator" + path, timeout=10, **kwargs)


def _still_up(emu):
    assert v3(emu.connection(), "GET", "/invoices/1.json").status_code == 200
    assert all(r.status is not None for r in emu.requests)


# -- ids in paths ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", NON_ASCII_DIGITS)
def test_v3_ids_in_paths_are_ascii_digits_only(infakt_emulator, conn, ref):
    quoted = urllib.parse.quote(ref)
    read = v3(conn, "GET", f"/invoices/{quoted}.json")
    assert (read.status_code, read.json()) == (404, {"error": "Invoice not found."})
    sent = v3(conn, "POST", f"/invoices/{quoted}/deliver_via_email.json", json={"print_type": "copy"})
    assert (sent.status_code, sent.json()) == (404, {"error": "Invoice not found."})
    paid = v3(conn, "POST", f"/invoices/{quoted}/paid.json", json={})
    assert paid.status_code == 404
    assert infakt_emulator.deliveries == []
    assert {i["status"] for i in admin(infakt_emulator, "GET", "/invoices").json()["invoices"]} == {"draft"}
    _still_up(infakt_emulator)


@pytest.mark.parametrize("ref", NON_ASCII_DIGITS)
def test_v2_ids_are_ascii_digits_only(infakt_emulator, v2conn, ref):
    quoted = urllib.parse.quote(ref)
    read = v2_get(v2conn, f"/invoices/{quoted}.json")
    assert read.status_code == 404
    assert read.json()["message"] == f"Invoice not found (id={ref}). See documentation."
    sent = v2_get(v2conn, f"/invoices/deliver.json?type=mail&doc_type=org&id={quoted}")
    assert sent.status_code == 400
    assert sent.json()["message"] == "Parameter's value is not a number (id). See documentation."
    assert infakt_emulator.deliveries == []
    _still_up(infakt_emulator)


@pytest.mark.parametrize("ref", NON_ASCII_DIGITS)
def test_admin_and_web_ids_are_ascii_digits_only(infakt_emulator, ref):
    quoted = urllib.parse.quote(ref)
    read = admin(infakt_emulator, "GET", f"/invoices/{quoted}")
    assert read.status_code == 400
    assert "number or a uuid" in read.json()["error"]
    paid = admin(infakt_emulator, "POST", f"/invoices/{quoted}/paid")
    assert paid.status_code == 400
    assert infakt_emulator.invoice(1)["status"] == "draft"
    page = requests.get(f"{infakt_emulator.url}/app/invoices/{quoted}", timeout=10)
    assert page.status_code == 404
    _still_up(infakt_emulator)


def test_ids_too_long_for_int_are_unknown_invoices(infakt_emulator, conn, v2conn):
    huge = "9" * 5000
    assert v3(conn, "GET", f"/invoices/{huge}.json").status_code == 404
    assert v3(conn, "POST", f"/invoices/{huge}/deliver_via_email.json", json={}).status_code == 404
    response = v2_get(v2conn, f"/invoices/deliver.json?type=mail&doc_type=org&id={huge}")
    assert response.status_code == 404
    assert admin(infakt_emulator, "GET", f"/invoices/{huge}").status_code == 404
    _still_up(infakt_emulator)


# -- bodies ------------------------------------------------------------------------------------------
def test_xauth_body_that_is_not_utf8_is_400(infakt_emulator):
    conn = infakt_emulator.connection(api_version="v2", auth="xauth")
    url = infakt_emulator.url + "/oauth/access_token"
    body = b"x_auth_username=\xff\xfe&x_auth_password=x&x_auth_mode=client_auth"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(url, data=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert "UTF-8" in response.text
    signed = oauth_headers(conn, url, method="POST", body="x_auth_mode=client_auth", headers=headers, token=False)
    response = requests.post(url, data=body, headers=signed, timeout=10)
    assert response.status_code == 400
    _still_up(infakt_emulator)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v3/invoices/1/deliver_via_email.json"),
        ("POST", "/api/v3/invoices/1/deliver_via_post.json"),
        ("POST", "/api/v3/invoices/1/paid.json"),
        ("POST", "/_emulator/invoices"),
        ("POST", "/_emulator/faults"),
        ("POST", "/_emulator/limits"),
        ("POST", "/_emulator/account"),
        ("POST", "/_emulator/scenarios/pay-after-delivery"),
    ],
)
def test_deeply_nested_json_is_400(infakt_emulator, method, path):
    headers = {"X-inFakt-ApiKey": credentials.API_KEY, "Content-Type": "application/json"}
    response = requests.request(method, infakt_emulator.url + path, data=DEEP_JSON, headers=headers, timeout=30)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    assert infakt_emulator.deliveries == []
    _still_up(infakt_emulator)


# -- admin routes validate what they are given ----------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/account", {"emails_per_day": "x"}, "emails_per_day must be a whole number"),
        ("/account", {"emails_per_day": -1}, "emails_per_day must be a whole number"),
        ("/account", {"emails_per_day": True}, "emails_per_day must be a whole number"),
        ("/account", {"postal_package": "no"}, "postal_package must be true or false"),
        ("/account", {"colour": "red"}, "Unknown fields ['colour']"),
        ("/limits", {"enabled": "x"}, "enabled must be true or false"),
        ("/limits", {"time_scale": "x"}, "time_scale must be a positive number"),
        ("/limits", {"time_scale": 0}, "time_scale must be a positive number"),
        ("/limits", {"time_scale": 1e400}, "Infinity is not a JSON number"),
        ("/limits", {"speed": 1}, "Unknown fields ['speed']"),
        ("/scenarios/pay-after-delivery", {"seconds": True}, "seconds must be a non-negative number or null"),
        ("/scenarios/pay-after-delivery", {"seconds": 1e400}, "Infinity is not a JSON number"),
        ("/scenarios/pay-after-delivery", {}, "seconds is required"),
        ("/faults", {"route": 5, "status": 500}, "route must be a non-empty string"),
        ("/faults", {"route": "", "status": 500}, "route must be a non-empty string"),
        ("/faults", {"route": "*", "status": "x"}, "status must be a whole number"),
        ("/faults", {"route": "*", "status": 500.5}, "status must be a whole number"),
        ("/faults", {"route": "*", "status": 500, "times": "2"}, "times must be a whole number"),
        ("/faults", {"route": "*", "latency": "x"}, "latency must be a non-negative number"),
        ("/faults", {"route": "*", "latency": 1e400}, "Infinity is not a JSON number"),
        ("/faults", {"route": "*", "latency": 1e9}, "latency must be a non-negative number"),
        ("/faults", {"route": "*", "status": 503, "retry_after": "1\r\nX-Evil: 1"}, "retry_after"),
        ("/faults", {"route": "*", "redirect_to": "http://x/\r\nX-Evil: 1"}, "redirect_to"),
        ("/faults", {"route": "*", "redirect_to": 5}, "redirect_to"),
        ("/faults", {"route": "*", "status": 500, "body": 5}, "body must be a string"),
    ],
)
def test_admin_routes_answer_400_with_a_message(infakt_emulator, path, body, message):
    # json.dumps writes 1e400 as Infinity, which is not JSON (Python's json reads it): refused as such
    response = admin(infakt_emulator, "POST", path, data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert infakt_emulator.faults.armed() == []
    _still_up(infakt_emulator)
    assert v3(infakt_emulator.connection(), "POST", "/invoices/1/deliver_via_email.json", json={}).status_code == 202


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"gross_price": "abc"}, {"gross_price": ["is not a number"]}),
        ({"gross_price": 1.5}, {"gross_price": ["must be a whole number of grosze"]}),
        ({"gross_price": -1}, {"gross_price": ["must be greater than or equal to 0"]}),
        ({"gross_price": True}, {"gross_price": ["is not a number"]}),
        ({"client_email": "a@b.example\n"}, {"client_email": ["is not an e-mail address"]}),
        ({"client_email": 5}, {"client_email": ["is not an e-mail address"]}),
        ({"client_name": ""}, {"client_name": ["can't be blank"]}),
        ({"number": ["1"]}, {"number": ["must be a string"]}),
        ({"status": "lost"}, {"status": ["is not included in the list (draft, sent, printed, paid, unpaid)"]}),
    ],
)
def test_created_invoice_refuses_bad_values_with_422(infakt_emulator, body, errors):
    response = admin(infakt_emulator, "POST", "/invoices", json=body)
    assert (response.status_code, response.json()) == (422, {"errors": errors})
    assert len(admin(infakt_emulator, "GET", "/invoices").json()["invoices"]) == 6
    with pytest.raises(ValueError, match=next(iter(errors))):
        infakt_emulator.create_invoice(**body)


# -- a sweep of hostile requests over every route ------------------------------------------------------
KEY = f"X-inFakt-ApiKey: {credentials.API_KEY}".encode()
JSON = b"Content-Type: application/json"
V3 = "/api/v3/invoices"
EMAIL_ROUTE = V3 + "/1/deliver_via_email.json"
V2_DELIVER = "/api/v2/invoices/deliver.json?type=mail&doc_type=org&id=1"
ADMIN_POSTS = [
    "/_emulator/invoices",
    "/_emulator/faults",
    "/_emulator/limits",
    "/_emulator/account",
    "/_emulator/scenarios/pay-after-delivery",
    "/_emulator/scenarios/deferred-sending",
]
V3_POSTS = [EMAIL_ROUTE, V3 + "/1/deliver_via_post.json", V3 + "/1/paid.json", "/v3/invoices/1/deliver_via_email.json"]
NOT_AN_OBJECT = [b"[]", b'"copy"', b"1", b"null", b"true"]
NOT_JSON = [
    b"{nope",
    b'{"print_type": "\xff"}',  # not UTF-8
    b'{"print_type": NaN}',
    b'{"print_type": "copy", "print_type": "original"}',
    DEEP_JSON,
    '{"print_type": "copy"}'.encode("utf-16"),
]


def _case(name, method, target, *, headers=(), body=b"", sign=False, shaped=True):
    return pytest.param(method, target, list(headers), body, sign, shaped, id=name)


def _cases():
    cases = []
    for path in [*V3_POSTS, *ADMIN_POSTS]:
        headers = [KEY, JSON] if "_emulator" not in path else [JSON]
        for i, body in enumerate(NOT_AN_OBJECT):
            cases.append(_case(f"not-an-object-{i}-{path}", "POST", path, headers=headers, body=body))
        for i, body in enumerate(NOT_JSON):
            cases.append(_case(f"not-json-{i}-{path}", "POST", path, headers=headers, body=body))
        cases.append(_case(f"too-large-{path}", "POST", path, headers=headers, body=b" " * (2 * 1024 * 1024)))
        cases.append(_case(f"wrong-method-{path}", "PUT", path, headers=headers, body=b"{}"))
    for path in V3_POSTS[:2]:
        for media in (b"text/plain", b"application/xml", b"multipart/form-data; boundary=x"):
            cases.append(
                _case(
                    f"content-type-{media.decode()}-{path}",
                    "POST",
                    path,
                    headers=[KEY, b"Content-Type: " + media],
                    body=b'{"print_type": "copy"}',
                )
            )
        cases.append(_case(f"json-latin1-{path}", "POST", path, headers=[KEY, JSON + b"; charset=latin-1"], body=b"{}"))
        cases.append(
            _case(
                f"form-bad-utf8-{path}",
                "POST",
                path,
                headers=[KEY, b"Content-Type: application/x-www-form-urlencoded"],
                body=b"print_type=%ff",
            )
        )
        cases.append(
            _case(
                f"form-raw-bytes-{path}",
                "POST",
                path,
                headers=[KEY, b"Content-Type: application/x-www-form-urlencoded"],
                body=b"print_type=\xff",
            )
        )
        cases.append(
            _case(
                f"form-twice-{path}",
                "POST",
                path,
                headers=[KEY, b"Content-Type: application/x-www-form-urlencoded"],
                body=b"print_type=copy&print_type=original",
            )
        )
        cases.append(_case(f"query-twice-{path}", "POST", path + "?print_type=copy&print_type=original", headers=[KEY]))
        cases.append(
            _case(
                f"query-and-body-differ-{path}",
                "POST",
                path + "?print_type=copy",
                headers=[KEY, JSON],
                body=b'{"print_type": "original"}',
            )
        )
        cases.append(_case(f"query-nul-{path}", "POST", path + "?print_type=copy%00", headers=[KEY]))
        cases.append(_case(f"query-bad-utf8-{path}", "POST", path + "?recipient=%ff%40x.pl", headers=[KEY]))
        cases.append(_case(f"recipient-crlf-{path}", "POST", path + "?recipient=a%0d%0aBcc:%20x@y.pl", headers=[KEY]))
        cases.append(_case(f"two-api-keys-{path}", "POST", path, headers=[KEY, KEY, JSON], body=b"{}"))
    for ref in ("1%00", "%ff", "%00", "-1", "1.5", "0x1", "%20%201", "1e3"):
        cases.append(_case(f"v3-read-{ref}", "GET", f"{V3}/{ref}.json", headers=[KEY]))
        cases.append(
            _case(f"v3-send-{ref}", "POST", f"{V3}/{ref}/deliver_via_email.json", headers=[KEY, JSON], body=b"{}")
        )
        cases.append(_case(f"v2-read-{ref}", "GET", f"/api/v2/invoices/{ref}.json", sign=True))
        cases.append(_case(f"v2-send-{ref}", "GET", V2_DELIVER.replace("id=1", f"id={ref}"), sign=True))
        cases.append(_case(f"admin-read-{ref}", "GET", f"/_emulator/invoices/{ref}"))
        cases.append(_case(f"admin-pay-{ref}", "POST", f"/_emulator/invoices/{ref}/paid"))
        cases.append(_case(f"web-{ref}", "GET", f"/app/invoices/{ref}"))
    for query in (
        "offset=-1",
        "limit=0",
        "limit=%D9%A1",
        "offset=" + "9" * 50,
        "limit=1&limit=2",
        "q[status_eq]=%ff",
        "q[nope_eq]=1",
        "order=id%00",
        "q[status_eq]=a&q[status_eq]=b",
    ):
        cases.append(_case(f"v3-list-{query[:20]}", "GET", f"{V3}.json?{query}", headers=[KEY]))
    cases.append(_case("v3-list-body-q-not-object", "GET", f"{V3}.json", headers=[KEY, JSON], body=b'{"q": 5}'))
    cases.append(
        _case("v3-list-body-q-twice", "GET", f"{V3}.json?q[id_eq]=1", headers=[KEY, JSON], body=b'{"q": {"id_eq": 1}}')
    )
    for query in (
        "id=1&id=2",
        "id=1%00",
        "recipient=%ff@x.pl",
        "recipient=a%0a@x.pl",
        "type=mail%00",
        "id=" + "9" * 5000,
    ):
        cases.append(
            _case(
                f"v2-deliver-{query[:20]}",
                "GET",
                V2_DELIVER + "&" + query if not query.startswith("id=") else V2_DELIVER.replace("id=1", query),
                sign=True,
            )
        )
    for query in ("page=0", "page=%D9%A1", "per_page=" + "9" * 40, "page=1&page=2", "status=%ff"):
        cases.append(_case(f"v2-list-{query[:20]}", "GET", f"/api/v2/invoices/list.xml?{query}", sign=True))
    form = b"Content-Type: application/x-www-form-urlencoded"
    cases.append(_case("xauth-not-utf8", "POST", "/oauth/access_token", headers=[form], body=b"x_auth_username=\xff"))
    cases.append(_case("xauth-bad-escape", "POST", "/oauth/access_token", headers=[form], body=b"x_auth_username=%ff"))
    cases.append(
        _case("xauth-json", "POST", "/oauth/access_token", headers=[JSON], body=b'{"x_auth_mode": "client_auth"}')
    )
    cases.append(
        _case(
            "xauth-twice",
            "POST",
            "/oauth/access_token",
            headers=[form],
            body=b"x_auth_mode=client_auth&x_auth_mode=client_auth",
        )
    )
    cases.append(_case("xauth-empty", "POST", "/oauth/access_token", headers=[form]))
    cases.append(_case("xauth-get", "GET", "/oauth/access_token"))
    for path in (
        "/api/v3/nothing.json",
        "/api/v2/invoices/deliver",
        "/api/v2/nothing.json",
        "/_emulator/nothing",
        "/nothing",
    ):
        cases.append(_case(f"unknown-route-{path}", "GET", path, headers=[KEY]))
    for path, body in (
        ("/_emulator/faults", b"{}"),
        ("/_emulator/scenarios/pay-after-delivery", b""),
        ("/_emulator/scenarios/deferred-sending", b"{}"),
    ):
        cases.append(_case(f"admin-empty-{path}", "POST", path, headers=[JSON], body=body))
    cases.append(
        _case("admin-invoice-unknown-field", "POST", "/_emulator/invoices", headers=[JSON], body=b'{"colour": "red"}')
    )
    cases.append(_case("admin-wrong-method", "PATCH", "/_emulator/faults", headers=[JSON], body=b"{}"))
    for method, path in (
        ("POST", "/_emulator/reset"),
        ("DELETE", "/_emulator/faults"),
        ("POST", "/_emulator/invoices/1/paid"),
    ):
        cases.append(_case(f"admin-no-input-{path}", method, path, headers=[JSON], body=b'{"keep_faults": true}'))
        cases.append(_case(f"admin-no-input-not-json-{path}", method, path, headers=[JSON], body=b"nope"))
    # bytes no HTTP parser accepts: aiohttp answers 400 itself (text/plain), before any route
    huge = "/api/v3/invoices.json?x=" + "a" * 100_000
    cases.append(_case("huge-query", "GET", huge, headers=[KEY], shaped=False))
    cases.append(_case("raw-bytes-in-query", "GET", "/api/v3/invoices.json?x=\udcff", headers=[KEY], shaped=False))
    cases.append(_case("raw-nul-in-path", "GET", "/api/v3/invoices/1\x00.json", headers=[KEY], shaped=False))
    return cases


def _request_bytes(emu, method, target, headers, body, sign):
    if sign:
        conn = emu.connection(api_version="v2")
        try:
            signed = oauth_headers(conn, emu.url + target, method=method)
            headers = [*headers, f"Authorization: {signed['Authorization']}".encode()]
        except ValueError:
            pass  # oauthlib will not sign it: it goes unsigned and must be refused all the same
    line = f"{method} ".encode() + target.encode("utf-8", "surrogateescape") + b" HTTP/1.1\r\n"
    head = [b"Host: " + emu.url.split("//")[1].encode(), *headers, b"Connection: close"]
    if body or method in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(body)}".encode())
    return line + b"\r\n".join(head) + b"\r\n\r\n" + body


def _assert_shaped(target, status, headers, body):
    content_type = headers.get("content-type", "")
    if target.startswith("/api/v2/"):
        if content_type.startswith("application/xml"):
            assert b"<hash>" in body and b"<message>" in body
        else:
            assert set(json.loads(body)) == {"message", "request"}
    elif target.startswith(("/oauth/", "/app/")):
        assert content_type.startswith("text/plain")
        assert body
    else:
        answer = json.loads(body)
        assert ("error" in answer and isinstance(answer["error"], str)) or isinstance(answer.get("errors"), dict)


@pytest.mark.parametrize(("method", "target", "headers", "body", "sign", "shaped"), _cases())
def test_hostile_requests_get_a_clear_4xx(infakt_emulator, caplog, method, target, headers, body, sign, shaped):
    request = _request_bytes(infakt_emulator, method, target, headers, body, sign)
    status, response_headers, response_body = raw_http(infakt_emulator.url, request, timeout=30)
    assert 400 <= status < 500, (status, response_body[:300])
    if shaped:
        _assert_shaped(target, status, response_headers, response_body)
    assert infakt_emulator.deliveries == []
    assert not [r for r in caplog.records if r.name.endswith("testing.server")], "the safety net caught a bug"
    _still_up(infakt_emulator)


def test_unparseable_requests_leave_no_address_in_the_log(infakt_emulator, caplog):
    caplog.set_level("DEBUG")
    target = b"/api/v2/invoices/deliver.json?type=mail&doc_type=org&id=1&recipient=jan.kowalski@firma.example\xff"
    status, _, _ = raw_http(
        infakt_emulator.url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status == 400
    assert caplog.records, "the refusal is logged"
    for record in caplog.records:
        assert "jan.kowalski" not in logging.Formatter().format(record)
    _still_up(infakt_emulator)


@pytest.mark.parametrize(("api_version", "path"), [("v3", "/invoices.json"), ("v2", "/invoices/list.json")])
def test_a_handler_bug_is_a_500_in_the_route_shape_and_logged(infakt_emulator, caplog, monkeypatch, api_version, path):
    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(infakt_emulator.account, "snapshot", broken)
    conn = infakt_emulator.connection(api_version=api_version)
    response = v3(conn, "GET", path) if api_version == "v3" else v2_get(conn, path)
    assert response.status_code == 500
    answer = response.json()
    assert answer["error" if api_version == "v3" else "message"] == "Internal emulator error."
    # the safety net's logger keeps its name: test_hostile_requests_get_a_clear_4xx looks for it
    logged = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_infakt.testing.server"]
    assert logged == [f"inFakt emulator: RuntimeError in GET /api/{api_version}{path}"]
    assert [(r.route, r.status) for r in infakt_emulator.requests] == [(f"{api_version}.list", None)]
    monkeypatch.undo()
    assert v3(infakt_emulator.connection(), "GET", "/invoices.json").status_code == 200
