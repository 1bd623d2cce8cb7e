"""InfaktClient: the synchronous client, over a keep-alive ``requests.Session``.

It only moves bytes: requests come from :mod:`.protocol`, the retry policy from :mod:`.policy`.
Redirects are never followed by ``requests`` itself (credentials must not reach another host), every
request's destination is checked right before it goes out (as requests and urllib3 read its URL,
and again on the connection pool it will use), each request has an overall deadline
(:attr:`~.settings.ClientSettings.request_deadline`, enforced by :mod:`._sync_transport`), the
response size is capped while reading, and plain HTTP is refused for non-loopback hosts (see
:class:`~.settings.ClientSettings`). ``requests`` is imported when a client is created.
"""

from __future__ import annotations

import random as _random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ._body import BodyReader
from ._logging import mask_addresses_in
from .auth import OAuth1Auth, Signer, XAuth
from .errors import redact_text
from .policy import Failure, FailureKind, Response, Send, exchange
from .protocol import (
    Delivery,
    Invoice,
    InvoicePage,
    Request,
    build_deliver,
    build_get_invoice,
    build_list_invoices,
    parse_deliver,
    parse_invoice,
    parse_invoice_list,
    wrong_destination,
)
from .ratelimit import RateLimiter
from .settings import ClientSettings

if TYPE_CHECKING:
    import requests

__all__ = ["InfaktClient", "describe_exception"]

_T = TypeVar("_T")
_CHUNK = 64 * 1024


def describe_exception(exc: BaseException) -> str:
    """A short, safe description of a transport exception: class name and message, e-mail addresses
    masked, cut to 300 characters (library messages may quote the URL with its query)."""
    text = redact_text(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= 300 else text[:300] + "..."


def _keep_headers(request: Any) -> Any:
    """A no-op requests auth: passing it stops requests from adding credentials from ~/.netrc."""
    return request


def past_deadline(settings: ClientSettings) -> Failure:
    """The failure for a request cut at its deadline: it may have arrived, no complete answer came."""
    return Failure("sent", f"no complete answer within the {settings.request_deadline:g}-second deadline; cut")


class InfaktClient:
    """A synchronous inFakt client for one account (v2 or v3), usable from plain Python.

    ``sleep``, ``clock`` (Unix time, for HTTP-date ``Retry-After``), ``monotonic`` (rate limiter) and
    ``random`` (backoff jitter) are injectable for tests; ``session`` may be a prepared
    ``requests.Session`` (the client mounts its own adapter on it for the base URL's origin: it
    enforces the deadline and the destination check). The client is thread-safe as far as
    ``requests.Session`` is; the xAuth token is fetched once, under a lock, and kept for the client's
    life. Use it as a context manager or call :meth:`close`.
    """

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
        import requests

        from ._sync_transport import GuardedAdapter

        mask_addresses_in("urllib3.connectionpool")
        self.settings = settings
        self._session = session if session is not None else requests.Session()
        self._owns_session = session is None
        # Only the configured origin's URLs go through this adapter (requests picks the adapter by
        # the longest matching prefix); every request is checked to have that origin before it goes.
        self._adapter = GuardedAdapter(settings.origin)
        self._session.mount(_origin_prefix(settings.base_url), self._adapter)
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._limiter = RateLimiter(settings.rate_limit, monotonic=monotonic) if settings.rate_limit else None
        self._token: OAuth1Auth | None = None
        self._token_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InfaktClient(base_url={self.settings.base_url!r}, api_version={self.settings.api_version!r})"

    # -- public calls ----------------------------------------------------------------------
    def deliver_invoice(
        self,
        invoice_id: int | str,
        type: str,
        doc_type: str,
        recipient: str | None = None,
        *,
        locale: str | None = None,
        send_copy: bool | None = None,
    ) -> Delivery:
        """Make inFakt deliver one invoice (by e-mail or post) and return what was delivered.

        Arguments are validated first (:class:`~.errors.InfaktValidationError`, nothing sent). The
        request is never resent once it may have arrived: an unknown result raises
        :class:`~.errors.InfaktUnknownOutcome`. Error answers raise their :class:`~.errors.InfaktAPIError`.
        """
        request = build_deliver(self.settings, invoice_id, type, doc_type, recipient, locale, send_copy)
        return self._call(request, parse_deliver)

    def get_invoice(self, invoice_id: int | str) -> Invoice:
        """Read one invoice (by numeric id, or on v3 also by uuid)."""
        return self._call(build_get_invoice(self.settings, invoice_id), parse_invoice)

    def list_invoices(
        self, *, status: str | None = None, page_size: int = 25, cursor: int | None = None
    ) -> InvoicePage:
        """Read one page of invoices, optionally only those with a normalized ``status``; pass the
        previous page's ``next_cursor`` as ``cursor`` for the next one."""
        request = build_list_invoices(self.settings, status=status, page_size=page_size, cursor=cursor)
        return self._call(request, parse_invoice_list)

    def iter_invoices(self, *, status: str | None = None, page_size: int = 100) -> Iterator[Invoice]:
        """Yield every invoice (optionally with a normalized ``status``), fetching pages lazily."""
        build_list_invoices(self.settings, status=status, page_size=page_size)  # validate now
        return self._iterate(status, page_size)

    def _iterate(self, status: str | None, page_size: int) -> Iterator[Invoice]:
        cursor: int | None = None
        while True:
            page = self.list_invoices(status=status, page_size=page_size, cursor=cursor)
            yield from page.invoices
            if page.next_cursor is None or (cursor is not None and page.next_cursor <= cursor):
                return
            cursor = page.next_cursor

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
    def _call(self, request: Request, parse: Callable[[Request, int, Mapping[str, str], bytes], _T]) -> _T:
        signer = self._signer()
        response = self._run(request, signer.sign)
        return parse(request, response.status, response.headers, response.body)

    def _signer(self) -> Signer:
        auth = self.settings.auth
        if not isinstance(auth, XAuth):
            return auth
        with self._token_lock:
            if self._token is None:
                request = auth.exchange_request(self.settings.base_url, user_agent=self.settings.user_agent)
                response = self._run(request, auth.sign)
                self._token = auth.parse_exchange(request, response.status, response.headers, response.body)
            return self._token

    def _run(self, request: Request, sign: Callable[[Request], Request]) -> Response:
        conversation = exchange(
            self.settings, request, sign, limiter=self._limiter, now=self._clock, random=self._random
        )
        answer: Response | Failure | None = None
        try:
            while True:
                action = conversation.send(answer)
                if isinstance(action, Send):
                    answer = self._send(action.request)
                else:
                    self._sleep(action.seconds)
                    answer = None
        except StopIteration as stop:
            result: Response = stop.value
            return result

    def _send(self, request: Request) -> Response | Failure:
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
                result = Failure("sent", describe_exception(exc))
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
    import urllib.parse

    parts = urllib.parse.urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/"


def _destination_problem(request: Request, origin: tuple[str, str, int], url: str) -> str | None:
    """Why the prepared ``url`` must not be sent, read the way requests and urllib3 read it (requests
    picks the connection with :func:`urllib.parse.urlparse`, urllib3 parses with its own
    ``parse_url``): both must name the configured origin."""
    import urllib.parse

    import urllib3.util

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


def _classify(exc: BaseException) -> FailureKind:
    """Where a requests exception happened: before anything was sent, after, or beyond repair.

    A TLS error is "fatal" (nothing sent) only when it is a failed certificate verification, which can
    only happen in the handshake; requests reports TLS errors while reading the answer with the same
    class, so any other one may have come after the request went out.
    """
    import ssl

    import requests
    import urllib3.exceptions

    errors = requests.exceptions
    if isinstance(exc, errors.SSLError):
        verification = (ssl.SSLCertVerificationError, ssl.CertificateError)
        return "fatal" if any(isinstance(cause, verification) for cause in _causes(exc)) else "sent"
    if isinstance(exc, (errors.ConnectTimeout, errors.ProxyError)):
        return "connect"
    # A request's own URL and headers are checked when it is prepared, before anything is sent: an
    # InvalidHeader from sending is about the answer (e.g. two Content-Length values), after sending.
    if isinstance(exc, errors.InvalidHeader):
        return "sent"
    if isinstance(exc, (errors.InvalidURL, errors.MissingSchema, errors.InvalidSchema)):
        return "fatal"
    if isinstance(exc, errors.ConnectionError):
        reason: object = exc.args[0] if exc.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        if isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)):
            return "connect"
        return "sent"
    return "sent"
