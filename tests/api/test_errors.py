"""Personal data in errors (issue 8, finding 9b): inFakt's own messages may quote the recipient's address;
no exception, attribute or log line built from them may show it unmasked."""

from __future__ import annotations

import logging
import pickle  # exceptions must survive the trip between Airflow processes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p
from airflow_provider_infakt.api._logging import mask_addresses_in
from airflow_provider_infakt.api.errors import redact_text

from .conftest import v2_settings, v3_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("jan@example.com", "j***@example.com", id="plain"),
        pytest.param("to jan.kowalski+faktury@example.com.", "to j***@example.com.", id="plus-tag"),
        pytest.param("jan@mail.biuro.example.co.uk", "j***@mail.biuro.example.co.uk", id="subdomains"),
        pytest.param("JAN.KOWALSKI@EXAMPLE.COM", "J***@EXAMPLE.COM", id="upper-case"),
        pytest.param("zażółć@łódź.pl is invalid", "z***@łódź.pl is invalid", id="idn-local-and-domain"),
        pytest.param("jose\u0301@example.com", "j***@example.com", id="combining-mark"),
        pytest.param("ja\u200bn@example.com", "j***@example.com", id="zero-width-inside"),
        pytest.param("recipient=jan.kowalski%40example.com&id=1", "recipient=j***%40example.com&id=1", id="pct-at"),
        pytest.param("recipient=jan%2Bx%40example.com", "recipient=j***%40example.com", id="pct-plus-and-at"),
        pytest.param('{"error": "jan\\u0040example.com"}', '{"error": "j***\\u0040example.com"}', id="json-escaped-at"),
        pytest.param(
            '"za\\u017c\\u00f3\\u0142\\u0107@\\u0142\\u00f3d\\u017a.pl"',
            '"z***@\\u0142\\u00f3d\\u017a.pl"',
            id="json-ascii-escaped-idn",
        ),
        pytest.param('"\\"jan@example.com\\" is invalid"', '"\\"j***@example.com\\" is invalid"', id="json-quoted"),
        pytest.param("jan&#64;example.com", "j***&#64;example.com", id="html-decimal-at"),
        pytest.param("jan&#x40;example.com", "j***&#x40;example.com", id="html-hex-at"),
        pytest.param("jan\uff20example.com", "j***\uff20example.com", id="full-width-at"),
        pytest.param("recipient='jan@example.com'", "recipient='j***@example.com'", id="python-repr"),
        pytest.param("<jan@example.com>, anna@example.org", "<j***@example.com>, a***@example.org", id="two"),
        pytest.param("a@b.c@d.com", "a***@b***@d.com", id="chained"),
    ],
)
def test_redact_text_masks_every_form_of_an_address(text, expected):
    assert redact_text(text) == expected
    assert redact_text(expected) == expected  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "None",
        "One or more parameter's value not in defined set (doc_type). See documentation.",
        "@task decorated function",
        "user @ host",
        "50% off, 100%",
        "mail to: @",
        "j***@example.com",
        "'***@example.com'",
    ],
)
def test_redact_text_leaves_text_without_an_address_alone(text):
    assert redact_text(text) == text


def test_looks_like_address_knows_every_written_form_of_the_at_sign():
    for text in ("a@b", "a%40b", "a\\u0040b", "a&#64;b", "a&#x40;b", "a\uff20b"):
        assert e.looks_like_address(text), text
    for text in ("None", "12345", "a.b.example.com", "50%", "\\u0041"):
        assert not e.looks_like_address(text), text


_LOCAL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+\-]{1,15}", fullmatch=True)
_DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}\.[a-z]{2,5}", fullmatch=True)
_AT_FORMS = st.sampled_from(["@", "%40", "\\u0040", "&#64;", "\uff20"])
_AROUND = st.text(alphabet=" \"'<>(),;:=[]{}\n", max_size=3)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_LOCAL, _AT_FORMS, _DOMAIN, _AROUND, _AROUND)
def test_property_an_address_in_any_text_loses_its_local_part(local, at, domain, before, after):
    redacted = redact_text(f"{before}{local}{at}{domain}{after}")
    assert f"{local}{at}" not in redacted
    assert f"{local[:1]}***{at}{domain}" in redacted


@settings(derandomize=True, max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_property_redact_text_is_idempotent(text):
    once = redact_text(text)
    assert redact_text(once) == once


# -- exceptions keep no address unmasked ------------------------------------------------------------


def test_api_error_masks_message_errors_and_echo():
    exc = e.InfaktUnprocessableError(
        422,
        "Recipient jan.kowalski@example.com is invalid",
        errors={"recipient": ["jan.kowalski@example.com is invalid", "anna@example.org too"]},
        request_echo="/api/v2/invoices/deliver.json?recipient=jan.kowalski%40example.com",
    )
    for shown in (str(exc), repr(exc), exc.api_message, repr(exc.errors), exc.request_echo or ""):
        assert "kowalski" not in shown and "anna@" not in shown
    assert exc.api_message == "Recipient j***@example.com is invalid"
    assert exc.errors == {"recipient": ["j***@example.com is invalid", "a***@example.org too"]}
    again = pickle.loads(pickle.dumps(exc))  # noqa: S301 - bytes this test made itself
    assert "kowalski" not in str(again) and again.errors == exc.errors


def test_unknown_outcome_and_transport_errors_mask_addresses():
    exc = e.InfaktUnknownOutcome(
        "the server answered HTTP 502 for jan@example.com", route="v2.deliver", status=502, api_message="jan@x.pl"
    )
    assert "jan@" not in str(exc) and exc.api_message == "j***@x.pl" and "jan@" not in exc.reason
    transport = e.InfaktConnectionError("Max retries exceeded with url: /deliver.json?recipient=jan%40example.com")
    assert "jan%40" not in str(transport) and "j***%40example.com" in str(transport)


def test_validation_messages_are_left_as_written():
    exc = e.InfaktValidationError(
        "invalid recipient 'None': it has no '@'; expected one e-mail address like name@example.com",
        field="recipient",
        value="None",
    )
    assert "name@example.com" in str(exc) and exc.value == "None"


@pytest.mark.parametrize(
    ("settings_", "status", "body", "cls"),
    [
        pytest.param(
            v3_settings(),
            422,
            b'{"errors": {"recipient": ["jan.kowalski@example.com is invalid"]}}',
            e.InfaktUnprocessableError,
            id="v3-errors-dict",
        ),
        pytest.param(
            v3_settings(),
            422,
            b'{"error": "Cannot send to jan.kowalski@example.com"}',
            e.InfaktUnprocessableError,
            id="v3-error",
        ),
        pytest.param(
            v2_settings("json"),
            400,
            b'{"message": "Recipient jan.kowalski@example.com is blocked", "request": "/x"}',
            e.InfaktBadRequestError,
            id="v2-json-message",
        ),
        pytest.param(
            v2_settings("xml"),
            400,
            b"<hash><message>Recipient jan.kowalski@example.com is blocked</message><request>/x</request></hash>",
            e.InfaktBadRequestError,
            id="v2-xml-message",
        ),
        pytest.param(
            v2_settings("json"),
            400,
            b'{"message": "Recipient jan.kowalski\\u0040example.com is blocked", broken',
            e.InfaktUnknownOutcome,  # not inFakt's own (readable) body: on a deliver it proves nothing
            id="v2-unreadable-json-escaped",
        ),
    ],
)
def test_addresses_in_inFakt_error_bodies_are_masked(settings_, status, body, cls):
    request = p.build_deliver(settings_, 1, "mail", "org", "jan.kowalski@example.com")
    with pytest.raises(cls) as caught:
        p.parse_deliver(request, status, {"Content-Type": "application/json"}, body)
    exc = caught.value
    shown = [str(exc), repr(exc), *(str(getattr(exc, a, "")) for a in ("api_message", "errors", "reason"))]
    assert not [text for text in shown if "kowalski" in text]
    assert "j***" in str(exc)


def test_the_http_library_log_filter_sees_every_form_of_the_at_sign(caplog):
    mask_addresses_in("infakt.test.http")
    caplog.set_level(logging.DEBUG, logger="infakt.test.http")
    log = logging.getLogger("infakt.test.http")
    log.debug("GET %s", "/deliver.json?recipient=jan.kowalski%40example.com")
    log.debug("body %s", '{"error": "jan.kowalski&#64;example.com"}')
    log.debug("body %s", "jan.kowalski\uff20example.com")
    assert "kowalski" not in caplog.text
    assert caplog.text.count("j***") == 3
