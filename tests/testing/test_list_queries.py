"""The list queries a sensor waiting on many invoices sends, over real HTTP: v3's id range narrowed by
status and payment date, paged 100 at a time with ``metainfo``, and v2's list by status and page."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_infakt.testing import credentials

from .helpers import oauth_headers


@pytest.fixture
def api(infakt_emulator):
    with httpx.Client(
        base_url=infakt_emulator.url + "/api/v3", headers={"X-inFakt-ApiKey": credentials.API_KEY}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def month(infakt_emulator):
    """Invoices 7 to 26 (20, sent), after the 6 seeded drafts; 9, 12 and 20 paid on given days, 25 today."""
    ids = infakt_emulator.create_invoices(20, status="sent")
    assert ids == list(range(7, 27))
    infakt_emulator.account.mark_paid(9, "2026-01-05")
    infakt_emulator.account.mark_paid(12, "2026-01-10")
    infakt_emulator.account.mark_paid(20, "2026-01-20")
    infakt_emulator.mark_paid(25)
    return ids


def listed(api: httpx.Client, **params: str | int) -> list[int]:
    response = api.get("/invoices.json", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metainfo"]["count"] == len(body["entities"])
    return [e["id"] for e in body["entities"]]


def test_id_range_narrowed_by_status(api, month):
    assert listed(api, **{"q[id_gteq]": 8, "q[id_lteq]": 13, "q[status_eq]": "sent"}) == [8, 10, 11, 13]
    assert listed(api, **{"q[id_gteq]": 8, "q[id_lteq]": 13, "q[status_eq]": "paid"}) == [9, 12]
    assert listed(api, **{"q[id_gt]": 8, "q[id_lt]": 13, "q[status_eq]": "paid"}) == [9, 12]
    assert listed(api, **{"q[id_gt]": 9, "q[id_lt]": 12}) == [10, 11]
    assert listed(api, **{"q[id_eq]": 12, "q[status_eq]": "paid"}) == [12]
    assert listed(api, **{"q[id_eq]": 12, "q[status_eq]": "sent"}) == []
    # the seeded drafts are below the range; an id range that holds none of them
    assert listed(api, **{"q[id_lteq]": 8, "q[status_eq]": "draft"}) == [1, 2, 3, 4, 5, 6]


def test_id_range_status_and_paid_date_combined(api, month):
    paid_range = {"q[id_gteq]": 7, "q[id_lteq]": 26, "q[status_eq]": "paid"}
    assert listed(api, **paid_range, **{"q[paid_date_gteq]": "2026-01-10"}) == [12, 20, 25]
    assert listed(api, **paid_range, **{"q[paid_date_gteq]": "2026-01-10", "q[paid_date_lteq]": "2026-01-19"}) == [12]
    assert listed(api, **{"q[id_gteq]": 7, "q[id_lteq]": 12, "q[paid_date_null]": "true"}) == [7, 8, 10, 11]
    assert listed(api, **{"q[id_gteq]": 7, "q[id_lteq]": 12, "q[paid_date_null]": "false"}) == [9, 12]
    # AND, not OR: a paid date in range but the wrong status matches nothing
    assert listed(api, **{"q[status_eq]": "sent", "q[paid_date_gteq]": "2026-01-01"}) == []


def test_order_by_id_both_ways(api, month):
    query = {"q[status_eq]": "paid"}
    assert listed(api, **query, order="id asc") == [9, 12, 20, 25]
    assert listed(api, **query, order="id desc") == [25, 20, 12, 9]


def test_250_invoices_in_three_pages_of_100_following_next(infakt_emulator, api):
    ids = infakt_emulator.create_invoices(250, status="sent")
    query = {"q[id_gteq]": ids[0], "q[id_lteq]": ids[-1], "q[status_eq]": "sent", "order": "id asc", "limit": 100}
    pages = [api.get("/invoices.json", params=query).json()]
    while (link := pages[-1]["metainfo"]["next"]) is not None:
        assert len(pages) < 5, "next never ends"
        pages.append(api.get(link).json())  # the link is absolute: the client's base URL does not apply
    assert [p["metainfo"]["count"] for p in pages] == [100, 100, 50]
    assert {p["metainfo"]["total_count"] for p in pages} == {250}
    assert [e["id"] for p in pages for e in p["entities"]] == ids
    assert pages[0]["metainfo"]["previous"] is None
    assert "offset=100&limit=100" in pages[0]["metainfo"]["next"]
    assert "offset=0&limit=100" in pages[1]["metainfo"]["previous"]
    assert "offset=100&limit=100" in pages[2]["metainfo"]["previous"]
    # the filters travel in the links
    assert all(f"q%5Bid_gteq%5D={ids[0]}" in p["metainfo"]["previous"] for p in pages[1:])
    # an offset past the end: an empty page, total_count still right
    beyond = api.get("/invoices.json", params={**query, "offset": 300}).json()
    assert (beyond["entities"], beyond["metainfo"]["total_count"], beyond["metainfo"]["next"]) == ([], 250, None)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q[id_in]": "1,2"}, "Unknown filter q[id_in]"),
        ({"q[id_not_eq]": "1"}, "Unknown filter q[id_not_eq]"),
        ({"q[colour_eq]": "red"}, "Unknown filter q[colour_eq]"),
        ({"q[paid_date_gteq]": "10.01.2026"}, "must be a date"),
        ({"limit": 101}, "limit between 1 and 100"),
        ({"limit": 0}, "limit between 1 and 100"),
        ({"order": "id sideways"}, "Cannot order by"),
    ],
)
def test_a_query_inFakt_would_refuse_is_400_naming_it(api, params, message):
    response = api.get("/invoices.json", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_v2_list_by_status_paged_with_total_count(infakt_emulator):
    ids = infakt_emulator.create_invoices(30, status="sent")
    for invoice_id in ids[:4]:
        infakt_emulator.mark_paid(invoice_id)
    conn = infakt_emulator.connection(api_version="v2")
    pages = []
    with httpx.Client(timeout=10) as client:
        for page in (1, 2, 3):
            url = f"{conn['host']}/invoices/list.json?status=wys%C5%82ana&page={page}&per_page=10"
            response = client.get(url, headers=oauth_headers(conn, url))
            assert response.status_code == 200, response.text
            pages.append(response.json())
    assert [len(p["invoices"]) for p in pages] == [10, 10, 6]
    assert {p["total_count"] for p in pages} == {26}
    assert [(p["page"], p["per_page"]) for p in pages] == [(1, 10), (2, 10), (3, 10)]
    assert [i["invoice_id"] for p in pages for i in p["invoices"]] == ids[4:]
    assert {i["status"] for p in pages for i in p["invoices"]} == {"wysłana"}
