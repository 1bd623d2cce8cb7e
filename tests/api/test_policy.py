"""The retry policy as a table, the exchange driver step by step, and the rate limiter."""

from __future__ import annotations

import pytest

from airflow_provider_infakt.api import RateLimit
from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p
from airflow_provider_infakt.api.policy import (
    Failure,
    Response,
    Send,
    Sleep,
    backoff_delay,
    exchange,
    failure_error,
    retry_delay_after_failure,
    retry_delay_after_response,
)
from airflow_provider_infakt.api.ratelimit import RateLimiter

from .conftest import v3_settings

SETTINGS = v3_settings(max_retries=3, backoff_base=1.0, backoff_max=8.0, retry_after_max=60.0)
READ = p.build_get_invoice(SETTINGS, 1)
DELIVER = p.build_deliver(SETTINGS, 1, "mail", "org")
NOW = 1_000_000.0


def mid(_: object = None) -> float:
    return 0.5


@pytest.mark.parametrize(
    ("request_", "status", "headers", "retry", "expected"),
    [
        (READ, 200, {}, 1, None),
        (DELIVER, 202, {}, 1, None),
        (READ, 429, {}, 1, 0.75),  # backoff: step 1, equal jitter at 0.5 -> 0.75
        (DELIVER, 429, {}, 1, 0.75),
        (DELIVER, 429, {"Retry-After": "5"}, 1, 5.0),
        (READ, 503, {"retry-after": "7"}, 2, 7.0),
        (DELIVER, 503, {"retry-after": "7"}, 1, None),  # a proxy may answer 503 after inFakt acted
        (DELIVER, 503, {}, 1, None),
        (READ, 503, {}, 1, 0.75),
        (READ, 429, {"Retry-After": "3600"}, 1, 60.0),  # capped
        (READ, 429, {"Retry-After": "Mon, 12 Jan 1970 13:46:50 GMT"}, 1, 10.0),  # HTTP date, NOW + 10
        (READ, 429, {}, 3, 3.0),  # step 4 -> 2 + 0.5 * 2
        (READ, 429, {}, 4, None),  # retries exhausted
        (READ, 500, {}, 1, 0.75),
        (READ, 502, {}, 2, 1.5),
        (READ, 504, {}, 1, 0.75),
        (DELIVER, 500, {}, 1, None),  # unknown outcome: never resent
        (DELIVER, 502, {}, 1, None),
        (DELIVER, 504, {}, 1, None),
        (READ, 501, {}, 1, None),
        *[(req, status, {}, 1, None) for req in (READ, DELIVER) for status in (400, 401, 402, 403, 404, 406, 422, 423)],
    ],
)
def test_retry_table_for_answers(request_, status, headers, retry, expected):
    response = Response(status, headers, b"")
    assert retry_delay_after_response(SETTINGS, request_, response, retry, now=NOW, random=mid) == expected


@pytest.mark.parametrize(
    ("request_", "kind", "retry", "expected"),
    [
        (READ, "connect", 1, 0.75),
        (DELIVER, "connect", 1, 0.75),  # nothing was sent: safe
        (DELIVER, "connect", 3, 3.0),
        (DELIVER, "connect", 4, None),
        (READ, "maybe_sent", 1, 0.75),
        (DELIVER, "maybe_sent", 1, None),  # may have arrived: never resent
        (READ, "fatal", 1, None),
        (DELIVER, "fatal", 1, None),
    ],
)
def test_retry_table_for_failures(request_, kind, retry, expected):
    failure = Failure(kind, "boom")
    assert retry_delay_after_failure(SETTINGS, request_, failure, retry, random=mid) == expected


def test_backoff_grows_caps_and_jitters():
    assert [backoff_delay(SETTINGS, n, lambda: 0.0) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1, 2, 4, 4, 4]
    assert [backoff_delay(SETTINGS, n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]


@pytest.mark.parametrize(
    ("request_", "kind", "cls", "retryable"),
    [
        (DELIVER, "connect", e.InfaktConnectionError, True),
        (DELIVER, "fatal", e.InfaktConnectionError, False),
        (DELIVER, "maybe_sent", e.InfaktUnknownOutcome, False),
        (READ, "maybe_sent", e.InfaktTransportError, True),
    ],
)
def test_failure_errors(request_, kind, cls, retryable):
    error = failure_error(request_, Failure(kind, "ReadTimeout: timed out"), 4)
    assert type(error) is cls and error.retryable is retryable
    assert "ReadTimeout" in str(error)


def drive(request, answers, *, settings=SETTINGS, limiter=None, sign=lambda r: r):
    """Run an exchange, answering Sends from ``answers`` in order; return (actions, result)."""
    conversation = exchange(settings, request, sign, limiter=limiter, now=lambda: NOW, random=mid)
    actions: list[object] = []
    answer = None
    pending = list(answers)
    try:
        while True:
            action = conversation.send(answer)
            actions.append(action)
            answer = pending.pop(0) if isinstance(action, Send) else None
    except StopIteration as stop:
        return actions, stop.value


def test_exchange_retries_rate_limits_then_answers():
    ok = Response(202, {}, b"")
    actions, result = drive(DELIVER, [Response(429, {"Retry-After": "2"}, b""), Failure("connect", "refused"), ok])
    assert [type(a).__name__ for a in actions] == ["Send", "Sleep", "Send", "Sleep", "Send"]
    assert [a.seconds for a in actions if isinstance(a, Sleep)] == [2.0, 1.5]
    assert result is ok


def test_an_answer_over_the_size_cap_keeps_its_status_and_the_cap():
    error = failure_error(READ, Failure("too_large", "body over the cap", status=200, limit=4096), 1)
    assert isinstance(error, e.InfaktResponseTooLargeError)
    assert (error.status, error.limit) == (200, 4096)


def test_exchange_never_resends_a_deliver_after_a_drop():
    with pytest.raises(e.InfaktUnknownOutcome):
        drive(DELIVER, [Failure("maybe_sent", "RemoteDisconnected")])


def test_exchange_returns_the_last_rate_limited_answer_when_out_of_retries():
    limited = Response(429, {}, b"")
    actions, result = drive(READ, [limited] * 4)
    assert sum(isinstance(a, Send) for a in actions) == 4 and result is limited


def test_exchange_signs_every_attempt_and_follows_same_origin_redirects():
    signed: list[str] = []

    def sign(request):
        signed.append(request.url)
        return request.with_header("X-Attempt", str(len(signed)))

    moved = Response(307, {"Location": "/api/v3/invoices/2.json"}, b"")
    final = Response(200, {}, b"{}")
    actions, result = drive(READ, [moved, Response(500, {}, b""), final], sign=sign)
    assert result is final
    assert signed == [
        "https://api.infakt.pl/api/v3/invoices/1.json",
        "https://api.infakt.pl/api/v3/invoices/2.json",
        "https://api.infakt.pl/api/v3/invoices/2.json",
    ]
    assert [a.request.header("X-Attempt") for a in actions if isinstance(a, Send)] == ["1", "2", "3"]


def test_exchange_refuses_cross_origin_redirects_and_loops():
    with pytest.raises(e.InfaktRedirectError, match="another origin"):
        drive(READ, [Response(302, {"Location": "https://elsewhere.example/x"}, b"")])
    loop = Response(302, {"Location": "/again"}, b"")
    with pytest.raises(e.InfaktRedirectError, match="more than 3"):
        drive(READ, [loop] * 5)


@pytest.mark.parametrize("max_redirects", [0, 1, 3])
def test_exchange_follows_exactly_max_redirects(max_redirects):
    settings = v3_settings(max_redirects=max_redirects)
    request = p.build_get_invoice(settings, 1)
    moved = Response(302, {"Location": "/api/v3/invoices/1.json"}, b"")
    final = Response(200, {}, b"{}")
    actions, result = drive(request, [moved] * max_redirects + [final], settings=settings)
    assert result is final and sum(isinstance(a, Send) for a in actions) == max_redirects + 1
    with pytest.raises(e.InfaktRedirectError, match=f"more than {max_redirects} redirects"):
        drive(request, [moved] * (max_redirects + 1) + [final], settings=settings)


class _Limiter:
    """A rate limiter that asks for the given waits, one per request."""

    def __init__(self, *waits: float) -> None:
        self.waits = list(waits)

    def reserve(self, method: str) -> float:
        return self.waits.pop(0)


def test_exchange_waits_exactly_what_the_limiter_asks_and_nothing_when_it_asks_nothing():
    ok = Response(200, {}, b"{}")
    actions, _ = drive(READ, [ok], limiter=_Limiter(0.0))
    assert [type(a).__name__ for a in actions] == ["Send"]  # no Sleep(0) either
    actions, _ = drive(READ, [ok], limiter=_Limiter(0.4))
    assert [(type(a).__name__, getattr(a, "seconds", None)) for a in actions] == [("Sleep", 0.4), ("Send", None)]
    actions, _ = drive(READ, [Response(500, {}, b""), ok], limiter=_Limiter(0.0, 2.5))
    assert [type(a).__name__ for a in actions] == ["Send", "Sleep", "Sleep", "Send"]  # backoff, then the limiter
    assert [a.seconds for a in actions if isinstance(a, Sleep)] == [0.75, 2.5]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_spacing_and_idle():
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(get_per_minute=3, other_per_minute=1), monotonic=clock)
    # 3 a minute: one every (60 + 1 s margin) / 3 s, booked ahead; no burst of a minute's budget
    assert [limiter.reserve("GET") for _ in range(4)] == pytest.approx([0, 61 / 3, 2 * 61 / 3, 61])
    assert limiter.reserve("POST") == 0
    assert limiter.reserve("POST") == pytest.approx(61.0)
    clock.now = 200.0
    assert limiter.reserve("GET") == 0  # idle long enough: at once again


def test_rate_limiter_defaults_are_infakts():
    assert RateLimit() == RateLimit(get_per_minute=300, other_per_minute=150)


def test_exchange_waits_for_the_limiter():
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(get_per_minute=1, other_per_minute=1), monotonic=clock)
    drive(READ, [Response(200, {}, b"")], limiter=limiter)
    actions, _ = drive(READ, [Response(200, {}, b"")], limiter=limiter)
    assert isinstance(actions[0], Sleep) and actions[0].seconds == pytest.approx(61.0)


def test_rate_limiter_is_thread_safe():
    import threading

    limiter = RateLimiter(RateLimit(get_per_minute=1000, other_per_minute=1), monotonic=lambda: 0.0)
    waits: list[float] = []

    def take() -> None:
        for _ in range(150):
            waits.append(limiter.reserve("GET"))

    threads = [threading.Thread(target=take) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the slots booked from ten threads are the ones booked one after another: none handed out twice
    alone = RateLimiter(RateLimit(get_per_minute=1000, other_per_minute=1), monotonic=lambda: 0.0)
    assert sorted(waits) == [alone.reserve("GET") for _ in range(1500)]
