"""AsyncInfaktClient: the asyncio client, over ``httpx.AsyncClient``.

Same protocol module, same retry policy (:func:`.policy.exchange`) as :class:`~.client.InfaktClient`;
only the transport differs. Every request's destination is checked, as httpx parsed its URL, right
before it goes out, and each request has an overall deadline
(:attr:`~.settings.ClientSettings.request_deadline`, ``asyncio.wait_for``). It never blocks the
event loop: waits use the injected async ``sleep`` (``asyncio.sleep``), and OAuth signing is pure
computation. ``httpx`` is imported when a client is created.
"""

from __future__ import annotations

import asyncio
import random as _random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from ._body import BodyReader
from ._logging import mask_addresses_in
from .auth import OAuth1Auth, Signer, XAuth
from .client import describe_exception, past_deadline
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
    import httpx

__all__ = ["AsyncInfaktClient", "prepare_transport", "shared_ssl_context"]

_T = TypeVar("_T")

_SSL_CONTEXTS: dict[bool | str, ssl.SSLContext | bool] = {}
_SSL_LOCK = threading.Lock()


def shared_ssl_context(verify: bool | str) -> ssl.SSLContext | bool:
    """One TLS context per ``verify`` setting per process, shared by every async client.

    Building a context (loading the CA bundle) takes tens of milliseconds and some memory; a
    triggerer running a thousand waiting sensors should pay that once, not once per trigger. The
    first call may block: from an event loop, make it in a thread (``asyncio.to_thread``).
    ``verify=False`` returns False (no verification).
    """
    if verify is False:
        return False
    with _SSL_LOCK:
        context = _SSL_CONTEXTS.get(verify)
        if context is None:
            import certifi

            context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else certifi.where())
            _SSL_CONTEXTS[verify] = context
        return context


def prepare_transport(verify: bool | str) -> None:
    """Do the slow first-time work of an async client: import httpx's transport (httpcore) and build
    the shared TLS context. Blocking: from an event loop, run it in a thread first
    (``await asyncio.to_thread(prepare_transport, verify)``) so that creating clients never stalls the loop.
    """
    import importlib

    import httpcore  # noqa: F401 - httpx imports it lazily, on the first client
    import httpx  # noqa: F401

    # httpcore's locks load anyio's asyncio backend on the first request (tens of milliseconds).
    for module in ("anyio", "anyio._backends._asyncio"):
        try:
            importlib.import_module(module)
        except ImportError:  # a best-effort warm-up only
            pass
    shared_ssl_context(verify)


class AsyncInfaktClient:
    """An asyncio inFakt client for one account (v2 or v3), usable from plain Python.

    ``sleep`` (async), ``clock``, ``monotonic`` and ``random`` are injectable for tests;
    ``http_client`` may be a prepared ``httpx.AsyncClient`` (redirects are never followed by it: this
    client adds a response hook that keeps a redirect's ``Location`` away from httpx). The xAuth
    token is fetched once, under an ``asyncio.Lock``, and kept for the client's life. Use it as an async
    context manager or await :meth:`aclose`.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        import httpx

        mask_addresses_in("httpx", "httpcore")
        self.settings = settings
        if http_client is None:
            connect, read = settings.timeout
            verify = shared_ssl_context(settings.verify)
            http_client = httpx.AsyncClient(
                timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
                verify=verify,
                follow_redirects=False,
                event_hooks={"response": [_set_location_aside]},
            )
            self._owns_client = True
        else:
            self._owns_client = False
            hooks = http_client.event_hooks
            if _set_location_aside not in hooks["response"]:
                http_client.event_hooks = {**hooks, "response": [*hooks["response"], _set_location_aside]}
        self._http = http_client
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._limiter = RateLimiter(settings.rate_limit, monotonic=monotonic) if settings.rate_limit else None
        self._token: OAuth1Auth | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"AsyncInfaktClient(base_url={self.settings.base_url!r}, api_version={self.settings.api_version!r})"

    # -- public calls ----------------------------------------------------------------------
    async def deliver_invoice(
        self,
        invoice_id: int | str,
        type: str,
        doc_type: str,
        recipient: str | None = None,
        *,
        locale: str | None = None,
        send_copy: bool | None = None,
    ) -> Delivery:
        """As :meth:`.client.InfaktClient.deliver_invoice`: validated first, never resent once it may
        have arrived (:class:`~.errors.InfaktUnknownOutcome`)."""
        request = build_deliver(self.settings, invoice_id, type, doc_type, recipient, locale, send_copy)
        return await self._call(request, parse_deliver)

    async def get_invoice(self, invoice_id: int | str) -> Invoice:
        """Read one invoice (by numeric id, or on v3 also by uuid)."""
        return await self._call(build_get_invoice(self.settings, invoice_id), parse_invoice)

    async def list_invoices(
        self, *, status: str | None = None, page_size: int = 25, cursor: int | None = None
    ) -> InvoicePage:
        """Read one page of invoices; pass the previous page's ``next_cursor`` as ``cursor``."""
        request = build_list_invoices(self.settings, status=status, page_size=page_size, cursor=cursor)
        return await self._call(request, parse_invoice_list)

    def iter_invoices(self, *, status: str | None = None, page_size: int = 100) -> AsyncIterator[Invoice]:
        """Yield every invoice (``async for``), optionally with a normalized ``status``; arguments are
        validated at once, pages fetched lazily."""
        build_list_invoices(self.settings, status=status, page_size=page_size)  # validate now
        return self._iterate(status, page_size)

    async def _iterate(self, status: str | None, page_size: int) -> AsyncIterator[Invoice]:
        cursor: int | None = None
        while True:
            page = await self.list_invoices(status=status, page_size=page_size, cursor=cursor)
            for invoice in page.invoices:
                yield invoice
            if page.next_cursor is None or (cursor is not None and page.next_cursor <= cursor):
                return
            cursor = page.next_cursor

    async def aclose(self) -> None:
        """Close the HTTP client (if this client created it)."""
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncInfaktClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- machinery -------------------------------------------------------------------------
    async def _call(self, request: Request, parse: Callable[[Request, int, Mapping[str, str], bytes], _T]) -> _T:
        signer = await self._signer()
        response = await self._run(request, signer.sign)
        return parse(request, response.status, response.headers, response.body)

    async def _signer(self) -> Signer:
        auth = self.settings.auth
        if not isinstance(auth, XAuth):
            return auth
        async with self._token_lock:
            if self._token is None:
                request = auth.exchange_request(self.settings.base_url, user_agent=self.settings.user_agent)
                response = await self._run(request, auth.sign)
                self._token = auth.parse_exchange(request, response.status, response.headers, response.body)
            return self._token

    async def _run(self, request: Request, sign: Callable[[Request], Request]) -> Response:
        conversation = exchange(
            self.settings, request, sign, limiter=self._limiter, now=self._clock, random=self._random
        )
        answer: Response | Failure | None = None
        try:
            while True:
                action = conversation.send(answer)
                if isinstance(action, Send):
                    answer = await self._send(action.request)
                else:
                    await self._sleep(action.seconds)
                    answer = None
        except StopIteration as stop:
            result: Response = stop.value
            return result

    async def _send(self, request: Request) -> Response | Failure:
        import httpx

        try:
            built = self._http.build_request(
                request.method, request.full_url, content=request.body, headers=list(request.headers)
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            return Failure("fatal", describe_exception(exc))
        url = built.url
        problem = wrong_destination(request.route, self.settings.origin, url.scheme, url.host, url.port)
        if problem is not None:
            return Failure("fatal", problem)
        try:
            # httpx's read timeout applies to each read, like requests': the deadline bounds the whole.
            return await asyncio.wait_for(self._exchange_once(built), self.settings.request_deadline)
        except asyncio.TimeoutError:
            return past_deadline(self.settings)
        except httpx.HTTPError as exc:  # TransportError, and the rest (a DecodingError...) after sending
            return Failure(_classify(exc), describe_exception(exc))

    async def _exchange_once(self, built: httpx.Request) -> Response | Failure:
        answer = await self._http.send(built, stream=True, follow_redirects=False)
        try:
            # The body as it came (de-chunked, not decompressed): see :class:`~._body.BodyReader`.
            reader = BodyReader(
                answer.status_code, _location_restored(answer.headers), self.settings.max_response_bytes
            )
            if reader.failure is not None:
                return reader.failure
            async for chunk in answer.aiter_raw():
                if reader.feed(chunk) is not None:
                    break
            return reader.finish()
        finally:
            await answer.aclose()


#: Where :func:`_set_location_aside` keeps a redirect's Location while httpx looks at the response.
_LOCATION_ASIDE = "X-Infakt-Client-Location"


async def _set_location_aside(response: httpx.Response) -> None:
    """A response hook: move ``Location`` out of httpx's sight.

    httpx prepares the next request of a redirect even when it will not follow it, parsing the
    ``Location`` with its own parser and raising on an odd one (``http:host:1/``) before this client
    sees the answer. The policy decides about redirects itself (:func:`.protocol.follow_redirect`).
    """
    values = response.headers.get_list("Location")
    if values:
        del response.headers["Location"]
        response.headers[_LOCATION_ASIDE] = ", ".join(values)


def _location_restored(headers: httpx.Headers) -> httpx.Headers:
    """``headers`` with the ``Location`` that :func:`_set_location_aside` moved put back."""
    restored = headers.copy()
    location = restored.get(_LOCATION_ASIDE)
    if location is not None:
        del restored[_LOCATION_ASIDE]
        restored["Location"] = location
    return restored


def _classify(exc: BaseException) -> FailureKind:
    """Where an httpx exception happened: before anything was sent, after, or beyond repair.

    httpx reports the TLS handshake's failures as :class:`httpx.ConnectError`: those are "fatal"
    (nothing was sent, and trying again will not help). A TLS error while writing or reading may come
    after the request went out: "sent".
    """
    import httpx

    connecting = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError))
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "fatal" if connecting else "sent"
        cause = cause.__cause__ or cause.__context__
    if connecting:
        return "connect"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return "fatal"
    return "sent"
