"""State and the /_emulator admin routes: deliveries, requests, reset, invoices, scenarios."""

from __future__ import annotations

import itertools
import re
import time

import pytest
import requests

from airflow_provider_infakt.testing import Fault, InfaktEmulator, connection_for

from .helpers import v2_get, v3


def admin(emu, method, path, **kwargs):
    return requests.request(method, emu.url + "/_emulator" + path, timeout=10, **kwargs)


def test_seeded_account(infakt_emulator):
    invoices = admin(infakt_emulator, "GET", "/invoices").json()["invoices"]
    assert [i["id"] for i in invoices] == [1, 2, 3, 4, 5, 6]
    assert all(i["status"] == "draft" for i in invoices)
    assert [i["client_email"] is None for i in invoices] == [False] * 5 + [True]
    assert len({i["client_email"] for i in invoices[:5]}) == 5
    assert len({i["uuid"] for i in invoices}) == 6


def test_deliveries_are_recorded_with_seed_words(infakt_emulator):
    v2 = infakt_emulator.connection(api_version="v2")
    assert v2_get(v2, "/invoices/deliver.json?type=mail&doc_type=d_kop&id=2").status_code == 200
    v3conn = infakt_emulator.connection()
    body = {"print_type": "copy_duplicate", "recipient": "x@y.example"}
    assert v3(v3conn, "POST", "/invoices/3/deliver_via_email.json", json=body).status_code == 202
    listed = admin(infakt_emulator, "GET", "/deliveries").json()["deliveries"]
    assert [(d["invoice_id"], d["type"], d["doc_type"], d["recipient"], d["api_version"]) for d in listed] == [
        (2, "mail", "d_kop", None, "v2"),
        (3, "mail", "d_kop", "x@y.example", "v3"),
    ]
    assert listed == [d.as_dict() for d in infakt_emulator.deliveries]
    assert listed[0]["time"] <= listed[1]["time"] <= time.time()


def test_requests_are_logged_with_route_and_status(infakt_emulator):
    conn = infakt_emulator.connection()
    v3(conn, "GET", "/invoices/1.json")
    v3(conn, "GET", "/invoices/77.json")
    logged = admin(infakt_emulator, "GET", "/requests").json()["requests"]
    assert [(r["method"], r["route"], r["status"], r["api_version"]) for r in logged] == [
        ("GET", "v3.invoice", 200, "v3"),
        ("GET", "v3.invoice", 404, "v3"),
    ]
    assert logged[0]["path"] == "/api/v3/invoices/1.json"


def test_keep_alive_serves_many_requests_on_one_connection(infakt_emulator):
    conn = infakt_emulator.connection()
    with requests.Session() as session:
        for _ in range(5):
            response = session.get(conn["host"] + "/invoices/1.json", headers={"X-inFakt-ApiKey": conn["password"]})
            assert response.status_code == 200
    peers = {r.peer for r in infakt_emulator.requests}
    assert len(peers) == 1
    assert len(infakt_emulator.requests) == 5


def test_create_invoice_mark_paid_and_reset(infakt_emulator):
    created = admin(
        infakt_emulator, "POST", "/invoices", json={"client_email": "new@firma.example", "gross_price": 999}
    )
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert new_id == 7
    assert infakt_emulator.invoice(7)["client_email"] == "new@firma.example"
    bad = admin(infakt_emulator, "POST", "/invoices", json={"status": "lost"})
    assert bad.status_code == 422
    assert bad.json()["errors"]["status"] == ["is not included in the list (draft, sent, printed, paid, unpaid)"]
    assert admin(infakt_emulator, "POST", "/invoices", json={"colour": "red"}).status_code == 400
    paid = admin(infakt_emulator, "POST", "/invoices/7/paid")
    assert (paid.status_code, paid.json()["status"]) == (200, "paid")
    assert admin(infakt_emulator, "POST", "/invoices/70/paid").status_code == 404
    assert admin(infakt_emulator, "GET", "/invoices/7").json()["paid_date"] is not None
    assert admin(infakt_emulator, "POST", "/reset").status_code == 200
    assert admin(infakt_emulator, "GET", "/invoices/7").status_code == 404
    assert infakt_emulator.requests == []


def test_pay_after_delivery_scenario(infakt_emulator):
    conn = infakt_emulator.connection()
    assert admin(infakt_emulator, "POST", "/scenarios/pay-after-delivery", json={"seconds": 0.2}).status_code == 200
    v3(conn, "POST", "/invoices/1/deliver_via_email.json", json={"print_type": "original"})
    assert infakt_emulator.invoice(1)["status"] == "sent"
    deadline = time.monotonic() + 5
    while infakt_emulator.invoice(1)["status"] != "paid" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert infakt_emulator.invoice(1)["status"] == "paid"
    assert infakt_emulator.invoice(2)["status"] == "draft"
    bad = admin(infakt_emulator, "POST", "/scenarios/pay-after-delivery", json={"seconds": -1})
    assert bad.status_code == 400


def test_account_and_index_routes(infakt_emulator):
    assert admin(infakt_emulator, "POST", "/account", json={"postal_package": True}).json()["postal_package"]
    assert infakt_emulator.account.postal_package is True
    routes = admin(infakt_emulator, "GET", "/").json()["routes"]
    assert "POST /_emulator/faults" in routes
    assert "POST /_emulator/reset" in routes
    bad = admin(infakt_emulator, "POST", "/account", data=b"[1]")
    assert (bad.status_code, bad.json()) == (400, {"error": "Request body must be a JSON object."})


def test_web_page_for_invoice_links(infakt_emulator):
    page = requests.get(infakt_emulator.url + "/app/invoices/1", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Faktura 1/" in page.text
    assert requests.get(infakt_emulator.url + "/app/invoices/99", timeout=10).status_code == 404


def test_connection_helper_shapes(infakt_emulator):
    v3conn = infakt_emulator.connection()
    assert v3conn["host"] == infakt_emulator.url + "/api/v3"
    assert v3conn["extra"]["api_version"] == "v3"
    v2 = infakt_emulator.connection(api_version="v2", format="xml", auth="xauth")
    assert (v2["host"], v2["extra"]["format"]) == (infakt_emulator.url + "/api/v2", "xml")
    assert {"xauth_username", "xauth_password"} <= set(v2["extra"])
    assert "oauth_token" not in v2["extra"]
    import pytest

    with pytest.raises(ValueError, match="format='yaml' is not one of 'json', 'xml'"):
        infakt_emulator.connection(api_version="v2", format="yaml")


def test_a_payment_scheduled_before_a_reset_does_not_touch_the_new_account(infakt_emulator):
    infakt_emulator.pay_after_delivery(0.3)
    conn = infakt_emulator.connection()
    assert v3(conn, "POST", "/invoices/1/deliver_via_email.json", json={"print_type": "original"}).status_code == 202
    infakt_emulator.reset()
    time.sleep(0.6)
    assert infakt_emulator.invoice(1)["status"] == "draft"


def test_limits_routes_and_a_reset_returns_to_the_limit_settings_started_with(infakt_emulator):
    assert admin(infakt_emulator, "GET", "/limits").json() == {
        "enabled": False,
        "time_scale": 1.0,
        "get_per_minute": 300,
        "other_per_minute": 150,
        "emails_per_day": 3000,
    }
    switched = admin(infakt_emulator, "POST", "/limits", json={"enabled": True, "time_scale": 60})
    assert switched.status_code == 200
    assert (switched.json()["enabled"], switched.json()["time_scale"]) == (True, 60)
    assert infakt_emulator.limiter.email_window() == 1440.0  # a day at 60 times real time
    infakt_emulator.limiter.get_per_minute = 1  # no monkeypatch: the reset is what must undo it
    infakt_emulator.limiter.other_per_minute = 0
    conn = infakt_emulator.connection()
    assert [v3(conn, "GET", "/invoices/1.json").status_code for _ in range(2)] == [200, 429]
    assert admin(infakt_emulator, "POST", "/reset").json() == {"reset": True}
    # the counts are forgotten, the settings are those the emulator was started with (off, 300 and 150)
    assert admin(infakt_emulator, "GET", "/limits").json() == {
        "enabled": False,
        "time_scale": 1.0,
        "get_per_minute": 300,
        "other_per_minute": 150,
        "emails_per_day": 3000,
    }
    assert infakt_emulator.limiter.email_window() is None
    assert admin(infakt_emulator, "POST", "/limits", json={"enabled": True}).json()["enabled"] is True
    assert [v3(conn, "GET", "/invoices/1.json").status_code for _ in range(2)] == [200, 200]


def test_reset_returns_to_the_settings_the_emulator_was_constructed_with():
    start_fault = Fault(route="v3.invoice", status=503, times=1)
    with InfaktEmulator(
        postal_package=True, pay_after_delivery=0.2, defer_sending=0.2, limits=True, time_scale=60, faults=[start_fault]
    ) as emu:
        conn = emu.connection()
        started = {
            "faults": [{**start_fault.as_dict(), "hits": 0}],
            "limits": (True, 60),
            "account": (True, 0.2, 0.2),
        }

        def state():
            limits = admin(emu, "GET", "/limits").json()
            return {
                "faults": admin(emu, "GET", "/faults").json()["faults"],
                "limits": (limits["enabled"], limits["time_scale"]),
                "account": (emu.account.postal_package, emu.account.pay_after_delivery, emu.account.send_delay),
            }

        assert state() == started
        assert v3(conn, "GET", "/invoices/1.json").status_code == 503  # the fault is used up
        assert admin(emu, "POST", "/reset").status_code == 200
        assert state() == started
        # changed at run time, then reset over HTTP: back to the constructor's settings
        emu.set_postal_package(False)
        emu.pay_after_delivery(None)
        emu.defer_sending(None)
        emu.set_limits(enabled=False, time_scale=1)
        emu.clear_faults()
        emu.fault("v2.*", status=500, times=None)
        assert admin(emu, "POST", "/reset").status_code == 200
        assert state() == started
        # and the restored scenarios act: post accepted, sent later, then paid
        assert v3(conn, "GET", "/invoices/3.json").status_code == 503
        assert v3(conn, "POST", "/invoices/3/deliver_via_post.json", json={}).status_code == 202
        assert [p.invoice_id for p in emu.pending_deliveries] == [3]
        deadline = time.monotonic() + 10
        while emu.invoice(3)["status"] != "paid" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert emu.invoice(3)["status"] == "paid"


def test_a_default_emulator_resets_to_the_defaults(infakt_emulator):
    infakt_emulator.set_postal_package(True)
    infakt_emulator.pay_after_delivery(5)
    infakt_emulator.defer_sending(5)
    infakt_emulator.fault("*", status=500)
    infakt_emulator.reset()
    account = infakt_emulator.account
    assert (account.postal_package, account.pay_after_delivery, account.send_delay) == (False, None, None)
    assert infakt_emulator.faults.armed() == []


def test_constructor_settings_are_checked():
    with pytest.raises(ValueError, match="pay_after_delivery must be a non-negative number or null"):
        InfaktEmulator(pay_after_delivery=-1)
    with pytest.raises(ValueError, match="defer_sending must be a non-negative number or null"):
        InfaktEmulator(defer_sending="soon")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "xml"}, "format='xml' and auth='oauth' apply to api_version='v2' only"),
        ({"auth": "xauth"}, "apply to api_version='v2' only"),
        ({"api_version": "v2", "scope": "read"}, "scope='read' applies to api_version='v3' only"),
    ],
)
def test_connection_for_refuses_options_of_the_other_api_version(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        connection_for("http://127.0.0.1:8765", **options)


@pytest.mark.parametrize(
    ("url", "host"),
    [("127.0.0.1:8765", "http://127.0.0.1:8765/api/v3"), ("http://127.0.0.1:8765/", "http://127.0.0.1:8765/api/v3")],
)
def test_connection_for_never_gives_a_host_without_a_scheme(url, host):
    assert connection_for(url)["host"] == host
    with pytest.raises(ValueError, match="has no scheme"):
        connection_for("emulator.example:8765")


def test_many_invoices_in_one_admin_call(infakt_emulator):
    started = time.monotonic()
    made = admin(infakt_emulator, "POST", "/invoices", json={"count": 3000, "status": "sent"})
    assert made.status_code == 201, made.text
    assert time.monotonic() - started < 10  # a benchmark's seeding, not a minute of it
    assert made.json() == {"count": 3000, "ids": list(range(7, 3007))}
    last = infakt_emulator.invoice(3006)
    assert (last["status"], last["client_email"], last["paid_at"]) == ("sent", "klient@example.com", None)
    # each to a client of its own
    assert len({i["client_id"] for i in admin(infakt_emulator, "GET", "/invoices").json()["invoices"]}) == 3006
    assert infakt_emulator.create_invoices(2, client_id=1) == [3007, 3008]
    assert infakt_emulator.invoice(3008)["client_id"] == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"count": 0}, 422, "count"),
        ({"count": 100_001}, 422, "count"),
        ({"count": "10"}, 422, "count"),
        ({"count": 3, "status": "wysłana"}, 422, "status"),
        ({"count": 3, "number": "FV/1"}, 400, "Unknown fields ['number']"),
    ],
)
def test_many_invoices_refused_whole_naming_the_field(infakt_emulator, body, status, message):
    answer = admin(infakt_emulator, "POST", "/invoices", json=body)
    assert answer.status_code == status
    assert message in answer.text
    assert len(admin(infakt_emulator, "GET", "/invoices").json()["invoices"]) == 6


def test_pay_invoices_spreads_payments_over_the_period_in_order(infakt_emulator):
    ids = infakt_emulator.create_invoices(5, status="sent")
    asked = time.time()
    plan = admin(
        infakt_emulator, "POST", "/scenarios/pay-invoices", json={"ids": ids[::-1], "seconds": 0.8, "start_in": 0.4}
    ).json()
    assert plan["count"] == 5
    assert plan["first_at"] == pytest.approx(asked + 0.4, abs=0.2)
    assert plan["last_at"] - plan["first_at"] == pytest.approx(0.8)
    time.sleep(0.2)
    assert {infakt_emulator.invoice(i)["status"] for i in ids} == {"sent"}
    deadline = time.monotonic() + 5
    while infakt_emulator.invoice(ids[0])["status"] != "paid" and time.monotonic() < deadline:
        time.sleep(0.05)
    paid_at = [infakt_emulator.invoice(i)["paid_at"] for i in ids[::-1]]
    assert paid_at == sorted(paid_at)  # in the order given
    assert paid_at[0] == pytest.approx(plan["first_at"], abs=0.3)
    assert paid_at[-1] == pytest.approx(plan["last_at"], abs=0.3)
    assert [b - a for a, b in itertools.pairwise(paid_at)] == [pytest.approx(0.2, abs=0.1)] * 4


def test_pay_invoices_from_python_and_a_reset_cancels_the_rest(infakt_emulator):
    ids = infakt_emulator.create_invoices(3, status="sent")
    infakt_emulator.pay_invoices(ids, 0.6)
    time.sleep(0.15)
    assert [infakt_emulator.invoice(i)["status"] for i in ids] == ["paid", "sent", "sent"]
    infakt_emulator.reset()
    infakt_emulator.create_invoices(3, status="sent")  # the same ids again, in the new account
    time.sleep(0.8)
    assert [infakt_emulator.invoice(i)["status"] for i in ids] == ["sent"] * 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ids": [1, 999], "seconds": 1}, "not: 999"),
        ({"ids": [1, "2"], "seconds": 1}, "not: '2'"),
        ({"ids": [], "seconds": 1}, "ids must be a list of 1 to"),
        ({"ids": "1,2", "seconds": 1}, "ids must be a list of 1 to"),
        ({"ids": [1], "seconds": -1}, "seconds must be a non-negative number"),
        ({"ids": [1], "seconds": 1, "start_in": "soon"}, "start_in must be a non-negative number"),
        ({"ids": [1]}, "ids and seconds are required"),
        ({"ids": [1], "seconds": 1, "over": 2}, "Unknown fields ['over']"),
    ],
)
def test_pay_invoices_refuses_bad_input_and_pays_nothing(infakt_emulator, body, message):
    answer = admin(infakt_emulator, "POST", "/scenarios/pay-invoices", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    time.sleep(0.05)
    assert infakt_emulator.invoice(1)["status"] == "draft"
