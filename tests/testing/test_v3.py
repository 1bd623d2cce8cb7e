"""API v3: reads, lists, deliveries, payment, API-key auth and scopes."""

from __future__ import annotations

import json

import pytest
import requests

from .helpers import v3


@pytest.fixture
def conn(infakt_emulator):
    return infakt_emulator.connection(api_version="v3")


@pytest.fixture
def readonly(infakt_emulator):
    return infakt_emulator.connection(api_version="v3", scope="read")


def test_read_by_id_and_by_uuid(conn):
    by_id = v3(conn, "GET", "/invoices/2.json")
    assert by_id.status_code == 200
    invoice = by_id.json()
    assert (invoice["id"], invoice["status"]) == (2, "draft")
    by_uuid = v3(conn, "GET", f"/invoices/{invoice['uuid']}.json")
    assert by_uuid.json() == invoice
    assert "email" not in str(invoice)


def test_read_unknown_is_404_and_wrong_suffix_406(conn):
    assert v3(conn, "GET", "/invoices/999.json").json() == {"error": "Invoice not found."}
    assert v3(conn, "GET", "/invoices/999.json").status_code == 404
    response = v3(conn, "GET", "/invoices/1.xml")
    assert response.status_code == 406
    assert "JSON only" in response.json()["error"]


def test_list_offset_limit_and_links(conn):
    first = v3(conn, "GET", "/invoices.json", params={"offset": 0, "limit": 4}).json()
    assert [e["id"] for e in first["entities"]] == [1, 2, 3, 4]
    assert first["metainfo"]["count"] == 4
    assert first["metainfo"]["total_count"] == 6
    assert first["metainfo"]["previous"] is None
    assert first["metainfo"]["next"].endswith("/api/v3/invoices.json?offset=4&limit=4")
    second = v3(conn, "GET", "/invoices.json", params={"offset": 4, "limit": 4}).json()
    assert [e["id"] for e in second["entities"]] == [5, 6]
    assert second["metainfo"]["next"] is None
    assert second["metainfo"]["previous"].endswith("offset=0&limit=4")
    assert v3(conn, "GET", "/invoices.json", params={"limit": 101}).status_code == 400


def test_list_filters_and_order(infakt_emulator, conn):
    infakt_emulator.mark_paid(2)
    infakt_emulator.mark_paid(5)
    paid = v3(conn, "GET", "/invoices.json", params={"q[status_eq]": "paid", "order": "id desc"}).json()
    assert [e["id"] for e in paid["entities"]] == [5, 2]
    cheap = v3(conn, "GET", "/invoices.json", params={"q[gross_price_lteq]": "24600"}).json()
    assert [e["id"] for e in cheap["entities"]] == [1, 2]
    named = v3(conn, "GET", "/invoices.json", params={"q[client_company_name_cont]": "x"})
    assert named.status_code == 400
    assert "Unknown filter" in named.json()["error"]
    unpaid = v3(conn, "GET", "/invoices.json", params={"q[paid_date_null]": "true"}).json()
    assert [e["id"] for e in unpaid["entities"]] == [1, 3, 4, 6]


def test_deliver_via_email_is_202_empty_and_moves_status(infakt_emulator, conn):
    response = v3(conn, "POST", "/invoices/4/deliver_via_email.json", json={"print_type": "copy", "locale": "en"})
    assert (response.status_code, response.content) == (202, b"")
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.type, delivery.doc_type, delivery.api_version) == (
        4,
        "mail",
        "KOPIA",
        "v3",
    )
    assert delivery.recipient is None
    assert delivery.address == infakt_emulator.invoice(4)["client_email"]
    assert v3(conn, "GET", "/invoices/4.json").json()["status"] == "sent"


def test_deliver_via_email_by_uuid_with_recipient(infakt_emulator, conn):
    uuid = infakt_emulator.invoice(6)["uuid"]
    body = {"print_type": "original_duplicate", "recipient": "ksiegowa@firma.example", "send_copy": True}
    assert v3(conn, "POST", f"/invoices/{uuid}/deliver_via_email.json", json=body).status_code == 202
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.doc_type, delivery.address) == (
        6,
        "d_org",
        "ksiegowa@firma.example",
    )


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"print_type": "kopia"},
            {
                "print_type": [
                    "is not included in the list (original, copy, "
                    "original_duplicate, copy_duplicate, duplicate, regular)"
                ]
            },
        ),
        ({"print_type": "copy", "locale": "de"}, {"locale": ["is not included in the list (pl, en, pe)"]}),
        ({"print_type": "copy", "recipient": "nope"}, {"recipient": ["is not an e-mail address"]}),
        ({"print_type": "copy", "recipient": "ksiegowa@firma.example\n"}, {"recipient": ["is not an e-mail address"]}),
        ({"recipient": "ksiegowa@firma.example\r\n"}, {"recipient": ["is not an e-mail address"]}),
        ({"recipient": "\nksiegowa@firma.example"}, {"recipient": ["is not an e-mail address"]}),
        ({"recipient": "ksiegowa@firma.example\x00"}, {"recipient": ["is not an e-mail address"]}),
        ({"recipient": ["ksiegowa@firma.example"]}, {"recipient": ["is not an e-mail address"]}),
        (
            {"print_type": 1},
            {
                "print_type": [
                    "is not included in the list (original, copy, original_duplicate, "
                    "copy_duplicate, duplicate, regular)"
                ]
            },
        ),
        ({"print_type": "copy", "send_copy": "yes"}, {"send_copy": ["must be true or false"]}),
    ],
    ids=[
        "print_type-lowercase-seed-word",
        "locale",
        "recipient-not-an-address",
        "recipient-trailing-newline",
        "recipient-trailing-crlf",
        "recipient-leading-newline",
        "recipient-nul",
        "recipient-list",
        "print_type-number",
        "send_copy-string",
    ],
)
def test_deliver_via_email_validation_is_422(infakt_emulator, conn, body, errors):
    response = v3(conn, "POST", "/invoices/1/deliver_via_email.json", json=body)
    assert response.status_code == 422
    assert response.json() == {"errors": errors}
    assert infakt_emulator.deliveries == []


def test_deliver_via_email_without_address_is_422(infakt_emulator, conn):
    response = v3(conn, "POST", "/invoices/6/deliver_via_email.json", json={"print_type": "original"})
    assert response.status_code == 422
    assert "no e-mail address" in response.json()["error"]
    assert infakt_emulator.deliveries == []


def test_malformed_body_is_400(conn):
    response = v3(conn, "POST", "/invoices/1/deliver_via_email.json", data=b"{nope")
    assert (response.status_code, response.json()) == (400, {"error": "Request body is not valid JSON."})


def test_deliver_via_post_needs_a_package(infakt_emulator, conn):
    response = v3(conn, "POST", "/invoices/1/deliver_via_post.json", json={})
    assert response.status_code == 402
    assert "Buy one" in response.json()["error"]
    infakt_emulator.set_postal_package(True)
    assert v3(conn, "POST", "/invoices/1/deliver_via_post.json", json={}).status_code == 202
    assert [(d.type, d.doc_type) for d in infakt_emulator.deliveries] == [("post", "org")]


def test_paid_sets_status_and_date(infakt_emulator, conn):
    created = infakt_emulator.create_invoice(invoice_date="2026-11-02")["id"]
    response = v3(conn, "POST", f"/invoices/{created}/paid.json", json={"paid_date": "2026-11-20"})
    assert (response.status_code, response.content) == (204, b"")
    invoice = v3(conn, "GET", f"/invoices/{created}.json").json()
    assert (invoice["status"], invoice["paid_date"]) == ("paid", "2026-11-20")
    bad = v3(conn, "POST", "/invoices/3/paid.json", json={"paid_date": "yesterday"})
    assert bad.status_code == 422


def test_paid_before_the_invoice_date_is_422_and_changes_nothing(infakt_emulator, conn):
    # inFakt: paid_date "nie wcześniejsza niż data wystawienia" (not before the invoice date)
    created = infakt_emulator.create_invoice(invoice_date="2026-11-02")["id"]
    response = v3(conn, "POST", f"/invoices/{created}/paid.json", json={"paid_date": "2026-11-01"})
    assert response.status_code == 422
    assert "2026-11-02" in response.json()["errors"]["paid_date"][0]
    assert infakt_emulator.invoice(created)["status"] == "draft"
    same_day = v3(conn, "POST", f"/invoices/{created}/paid.json", json={"paid_date": "2026-11-02"})
    assert same_day.status_code == 204


def test_invoices_carry_infakts_date_fields(infakt_emulator, conn):
    created = infakt_emulator.create_invoice(invoice_date="2026-10-30", sale_date="2026-10-29")["id"]
    invoice = v3(conn, "GET", f"/invoices/{created}.json").json()
    assert (invoice["invoice_date"], invoice["sale_date"], invoice["payment_date"]) == (
        "2026-10-30",
        "2026-10-29",
        "2026-11-13",
    )
    assert invoice["paid_date"] is None


@pytest.fixture
def month(infakt_emulator):
    """Invoices 7-12: clients 2 and 3, October to December 2025 (the seeded ones are dated today), two paid."""
    emu = infakt_emulator
    made = [
        emu.create_invoice(client_id=2, invoice_date="2025-10-31", number="FV/7/2026"),
        emu.create_invoice(client_id=2, invoice_date="2025-11-01", number="FV/8/2026"),
        emu.create_invoice(client_id=3, invoice_date="2025-11-15", number="FV/9/2026"),
        emu.create_invoice(client_id=2, invoice_date="2025-11-30", number="FV/10/2026", status="sent"),
        emu.create_invoice(client_id=2, invoice_date="2025-12-01", number="FV/11/2026"),
        emu.create_invoice(client_id=3, invoice_date="2025-11-20", number="FV/1/2026"),
    ]
    emu.account.mark_paid(8, "2025-11-10")
    emu.account.mark_paid(9, "2025-11-25")
    return [m["id"] for m in made]


def ids(conn, **params):
    response = v3(conn, "GET", "/invoices.json", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["entities"]]


def test_list_predicates_on_dates_client_number_and_id_combined(conn, month):
    assert month == [7, 8, 9, 10, 11, 12]
    november = {"q[invoice_date_gteq]": "2025-11-01", "q[invoice_date_lteq]": "2025-11-30"}
    assert ids(conn, **november) == [8, 9, 10, 12]
    assert ids(conn, **november, **{"q[client_id_eq]": "2"}) == [8, 10]
    assert ids(conn, **november, **{"q[client_id_eq]": "2", "q[status_eq]": "paid"}) == [8]
    assert ids(conn, **{"q[invoice_date_gt]": "2025-11-01", "q[invoice_date_lt]": "2025-11-30"}) == [9, 12]
    assert ids(conn, **{"q[paid_date_gteq]": "2025-11-11"}) == [9]
    assert ids(conn, **{"q[paid_date_lteq]": "2025-11-30", "q[paid_date_gteq]": "2025-11-01"}) == [8, 9]
    assert ids(conn, **{"q[number_eq]": "FV/1/2026"}) == [12]
    assert ids(conn, **{"q[number_cont]": "FV/1"}) == [10, 11, 12]
    assert ids(conn, **{"q[id_gteq]": "9", "q[id_lteq]": "11"}) == [9, 10, 11]
    assert ids(conn, **{"q[id_gteq]": "9", "q[id_lteq]": "11", "q[status_eq]": "draft"}) == [11]
    assert ids(conn, **{"q[sale_date_eq]": "2025-11-15"}) == [9]


def test_list_offset_and_limit_page_a_filtered_list(conn, month):
    query = {"q[client_id_eq]": "2", "limit": 2}
    first = v3(conn, "GET", "/invoices.json", params={**query, "offset": 0}).json()
    second = v3(conn, "GET", "/invoices.json", params={**query, "offset": 2}).json()
    third = v3(conn, "GET", "/invoices.json", params={**query, "offset": 4}).json()
    assert [e["id"] for e in first["entities"] + second["entities"] + third["entities"]] == [2, 7, 8, 10, 11]
    assert first["metainfo"]["total_count"] == 5 and first["metainfo"]["count"] == 2
    assert "q%5Bclient_id_eq%5D=2" in first["metainfo"]["next"]
    assert third["metainfo"]["next"] is None


@pytest.mark.parametrize("value", ["01.11.2026", "2025-11-31", "yesterday", "2025-11-01' OR 1=1"])
def test_a_date_predicate_with_a_value_that_is_no_date_is_400(conn, value):
    response = v3(conn, "GET", "/invoices.json", params={"q[invoice_date_gteq]": value})
    assert response.status_code == 400
    assert "must be a date" in response.json()["error"]


def test_an_encoded_ampersand_stays_inside_one_value(conn, month):
    # what the client sends for number="FV/1/2026&q[status_eq]=sent": one filter, no match
    response = requests.get(
        conn["host"] + "/invoices.json?q%5Bnumber_eq%5D=FV%2F1%2F2026%26q%5Bstatus_eq%5D%3Dsent",
        headers={"X-inFakt-ApiKey": conn["password"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["entities"] == []


def test_missing_or_wrong_key_is_401(infakt_emulator, conn):
    for key in (None, "wrong-key"):
        headers = {} if key is None else {"X-inFakt-ApiKey": key}
        for method, path in (("GET", "/invoices/1.json"), ("POST", "/invoices/1/deliver_via_email.json")):
            response = v3({**conn, "password": ""}, method, path, headers=headers, json={"print_type": "copy"})
            assert response.status_code == 401
            assert "X-inFakt-ApiKey" in response.json()["error"]
    assert infakt_emulator.deliveries == []


def test_read_only_key_reads_but_cannot_send(infakt_emulator, readonly):
    assert v3(readonly, "GET", "/invoices/1.json").status_code == 200
    for action in ("deliver_via_email", "deliver_via_post", "paid"):
        response = v3(readonly, "POST", f"/invoices/1/{action}.json", json={"print_type": "copy"})
        assert response.status_code == 403
        assert "api:invoices:write" in response.json()["error"]
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.invoice(1)["status"] == "draft"


def test_unknown_action_and_wrong_method(conn):
    assert v3(conn, "POST", "/invoices/1/deliver_via_fax.json", json={}).status_code == 404
    assert v3(conn, "GET", "/invoices/1/deliver_via_email.json").status_code == 405
    assert v3(conn, "DELETE", "/invoices/1.json").status_code == 405
    listed = v3(conn, "POST", "/invoices.json", json={})
    assert (listed.status_code, listed.json()) == (405, {"error": "Method not allowed."})


# Request shapes public inFakt clients send (see docs/emulator-contract.md, "Request shapes"): each is
# served as inFakt serves it. ``where`` is what the delivery record must show: (invoice, doc_type, address).
CLIENT_SHAPES = {
    # inFakt's own documentation: recipient alone, print_type defaults to the original
    "documented-recipient-alone": (
        "POST",
        "/api/v3/invoices/1/deliver_via_email.json",
        {"json": {"recipient": "ksiegowa@firma.example"}},
        (1, "org", "ksiegowa@firma.example"),
    ),
    # jakub-dzon/infakt-connector: print_type in the query string, no body
    "print-type-in-query": (
        "POST",
        "/api/v3/invoices/2/deliver_via_email.json?print_type=copy",
        {},
        (2, "KOPIA", "biuro@nowak-auto.example"),
    ),
    # lazniak/infakt-mcp: an empty object when no address is given
    "empty-object": (
        "POST",
        "/api/v3/invoices/3/deliver_via_email.json",
        {"json": {}},
        (3, "org", "kontakt@rozany.example"),
    ),
    # a body-less POST (a Python client that sends a payload only when it has a recipient)
    "no-body": ("POST", "/api/v3/invoices/3/deliver_via_email.json", {}, (3, "org", "kontakt@rozany.example")),
    # przemekperon/infakt-go-sdk sends "email_to", a field inFakt does not know: ignored, so the invoice
    # goes to the client's own address; the record shows it
    "unknown-field-ignored": (
        "POST",
        "/api/v3/invoices/4/deliver_via_email.json",
        {"json": {"print_type": "original", "email_to": "ksiegowa@firma.example"}},
        (4, "org", "pixel@studio-pixel.example"),
    ),
    # a Node app handling Stripe webhooks: the uuid in the path, {"print_type": "original"}
    "uuid-in-path": (
        "POST",
        "/api/v3/invoices/{uuid5}/deliver_via_email.json",
        {"json": {"print_type": "original"}},
        (5, "org", "ksiegowosc@bilans.example"),
    ),
    # miisieq/InfaktClient (and its forks): base https://api.infakt.pl/v3 (no /api), JSON body without a Content-Type
    "v3-base-json-without-content-type": (
        "POST",
        "/v3/invoices/1/deliver_via_email.json",
        {"data": json.dumps({"print_type": "copy", "locale": "pl", "send_copy": False, "recipient": "a@b.example"})},
        (1, "KOPIA", "a@b.example"),
    ),
    # a form-encoded body (curl -d, many HTTP clients' default)
    "form-encoded": (
        "POST",
        "/api/v3/invoices/2/deliver_via_email.json",
        {"data": {"print_type": "original_duplicate", "recipient": "a@b.example", "send_copy": "true"}},
        (2, "d_org", "a@b.example"),
    ),
}


@pytest.mark.parametrize("shape", CLIENT_SHAPES)
def test_request_shapes_of_public_clients_are_served(infakt_emulator, conn, shape):
    method, path, kwargs, (invoice_id, doc_type, address) = CLIENT_SHAPES[shape]
    path = path.replace("{uuid5}", infakt_emulator.invoice(5)["uuid"])
    response = requests.request(
        method,
        infakt_emulator.url + path,
        headers={"X-inFakt-ApiKey": conn["password"]},
        timeout=10,
        **kwargs,
    )
    assert (response.status_code, response.content) == (202, b""), response.text
    (delivery,) = infakt_emulator.deliveries
    assert (delivery.invoice_id, delivery.doc_type, delivery.address) == (invoice_id, doc_type, address)
    assert infakt_emulator.invoice(invoice_id)["status"] == "sent"


def test_paid_with_a_nested_invoice_object_is_still_a_payment(infakt_emulator, conn):
    # the Node app above: POST /v3/invoices/{id}/paid.json {"invoice": {"status": "paid"}}
    response = requests.post(
        infakt_emulator.url + "/v3/invoices/2/paid.json",
        json={"invoice": {"status": "paid"}},
        headers={"X-inFakt-ApiKey": conn["password"]},
        timeout=10,
    )
    assert (response.status_code, response.content) == (204, b"")
    assert infakt_emulator.invoice(2)["status"] == "paid"


@pytest.mark.parametrize("base", ["/api/v3", "/v3"])
def test_list_takes_filters_as_a_json_body_too(infakt_emulator, conn, base):
    # inFakt's documentation: GET /api/v3/invoices.json with -d '{"q": {"paid_date_null": true}}'
    infakt_emulator.mark_paid(3)
    response = requests.get(
        infakt_emulator.url + base + "/invoices.json?limit=3",
        json={"q": {"paid_date_null": True}},
        headers={"X-inFakt-ApiKey": conn["password"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["entities"]] == [1, 2, 4]
    assert response.json()["metainfo"]["next"].endswith(
        f"{base}/invoices.json?offset=3&limit=3&q%5Bpaid_date_null%5D=true"
    )
