"""inFakt's documented limits: GET 300/min, other 150/min, e-mails per day; off unless asked for."""

from __future__ import annotations

import time

import pytest
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


def admin(emu, method, path, **kwargs):
    return requests.request(method, emu.url + "/_emulator" + path, timeout=10, **kwargs)


def deliver_v3(conn, invoice_id):
    return v3(conn, "POST", f"/invoices/{invoice_id}/deliver_via_email.json", json={"print_type": "copy"})


def deliver_v2(conn, invoice_id):
    return v2_get(conn, f"/invoices/deliver.json?type=mail&doc_type=org&id={invoice_id}")


def test_a_free_account_may_send_20_invoice_emails_a_day_and_the_refusal_names_the_daily_limit(infakt_emulator):
    emu = infakt_emulator
    emu.set_limits(enabled=True)
    assert admin(emu, "POST", "/account", json={"paid": False}).json()["emails_per_day"] == 20
    conn = emu.connection()
    statuses = [deliver_v3(conn, 1 + i % 5).status_code for i in range(20)]
    refused = deliver_v3(conn, 1)
    assert statuses == [202] * 20
    # inFakt does not document this answer: 422 ("cannot be sent") with an error naming the daily limit
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "Daily limit of 20 invoice e-mails reached (free account). Sending resumes tomorrow."
    }
    assert len(emu.deliveries) == 20  # the refused one was not sent
    # v2 counts against the same quota, and refuses in v2's shape (400, message and request echo)
    v2 = deliver_v2(emu.connection(api_version="v2"), 2)
    assert v2.status_code == 400
    assert v2.json()["message"].startswith("Daily limit of 20 invoice e-mails reached")
    assert set(v2.json()) == {"message", "request"}
    assert admin(emu, "GET", "/account").json() == {
        "postal_package": False,
        "paid": False,
        "emails_per_day": 20,
        "enforced": True,
        "day": 0,
        "sent_today": 20,
        "left_today": 0,
    }


def test_a_paid_account_has_3000_a_day_and_counts_v2_and_v3_together(infakt_emulator):
    emu = infakt_emulator
    emu.set_limits(enabled=True)
    assert emu.email_quota()["emails_per_day"] == 3000 and emu.email_quota()["paid"] is True
    emu.account.email_daily_limit = 2  # an explicit number wins over the plan's
    assert deliver_v2(emu.connection(api_version="v2"), 1).status_code == 200
    assert deliver_v3(emu.connection(), 2).status_code == 202
    assert deliver_v3(emu.connection(), 3).status_code == 422
    assert admin(emu, "POST", "/account", json={"emails_per_day": None}).json()["emails_per_day"] == 3000
    assert deliver_v3(emu.connection(), 3).status_code == 202


@pytest.mark.parametrize("how", ["python", "route", "account"])
def test_the_next_day_the_quota_starts_over(infakt_emulator, how):
    emu = infakt_emulator
    emu.set_limits(enabled=True)
    emu.account.email_daily_limit = 1
    conn = emu.connection()
    assert [deliver_v3(conn, 1).status_code for _ in range(2)] == [202, 422]
    if how == "python":
        assert emu.next_day() == 1
    elif how == "route":
        assert admin(emu, "POST", "/day/advance").json()["day"] == 1
    else:
        assert admin(emu, "POST", "/account", json={"reset_daily_quota": True}).json()["left_today"] == 1
    assert [deliver_v3(conn, 1).status_code for _ in range(2)] == [202, 422]
    assert len(emu.deliveries) == 2


def test_a_day_lasts_86400_seconds_over_the_time_scale(infakt_emulator):
    emu = infakt_emulator
    emu.set_limits(enabled=True, time_scale=86400 / 1.5)  # a day in 1.5 s
    emu.account.email_daily_limit = 1
    conn = emu.connection()
    day = emu.email_quota()["day"]
    first = deliver_v3(conn, 1).status_code
    while emu.email_quota()["day"] == day:  # the first delivery may have crossed midnight: wait for the next
        second = deliver_v3(conn, 1).status_code
        if second == 422:
            break
        day = emu.email_quota()["day"]
    assert first == 202 and second == 422
    time.sleep(1.6)
    assert emu.email_quota()["day"] > day and emu.email_quota()["sent_today"] == 0
    assert deliver_v3(conn, 1).status_code == 202


def test_the_quota_is_not_enforced_while_limits_are_off_and_a_reset_forgets_the_count(infakt_emulator):
    emu = infakt_emulator
    emu.set_paid_account(False)
    conn = emu.connection()
    assert {deliver_v3(conn, 1).status_code for _ in range(21)} == {202}
    assert emu.email_quota()["enforced"] is False and emu.email_quota()["day"] is None
    emu.set_limits(enabled=True)
    emu.account.email_daily_limit = 1
    assert [deliver_v3(conn, 1).status_code for _ in range(2)] == [202, 422]
    emu.reset()  # back to a paid account, day 0, nothing counted
    emu.set_limits(enabled=True)
    assert emu.email_quota() == {
        "paid": True,
        "emails_per_day": 3000,
        "enforced": True,
        "day": 0,
        "sent_today": 0,
        "left_today": 3000,
    }


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"paid": "no"}, "paid must be true or false"),
        ({"reset_daily_quota": 1}, "reset_daily_quota must be true or false"),
        ({"emails_per_day": 2.5}, "emails_per_day must be a whole number"),
        ({"plan": "free"}, "plan"),
    ],
)
def test_account_settings_refuse_bad_input_and_change_nothing(infakt_emulator, payload, message):
    answer = admin(infakt_emulator, "POST", "/account", json=payload)
    assert answer.status_code == 400 and message in answer.text
    assert infakt_emulator.email_quota()["paid"] is True


def test_limits_route_sets_the_per_minute_numbers(infakt_emulator):
    emu = infakt_emulator
    state = admin(emu, "POST", "/limits", json={"enabled": True, "get_per_minute": 2, "other_per_minute": 1}).json()
    assert (state["get_per_minute"], state["other_per_minute"]) == (2, 1)
    conn = emu.connection()
    assert [v3(conn, "GET", "/invoices/1.json").status_code for _ in range(3)] == [200, 200, 429]
    bad = admin(emu, "POST", "/limits", json={"get_per_minute": -1})
    assert bad.status_code == 400 and "get_per_minute must be a whole number" in bad.text
    emu.set_limits(True, get_per_minute=5)
    assert emu.limiter.get_per_minute == 5
    with pytest.raises(ValueError, match="other_per_minute"):
        emu.set_limits(True, other_per_minute=True)  # type: ignore[arg-type]


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
