"""InfaktClient: the synchronous client, over a keep-alive ``requests.Session``.

It only moves bytes: the calls, the signer and the conversation come from the client core (:mod:`._core`).
Redirects are never followed by ``requests`` itself (credentials must not reach another host), every
request's destination is checked right before it goes out (as requests and urllib3 read its URL,
and again on the connection pool it will use), each request has an overall deadline
(:attr:`~.settings.ClientSettings.request_deadline`, enforced by :mod:`._sync_transport`), the
response size is capped while reading, and plain HTTP is refused for non-loopback hosts (see
:class:`~.settings.ClientSettings`). ``requests`` is imported when a client is created.
"""

from __future__ import annotations

import random as _random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ._body import BodyReader
from ._core import (
    Call,
    ClientCore,
    Steps,
    answered_in_plain_http,
    check_number,
    describe_exception,
    next_cursor,
    only_match,
    past_deadline,
    sync_call,
)
from ._logging import mask_addresses_in
from .auth import Signer
from .policy import Failure, FailureKind, Response, Send
from .protocol import Invoice, Request, wrong_destination
from .settings import ClientSettings

if TYPE_CHECKING:
    import requests

__all__ = ["InfaktClient", "describe_exception"]  # describe_exception: from ._core, kept importable here

_T = TypeVar("_T")
_CHUNK = 64 * 1024


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """A no-op requests auth: passing it stops requests from adding credentials from ~/.netrc."""
    return request


class InfaktClient(ClientCore):
    """A synchronous inFakt client for one account (v2 or v3), usable from plain Python.

    ``sleep``, ``clock`` (Unix time, for HTTP-date ``Retry-After``), ``monotonic`` (rate limiter) and
    ``random`` (backoff jitter) are injectable for tests; ``session`` may be a prepared
    ``requests.Session`` (the client mounts its own adapter on it for the base URL's origin: it
    enforces the deadline and the destination check). The client is thread-safe as far as
    ``requests.Session`` is; the xAuth token is fetched once, under a lock, and kept for the client's
    life. Use it as a context manager or call :meth:`close`.

    :param settings: where and how to reach inFakt.
    :param session: a prepared ``requests.Session``, or None for one of the client's own.
    :param sleep: how to wait (backoff, ``Retry-After``, rate limit).
    :param clock: Unix time, for HTTP-date ``Retry-After``.
    :param monotonic: the rate limiter's clock.
    :param random: backoff jitter, in [0, 1).
    """

    #: The public calls, as blocking calls, driven by :meth:`_drive`. Their parameters and docstrings
    #: are ClientCore's call builders' (``_deliver_invoice_call``...): written once for both clients.
    deliver_invoice = sync_call(ClientCore._deliver_invoice_call)
    get_invoice = sync_call(ClientCore._get_invoice_call)
    list_invoices = sync_call(ClientCore._list_invoices_call)
    mark_paid = sync_call(ClientCore._mark_paid_call)

    def __init__(
        self,
        settings: ClientSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        # deferred: requests and urllib3 (also under _sync_transport) are heavy; the api package stays cheap
        import requests

        from ._sync_transport import GuardedAdapter

        mask_addresses_in("urllib3.connectionpool")
        super().__init__(settings, clock=clock, monotonic=monotonic, random=random)
        self._session = session if session is not None else requests.Session()
        self._owns_session = session is None
        # Only the configured origin's URLs go through this adapter (requests picks the adapter by
        # the longest matching prefix); every request is checked to have that origin before it goes.
        self._adapter = GuardedAdapter(settings.origin)
        self._session.mount(_origin_prefix(settings.base_url), self._adapter)
        self._sleep = sleep
        self._token_lock = threading.Lock()

    def iter_invoices(self, *, status: str | None = None, page_size: int = 100, **filters: Any) -> Iterator[Invoice]:
        """Yield every invoice (optionally with a normalized ``status`` and matching ``filters``, as
        :meth:`list_invoices` takes them), fetching pages lazily. Arguments are checked at once.

        :param status: only invoices with this normalized status; None for all.
        :param page_size: how many invoices each page read holds.
        :param filters: ``number``, ``client_id``, ``id_from``, ``id_to``, ``invoice_date_from``,
            ``invoice_date_to``, ``sale_date_from``, ``sale_date_to``, ``paid_date_from``, ``paid_date_to``.
        """
        self._list_invoices_call(status=status, page_size=page_size, **filters)  # validate now
        return self._iterate(status, page_size, filters)

    def _iterate(self, status: str | None, page_size: int, filters: dict[str, Any]) -> Iterator[Invoice]:
        cursor: int | None = None
        while True:
            page = self.list_invoices(status=status, page_size=page_size, cursor=cursor, **filters)
            yield from page.invoices
            if (cursor := next_cursor(page, cursor)) is None:
                return

    def get_invoice_by_number(self, number: str) -> Invoice:
        """The one invoice numbered exactly ``number`` (``FV/1/2026``), from the list filtered by it.

        :param number: the invoice number, as inFakt writes it.
        :raises InfaktValidationError: when ``number`` cannot be an invoice number (nothing sent).
        :raises InfaktLookupError: when no invoice, or more than one, has that number.
        """
        checked = check_number(number)
        return only_match(checked, self.iter_invoices(number=checked))

    def close(self) -> None:
        """Close the HTTP session (if this client created it)."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> InfaktClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- machinery -------------------------------------------------------------------------
    def _call(self, call: Call[_T]) -> _T:
        return self._drive(self._steps(call, self._signer().sign))

    def _signer(self) -> Signer:
        signer = self._known_signer()
        if signer is not None:
            return signer
        with self._token_lock:  # one token swap, however many threads ask at once
            if self._token is None:
                self._token = self._drive(self._token_steps())
            return self._token

    def _drive(self, steps: Steps[_T]) -> _T:
        """Answer the core's actions: send with this client's transport, sleep with ``sleep``."""
        answer: Response | Failure | None = None
        try:
            while True:
                action = steps.send(answer)
                answer = self._send(action.request) if isinstance(action, Send) else self._sleep(action.seconds)
        except StopIteration as stop:
            result: _T = stop.value
            return result

    def _send(self, request: Request) -> Response | Failure:
        # deferred: heavy third-party imports (already loaded by __init__)
        import requests
        import urllib3.exceptions

        from ._sync_transport import Watch

        settings = self.settings
        session = self._session
        try:
            prepared = session.prepare_request(
                requests.Request(
                    request.method,
                    request.full_url,
                    data=request.body,
                    headers=dict(request.headers),
                    auth=_keep_headers,
                )
            )
        except (requests.exceptions.RequestException, ValueError) as exc:
            return Failure("fatal", describe_exception(exc))
        url = prepared.url or ""
        problem = _destination_problem(request, settings.origin, url)
        if problem is None and session.get_adapter(url) is not self._adapter:
            problem = f"refusing to send {request.route}: its URL does not go through this client's adapter"
        if problem is not None:
            return Failure("fatal", problem)
        # The adapter, not Session.send: that one parses a redirect's Location (to prepare the next
        # request) even with allow_redirects=False, and raises a raw ValueError on an odd one.
        environment = session.merge_environment_settings(url, {}, True, settings.verify, None)
        with Watch(settings.request_deadline) as watch:
            try:
                answer = self._adapter.send(
                    prepared,
                    stream=True,
                    timeout=settings.timeout,
                    verify=environment["verify"] if environment["verify"] is not None else settings.verify,
                    cert=environment["cert"],
                    proxies=environment["proxies"],
                )
            except requests.exceptions.RequestException as exc:
                return past_deadline(settings) if watch.expired else Failure(_classify(exc), describe_exception(exc))
            try:
                result = self._read(answer)
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
                result = Failure("maybe_sent", describe_exception(exc))
            finally:
                answer.close()
        # A cut can also look like a complete answer (http.client takes a header block cut short by
        # the end of the connection as complete): past the deadline nothing read counts.
        return past_deadline(settings) if watch.expired else result

    def _read(self, answer: requests.Response) -> Response | Failure:
        """The body as it came (de-chunked, not decompressed), through :class:`~._body.BodyReader`."""
        reader = BodyReader(answer.status_code, answer.headers, self.settings.max_response_bytes)
        if reader.failure is not None:
            return reader.failure
        for chunk in answer.raw.stream(_CHUNK, decode_content=False):
            if reader.feed(chunk) is not None:
                break
        return reader.finish()


def _origin_prefix(base_url: str) -> str:
    """``scheme://host[:port]/`` of the base URL: the prefix the client's adapter is mounted for."""
    parts = urllib.parse.urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/"


def _destination_problem(request: Request, origin: tuple[str, str, int], url: str) -> str | None:
    """Why the prepared ``url`` must not be sent, read the way requests and urllib3 read it (requests
    picks the connection with :func:`urllib.parse.urlparse`, urllib3 parses with its own
    ``parse_url``): both must name the configured origin."""
    import urllib3.util  # deferred: heavy third-party import (already loaded by the client)

    try:
        parsed = urllib.parse.urlparse(url)
        first = wrong_destination(request.route, origin, parsed.scheme, parsed.hostname or "", parsed.port)
        other = urllib3.util.parse_url(url)
        second = wrong_destination(request.route, origin, other.scheme or "", other.host or "", other.port)
    except ValueError as exc:  # urllib3's LocationParseError is a ValueError too
        return f"refusing to send {request.route}: its URL cannot be parsed ({describe_exception(exc)})"
    return first or second


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: causes, contexts, urllib3's ``reason`` and requests' first arg."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        wrapped.extend(current.args[:1])
        pending.extend(item for item in wrapped if isinstance(item, BaseException))


def _raised_in_handshake(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside the TLS handshake (``do_handshake`` on its traceback)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "do_handshake":
            return True
        tb = tb.tb_next
    return False


def _classify(exc: BaseException) -> FailureKind:
    """Where a requests exception happened: before anything was sent, after, or beyond repair.

    A TLS error is "fatal" (nothing sent) only when it is a failed certificate verification, which can
    only happen in the handshake; requests reports TLS errors while reading the answer with the same
    class, so any other one may have come after the request went out.
    """
    # deferred: heavy third-party imports (already loaded by the client)
    import requests
    import urllib3.exceptions

    errors = requests.exceptions
    if isinstance(exc, errors.SSLError):
        verification = (ssl.SSLCertVerificationError, ssl.CertificateError)
        if any(isinstance(cause, verification) for cause in _causes(exc)):
            return "fatal"
        # A plain-HTTP answer to the handshake: the request itself was never sent (only a TLS error raised
        # inside the handshake proves that; the same error while reading would come after sending).
        in_handshake = any(answered_in_plain_http(c) and _raised_in_handshake(c) for c in _causes(exc))
        return "fatal" if in_handshake else "maybe_sent"
    if isinstance(exc, (errors.ConnectTimeout, errors.ProxyError)):
        return "connect"
    # A request's own URL and headers are checked when it is prepared, before anything is sent: an
    # InvalidHeader from sending is about the answer (e.g. two Content-Length values), after sending.
    if isinstance(exc, errors.InvalidHeader):
        return "maybe_sent"
    if isinstance(exc, (errors.InvalidURL, errors.MissingSchema, errors.InvalidSchema)):
        return "fatal"
    if isinstance(exc, errors.ConnectionError):
        reason: object = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        if isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return "connect"
        return "maybe_sent"
    return "maybe_sent"
