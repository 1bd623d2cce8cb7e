"""inFakt's documented limits: GET 300/min, other 150/min, e-mails per day; off unless asked for."""

from __future__ import annotations

import time

import requests

from airflow_provider_infakt.testing._limits import SlidingWindowLimits

from .helpers import v2_get, v3


def test_limits_are_off_by_default(infakt_emulator):
    conn = infakt_emulator.connection()
    with requests.Session() as session:
        statuses = {
            session.get(conn["host"] + "/invoices/1.json", headers={"X-inFakt-ApiKey": conn["password"]}).status_code
            for _ in range(310)
        }
    assert statuses == {200}


def test_get_limit_is_300_a_minute_per_ip(infakt_emulator):
    infakt_emulator.set_limits(enabled=True)
    conn = infakt_emulator.connection()
    headers = {"X-inFakt-ApiKey": conn["password"]}
    with requests.Session() as session:
        statuses = [session.get(conn["host"] + "/invoices/1.json", headers=headers).status_code for _ in range(301)]
        assert statuses == [200] * 300 + [429]
        last = session.get(conn["host"] + "/invoices/1.json", headers=headers)
    assert last.status_code == 429
    assert "300 GET requests a minute" in last.json()["error"]
    # Other methods have their own budget.
    assert v3(conn, "POST", "/invoices/1/deliver_via_email.json", json={"print_type": "copy"}).status_code == 202


def test_other_limit_is_150_a_minute_and_v2_errors_keep_their_shape(infakt_emulator):
    infakt_emulator.set_limits(enabled=True)
    conn = infakt_emulator.connection()
    headers = {"X-inFakt-ApiKey": conn["password"]}
    with requests.Session() as session:
        statuses = [
            session.post(conn["host"] + "/invoices/1/paid.json", headers=headers, json={}).status_code
            for _ in range(151)
        ]
    assert statuses == [204] * 150 + [429]
    infakt_emulator.limiter.get_per_minute = 0
    v2 = infakt_emulator.connection(api_version="v2")
    response = v2_get(v2, "/invoices/1.json")
    assert response.status_code == 429
    assert set(response.json()) == {"message", "request"}


def test_time_scale_makes_a_minute_short(infakt_emulator):
    # a "minute" is 1 s: ten requests fit in it however loaded the machine (in 0.1 s they did not always)
    infakt_emulator.set_limits(enabled=True, time_scale=60)
    infakt_emulator.limiter.get_per_minute = 3
    conn = infakt_emulator.connection()
    headers = {"X-inFakt-ApiKey": conn["password"]}
    with requests.Session() as session:
        get = lambda: session.get(conn["host"] + "/invoices/1.json", headers=headers).status_code  # noqa: E731
        first = [get() for _ in range(10)]
        assert 429 in first
        time.sleep(1.05)
        assert get() == 200


def test_emails_per_day(infakt_emulator):
    infakt_emulator.set_limits(enabled=True)
    infakt_emulator.account.email_daily_limit = 2
    conn = infakt_emulator.connection()
    results = [
        v3(conn, "POST", f"/invoices/{i}/deliver_via_email.json", json={"print_type": "copy"}).status_code
        for i in (1, 2, 3)
    ]
    assert results == [202, 202, 429]
    v2 = infakt_emulator.connection(api_version="v2")
    response = v2_get(v2, "/invoices/deliver.json?type=mail&doc_type=org&id=4")
    assert response.status_code == 429
    assert "Daily limit of 2 invoice e-mails" in response.json()["message"]
    assert len(infakt_emulator.deliveries) == 2


def test_limiter_window_with_injected_clock():
    now = [0.0]
    limiter = SlidingWindowLimits(enabled=True, get_per_minute=2, other_per_minute=1, clock=lambda: now[0])
    assert [limiter.check("a", "GET") for _ in range(3)][:2] == [None, None]
    assert limiter.check("a", "GET") is not None
    assert limiter.check("b", "GET") is None  # per source IP
    assert limiter.check("a", "POST") is None
    assert limiter.check("a", "POST") is not None
    now[0] = 60.0
    assert limiter.check("a", "GET") is None
    assert limiter.check("a", "POST") is None
