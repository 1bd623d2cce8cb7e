"""The client core: everything :class:`~.client.InfaktClient` and :class:`~.aio.AsyncInfaktClient` share.

A call is a :class:`Call` (the request from :mod:`.protocol` and the function that reads its answer);
:meth:`ClientCore._steps` turns it into the policy's conversation (:func:`.policy.exchange`) ending in
the parsed result, as a generator of actions. Each client keeps only its transport (``_send``) and a
driver loop that answers those actions, synchronously or with ``await``. Standard library only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from .auth import OAuth1Auth, Signer, XAuth
from .errors import InfaktLookupError, InfaktValidationError, redact_text
from .policy import Action, Failure, Response, exchange
from .protocol import (
    Delivery,
    Invoice,
    InvoiceFilters,
    InvoicePage,
    Payment,
    Request,
    build_deliver,
    build_get_invoice,
    build_list_invoices,
    build_mark_paid,
    check_invoice_filters,
    narrow_page,
    parse_deliver,
    parse_invoice,
    parse_invoice_list,
    parse_mark_paid,
)
from .ratelimit import RateLimiter, shared_limiter
from .settings import ClientSettings

__all__ = [
    "Call",
    "ClientCore",
    "Steps",
    "async_call",
    "check_number",
    "describe_exception",
    "next_cursor",
    "only_match",
    "past_deadline",
    "sync_call",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., Any])

#: The actions of one call, answered by a client's driver loop; the generator returns the call's result.
Steps = Generator[Action, Response | Failure | None, _T]


@dataclasses.dataclass(frozen=True)
class Call(Generic[_T]):
    """One logical call: the request, and how its final answer (status, headers, body) is read."""

    request: Request
    parse: Callable[[Request, int, Mapping[str, str], bytes], _T]


class _RunsCalls(Protocol):
    def _call(self, call: Call[Any], /) -> Any: ...


def sync_call(build: Callable[Concatenate[Any, _P], Call[_T]]) -> Callable[Concatenate[_RunsCalls, _P], _T]:
    """A public method of a synchronous client from a call builder of :class:`ClientCore`: same
    parameters and docstring, returns what the client's ``_call`` returns for the built call."""

    @functools.wraps(build, assigned=("__module__", "__doc__"))
    def method(self: _RunsCalls, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        result: _T = self._call(build(self, *args, **kwargs))
        return result

    return _as_public(method, build)


def async_call(
    build: Callable[Concatenate[Any, _P], Call[_T]],
) -> Callable[Concatenate[_RunsCalls, _P], Coroutine[Any, Any, _T]]:
    """As :func:`sync_call`, for an asyncio client: the method is a coroutine function (the arguments
    are validated when it is awaited, as for any ``async def``)."""

    @functools.wraps(build, assigned=("__module__", "__doc__"))
    async def method(self: _RunsCalls, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        pending: Awaitable[_T] = self._call(build(self, *args, **kwargs))
        return await pending

    return _as_public(method, build)


def _as_public(method: _F, build: Callable[..., Any]) -> _F:
    """``method`` named after the public call (``_deliver_invoice_call`` -> ``deliver_invoice``...) with the
    builder's signature, but returning what the call returns (``Delivery``, not ``Call[Delivery]``)."""
    name = build.__name__.removeprefix("_").removesuffix("_call")
    method.__name__ = name
    method.__qualname__ = name
    signature = inspect.signature(build)
    returns = str(signature.return_annotation).removeprefix("Call[").removesuffix("]")
    method.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
    return method


#: What OpenSSL says when the server answers a TLS handshake in plain HTTP (``https://`` to an
#: ``http://`` server: a host typed without its scheme gets ``https://``).
_PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "record layer failure")
_PLAIN_HTTP_HINT = (
    "the server did not answer in TLS: if it is a plain-HTTP server, such as the emulator, write the "
    "scheme in the connection's host (http://host:port/api/v3); "
)


def describe_exception(exc: BaseException) -> str:
    """A short, safe description of a transport exception: class name and message, e-mail addresses
    masked, cut to 300 characters (library messages may quote the URL with its query); with a hint
    when an https request met a plain-HTTP server."""
    text = redact_text(f"{type(exc).__name__}: {exc}")
    text = text if len(text) <= 300 else text[:300] + "..."
    return _PLAIN_HTTP_HINT + text if answered_in_plain_http(exc) else text


def answered_in_plain_http(exc: BaseException) -> bool:
    """Whether ``exc`` says that an https request's TLS handshake met a server speaking plain HTTP: a
    configuration mistake (nothing of the request was sent), which no retry mends."""
    return any(sign in f"{exc!r} {exc}" for sign in _PLAIN_HTTP_SIGNS)


def past_deadline(settings: ClientSettings) -> Failure:
    """The failure for a request cut at its deadline: it may have arrived, no complete answer came."""
    return Failure("maybe_sent", f"no complete answer within the {settings.request_deadline:g}-second deadline; cut")


def next_cursor(page: InvoicePage, cursor: int | None) -> int | None:
    """The cursor of the page after ``page`` (fetched with ``cursor``), or None when it was the last one
    (no next cursor, or one that does not move forward)."""
    if page.next_cursor is None or (cursor is not None and page.next_cursor <= cursor):
        return None
    return page.next_cursor


def only_match(number: str, invoices: Iterable[Invoice]) -> Invoice:
    """The one invoice of ``invoices`` numbered exactly ``number``.

    :param number: the invoice number looked for.
    :param invoices: the invoices a list filtered by that number gave.
    :raises InfaktLookupError: when none is, or more than one is (naming their ids).
    """
    found = [invoice for invoice in invoices if invoice.number == number]
    if len(found) == 1:
        return found[0]
    ids = [invoice.reference for invoice in found]
    shown = redact_text(repr(number))
    if not found:
        message = f"no invoice is numbered {shown} (numbers are matched exactly, as inFakt writes them)"
    else:
        listed = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
        message = f"{len(found)} invoices are numbered {shown} (ids {listed}); read the one you mean by id"
    raise InfaktLookupError(message, field="number", value=shown, matches=ids)


def check_number(number: object) -> str:
    """``number`` if it can be an invoice number (see :func:`.protocol.check_invoice_filters`).

    :param number: the invoice number to look up.
    :raises InfaktValidationError: for anything else (None too).
    """
    if number is None:
        raise InfaktValidationError(
            "invalid number None: expected an invoice number, e.g. 'FV/1/2026'", field="number", value=None
        )
    checked = check_invoice_filters({"number": number}, "v3").number
    assert checked is not None
    return checked


def _limiter_for(settings: ClientSettings, monotonic: Callable[[], float]) -> RateLimiter | None:
    """The client's rate limiter: none, the process-wide one of its origin, or one of its own (when it
    runs on a clock of its own, as in tests, or its rate limit is not ``shared``)."""
    limit = settings.rate_limit
    if limit is None:
        return None
    if limit.shared and monotonic is time.monotonic:
        return shared_limiter(settings.base_url, limit)
    return RateLimiter(limit, monotonic=monotonic)


class ClientCore:
    """Settings, rate limiter, xAuth token and the calls; subclasses add a transport and a driver.

    :param settings: where and how to reach inFakt.
    :param clock: Unix time, for HTTP-date ``Retry-After``.
    :param monotonic: the rate limiter's clock; with the default, a ``shared`` rate limit uses the
        process-wide limiter of the API's origin (:func:`.ratelimit.shared_limiter`).
    :param random: backoff jitter, in [0, 1).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float],
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._random = random
        self._limiter = _limiter_for(settings, monotonic)
        self._token: OAuth1Auth | None = None

    def __repr__(self) -> str:
        settings = self.settings
        return f"{type(self).__name__}(base_url={settings.base_url!r}, api_version={settings.api_version!r})"

    # -- the calls: validated when built, nothing sent. Each client makes its public methods of
    # these (sync_call/async_call): their parameters and docstrings are the clients' own.
    def _deliver_invoice_call(
        self,
        invoice_id: int | str,
        type: str,
        doc_type: str,
        recipient: str | None = None,
        *,
        locale: str | None = None,
        send_copy: bool | None = None,
    ) -> Call[Delivery]:
        """Make inFakt deliver one invoice (by e-mail or post) and return what was delivered.

        Arguments are validated first (:class:`~.errors.InfaktValidationError`, nothing sent). The
        request is never resent once it may have arrived: an unknown result raises
        :class:`~.errors.InfaktUnknownOutcome`. Error answers raise their :class:`~.errors.InfaktAPIError`.

        :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid.
        :param type: ``mail`` (e-mail) or ``post`` (traditional post).
        :param doc_type: ``org``, ``KOPIA``, ``org_kop`` (v2 only), ``d_org`` or ``d_kop``.
        :param recipient: an e-mail address to send to instead of the client's (``mail`` only).
        :param locale: v3 only: ``pl``, ``en`` or ``pe``.
        :param send_copy: v3 only: also send a copy to the account owner.
        """
        request = build_deliver(self.settings, invoice_id, type, doc_type, recipient, locale, send_copy)
        return Call(request, parse_deliver)

    def _get_invoice_call(self, invoice_id: int | str) -> Call[Invoice]:
        """Read one invoice (by numeric id, or on v3 also by uuid).

        :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid.
        """
        return Call(build_get_invoice(self.settings, invoice_id), parse_invoice)

    def _list_invoices_call(
        self, /, *, status: str | None = None, page_size: int = 25, cursor: int | None = None, **filters: Any
    ) -> Call[InvoicePage]:
        """Read one page of invoices, optionally only those with a normalized ``status`` and matching
        ``filters``; pass the previous page's ``next_cursor`` as ``cursor`` for the next one.

        Filters (each None for "not filtered on"): ``number`` (exact), ``client_id``, ``id_from`` /
        ``id_to``, ``invoice_date_from`` / ``invoice_date_to``, ``sale_date_from`` / ``sale_date_to``,
        ``paid_date_from`` / ``paid_date_to`` (dates as ``datetime.date`` or ``YYYY-MM-DD``, ranges
        inclusive). They are checked first (:class:`~.errors.InfaktValidationError` names an unknown
        filter or a wrong value; nothing sent), sent as the API's own query, and checked again on each
        invoice of the answer: a page may hold fewer invoices than ``page_size`` and still have a next one.

        :param status: only invoices with this normalized status; None for all.
        :param page_size: how many invoices a page holds.
        :param cursor: the previous page's ``next_cursor``; None for the first page.
        :param filters: the filters, by name (see above).
        """
        checked = self._filters(status, filters)
        request = build_list_invoices(self.settings, page_size=page_size, cursor=cursor, filters=checked)

        def parse(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> InvoicePage:
            return narrow_page(parse_invoice_list(request, status, headers, body), checked)

        return Call(request, parse)

    def _filters(self, status: object, filters: Mapping[str, object]) -> InvoiceFilters | None:
        """The checked filters (with ``status``), or None when none is set."""
        if status is None and all(value is None for value in filters.values()):
            check_invoice_filters(filters, self.settings.api_version)  # unknown names are refused all the same
            return None
        return check_invoice_filters({"status": status, **filters}, self.settings.api_version)

    def _mark_paid_call(self, invoice_id: int | str, paid_date: dt.date | str | None = None) -> Call[Payment]:
        """Mark one invoice paid (API v3 only: v2 has no such call) and return what was asked.

        Arguments are validated first (:class:`~.errors.InfaktValidationError`, nothing sent). Marking
        an invoice paid again on the same date changes nothing, so a request whose answer was lost is
        sent again as a read is. Error answers raise their :class:`~.errors.InfaktAPIError` (a 422 when
        inFakt refuses the date, e.g. one before the invoice's date).

        :param invoice_id: the invoice: an int, a string of digits, or an invoice uuid.
        :param paid_date: the day it was paid (``datetime.date`` or ``YYYY-MM-DD``); None for the day
            inFakt receives the request.
        """
        return Call(build_mark_paid(self.settings, invoice_id, paid_date), parse_mark_paid)

    # -- the conversation, as actions --------------------------------------------------------
    def _steps(self, call: Call[_T], sign: Callable[[Request], Request]) -> Steps[_T]:
        """The policy's conversation for ``call``, signed by ``sign``; returns the parsed result."""
        conversation = exchange(
            self.settings, call.request, sign, limiter=self._limiter, now=self._clock, random=self._random
        )
        response = yield from conversation
        return call.parse(call.request, response.status, response.headers, response.body)

    def _known_signer(self) -> Signer | None:
        """The signer to use, or None while the xAuth token has not been fetched yet."""
        auth = self.settings.auth
        return auth if not isinstance(auth, XAuth) else self._token

    def _token_steps(self) -> Steps[OAuth1Auth]:
        """The xAuth token swap (call it with ``settings.auth`` an :class:`~.auth.XAuth`)."""
        auth = self.settings.auth
        assert isinstance(auth, XAuth)
        request = auth.token_request(self.settings.base_url, user_agent=self.settings.user_agent)
        return self._steps(Call(request, auth.parse_token), auth.sign)
