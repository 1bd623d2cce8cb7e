"""The delivery-outcome rule, answer by answer (docs/architecture.md, "When is it safe to send again?").

For a deliver only these answers prove anything:

- "not done": 429 (any body); 400, 401, 402, 403, 404, 406, 422, 423 with inFakt's own error body;
- "done": 200, 201, 202, 204 with the expected body (v3: empty or a JSON object; v2: the invoice id).

Everything else must raise :class:`InfaktUnknownOutcome`, whose reason says what came back. The
operator treats every other :class:`InfaktError` as "nothing was sent", so a deliver must never raise
anything else for an answer that does not prove it.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p

from .conftest import v2_settings, v3_settings

REFUSED = (400, 401, 402, 403, 404, 406, 422, 423)
HTML = b"<html><head><title>Error</title></head><body><h1>nginx</h1></body></html>"
HTML_HEADERS = {"Content-Type": "text/html"}
JSON_HEADERS = {"Content-Type": "application/json"}
XML_HEADERS = {"Content-Type": "application/xml"}
V2_JSON_ERROR = json.dumps({"message": "Not allowed. See documentation.", "request": "/api/v2/x"}).encode()
V2_XML_ERROR = b'<?xml version="1.0"?>\n<hash><message>Not allowed.</message><request>/x</request></hash>'
V3_ERROR = b'{"error": "Not allowed"}'
V3_ERRORS = b'{"errors": {"recipient": ["is invalid"]}}'

KINDS = {
    "v2json": lambda: p.build_deliver(v2_settings("json"), 1, "mail", "org"),
    "v2xml": lambda: p.build_deliver(v2_settings("xml"), 1, "mail", "org"),
    "v3": lambda: p.build_deliver(v3_settings(), 1, "mail", "org"),
}
INFAKT_ERRORS = {"v2json": [V2_JSON_ERROR], "v2xml": [V2_XML_ERROR], "v3": [V3_ERROR, V3_ERRORS]}


def deliver_request(kind: str) -> p.Request:
    return KINDS[kind]()


def unknown(kind: str, status: int, headers: dict[str, str], body: bytes) -> e.InfaktUnknownOutcome:
    request = deliver_request(kind)
    with pytest.raises(e.InfaktError) as caught:
        p.parse_deliver(request, status, headers, body)
    assert isinstance(caught.value, e.InfaktUnknownOutcome), (status, body[:80], repr(caught.value))
    assert caught.value.status == status and caught.value.route == request.route
    assert caught.value.retryable is False
    assert "not resent" in str(caught.value)
    return caught.value


# -- not done ------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", REFUSED)
@pytest.mark.parametrize("kind", list(KINDS))
def test_infakt_error_bodies_prove_nothing_was_done(kind, status):
    for body in INFAKT_ERRORS[kind]:
        with pytest.raises(e.InfaktAPIError) as caught:
            p.parse_deliver(deliver_request(kind), status, JSON_HEADERS, body)
        assert type(caught.value) is e.error_class_for_status(status)
        assert caught.value.status == status


@pytest.mark.parametrize("body", [V3_ERROR, HTML, b"", b"slow down"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_429_proves_nothing_was_done_whatever_the_body(kind, body):
    with pytest.raises(e.InfaktRateLimitedError) as caught:
        p.parse_deliver(deliver_request(kind), 429, {"Retry-After": "3"}, body)
    assert caught.value.retryable and caught.value.retry_after == 3.0


# -- done ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "body"), [(202, b""), (200, b""), (201, b"  \n"), (204, b""), (200, b'{"id": 1}')])
def test_v3_success(status, body):
    assert p.parse_deliver(deliver_request("v3"), status, JSON_HEADERS, body).invoice_id == 1


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("v2json", b'{"invoice":{"invoice_id":1}}'),
        ("v2json", b'{"invoice":{"invoice_id":"1"}}'),
        ("v2json", b'{"invoice":{"invoice_id":" 1 "}}'),
        ("v2xml", b"<invoice><invoice_id>1</invoice_id></invoice>"),
        ("v2xml", b'<invoice><invoice_id type="integer">1</invoice_id></invoice>'),
    ],
)
def test_v2_success(kind, body):
    delivery = p.parse_deliver(deliver_request(kind), 200, {}, body)
    assert delivery.invoice_id == 1 and isinstance(delivery.invoice_id, int)


# -- unknown -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 505, 520, 599])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_5xx_is_unknown(kind, status):
    for body in [*INFAKT_ERRORS[kind], HTML, b""]:
        error = unknown(kind, status, JSON_HEADERS, body)
        assert f"HTTP {status}" in str(error)


@pytest.mark.parametrize("status", REFUSED)
@pytest.mark.parametrize(
    ("headers", "body", "seen"),
    [
        (HTML_HEADERS, HTML, "text/html"),
        ({}, b"", "empty body"),
        ({"Content-Type": "text/plain"}, b"Forbidden", "text/plain"),
        (JSON_HEADERS, b'{"detail": "Not Found"}', "application/json"),
        (JSON_HEADERS, b'["Not allowed"]', "application/json"),
        (JSON_HEADERS, b'{"message": "Not all', "application/json"),
        (JSON_HEADERS, b'{"message": ""}', "application/json"),
        (XML_HEADERS, b"<error><message>No</message></error>", "application/xml"),
        (HTML_HEADERS, b"<html><body><message>No</message></body></html>", "text/html"),
    ],
    ids=[
        "html",
        "empty",
        "text",
        "json-other",
        "json-list",
        "json-truncated",
        "json-empty-message",
        "xml-other",
        "html-message",
    ],
)
@pytest.mark.parametrize("kind", list(KINDS))
def test_refusal_statuses_without_infakts_body_are_unknown(kind, status, headers, body, seen):
    error = unknown(kind, status, headers, body)
    assert f"HTTP {status}" in str(error) and seen in str(error)


@pytest.mark.parametrize("status", [405, 407, 408, 409, 410, 411, 413, 414, 418, 421, 425, 428, 431, 451, 499])
@pytest.mark.parametrize("kind", list(KINDS))
def test_other_4xx_are_unknown_even_with_infakts_body(kind, status):
    for body in INFAKT_ERRORS[kind]:
        unknown(kind, status, JSON_HEADERS, body)


@pytest.mark.parametrize("status", [100, 101, 199, 203, 205, 206, 207, 226, 299, 300, 301, 302, 303, 304, 307, 308])
@pytest.mark.parametrize("kind", list(KINDS))
def test_other_statuses_are_unknown(kind, status):
    body = b"" if kind == "v3" else b'{"invoice":{"invoice_id":1}}'
    headers = {"Location": "https://www.infakt.pl/elsewhere"} if 300 <= status < 400 else {}
    unknown(kind, status, headers, body)


def test_a_redirect_on_a_deliver_says_where_it_pointed():
    error = unknown("v3", 307, {"Location": "https://api.infakt.pl/api/v3/other?x=1"}, b"")
    assert "redirect" in str(error) and "https://api.infakt.pl/api/v3/other" in str(error)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
@pytest.mark.parametrize(
    ("body", "seen"),
    [
        (HTML, "text/html"),
        (b'{"print_type": "cop', "unreadable"),
        (b"[1, 2]", "JSON object"),
        (b'"accepted"', "JSON object"),
        (b"OK", "unreadable"),
        (b'{"error": "Not allowed"}', "error"),
        (b"\x00\xff\xfe", "unreadable"),
    ],
    ids=["html", "truncated", "list", "string", "text", "error-object", "binary"],
)
def test_v3_success_status_with_an_unexpected_body_is_unknown(status, body, seen):
    error = unknown("v3", status, HTML_HEADERS if body == HTML else JSON_HEADERS, body)
    assert seen in str(error)


@pytest.mark.parametrize(
    "raw_id",
    [
        "\"{'x': 1}\"",
        "true",
        "false",
        "NaN",
        "Infinity",
        "-5",
        '"-5"',
        "0",
        '"0"',
        "1.0",
        '"1.0"',
        '"abc"',
        '""',
        "null",
        "[1]",
        '{"x": 1}',
        '"1e3"',
        '"\u0661"',  # ARABIC-INDIC DIGIT ONE: a digit to Python, not to inFakt
        '"' + "9" * 5000 + '"',
        "9" * 5000,
        "9" * 20,
        "2",  # another invoice than the one requested
    ],
)
def test_v2_json_success_with_anything_but_the_invoice_id_is_unknown(raw_id):
    body = ('{"invoice":{"invoice_id":' + raw_id + "}}").encode()
    error = unknown("v2json", 200, JSON_HEADERS, body)
    assert len(str(error)) < 1000


@pytest.mark.parametrize("raw_id", ["{'x': 1}", "True", "nan", "-5", "0", "1.5", "abc", "", "9" * 5000, "2"])
def test_v2_xml_success_with_anything_but_the_invoice_id_is_unknown(raw_id):
    body = f"<invoice><invoice_id>{raw_id}</invoice_id></invoice>".encode()
    unknown("v2xml", 200, XML_HEADERS, body)


@pytest.mark.parametrize("kind", ["v2json", "v2xml"])
@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"", "an empty body"),
        (HTML, "names no invoice_id"),
        (b"{", "unreadable JSON"),
        (b"<invoice><invoice_id>1</invoice_id>", "unreadable XML"),
        (b'{"invoice":{"id":null}}', "names no invoice_id"),
    ],
)
def test_v2_success_status_with_an_unreadable_body_is_unknown(kind, body, said):
    assert said in str(unknown(kind, 200, {}, body))  # the message says what was wrong with the answer


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("status", [200, 202, 404, 500])
def test_deeply_nested_answers_never_raise_a_raw_error(kind, status):
    for body in (b"[" * 100_000, b'{"a":' * 100_000, b"<a>" * 100_000 + b"</a>" * 100_000):
        unknown(kind, status, {}, body)


# -- what the message of an unknown outcome says, by the status's class ----------------------------
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    ("status", "said"),
    [
        (300, "a redirect to"),
        (304, "a redirect to"),
        (399, "a redirect to"),
        (206, "is not an answer that proves whether inFakt acted"),
        (299, "is not an answer that proves whether inFakt acted"),
        (405, "is not an answer that proves whether inFakt acted"),
        (418, "is not an answer that proves whether inFakt acted"),
        (499, "is not an answer that proves whether inFakt acted"),
        (500, "a proxy may answer so after inFakt acted"),
        (503, "a proxy may answer so after inFakt acted"),
        (599, "a proxy may answer so after inFakt acted"),
    ],
)
def test_an_unknown_outcome_says_what_kind_of_answer_came(kind, status, said):
    assert said in str(unknown(kind, status, JSON_HEADERS, b""))
