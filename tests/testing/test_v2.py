"""API v2 beyond the seed's four examples: every route's success and error paths."""

from __future__ import annotations

import json
import urllib.parse

import pytest
import requests
import xmltodict

from .helpers import v2_get


@pytest.fixture
def v2json(infakt_emulator):
    return infakt_emulator.connection(api_version="v2", format="json")


@pytest.fixture
def v2xml(infakt_emulator):
    return infakt_emulator.connection(api_version="v2", format="xml")


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("type=mail&doc_type=KOPIA", 400, "Missing required parameter (id). See documentation."),
        ("id=1", 400, "Missing required parameter (type, doc_type). See documentation."),
        (
            "type=smail&doc_type=kopia&id=1",
            400,
            "One or more parameter's value not in defined set (type, doc_type). See documentation.",
        ),
        ("type=mail&doc_type=ORG&id=1", 400, "One or more parameter's value not in defined set (doc_type)."),
        ("type=mail&doc_type=org&id=abc", 400, "Parameter's value is not a number (id). See documentation."),
        ("type=mail&doc_type=org&id=999", 404, "Invoice not found (id=999). See documentation."),
        (
            "type=mail&doc_type=org&id=1&recipient=not-an-address",
            400,
            "Parameter's value is not an e-mail address (recipient). See documentation.",
        ),
    ],
)
def test_deliver_rejections_name_the_problem(infakt_emulator, v2json, query, status, message):
    response = v2_get(v2json, f"/invoices/deliver.json?{query}")
    assert response.status_code == status
    body = response.json()
    assert body["message"].startswith(message)
    assert body["request"] == f"/api/v2/invoices/deliver.json?{query}"
    assert infakt_emulator.deliveries == []


def test_error_in_xml_escapes_the_request_echo(v2xml):
    response = v2_get(v2xml, "/invoices/deliver.xml?type=mail&doc_type=org&id=999&x=%3Cb%3E")
    assert response.status_code == 404
    parsed = xmltodict.parse(response.content)["hash"]
    assert parsed["request"] == "/api/v2/invoices/deliver.xml?type=mail&doc_type=org&id=999&x=%3Cb%3E"
    assert b"&amp;doc_type" in response.content


def test_unknown_suffix_is_406_with_a_clear_message(v2json):
    url = v2json["host"] + "/invoices/deliver.html?type=mail&doc_type=org&id=1"
    from .helpers import oauth_headers

    response = requests.get(url, headers=oauth_headers(v2json, url), timeout=10)
    assert response.status_code == 406
    assert response.json()["message"] == "Unknown format (html). Use .xml or .json. See documentation."


def test_mail_to_client_without_address_is_400(infakt_emulator, v2json):
    response = v2_get(v2json, "/invoices/deliver.json?type=mail&doc_type=org&id=6")
    assert response.status_code == 400
    assert "has no e-mail address" in response.json()["message"]
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.invoice(6)["status"] == "draft"


def test_mail_to_client_without_address_with_recipient_goes_out(infakt_emulator, v2json):
    query = urllib.parse.urlencode({"type": "mail", "doc_type": "d_org", "id": 6, "recipient": "a@b.example"})
    response = v2_get(v2json, f"/invoices/deliver.json?{query}")
    assert response.status_code == 200
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.doc_type, delivery.recipient, delivery.address) == (
        6,
        "d_org",
        "a@b.example",
        "a@b.example",
    )


def test_post_needs_a_postal_package(infakt_emulator, v2xml):
    response = v2_get(v2xml, "/invoices/deliver.xml?type=post&doc_type=org&id=2")
    assert response.status_code == 400
    assert "Buy one" in xmltodict.parse(response.content)["hash"]["message"]
    assert infakt_emulator.deliveries == []
    infakt_emulator.set_postal_package(True)
    response = v2_get(v2xml, "/invoices/deliver.xml?type=post&doc_type=org_kop&id=2")
    assert response.status_code == 200
    assert xmltodict.parse(response.content)["invoice"]["invoice_id"] == "2"
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.type, delivery.doc_type, delivery.address) == ("post", "org_kop", None)


def test_delivery_moves_status_to_sent_and_read_shows_polish_status(infakt_emulator, v2json, v2xml):
    before = v2_get(v2json, "/invoices/3.json")
    assert before.status_code == 200
    assert before.json()["invoice"]["status"] == "szkic"
    assert v2_get(v2json, "/invoices/deliver.json?type=mail&doc_type=org&id=3").status_code == 200
    after = v2_get(v2xml, "/invoices/3.xml")
    invoice = xmltodict.parse(after.content)["invoice"]
    assert (invoice["invoice_id"], invoice["status"]) == ("3", "wysłana")
    infakt_emulator.mark_paid(3)
    assert v2_get(v2json, "/invoices/3.json").json()["invoice"]["status"] == "zapłacona"
    assert "wysłana".encode() in after.content  # raw UTF-8, not escaped


def test_read_unknown_invoice_is_404(v2json, v2xml):
    assert v2_get(v2json, "/invoices/404.json").status_code == 404
    response = v2_get(v2xml, "/invoices/nope.xml")
    assert response.status_code == 404
    assert "Invoice not found" in xmltodict.parse(response.content)["hash"]["message"]


def test_list_pages_and_filters(infakt_emulator, v2json, v2xml):
    infakt_emulator.create_invoice(status="unpaid")
    first = v2_get(v2json, "/invoices/list.json?page=1&per_page=4").json()
    second = v2_get(v2json, "/invoices/list.json?page=2&per_page=4").json()
    ids = [i["invoice_id"] for i in first["invoices"] + second["invoices"]]
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    assert (first["total_count"], first["page"], first["per_page"]) == (7, 1, 4)
    unpaid = v2_get(v2xml, "/invoices/list.xml?" + urllib.parse.urlencode({"status": "niezapłacona"}))
    parsed = xmltodict.parse(unpaid.content, force_list=("invoice",))["hash"]
    assert [i["invoice_id"] for i in parsed["invoices"]["invoice"]] == ["7"]
    assert parsed["total_count"] == "1"
    bad = v2_get(v2json, "/invoices/list.json?status=paid")
    assert bad.status_code == 400
    assert "(status)" in bad.json()["message"]
    assert v2_get(v2json, "/invoices/list.json?per_page=101").status_code == 400


def test_list_narrows_by_client_and_date_ranges(infakt_emulator, v2json, v2xml):
    emu = infakt_emulator
    emu.create_invoice(client_id=2, invoice_date="2025-10-31")  # 7
    emu.create_invoice(client_id=2, invoice_date="2025-11-01", sale_date="2025-10-20")  # 8
    emu.create_invoice(client_id=3, invoice_date="2025-11-30")  # 9
    emu.account.mark_paid(8, "2025-11-05")

    def listed(conn, **query):
        fmt = conn["extra"]["format"]
        response = v2_get(conn, f"/invoices/list.{fmt}?" + urllib.parse.urlencode(query))
        assert response.status_code == 200, response.text
        if fmt == "json":
            return [i["invoice_id"] for i in response.json()["invoices"]]
        parsed = xmltodict.parse(response.content, force_list=("invoice",))["hash"]["invoices"]
        return [int(i["invoice_id"]) for i in (parsed or {}).get("invoice", [])]

    november = {"invoice_date_od": "2025-11-01", "invoice_date_do": "2025-11-30"}
    assert listed(v2json, **november) == [8, 9]
    assert listed(v2xml, **november, client_id="2") == [8]
    assert listed(v2json, client_id="2") == [2, 7, 8]
    assert listed(v2json, paid_date_od="2025-11-01") == [8]
    assert listed(v2json, sale_date_do="2025-10-31") == [7, 8]
    assert listed(v2json, client_id="2", status="zapłacona") == [8]
    bad_date = v2_get(v2json, "/invoices/list.json?invoice_date_od=1.11.2026")
    assert bad_date.status_code == 400
    assert "(invoice_date_od)" in bad_date.json()["message"]
    assert v2_get(v2json, "/invoices/list.json?client_id=abc").status_code == 400


def test_json_bodies_are_utf8_json(v2json):
    response = v2_get(v2json, "/invoices/1.json")
    assert json.loads(response.content.decode("utf-8"))["invoice"]["client_company_name"].startswith("Piekarnia")
