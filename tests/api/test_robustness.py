"""Hostile and absurd inputs: deeply nested answers, huge messages, huge invoice ids. Nothing may
escape as a raw Python error, and no exception may carry megabytes of someone else's text."""

from __future__ import annotations

import json

import pytest

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p
from airflow_provider_infakt.api.vocabulary import validate_invoice_id

from .conftest import v2_settings, v3_settings
from .localserver import Reply, scripted_server
from .test_client_transport import Runner, settings

DEEP_BODIES = {
    "json-list": b"[" * 100_000,
    "json-object": b'{"a":' * 100_000,
    "xml": b"<a>" * 100_000 + b"</a>" * 100_000,
    "xml-shallow-enough-for-expat": b"<invoice>" + b"<a>" * 500 + b"</a>" * 500 + b"</invoice>",
}
READS = {
    "v2json": lambda: p.build_get_invoice(v2_settings("json"), 1),
    "v2xml": lambda: p.build_get_invoice(v2_settings("xml"), 1),
    "v3": lambda: p.build_get_invoice(v3_settings(), 1),
}
LISTS = {
    "v2json": lambda: p.build_list_invoices(v2_settings("json")),
    "v2xml": lambda: p.build_list_invoices(v2_settings("xml")),
    "v3": lambda: p.build_list_invoices(v3_settings()),
}


# -- deeply nested answers ----------------------------------------------------------------------
@pytest.mark.parametrize("body", list(DEEP_BODIES.values()), ids=list(DEEP_BODIES))
@pytest.mark.parametrize("kind", list(READS))
def test_deeply_nested_read_answers_are_protocol_errors(kind, body):
    with pytest.raises(e.InfaktProtocolError):
        p.parse_invoice(READS[kind](), 200, {}, body)
    with pytest.raises(e.InfaktProtocolError):
        p.parse_invoice_list(LISTS[kind](), 200, {}, body)


@pytest.mark.parametrize("body", list(DEEP_BODIES.values()), ids=list(DEEP_BODIES))
@pytest.mark.parametrize("kind", list(READS))
def test_deeply_nested_error_answers_keep_their_status(kind, body):
    with pytest.raises(e.InfaktNotFoundError) as caught:
        p.parse_invoice(READS[kind](), 404, {}, body)
    assert "HTTP 404" in str(caught.value) and len(str(caught.value)) < 1000


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_deeply_nested_answer_over_http(mode):
    run = Runner(mode)
    with scripted_server() as server:
        server.default = Reply(200, {"Content-Type": "application/json"}, b"[" * 200_000)
        with pytest.raises(e.InfaktProtocolError):
            run(settings(server.url), "get_invoice", 1)
        with pytest.raises(e.InfaktUnknownOutcome):
            run(settings(server.url), "deliver_invoice", 1, "mail", "org")


# -- huge messages ----------------------------------------------------------------------------
HUGE = "Something went wrong. " * 250_000  # 5.5 MB


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("v3", json.dumps({"error": HUGE}).encode()),
        ("v3", json.dumps({"errors": {f"field{i}": [HUGE[:10_000]] * 50 for i in range(200)}}).encode()),
        ("v2json", json.dumps({"message": HUGE, "request": "/api/v2/" + "x" * 1_000_000}).encode()),
        ("v2xml", f"<hash><message>{HUGE}</message><request>/api/v2/{'x' * 1_000_000}</request></hash>".encode()),
        ("v2xml", b"<html><message>" + HUGE.encode() + b"</message>"),  # unreadable: salvaged
        ("v3", b'{"error": "' + HUGE.encode() + b'", oops'),  # unreadable: salvaged
    ],
    ids=["v3-error", "v3-errors", "v2-json", "v2-xml", "salvaged-xml", "salvaged-json"],
)
def test_huge_api_messages_are_cut_in_exceptions(kind, body):
    for request in (READS[kind](), p.build_deliver(v2_settings() if kind != "v3" else v3_settings(), 1, "mail", "org")):
        parse = p.parse_deliver if not request.idempotent else p.parse_invoice
        with pytest.raises(e.InfaktError) as caught:
            parse(request, 422, {}, body)
        text = str(caught.value)
        assert len(text) < 25_000, len(text)
        message = getattr(caught.value, "api_message", None) or ""
        assert len(message) <= p.MAX_QUOTED + 60
        if len(message) > p.MAX_QUOTED:
            assert "[cut:" in message


def test_a_cut_message_says_so():
    with pytest.raises(e.InfaktNotFoundError) as caught:
        p.parse_invoice(READS["v3"](), 404, {}, json.dumps({"error": HUGE}).encode())
    assert caught.value.api_message.startswith("Something went wrong.")
    assert f"[cut: {len(HUGE.strip())} characters in all]" in caught.value.api_message


def test_salvaging_a_message_is_not_quadratic():
    import time

    body = b"<message>" * 1_000_000  # no closing tag anywhere: a naive search rescans to the end each time
    started = time.monotonic()
    with pytest.raises(e.InfaktAPIError):
        p.parse_invoice(READS["v2xml"](), 400, {}, body)
    assert time.monotonic() - started < 2.0


# -- huge invoice ids ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    ["9" * 5000, " " + "9" * 5000, 10**5000, "9" * 20, 2**63, str(2**63), "1" * 1_000_000],
    ids=["5000-digits", "5000-digits-spaced", "int-5000-digits", "20-digits", "int-2**63", "2**63", "1M-digits"],
)
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_huge_invoice_ids_are_validation_errors(value, version):
    with pytest.raises(e.InfaktValidationError) as caught:
        validate_invoice_id(value, version)
    message = str(caught.value)
    assert caught.value.field == "invoice_id" and not caught.value.retryable
    assert "invoice_id" in message and "at most 19 digits" in message and "positive integer" in message
    assert len(message) < 300
    assert len(repr(caught.value.value)) < 100  # the value, cut


def test_the_largest_invoice_id_passes():
    assert validate_invoice_id(str(2**63 - 1)) == 2**63 - 1
    assert validate_invoice_id(2**63 - 1, "v3") == 2**63 - 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_huge_invoice_id_costs_no_request(mode):
    run = Runner(mode)
    with scripted_server() as server:
        for method, args in (("deliver_invoice", ("mail", "org")), ("get_invoice", ())):
            with pytest.raises(e.InfaktValidationError):
                run(settings(server.url), method, "9" * 5000, *args)
        assert server.seen == []
