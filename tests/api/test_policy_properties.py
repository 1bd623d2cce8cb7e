"""Property tests of the send/resend rule: the retry policy (api/policy.py) and the classification of a
deliver's answer (api/protocol.py, ``parse_deliver`` / ``error_for``).

The rule (docs/architecture.md, "When is it safe to send again?"): a deliver is sent again only after
an answer that proves nothing was done (429; a connection never made); it never raises anything but
:class:`InfaktUnknownOutcome` for an answer that proves nothing; and only a 2xx with the expected body
counts as done.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p
from airflow_provider_infakt.api.policy import (
    Failure,
    Response,
    Send,
    Sleep,
    exchange,
    failure_error,
    retry_delay_after_failure,
    retry_delay_after_response,
)

from .conftest import v2_settings, v3_settings

PROPERTY = settings(
    derandomize=True, max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
NOW = 1_000_000.0
DONE = (200, 201, 202, 204)
REFUSED = (400, 401, 402, 403, 404, 406, 422, 423)
READ_RETRY = (429, 500, 502, 503, 504)
FAILURE_KINDS = ("connect", "fatal", "maybe_sent", "too_large")


def policy_settings(max_retries: int, base: float, top: float, cap: float) -> Any:
    return v3_settings(max_retries=max_retries, backoff_base=base, backoff_max=top, retry_after_max=cap)


settings_st = st.builds(
    policy_settings,
    max_retries=st.integers(0, 6),
    base=st.floats(0.01, 5),
    top=st.floats(0.01, 60),
    cap=st.floats(0, 120),
)
kinds = st.sampled_from(["read", "deliver"])
statuses = st.one_of(
    st.sampled_from([*DONE, *REFUSED, *READ_RETRY, 301, 302, 307, 308, 501, 505, 520]), st.integers(100, 599)
)
retry_after = st.one_of(
    st.none(),
    st.integers(0, 10_000).map(str),
    st.sampled_from(["-1", "abc", "", "1.5", "Mon, 12 Jan 1970 13:46:50 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"]),
)


def request_for(settings_: Any, kind: str) -> p.Request:
    if kind == "read":
        return p.build_get_invoice(settings_, 1)
    return p.build_deliver(settings_, 1, "mail", "org")


def step(settings_: Any, retry: int) -> float:
    return float(min(settings_.backoff_max, settings_.backoff_base * 2.0 ** (retry - 1)))


@PROPERTY
@given(
    settings_=settings_st,
    kind=kinds,
    status=statuses,
    told=retry_after,
    retry=st.integers(1, 8),
    jitter=st.floats(0, 1),
)
def test_property_when_an_answer_is_followed_by_another_try(settings_, kind, status, told, retry, jitter):
    request = request_for(settings_, kind)
    headers = {} if told is None else {"Retry-After": told}
    delay = retry_delay_after_response(
        settings_, request, Response(status, headers, b""), retry, now=NOW, random=lambda: jitter
    )
    resend_allowed = status == 429 or (kind == "read" and status in READ_RETRY)
    if retry > settings_.max_retries or not resend_allowed:
        assert delay is None
        return
    assert delay is not None and delay >= 0
    honoured = p.parse_retry_after(told, NOW) if status in (429, 503) else None
    if honoured is not None:
        assert delay == min(honoured, settings_.retry_after_max)
    else:  # backoff with "equal jitter": between half and all of the step
        assert delay == pytest.approx(step(settings_, retry) * (0.5 + jitter / 2))


@PROPERTY
@given(
    settings_=settings_st,
    kind=kinds,
    failure=st.sampled_from(FAILURE_KINDS),
    retry=st.integers(1, 8),
    jitter=st.floats(0, 1),
)
def test_property_when_a_transport_failure_is_followed_by_another_try(settings_, kind, failure, retry, jitter):
    request = request_for(settings_, kind)
    delay = retry_delay_after_failure(settings_, request, Failure(failure, "detail"), retry, random=lambda: jitter)
    nothing_sent = failure == "connect"
    harmless = kind == "read" and failure == "maybe_sent"
    if retry > settings_.max_retries or not (nothing_sent or harmless):
        assert delay is None
    else:
        assert delay == pytest.approx(step(settings_, retry) * (0.5 + jitter / 2))


@PROPERTY
@given(
    kind=kinds,
    failure=st.sampled_from(FAILURE_KINDS),
    status=st.one_of(st.none(), st.integers(100, 599)),
    limit=st.one_of(st.none(), st.integers(1024, 10**8)),
    attempts=st.integers(1, 9),
)
def test_property_the_error_for_a_transport_failure(kind, failure, status, limit, attempts):
    request = request_for(v3_settings(), kind)
    error = failure_error(request, Failure(failure, "what was seen", status, limit), attempts)
    if failure in ("connect", "fatal"):  # nothing was sent
        assert type(error) is e.InfaktConnectionError and "nothing was sent" in str(error)
        assert error.retryable is (failure == "connect")
    elif kind == "deliver":  # it may have arrived
        assert type(error) is e.InfaktUnknownOutcome and error.status == status and not error.retryable
        assert "what was seen" in str(error)
    elif failure == "too_large":
        assert type(error) is e.InfaktResponseTooLargeError and not error.retryable
        assert (error.status, error.limit) == (status or 0, limit or 0)
    else:
        assert type(error) is e.InfaktTransportError and error.retryable
    if failure in ("connect",) or (failure == "maybe_sent" and kind == "read"):
        assert f"{attempts} attempt{'s' if attempts != 1 else ''}" in str(error)
    assert request.route in str(error) or isinstance(error, e.InfaktUnknownOutcome)


# -- the whole conversation -------------------------------------------------------------------------
answers = st.lists(
    st.one_of(
        st.builds(
            Response, statuses, st.sampled_from([{}, {"Retry-After": "0"}, {"Location": "/api/v3/x"}]), st.just(b"")
        ),
        st.builds(Failure, st.sampled_from(FAILURE_KINDS), st.just("seen")),
    ),
    min_size=1,
    max_size=12,
)


@PROPERTY
@given(kind=kinds, script=answers, max_retries=st.integers(0, 4), redirects=st.integers(0, 3))
def test_property_a_deliver_is_sent_again_only_after_proof_that_nothing_was_done(kind, script, max_retries, redirects):
    settings_ = v3_settings(max_retries=max_retries, max_redirects=redirects, backoff_base=0.01)
    request = request_for(settings_, kind)
    sent: list[p.Request] = []
    conversation = exchange(settings_, request, lambda r: r, limiter=None, now=lambda: NOW, random=lambda: 0.5)
    answer: Any = None
    answered: list[Any] = []
    outcome: Any
    try:
        while True:
            action = conversation.send(answer)
            if isinstance(action, Sleep):
                assert action.seconds >= 0 and sent, "a wait before anything was sent"
                answer = None
                continue
            assert isinstance(action, Send)
            if len(answered) == len(script):  # the script ran out: answer 200
                answer = Response(200, {}, b"")
            else:
                answer = script[len(answered)]
            sent.append(action.request)
            answered.append(answer)
    except StopIteration as stop:
        outcome = stop.value
    except e.InfaktError as exc:
        outcome = exc
    # Every send but the last followed an answer that allowed another one.
    for earlier in answered[:-1]:
        if kind == "deliver":
            assert (isinstance(earlier, Failure) and earlier.kind == "connect") or (
                isinstance(earlier, Response) and earlier.status == 429
            ), earlier
        else:
            assert (isinstance(earlier, Failure) and earlier.kind in ("connect", "maybe_sent")) or (
                isinstance(earlier, Response) and earlier.status in (*READ_RETRY, 301, 302, 303, 307, 308)
            ), earlier
    tries = len([a for a in answered if not (isinstance(a, Response) and a.status in p.REDIRECT_STATUSES)])
    assert tries <= max_retries + 1
    last = answered[-1]
    if isinstance(last, Failure):
        assert isinstance(outcome, e.InfaktError)
        if kind == "deliver" and last.kind in ("maybe_sent", "too_large"):
            assert isinstance(outcome, e.InfaktUnknownOutcome)
    elif isinstance(outcome, Response):
        assert outcome is last
        if kind == "deliver":
            assert all(r.url == request.url for r in sent)  # never redirected


# -- a deliver's answer ----------------------------------------------------------------------------
DELIVERS = {
    "v3": lambda: p.build_deliver(v3_settings(), 7, "mail", "org"),
    "v2json": lambda: p.build_deliver(v2_settings("json"), 7, "mail", "org"),
    "v2xml": lambda: p.build_deliver(v2_settings("xml"), 7, "mail", "org"),
}
OWN_ERRORS = {
    "v3": [b'{"error": "Nope"}', b'{"errors": {"recipient": ["is invalid"]}}', b'{"message": "Nope"}'],
    "v2json": [json.dumps({"message": "Nope. See documentation.", "request": "/x"}).encode()],
    "v2xml": [b'<?xml version="1.0"?>\n<hash><message>Nope.</message><request>/x</request></hash>'],
}
SUCCESS = {
    "v3": [b"", b"{}", b'{"status": "ok"}'],
    "v2json": [b'{"invoice": {"invoice_id": 7}}', b'{"invoice": {"invoice_id": "7"}}'],
    "v2xml": [b"<invoice><invoice_id>7</invoice_id></invoice>"],
}
CONTENT_TYPES = {"v3": "application/json", "v2json": "application/json", "v2xml": "application/xml"}
bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(
        [b"<html><body>502 Bad Gateway</body></html>", b"null", b"[]", b'"text"', b"{", b'{"invoice": {}}']
    ),
    st.sampled_from(
        [b'{"invoice": {"invoice_id": 8}}', b'{"invoice": {"invoice_id": -7}}', b'{"invoice": {"invoice_id": "7x"}}']
    ),
)


@PROPERTY
@given(
    kind=st.sampled_from(list(DELIVERS)),
    status=statuses,
    body=st.one_of(bodies, st.sampled_from([*OWN_ERRORS["v3"], *OWN_ERRORS["v2json"], *OWN_ERRORS["v2xml"]])),
    typed=st.booleans(),
)
def test_property_only_a_success_with_the_expected_body_proves_a_delivery(kind, status, body, typed):
    request = DELIVERS[kind]()
    headers = {"Content-Type": CONTENT_TYPES[kind]} if typed else {}
    try:
        delivery = p.parse_deliver(request, status, headers, body)
    except e.InfaktUnknownOutcome as exc:
        assert exc.status == status and not exc.retryable and "not resent" in str(exc)
        return
    except e.InfaktError as exc:  # anything but an unknown outcome says: nothing was done
        assert status == 429 or status in REFUSED, (status, body)
        assert getattr(exc, "status", None) == status
        if status != 429:
            assert body.strip(), "an empty answer is no proof of a refusal"
        return
    assert status in DONE and delivery.invoice_id == 7 and delivery == request.delivery


@PROPERTY
@given(kind=st.sampled_from(list(DELIVERS)), status=st.sampled_from(DONE), pick=st.integers(0, 5))
def test_property_the_expected_success_body_is_a_delivery(kind, status, pick):
    body = SUCCESS[kind][pick % len(SUCCESS[kind])]
    request = DELIVERS[kind]()
    assert p.parse_deliver(request, status, {"Content-Type": CONTENT_TYPES[kind]}, body) == request.delivery


@PROPERTY
@given(
    kind=st.sampled_from(list(DELIVERS)),
    status=st.sampled_from(REFUSED),
    pick=st.integers(0, 5),
    told=st.one_of(st.none(), st.integers(0, 10_000).map(str)),  # seconds: the same at any clock
)
def test_property_infakt_own_refusal_proves_nothing_was_done(kind, status, pick, told):
    body = OWN_ERRORS[kind][pick % len(OWN_ERRORS[kind])]
    request = DELIVERS[kind]()
    headers = {"Content-Type": CONTENT_TYPES[kind], **({} if told is None else {"Retry-After": told})}
    for error in (p.error_for(request, status, headers, body, now=NOW), _raised(request, status, headers, body)):
        assert type(error) is e.error_class_for_status(status) and error.status == status
        assert error.route == request.route and not error.retryable
        assert error.retry_after == p.parse_retry_after(told, NOW)
        assert error.api_message and ("Nope" in error.api_message or error.errors)


def _raised(request: p.Request, status: int, headers: dict[str, str], body: bytes) -> Any:
    with pytest.raises(e.InfaktError) as caught:
        p.parse_deliver(request, status, headers, body)
    return caught.value


@PROPERTY
@given(
    kind=st.sampled_from(list(DELIVERS)),
    status=st.one_of(
        st.integers(100, 599).filter(lambda s: s not in (*REFUSED, 429, *DONE)),
        st.sampled_from([300, 301, 302, 303, 307, 308, 399, 499, 500, 503, 599, 100, 203, 205, 206, 418, 409]),
    ),
    body=st.one_of(bodies, st.sampled_from([*OWN_ERRORS["v3"], *OWN_ERRORS["v2json"], *OWN_ERRORS["v2xml"]])),
    location=st.sampled_from([None, "/api/v3/elsewhere", "https://proxy.example/login?next=/x"]),
)
def test_property_other_statuses_are_an_unknown_outcome_saying_what_came_back(kind, status, body, location):
    request = DELIVERS[kind]()
    headers = {"Content-Type": CONTENT_TYPES[kind], **({"Location": location} if location else {})}
    error = p.error_for(request, status, headers, body, now=NOW)
    assert type(error) is e.InfaktUnknownOutcome and error.status == status and error.route == request.route
    message = str(error)
    if 300 <= status < 400:  # the reason names the redirect and where it pointed (no query: personal data)
        target = location.partition("?")[0] if location else "nowhere (no Location)"
        assert f"the answer is HTTP {status}, a redirect to {target};" in message
        assert "never sent again" in message
    elif status >= 500:
        assert f"the server answered HTTP {status} (" in message and "after inFakt acted" in message
    else:
        assert f"HTTP {status} is not an answer that proves whether inFakt acted (" in message


#: v2 success bodies that do not name the requested invoice, and the reason each must give.
V2_NOT_PROOF = {
    b'{"invoice": {}}': "names no invoice_id",
    b'{"invoice": {"invoice_id": null}}': "names no invoice_id",
    b'{"invoice": {"invoice_id": "  "}}': "names no invoice_id",
    b'{"status": "ok"}': "names no invoice_id",
    b"[]": "names no invoice_id",
    b'{"invoice": {"invoice_id": 0}}': "invoice_id 0 is not an invoice id",
    b'{"invoice": {"invoice_id": -7}}': "invoice_id -7 is not an invoice id",
    b'{"invoice": {"invoice_id": "7x"}}': "invoice_id '7x' is not an invoice id",
    b'{"invoice": {"invoice_id": true}}': "invoice_id True is not an invoice id",
    b'{"invoice": {"invoice_id": 8}}': "names invoice 8, not the one requested (7)",
    b'{"invoice": {"id": "8"}}': "names invoice 8, not the one requested (7)",
}


@pytest.mark.parametrize(("body", "reason"), list(V2_NOT_PROOF.items()))
@pytest.mark.parametrize("status", DONE)
def test_a_v2_success_that_does_not_name_the_invoice_says_why_it_proves_nothing(body, reason, status):
    request = DELIVERS["v2json"]()
    with pytest.raises(e.InfaktUnknownOutcome) as caught:
        p.parse_deliver(request, status, {"Content-Type": "application/json"}, body)
    assert f"HTTP {status} but the answer" in str(caught.value) and reason in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"errors": {}}',
        b'{"errors": []}',
        b'{"errors": "invalid"}',
        b'{"message": ""}',
        b'{"error": "  "}',
        b'{"message": 5}',
        b'{"error": ["x"]}',
        b"{}",
    ],
)
@pytest.mark.parametrize("status", REFUSED)
def test_an_empty_or_odd_error_body_is_not_infakt_own_refusal(body, status):
    """inFakt's own error body has a non-empty text ``message``/``error`` or a non-empty ``errors``
    object or list; a 4xx with anything else may come from a proxy, so it proves nothing."""
    error = p.error_for(DELIVERS["v3"](), status, {"Content-Type": "application/json"}, body, now=NOW)
    assert type(error) is e.InfaktUnknownOutcome and "without inFakt's own error body" in str(error)


def test_a_surprise_while_checking_a_deliver_answer_is_an_unknown_outcome(monkeypatch):
    """A library failing in an unforeseen way (here the decoder) must not pass for "not done"."""

    def broken(*args: Any) -> Any:
        raise RuntimeError("xmltodict had a bad day")

    monkeypatch.setattr(p, "_decode_as", broken)
    with pytest.raises(e.InfaktUnknownOutcome) as caught:
        p.parse_deliver(DELIVERS["v3"](), 202, {"Content-Type": "application/json"}, b'{"a": 1}')
    assert "HTTP 202 but the answer could not be checked (RuntimeError)" in str(caught.value)


def test_parse_deliver_needs_a_deliver_request():
    with pytest.raises(ValueError, match="needs the request built by build_deliver"):
        p.parse_deliver(p.build_get_invoice(v3_settings(), 7), 200, {}, b"")


# -- the conversation's counters ------------------------------------------------------------------
def drive(conversation: Any, answers: list[Any]) -> tuple[list[Any], Any]:
    """Run ``conversation``, answering each Send with the next of ``answers``; (actions, outcome)."""
    actions: list[Any] = []
    reply: Any = None
    try:
        while True:
            action = conversation.send(reply)
            actions.append(action)
            reply = answers.pop(0) if isinstance(action, Send) else None
    except StopIteration as stop:
        return actions, stop.value
    except e.InfaktError as exc:
        return actions, exc


@PROPERTY
@given(
    max_redirects=st.integers(0, 4), redirects=st.integers(0, 6), status=st.sampled_from(sorted(p.REDIRECT_STATUSES))
)
def test_property_a_read_follows_at_most_max_redirects(max_redirects, redirects, status):
    settings_ = v3_settings(max_redirects=max_redirects)
    request = p.build_get_invoice(settings_, 1)
    hop = Response(status, {"Location": "/api/v3/invoices/1.json"}, b"")
    script = [hop] * redirects + [Response(200, {}, b"{}")]
    conversation = exchange(settings_, request, lambda r: r, limiter=None, now=lambda: NOW, random=lambda: 0.5)
    actions, outcome = drive(conversation, script)
    sends = [a for a in actions if isinstance(a, Send)]
    if redirects <= max_redirects:
        assert isinstance(outcome, Response) and outcome.status == 200 and len(sends) == redirects + 1
    else:
        assert isinstance(outcome, e.InfaktRedirectError) and len(sends) == max_redirects + 1
        assert f"more than {max_redirects} redirects" in str(outcome)


class ScriptedLimiter:
    """A rate limiter whose waits are given in advance."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = list(waits)

    def reserve(self, method: str) -> float:
        return self.waits.pop(0)


@PROPERTY
@given(
    kind=kinds,
    waits=st.lists(st.one_of(st.just(0.0), st.floats(0.001, 0.999), st.floats(1, 60)), min_size=1, max_size=4),
)
def test_property_the_rate_limiter_wait_comes_before_each_send_and_only_when_there_is_one(kind, waits):
    settings_ = v3_settings(max_retries=len(waits))
    request = request_for(settings_, kind)
    script = [Response(429, {"Retry-After": "0"}, b"")] * (len(waits) - 1) + [Response(200, {}, b"")]
    conversation = exchange(
        settings_, request, lambda r: r, limiter=ScriptedLimiter(waits), now=lambda: NOW, random=lambda: 0.5
    )
    actions, outcome = drive(conversation, script)
    assert isinstance(outcome, Response) and outcome.status == 200
    expected: list[Any] = []
    for number, wait in enumerate(waits):
        if number:
            expected.append(Sleep(0.0))  # Retry-After: 0
        if wait > 0:
            expected.append(Sleep(wait))
        expected.append(Send(request))
    assert actions == expected


def test_a_send_answered_with_nothing_is_a_driver_bug():
    settings_ = v3_settings()
    conversation = exchange(
        settings_, p.build_get_invoice(settings_, 1), lambda r: r, limiter=None, now=lambda: NOW, random=lambda: 0.5
    )
    assert isinstance(next(conversation), Send)
    with pytest.raises(RuntimeError, match="must be answered with a Response or Failure"):
        conversation.send(None)


@PROPERTY
@given(status=st.integers(100, 599), body=bodies, told=retry_after)
def test_property_a_read_error_is_the_status_own_error(status, body, told):
    request = p.build_get_invoice(v3_settings(), 7)
    error = p.error_for(request, status, {} if told is None else {"Retry-After": told}, body, now=NOW)
    if status in p.REDIRECT_STATUSES:
        assert type(error) is e.InfaktRedirectError
    else:
        assert type(error) is e.error_class_for_status(status) and error.status == status
        assert error.retry_after == p.parse_retry_after(told, NOW)
        assert error.retryable == (status == 429 or status >= 500)
