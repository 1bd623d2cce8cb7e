"""When to send again, how long to wait, and what to raise: the retry policy of both clients.

The rules (docs/architecture.md, "When is it safe to send again?"). A read changes nothing, so any
answer may be followed by another try. A deliver makes inFakt send something into the world, and
anything may sit between this client and inFakt (a proxy, a load balancer, a CDN): only a few
answers prove what happened, and a deliver is never sent again unless one proved nothing was done.

=============================================  =========================  ===============================
what happened                                  read (idempotent)          deliver (not idempotent)
=============================================  =========================  ===============================
could not connect; nothing sent                retry with backoff         retry with backoff
TLS verification failed, bad URL, refused      fail now                   fail now (nothing was sent)
destination (credentials would go elsewhere)
429, whatever the body                         wait (Retry-After, capped, same: nothing was done
                                               else backoff) and retry
503                                            same as 429                never resent:
                                                                          InfaktUnknownOutcome
500, 502, 504                                  retry with backoff         never resent:
                                                                          InfaktUnknownOutcome
400, 401, 402, 403, 404, 406, 422, 423         answer: the status's       with inFakt's own error body:
                                               InfaktAPIError             the status's InfaktAPIError
                                                                          (nothing was done); with any
                                                                          other body: InfaktUnknownOutcome
200, 201, 202, 204                             answer (parse)             with the expected body: done;
                                                                          else InfaktUnknownOutcome
any other status (other 4xx, 5xx, 2xx, 1xx)    answer: the status's       InfaktUnknownOutcome
                                               InfaktAPIError
same-origin redirect                           follow (re-signed)         never followed:
                                                                          InfaktUnknownOutcome
cross-origin redirect                          refuse                     InfaktUnknownOutcome
read timeout / dropped after sending / TLS     retry with backoff         never resent:
error after the handshake / garbled answer /                              InfaktUnknownOutcome
the per-request deadline passed
answer over the size cap                       fail now:                  never resent:
                                               InfaktResponseTooLarge     InfaktUnknownOutcome
=============================================  =========================  ===============================

So, on a deliver, every :class:`~.errors.InfaktError` other than
:class:`~.errors.InfaktUnknownOutcome` proves that nothing was done. The answers are classified by
:func:`.protocol.parse_deliver` (and :func:`.protocol.error_for`), transport failures by
:func:`failure_error` below.

:func:`exchange` is the whole conversation as a generator of :class:`Send` and :class:`Sleep`
actions: the sync client performs them with ``requests`` and ``time.sleep``, the async one with
``httpx`` and ``asyncio.sleep``. The policy is written once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Literal

from ._answers import is_quota_answer
from .errors import (
    InfaktConnectionError,
    InfaktError,
    InfaktRedirectError,
    InfaktResponseTooLargeError,
    InfaktTransportError,
    InfaktUnknownOutcome,
)
from .protocol import (
    RATE_LIMITED_STATUS,
    READ_RETRY_STATUSES,
    REDIRECT_STATUSES,
    Request,
    follow_redirect,
    header_value,
)
from .protocol import parse_retry_after as _parse_retry_after

if TYPE_CHECKING:
    from .ratelimit import RateLimiter
    from .settings import ClientSettings

__all__ = [
    "RATE_LIMITED_STATUSES",
    "Action",
    "Failure",
    "FailureKind",
    "Response",
    "Send",
    "Sleep",
    "backoff_delay",
    "exchange",
    "failure_error",
    "retry_delay_after_failure",
    "retry_delay_after_response",
]

#: Statuses whose ``Retry-After`` is honoured when the request is sent again (503 for reads only).
RATE_LIMITED_STATUSES = frozenset({RATE_LIMITED_STATUS, 503})

#: ``connect``: no connection was made, nothing was sent. ``fatal``: nothing was sent and retrying
#: cannot help (TLS verification failed, a bad URL, a destination other than the configured one).
#: ``maybe_sent``: the request may have reached inFakt but no complete, readable answer came back (a read
#: timeout, a dropped connection, a garbled answer, the deadline). ``too_large``: an answer came back
#: (``status``) but its body went over the size cap (``limit``); reading was stopped.
FailureKind = Literal["connect", "fatal", "maybe_sent", "too_large"]


@dataclasses.dataclass(frozen=True)
class Response:
    """An HTTP answer as the transport read it."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclasses.dataclass(frozen=True)
class Failure:
    """A transport failure, classified; ``detail`` is safe to show (no secrets, e-mails masked).

    ``status`` is the answer's status when one came (``too_large``, or a ``maybe_sent`` failure found in
    the body: malformed framing, corrupt compressed data); ``limit`` is the size cap for ``too_large``.
    """

    kind: FailureKind
    detail: str
    status: int | None = None
    limit: int | None = None


@dataclasses.dataclass(frozen=True)
class Send:
    """Action: send this (already signed) request and answer with a :class:`Response` or
    :class:`Failure`."""

    request: Request


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Action: wait this many seconds, then answer None."""

    seconds: float


Action = Send | Sleep


def backoff_delay(settings: ClientSettings, retry: int, random: Callable[[], float]) -> float:
    """The wait before retry number ``retry`` (1-based): exponential from ``backoff_base``, capped at
    ``backoff_max``, with "equal jitter" (between half and all of the step)."""
    step = min(settings.backoff_max, settings.backoff_base * 2.0 ** (retry - 1))
    return float(step / 2 + random() * step / 2)


def retry_delay_after_response(
    settings: ClientSettings,
    request: Request,
    response: Response,
    retry: int,
    *,
    now: float,
    random: Callable[[], float],
) -> float | None:
    """Seconds to wait before resending ``request`` after ``response``, or None to not resend.

    ``retry`` is the number of the retry this would be (1 for the first). 429 is retried for every
    request (a rate limiter refuses before anything is done), unless its message speaks of the daily
    e-mail quota; 500, 502, 503 and 504 only for idempotent requests (a proxy may answer them after
    inFakt acted); nothing else. ``Retry-After`` is honoured
    for 429 and 503, capped at ``retry_after_max``.
    """
    if retry > settings.max_retries:
        return None
    status = response.status
    if status != RATE_LIMITED_STATUS and not (request.idempotent and status in READ_RETRY_STATUSES):
        return None
    if status == RATE_LIMITED_STATUS and is_quota_answer(request, status, response.headers, response.body):
        return None  # the daily e-mail quota: no retry today will pass
    if status in RATE_LIMITED_STATUSES:
        told = _parse_retry_after(header_value(response.headers, "Retry-After"), now)
        if told is not None:
            return min(told, settings.retry_after_max)
    return backoff_delay(settings, retry, random)


def retry_delay_after_failure(
    settings: ClientSettings, request: Request, failure: Failure, retry: int, *, random: Callable[[], float]
) -> float | None:
    """Seconds to wait before resending ``request`` after a transport ``failure``, or None to give up.

    Connect failures are retried for every request; failures after sending only for idempotent
    requests; fatal failures and oversized answers never.
    """
    if retry > settings.max_retries or failure.kind in ("fatal", "too_large"):
        return None
    if failure.kind == "maybe_sent" and not request.idempotent:
        return None
    return backoff_delay(settings, retry, random)


def failure_error(request: Request, failure: Failure, attempts: int) -> InfaktError:
    """The exception for a transport failure the policy will not (or no longer) retry.

    On a deliver only ``connect`` and ``fatal`` prove nothing was sent; ``maybe_sent`` and ``too_large`` give
    :class:`~.errors.InfaktUnknownOutcome`.
    """
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if failure.kind == "connect":
        return InfaktConnectionError(
            f"could not connect to inFakt for {request.route} ({tries}; nothing was sent): {failure.detail}"
        )
    if failure.kind == "fatal":
        return InfaktConnectionError(
            f"cannot talk to inFakt for {request.route} (nothing was sent): {failure.detail}", retryable=False
        )
    if not request.idempotent:
        return InfaktUnknownOutcome(failure.detail, route=request.route, status=failure.status)
    if failure.kind == "too_large":
        return InfaktResponseTooLargeError(
            f"HTTP {failure.status} from {request.route}: {failure.detail}",
            status=failure.status or 0,
            limit=failure.limit or 0,
        )
    return InfaktTransportError(
        f"no answer from inFakt for {request.route} ({tries}): {failure.detail}", retryable=True
    )


def exchange(
    settings: ClientSettings,
    request: Request,
    sign: Callable[[Request], Request],
    *,
    limiter: RateLimiter | None,
    now: Callable[[], float],
    random: Callable[[], float],
) -> Generator[Action, Response | Failure | None, Response]:
    """The conversation for one logical request, as actions; returns the final :class:`Response`.

    Every send is preceded by the rate limiter's wait (if any) and signed afresh (new nonce and
    timestamp, and a new URL after a redirect). Raises the :mod:`.errors` exception when the transport
    fails for good or a redirect is refused; error *answers* are returned for the caller to parse.
    """
    current = request
    retry = 0
    redirects = 0
    while True:
        if limiter is not None:
            wait = limiter.reserve(current.method)
            if wait > 0:
                yield Sleep(wait)
        answer = yield Send(sign(current))
        if isinstance(answer, Failure):
            retry += 1
            delay = retry_delay_after_failure(settings, current, answer, retry, random=random)
            if delay is None:
                raise failure_error(current, answer, retry)
            yield Sleep(delay)
            continue
        if answer is None:
            raise RuntimeError("exchange: a Send action must be answered with a Response or Failure")
        if answer.status in REDIRECT_STATUSES and current.idempotent:  # a deliver is never sent again
            redirects += 1
            if redirects > settings.max_redirects:
                raise InfaktRedirectError(
                    f"more than {settings.max_redirects} redirects for {request.route}",
                    status=answer.status,
                    location=None,
                )
            current = follow_redirect(current, answer.status, header_value(answer.headers, "Location"))
            continue
        retry += 1
        delay = retry_delay_after_response(settings, current, answer, retry, now=now(), random=random)
        if delay is None:
            return answer
        yield Sleep(delay)
