"""protocol.py with plain bytes: requests built for v2 (JSON, XML) and v3, answers parsed or raised."""

from __future__ import annotations

import json
import pickle  # exceptions must survive the trip between Airflow processes

import pytest

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p
from airflow_provider_infakt.api.errors import InfaktValidationError

# -- the seed's bytes, as the document prints them (backslashes and line breaks included) -------
SEED_XML_OK = b"""<?xml version="1.0" encoding="UTF-8"?>
<invoice>
  <invoice_id>1</invoice_id>
</invoice>
"""
SEED_JSON_OK = b"""{
  "invoice":{
    "invoice_id":1
  }
}"""
SEED_XML_ERROR = b"""<?xml version=\\"1.0\\" encoding=\\"UTF-8\\"?>
<hash>
 <message>One or more parameter's value not in defined set (doc_type).
 See documentation.</message>
 <request>/api/v2/invoices/deliver.xml?
 type=mail&amp;doc_type=kopia&amp;id=1</request>
</hash>
"""
SEED_JSON_ERROR = b"""{
  "message":"One or more parameter\\'s value not in defined set (type).
        See documentation.",
  "request":
    "/api/v2/invoices/deliver.json?type=smail&doc_type=KOPIA&id=1"
}"""
# -- the same, as a well-behaved server (the emulator) sends them ------------------------------
CLEAN_XML_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<hash>\n <message>One or more parameter\'s value not in '
    b"defined set (doc_type). See documentation.</message>\n <request>/api/v2/invoices/deliver.xml?"
    b"type=mail&amp;doc_type=kopia&amp;id=1</request>\n</hash>\n"
)
CLEAN_JSON_ERROR = json.dumps(
    {
        "message": "One or more parameter's value not in defined set (type). See documentation.",
        "request": "/api/v2/invoices/deliver.json?type=smail&doc_type=KOPIA&id=1",
    }
).encode()

DOC_TYPE_MESSAGE = "One or more parameter's value not in defined set (doc_type). See documentation."
TYPE_MESSAGE = "One or more parameter's value not in defined set (type). See documentation."
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}


# ============================================================================================
# Builders
# ============================================================================================
def test_v2_deliver_matches_the_seed_example(v2xml):
    request = p.build_deliver(v2xml, 1, "mail", "KOPIA")
    assert request.method == "GET"
    assert request.full_url == "https://www.infakt.pl/api/v2/invoices/deliver.xml?type=mail&doc_type=KOPIA&id=1"
    assert request.body is None
    assert request.idempotent is False
    assert request.route == "v2.deliver"
    assert request.header("accept") == "application/xml"


def test_v2_deliver_json_with_recipient_last_and_encoded(v2json):
    request = p.build_deliver(v2json, "12", "post", "d_kop") if False else None
    request = p.build_deliver(v2json, "12", "mail", "d_kop", "jan.kowalski+x@example.com")
    assert request.params == (
        ("type", "mail"),
        ("doc_type", "d_kop"),
        ("id", "12"),
        ("recipient", "jan.kowalski+x@example.com"),
    )
    assert request.full_url.endswith(
        "deliver.json?type=mail&doc_type=d_kop&id=12&recipient=jan.kowalski%2Bx%40example.com"
    )
    assert request.delivery == p.Delivery(12, "mail", "d_kop", "v2", recipient_given=True)


def test_request_repr_hides_credentials_and_addresses(v2json):
    request = p.build_deliver(v2json, 1, "mail", "org", "jan.kowalski@example.com")
    signed = request.with_header("Authorization", 'OAuth oauth_signature="s3cr3t"').with_header(
        "X-inFakt-ApiKey", "key-value"
    )
    text = repr(signed)
    assert "s3cr3t" not in text and "key-value" not in text and "kowalski" not in text
    assert "[redacted]" in text and "j***@example.com" in text


def test_v3_deliver_via_email(v3):
    request = p.build_deliver(v3, 7, "mail", "KOPIA", "anna@example.com", locale="en", send_copy=True)
    assert request.method == "POST"
    assert request.full_url == "https://api.infakt.pl/api/v3/invoices/7/deliver_via_email.json"
    assert json.loads(request.body) == {
        "print_type": "copy",
        "recipient": "anna@example.com",
        "locale": "en",
        "send_copy": True,
    }
    assert request.header("Content-Type") == "application/json"
    assert request.idempotent is False
    assert request.route == "v3.deliver_via_email"


def test_v3_deliver_minimal_body_and_uuid_path(v3):
    ref = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    request = p.build_deliver(v3, ref, "mail", "d_org")
    assert request.url == f"https://api.infakt.pl/api/v3/invoices/{ref}/deliver_via_email.json"
    assert json.loads(request.body) == {"print_type": "original_duplicate"}


def test_v3_deliver_via_post(v3):
    request = p.build_deliver(v3, 7, "post", "org")
    assert request.url.endswith("/invoices/7/deliver_via_post.json")
    assert request.route == "v3.deliver_via_post"
    assert json.loads(request.body) == {"print_type": "original"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"doc_type": "kopia"}, "doc_type"),
        ({"type": "smail"}, "type"),
        ({"invoice_id": True}, "invoice_id"),
        ({"recipient": "not-an-address"}, "recipient"),
        ({"locale": "de"}, "locale"),
        ({"send_copy": "yes"}, "send_copy"),
        ({"type": "post", "recipient": "a@example.com"}, "recipient"),
        ({"type": "post", "locale": "pl"}, "locale"),
    ],
)
def test_build_deliver_validates_before_anything(v3, kwargs, field):
    args = {"invoice_id": 1, "type": "mail", "doc_type": "org", **kwargs}
    with pytest.raises(InfaktValidationError) as caught:
        p.build_deliver(v3, **args)
    assert caught.value.field == field


def test_v2_refuses_v3_only_options(v2json):
    with pytest.raises(InfaktValidationError, match="locale") as caught:
        p.build_deliver(v2json, 1, "mail", "org", locale="pl")
    assert "v3" in str(caught.value)
    with pytest.raises(InfaktValidationError, match="send_copy"):
        p.build_deliver(v2json, 1, "mail", "org", send_copy=True)


def test_org_kop_refused_on_v3_only(v2json, v3):
    assert p.build_deliver(v2json, 1, "mail", "org_kop").params[1] == ("doc_type", "org_kop")
    with pytest.raises(InfaktValidationError, match="original_copy"):
        p.build_deliver(v3, 1, "mail", "org_kop")


def test_read_builders(v2json, v2xml, v3):
    assert p.build_get_invoice(v2json, "5").full_url == "https://www.infakt.pl/api/v2/invoices/5.json"
    assert p.build_get_invoice(v2xml, 5).full_url == "https://www.infakt.pl/api/v2/invoices/5.xml"
    assert p.build_get_invoice(v3, 5).full_url == "https://api.infakt.pl/api/v3/invoices/5.json"
    for request in (p.build_get_invoice(v2json, 5), p.build_get_invoice(v3, 5)):
        assert request.method == "GET" and request.idempotent and request.body is None
    assert p.build_list_invoices(v2xml, status="paid", page_size=50, cursor=3).full_url == (
        "https://www.infakt.pl/api/v2/invoices/list.xml?page=3&per_page=50&status=zap%C5%82acona"
    )
    assert p.build_list_invoices(v2json).params == (("page", "1"), ("per_page", "25"))
    assert p.build_list_invoices(v3, status="sent", page_size=10, cursor=20).params == (
        ("offset", "20"),
        ("limit", "10"),
        ("q[status_eq]", "sent"),
    )
    assert p.build_list_invoices(v3).full_url == "https://api.infakt.pl/api/v3/invoices.json?offset=0&limit=25"
    with pytest.raises(InfaktValidationError):
        p.build_list_invoices(v3, page_size=101)
    with pytest.raises(InfaktValidationError):
        p.build_list_invoices(v3, status="unpaid")
    with pytest.raises(InfaktValidationError):
        p.build_get_invoice(v2json, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")


def test_base_url_keeps_its_path_and_loses_trailing_slash():
    from .conftest import v3_settings

    settings = v3_settings("https://API.infakt.pl/v3/")
    assert p.build_get_invoice(settings, 1).url == "https://api.infakt.pl/v3/invoices/1.json"


# ============================================================================================
# Parsing successes
# ============================================================================================
@pytest.mark.parametrize(("settings_name", "body"), [("v2xml", SEED_XML_OK), ("v2json", SEED_JSON_OK)])
def test_parse_v2_deliver_seed_bodies(request, settings_name, body):
    settings = request.getfixturevalue(settings_name)
    req = p.build_deliver(settings, "1", "mail", "KOPIA")
    delivery = p.parse_deliver(req, 200, {}, body)
    assert delivery == p.Delivery(1, "mail", "KOPIA", "v2", recipient_given=False)
    assert isinstance(delivery.invoice_id, int)
    assert delivery.to_dict() == {
        "invoice_id": 1,
        "type": "mail",
        "doc_type": "KOPIA",
        "api_version": "v2",
        "recipient_given": False,
    }
    json.dumps(delivery.to_dict())


def test_parse_v2_deliver_keeps_no_address(v2json):
    req = p.build_deliver(v2json, 1, "mail", "org", "jan.kowalski@example.com")
    delivery = p.parse_deliver(req, 200, {}, SEED_JSON_OK)
    assert delivery.recipient_given is True
    assert "kowalski" not in repr(delivery) and "kowalski" not in json.dumps(delivery.to_dict())


def test_parse_v3_deliver_202_empty(v3):
    ref = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert p.parse_deliver(p.build_deliver(v3, "9", "mail", "org"), 202, {}, b"").invoice_id == 9
    assert p.parse_deliver(p.build_deliver(v3, ref, "mail", "org"), 202, {}, b"").invoice_id == ref


@pytest.mark.parametrize("body", [b"", b"<html>ok</html>", b"{}", b'{"invoice":{}}', b"\x00\xff"])
def test_v2_deliver_success_without_invoice_id_is_an_unknown_outcome(v2json, body):
    with pytest.raises(e.InfaktUnknownOutcome) as caught:
        p.parse_deliver(p.build_deliver(v2json, 1, "mail", "org"), 200, JSON_HEADERS, body)
    assert caught.value.status == 200
    assert caught.value.retryable is False


V2_INVOICE_JSON = json.dumps(
    {"invoice": {"invoice_id": 5, "number": "5/2026", "status": "zapłacona", "paid_date": "2026-01-02"}}
).encode()
V2_INVOICE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<invoice>\n  <invoice_id>5</invoice_id>\n'
    "  <number>5/2026</number>\n  <status>niezapłacona</status>\n"
    '  <paid_date nil="true"/>\n  <client_id>2</client_id>\n</invoice>\n'
).encode()


def test_parse_v2_invoice_json_and_xml(v2json, v2xml):
    invoice = p.parse_invoice(p.build_get_invoice(v2json, 5), 200, JSON_HEADERS, V2_INVOICE_JSON)
    assert (invoice.id, invoice.number, invoice.status, invoice.raw_status, invoice.paid_date) == (
        5,
        "5/2026",
        "paid",
        "zapłacona",
        "2026-01-02",
    )
    invoice = p.parse_invoice(p.build_get_invoice(v2xml, 5), 200, XML_HEADERS, V2_INVOICE_XML)
    assert (invoice.id, invoice.status, invoice.raw_status, invoice.paid_date, invoice.uuid) == (
        5,
        "unpaid",
        "niezapłacona",
        None,
        None,
    )
    assert invoice.raw["client_id"] == "2"
    assert invoice.reference == 5


def test_parse_v3_invoice(v3):
    body = json.dumps(
        {"id": 9, "uuid": "abc-uuid", "number": "9/2026", "status": "printed", "paid_date": None}
    ).encode()
    invoice = p.parse_invoice(p.build_get_invoice(v3, 9), 200, JSON_HEADERS, body)
    assert (invoice.id, invoice.uuid, invoice.status, invoice.raw_status) == (
        9,
        "abc-uuid",
        "printed",
        "printed",
    )
    assert invoice.to_dict()["status"] == "printed"
    unknown = p.parse_invoice(p.build_get_invoice(v3, 9), 200, {}, b'{"id": 9, "status": "archived"}')
    assert unknown.status is None and unknown.raw_status == "archived"


@pytest.mark.parametrize("body", [b"<html>hi</html>", b"null", b"[]", b'{"number": "1"}', b"garbage"])
def test_unreadable_invoice_is_a_protocol_error(v3, body):
    with pytest.raises(e.InfaktProtocolError):
        p.parse_invoice(p.build_get_invoice(v3, 9), 200, {"Content-Type": "text/html"}, body)


def test_parse_v3_list_pages(v3):
    def page(offset, entities, total, has_next):
        body = {
            "metainfo": {
                "count": len(entities),
                "total_count": total,
                "next": "https://next" if has_next else None,
                "previous": None,
            },
            "entities": entities,
        }
        return p.parse_invoice_list(
            p.build_list_invoices(v3, page_size=2, cursor=offset), 200, {}, json.dumps(body).encode()
        )

    first = page(0, [{"id": 1, "status": "paid"}, {"id": 2, "status": "sent"}], 3, True)
    assert [i.id for i in first.invoices] == [1, 2]
    assert [i.status for i in first.invoices] == ["paid", "sent"]
    assert (first.total_count, first.next_cursor) == (3, 2)
    last = page(2, [{"id": 3, "status": "draft"}], 3, False)
    assert last.next_cursor is None
    assert page(0, [], 0, False).next_cursor is None


V2_LIST_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<hash>
  <invoices type="array">
    <invoice>
      <invoice_id>1</invoice_id>
      <status>szkic</status>
    </invoice>
    <invoice>
      <invoice_id>2</invoice_id>
      <status>wydrukowana</status>
    </invoice>
  </invoices>
  <page>1</page>
  <per_page>2</per_page>
  <total_count>3</total_count>
</hash>
"""
V2_LIST_XML_ATTRS = b"""<?xml version="1.0" encoding="UTF-8"?>
<invoices page="2" per_page="2" total_count="3">
<invoice><invoice_id>3</invoice_id><status>szkic</status></invoice>
</invoices>
"""


def test_parse_v2_list_all_shapes(v2json, v2xml):
    body = json.dumps(
        {"invoices": [{"invoice_id": 1, "status": "szkic"}], "page": 1, "per_page": 1, "total_count": 2}
    ).encode()
    page = p.parse_invoice_list(p.build_list_invoices(v2json, page_size=1), 200, {}, body)
    assert ([i.id for i in page.invoices], page.total_count, page.next_cursor) == ([1], 2, 2)
    page = p.parse_invoice_list(p.build_list_invoices(v2xml, page_size=2), 200, {}, V2_LIST_XML)
    assert [(i.id, i.status) for i in page.invoices] == [(1, "draft"), (2, "printed")]
    assert (page.total_count, page.next_cursor) == (3, 2)
    page = p.parse_invoice_list(p.build_list_invoices(v2xml, page_size=2, cursor=2), 200, {}, V2_LIST_XML_ATTRS)
    assert ([i.id for i in page.invoices], page.total_count, page.next_cursor) == ([3], 3, None)
    empty = b'<?xml version="1.0"?>\n<hash><invoices type="array"/><page>1</page><total_count>0</total_count></hash>'
    page = p.parse_invoice_list(p.build_list_invoices(v2xml), 200, {}, empty)
    assert (page.invoices, page.next_cursor) == ((), None)


# ============================================================================================
# Errors
# ============================================================================================
@pytest.mark.parametrize(
    ("fmt", "body", "message", "echo"),
    [
        (
            "xml",
            SEED_XML_ERROR,
            DOC_TYPE_MESSAGE,
            "/api/v2/invoices/deliver.xml?type=mail&doc_type=kopia&id=1",
        ),
        (
            "json",
            SEED_JSON_ERROR,
            TYPE_MESSAGE,
            "/api/v2/invoices/deliver.json?type=smail&doc_type=KOPIA&id=1",
        ),
        (
            "xml",
            CLEAN_XML_ERROR,
            DOC_TYPE_MESSAGE,
            "/api/v2/invoices/deliver.xml?type=mail&doc_type=kopia&id=1",
        ),
        (
            "json",
            CLEAN_JSON_ERROR,
            TYPE_MESSAGE,
            "/api/v2/invoices/deliver.json?type=smail&doc_type=KOPIA&id=1",
        ),
    ],
)
def test_seed_error_bodies(fmt, body, message, echo):
    from .conftest import v2_settings

    request = p.build_deliver(v2_settings(fmt), 1, "mail", "KOPIA")
    with pytest.raises(e.InfaktBadRequestError) as caught:
        p.parse_deliver(request, 400, {}, body)
    error = caught.value
    assert (error.status, error.api_message, error.request_echo) == (400, message, echo)
    assert error.retryable is False
    assert "HTTP 400" in str(error) and message in str(error)


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, e.InfaktBadRequestError, False),
        (401, e.InfaktAuthError, False),
        (402, e.InfaktPaymentRequiredError, False),
        (403, e.InfaktForbiddenError, False),
        (404, e.InfaktNotFoundError, False),
        (405, e.InfaktAPIError, False),
        (406, e.InfaktNotAcceptableError, False),
        (422, e.InfaktUnprocessableError, False),
        (423, e.InfaktLockedError, False),
        (429, e.InfaktRateLimitedError, True),
        (503, e.InfaktRateLimitedError, True),
        (500, e.InfaktServerError, True),
        (502, e.InfaktServerError, True),
        (501, e.InfaktServerError, True),
    ],
)
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_status_to_exception_for_reads(status, cls, retryable, version):
    from .conftest import v2_settings, v3_settings

    settings = v2_settings() if version == "v2" else v3_settings()
    body = (
        json.dumps({"message": "Emulated", "request": "/api/v2/x"}) if version == "v2" else '{"error": "Emulated"}'
    ).encode()
    with pytest.raises(cls) as caught:
        p.parse_invoice(p.build_get_invoice(settings, 1), status, {"Retry-After": "7"}, body)
    error = caught.value
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == status and error.api_message == "Emulated"
    assert error.retry_after == 7.0
    assert f"HTTP {status}" in str(error) and "Emulated" in str(error)


@pytest.mark.parametrize("status", [500, 502, 504])
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_deliver_5xx_is_an_unknown_outcome(status, version):
    from .conftest import v2_settings, v3_settings

    settings = v2_settings() if version == "v2" else v3_settings()
    request = p.build_deliver(settings, 1, "mail", "org")
    with pytest.raises(e.InfaktUnknownOutcome) as caught:
        p.parse_deliver(request, status, {}, b'{"error": "boom"}')
    assert caught.value.status == status
    assert caught.value.api_message == "boom"
    assert caught.value.retryable is False
    assert "not resent" in str(caught.value)


def test_deliver_503_and_501_are_unknown_too(v3):
    """A proxy, load balancer or CDN may answer any 5xx after inFakt acted."""
    request = p.build_deliver(v3, 1, "mail", "org")
    for status in (503, 501):
        with pytest.raises(e.InfaktUnknownOutcome) as caught:
            p.parse_deliver(request, status, {}, b'{"error": "busy"}')
        assert caught.value.status == status and caught.value.api_message == "busy"


def test_v3_validation_errors(v3):
    body = b'{"errors": {"print_type": ["is not included in the list"], "recipient": ["is invalid"]}}'
    with pytest.raises(e.InfaktUnprocessableError) as caught:
        p.parse_deliver(p.build_deliver(v3, 1, "mail", "org"), 422, {}, body)
    assert caught.value.errors == {"print_type": ["is not included in the list"], "recipient": ["is invalid"]}
    assert "print_type: is not included in the list" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (
            b"<html><head><title>502</title></head><body>Bad gateway</body></html>",
            {"Content-Type": "text/html"},
            "text/html",
        ),
        (b"", {}, "empty body"),
        (
            b"\xff\xfe\x00garbage" * 100,
            {"Content-Type": "application/octet-stream"},
            "application/octet-stream",
        ),
        (b"Invalid signature", {"Content-Type": "text/plain"}, "Invalid signature"),
    ],
)
def test_garbage_error_bodies_are_described_and_truncated(v3, body, headers, expected):
    with pytest.raises(e.InfaktNotFoundError) as caught:
        p.parse_invoice(p.build_get_invoice(v3, 1), 404, headers, body)
    message = str(caught.value)
    assert expected in message
    assert len(message) < 400


def test_error_echo_masks_personal_data(v2json):
    body = json.dumps(
        {
            "message": "no",
            "request": "/api/v2/invoices/deliver.json?type=mail&doc_type=org&id=1&recipient=jan.kowalski%40example.com",
        }
    ).encode()
    with pytest.raises(e.InfaktBadRequestError) as caught:
        p.parse_deliver(p.build_deliver(v2json, 1, "mail", "org", "jan.kowalski@example.com"), 400, {}, body)
    assert "kowalski" not in str(caught.value) and "kowalski" not in (caught.value.request_echo or "")
    assert "recipient=j***@example.com" in str(caught.value)


def _roundtrip(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj))  # noqa: S301 - bytes this test made itself


def test_api_errors_pickle(v3):
    with pytest.raises(e.InfaktUnprocessableError) as caught:
        p.parse_deliver(p.build_deliver(v3, 1, "mail", "org"), 422, {"Retry-After": "3"}, b'{"errors":{"a":["b"]}}')
    clone = _roundtrip(caught.value)
    assert type(clone) is e.InfaktUnprocessableError
    assert (clone.status, clone.errors, clone.retry_after, str(clone)) == (
        422,
        {"a": ["b"]},
        3.0,
        str(caught.value),
    )
    unknown = _roundtrip(e.InfaktUnknownOutcome("read timeout", route="v3.deliver_via_email"))
    assert unknown.route == "v3.deliver_via_email" and "read timeout" in str(unknown)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value, expected):
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert p.parse_retry_after(value, now) == expected


# ============================================================================================
# Redirects
# ============================================================================================
def test_follow_redirect_same_origin_only(v3):
    request = p.build_get_invoice(v3, 1)
    moved = p.follow_redirect(request, 301, "/api/v3/invoices/2.json?x=1")
    assert moved.url == "https://api.infakt.pl/api/v3/invoices/2.json" and moved.params == (("x", "1"),)
    # the same origin spelled differently: followed, with the request's own spelling of it
    assert p.follow_redirect(request, 307, "https://API.infakt.pl:443/other").url == "https://api.infakt.pl/other"
    for location in (
        "https://evil.example/api/v3/x",
        "http://api.infakt.pl/api/v3/x",
        "https://api.infakt.pl:8443/x",
        "//evil.example/x",
    ):
        with pytest.raises(e.InfaktRedirectError) as caught:
            p.follow_redirect(request, 302, location)
        assert "another origin" in str(caught.value)
    with pytest.raises(e.InfaktRedirectError, match="Location"):
        p.follow_redirect(request, 302, None)
    for location in (
        "https://user@api.infakt.pl/x",  # userinfo: parsers disagree about where it ends
        "https://api.infakt.pl\\@evil.example/x",
        "/api/v3/\tx",
        "/api/v3/ x",
        "/api/v3/\u017c",
        "https://[api.infakt.pl]/x",
        "https://api.infakt.pl:443x/x",
    ):
        with pytest.raises(e.InfaktRedirectError):
            p.follow_redirect(request, 302, location)


def test_redirect_never_turns_a_deliver_into_a_get(v3):
    request = p.build_deliver(v3, 1, "mail", "org")
    assert p.follow_redirect(request, 308, "/api/v3/invoices/1/deliver_via_email.json").method == "POST"
    with pytest.raises(e.InfaktRedirectError, match="GET"):
        p.follow_redirect(request, 303, "/somewhere")


def test_check_deliver_validates_without_building_and_keeps_the_address_out_of_repr():
    from .conftest import v2_settings, v3_settings

    args = p.check_deliver(v3_settings(), "7", "mail", "d_org", "Klient@Firma.example", "en", True)
    assert (args.invoice_id, args.type, args.doc_type, args.locale, args.send_copy, args.api_version) == (
        7,
        "mail",
        "d_org",
        "en",
        True,
        "v3",
    )
    assert args.recipient is not None and "firma.example" in args.recipient.lower()
    assert "firma" not in repr(args).lower()
    # the same refusals as build_deliver, before anything is built
    with pytest.raises(InfaktValidationError) as caught:
        p.check_deliver(v3_settings(), 7, "post", "org", "a@b.example")
    assert caught.value.field == "recipient" and "a@b.example" not in str(caught.value)
    with pytest.raises(InfaktValidationError) as caught:
        p.check_deliver(v2_settings(), 7, "mail", "org", locale="pl")
    assert caught.value.field == "locale"


def test_error_for_without_now_reads_an_http_date_retry_after_against_the_clock():
    """Retry-After as an HTTP date means "until then": without ``now`` it is measured from the real time."""
    import email.utils
    import time

    from .conftest import v3_settings

    request = p.build_get_invoice(v3_settings(), 1)
    then = email.utils.formatdate(time.time() + 30, usegmt=True)
    error = p.error_for(request, 429, {"Retry-After": then}, b'{"error": "Too many requests"}')
    assert error.retry_after is not None and 25 <= error.retry_after <= 31
    fixed = p.error_for(request, 429, {"Retry-After": then}, b"{}", now=time.time() - 100)
    assert fixed.retry_after is not None and fixed.retry_after >= 125  # the given now, not the clock


# -- list filters and mark paid (issue 11, item 7) ----------------------------------------------
def test_list_filters_are_written_as_each_versions_query(v3, v2json):
    filters = p.check_invoice_filters(
        {
            "status": "sent",
            "number": "FV/1/2026",
            "client_id": "12",
            "id_from": 5,
            "invoice_date_from": "2026-11-01",
            "paid_date_to": "2026-11-30",
        },
        "v3",
    )
    assert p.build_list_invoices(v3, page_size=100, filters=filters).params == (
        ("offset", "0"),
        ("limit", "100"),
        ("q[status_eq]", "sent"),
        ("q[number_eq]", "FV/1/2026"),
        ("q[client_id_eq]", "12"),
        ("q[id_gteq]", "5"),
        ("q[invoice_date_gteq]", "2026-11-01"),
        ("q[paid_date_lteq]", "2026-11-30"),
    )
    # v2: Polish status, client_id, _od/_do ranges; number and id range are checked on each invoice
    assert p.build_list_invoices(v2json, filters=filters).params == (
        ("page", "1"),
        ("per_page", "25"),
        ("status", "wysłana"),
        ("client_id", "12"),
        ("invoice_date_od", "2026-11-01"),
        ("paid_date_do", "2026-11-30"),
    )


def test_a_hostile_filter_value_cannot_add_a_parameter(v3):
    filters = p.check_invoice_filters({"number": "1&q[status_eq]=paid&limit=1000"}, "v3")
    url = p.build_list_invoices(v3, filters=filters).full_url
    assert url.endswith("?offset=0&limit=25&q%5Bnumber_eq%5D=1%26q%5Bstatus_eq%5D%3Dpaid%26limit%3D1000")
    assert url.count("&") == 2


def test_status_is_given_once(v3):
    filters = p.check_invoice_filters({"status": "paid"}, "v3")
    with pytest.raises(InfaktValidationError, match="given both"):
        p.build_list_invoices(v3, status="sent", filters=filters)
    with pytest.raises(InfaktValidationError, match="expected InvoiceFilters"):
        p.build_list_invoices(v3, filters={"status": "paid"})  # type: ignore[arg-type]


def test_an_answer_that_ignored_a_predicate_is_narrowed_here(v3):
    # a server that ignores q[number_eq] (Ransack may drop an unknown predicate) answers everything
    filters = p.check_invoice_filters({"number": "FV/2/2026", "invoice_date_from": "2026-11-01"}, "v3")
    request = p.build_list_invoices(v3, page_size=3, filters=filters)
    body = {
        "metainfo": {"count": 3, "total_count": 9, "next": "x"},
        "entities": [
            {"id": 1, "number": "FV/1/2026", "status": "sent", "invoice_date": "2026-11-02"},
            {"id": 2, "number": "FV/2/2026", "status": "sent", "invoice_date": "2026-11-02"},
            {"id": 3, "number": "FV/2/2026", "status": "sent", "invoice_date": "2026-10-31"},
        ],
    }
    page = p.narrow_page(p.parse_invoice_list(request, 200, {}, json.dumps(body).encode()), filters)
    assert [i.id for i in page.invoices] == [2]
    assert (page.next_cursor, page.total_count) == (3, 9)  # paging goes on as the server pages


@pytest.mark.parametrize(
    ("filters", "field", "text"),
    [
        ({"state": "paid"}, "filters", "unknown invoice filter 'state'"),
        ({"paid_date": "2026-11-01"}, "filters", "did you mean 'paid_date_to'"),
        ({"status": "zapłacona"}, "status", "did you mean 'paid'"),
        ({"client_id": 0}, "client_id", "expected a positive integer"),
        ({"client_id": "1" * 20}, "client_id", "expected a positive integer"),
        ({"id_to": 2.0}, "id_to", "expected a positive integer"),
        ({"invoice_date_to": "2026-02-30"}, "invoice_date_to", "that day does not exist"),
        ({"invoice_date_to": 20261101}, "invoice_date_to", "'YYYY-MM-DD'"),
        ({"id_from": 9, "id_to": 3}, "id_from", "is after id_to"),
        ({"number": "x" * 201}, "number", "at most 200 characters"),
        ({"number": "jan@example.com\x00"}, "number", "without control characters"),
    ],
)
def test_filters_are_refused_naming_field_value_and_what_is_allowed(filters, field, text):
    with pytest.raises(InfaktValidationError) as caught:
        p.check_invoice_filters(filters, "v3")
    assert caught.value.field == field
    assert text in str(caught.value)
    assert "jan@example.com" not in str(caught.value)


def test_none_means_not_filtered_and_a_date_object_is_taken(v3):
    import datetime as dt

    filters = p.check_invoice_filters({"status": None, "sale_date_from": dt.date(2026, 1, 2)}, "v3")
    assert filters.given() == {"sale_date_from": "2026-01-02"}


def test_mark_paid_request_and_answers(v3, v2json):
    request = p.build_mark_paid(v3, "7", "2026-11-20")
    assert (request.method, request.full_url, request.body) == (
        "POST",
        "https://api.infakt.pl/api/v3/invoices/7/paid.json",
        b'{"paid_date":"2026-11-20"}',
    )
    assert request.header("Content-Type") == "application/json" and request.idempotent
    assert p.build_mark_paid(v3, 7).body == b"{}"
    for status in (200, 201, 204):
        assert p.parse_mark_paid(request, status, {}, b"").to_dict() == {
            "invoice_id": 7,
            "paid_date": "2026-11-20",
            "api_version": "v3",
        }
    refused = json.dumps({"errors": {"paid_date": ["must not be earlier than the invoice date"]}}).encode()
    with pytest.raises(e.InfaktUnprocessableError, match="paid_date: must not be earlier"):
        p.parse_mark_paid(request, 422, {"Content-Type": "application/json"}, refused)
    with pytest.raises(e.InfaktServerError):
        p.parse_mark_paid(request, 502, {}, b"")
    with pytest.raises(InfaktValidationError, match="mark_paid needs API v3"):
        p.build_mark_paid(v2json, 7)
    with pytest.raises(InfaktValidationError, match=r"invalid paid_date '20\.11\.2026'"):
        p.build_mark_paid(v3, 7, "20.11.2026")
