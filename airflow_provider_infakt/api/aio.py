"""AsyncInfaktClient: the asyncio client, over ``httpx.AsyncClient``.

Same client core (:mod:`._core`: calls, signer, the policy's conversation) as :class:`~.client.InfaktClient`;
only the transport differs. Every request's destination is checked, as httpx parsed its URL, right
before it goes out, and each request has an overall deadline
(:attr:`~.settings.ClientSettings.request_deadline`, :func:`_within`). It never blocks the
event loop: waits use the injected async ``sleep`` (``asyncio.sleep``), and OAuth signing is pure
computation. ``httpx`` is imported when a client is created.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import random as _random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ._body import BodyReader
from ._core import (
    Call,
    ClientCore,
    Steps,
    async_call,
    check_number,
    describe_exception,
    next_cursor,
    only_match,
    past_deadline,
)
from ._logging import mask_addresses_in
from .auth import Signer
from .errors import InfaktConfigError
from .policy import Failure, FailureKind, Response, Send
from .protocol import Invoice, Request, wrong_destination
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
            import certifi  # deferred: third-party; only the first TLS context needs it

            try:
                if isinstance(verify, str) and os.path.isdir(verify):  # a c_rehash'ed directory, as requests takes
                    context = ssl.create_default_context(capath=verify)
                else:
                    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else certifi.where())
            except OSError as exc:  # ssl.SSLError too: a file that holds no certificate
                raise InfaktConfigError(
                    f"verify={verify!r}: the CA bundle cannot be loaded ({describe_exception(exc)})"
                ) from None
            _SSL_CONTEXTS[verify] = context
        return context


def prepare_transport(verify: bool | str) -> None:
    """Do the slow first-time work of an async client: import httpx's transport (httpcore) and build
    the shared TLS context. Blocking: from an event loop, run it in a thread first
    (``await asyncio.to_thread(prepare_transport, verify)``) so that creating clients never stalls the loop.
    """
    # deferred: heavy third-party imports, made here (in a thread) on purpose; see the docstring
    import httpcore  # noqa: F401 - httpx imports it lazily, on the first client
    import httpx  # noqa: F401

    # httpcore's locks load anyio's asyncio backend on the first request (tens of milliseconds).
    for module in ("anyio", "anyio._backends._asyncio"):
        try:
            importlib.import_module(module)
        except ImportError:  # a best-effort warm-up only
            pass
    shared_ssl_context(verify)


class AsyncInfaktClient(ClientCore):
    """An asyncio inFakt client for one account (v2 or v3), usable from plain Python.

    ``sleep`` (async), ``clock``, ``monotonic`` and ``random`` are injectable for tests;
    ``http_client`` may be a prepared ``httpx.AsyncClient`` (redirects are never followed by it: this
    client adds a response hook that keeps a redirect's ``Location`` away from httpx). The xAuth
    token is fetched once, under an ``asyncio.Lock``, and kept for the client's life. Use it as an async
    context manager or await :meth:`aclose`.

    :param settings: where and how to reach inFakt.
    :param sleep: how to wait (backoff, ``Retry-After``, rate limit); a coroutine function.
    :param http_client: a prepared ``httpx.AsyncClient``, or None for one of the client's own.
    :param clock: Unix time, for HTTP-date ``Retry-After``.
    :param monotonic: the rate limiter's clock.
    :param random: backoff jitter, in [0, 1).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        super().__init__(settings, clock=clock, monotonic=monotonic, random=random)
        import httpx  # deferred: heavy third-party import; the api package stays cheap to import

        mask_addresses_in("httpx", "httpcore")
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
        self._token_lock = asyncio.Lock()

    #: The public calls, as coroutines, driven by :meth:`_drive` with ``await``. Their parameters and docstrings
    #: are ClientCore's call builders' (``_deliver_invoice_call``...): written once for both clients.
    deliver_invoice = async_call(ClientCore._deliver_invoice_call)
    get_invoice = async_call(ClientCore._get_invoice_call)
    list_invoices = async_call(ClientCore._list_invoices_call)
    mark_paid = async_call(ClientCore._mark_paid_call)

    def iter_invoices(
        self, *, status: str | None = None, page_size: int = 100, **filters: Any
    ) -> AsyncIterator[Invoice]:
        """Yield every invoice (``async for``), optionally with a normalized ``status`` and matching
        ``filters`` (as :meth:`list_invoices` takes them); arguments are validated at once, pages
        fetched lazily.

        :param status: only invoices with this normalized status; None for all.
        :param page_size: how many invoices each page read holds.
        :param filters: ``number``, ``client_id``, ``id_from``, ``id_to``, ``invoice_date_from``,
            ``invoice_date_to``, ``sale_date_from``, ``sale_date_to``, ``paid_date_from``, ``paid_date_to``.
        """
        self._list_invoices_call(status=status, page_size=page_size, **filters)  # validate now
        return self._iterate(status, page_size, filters)

    async def _iterate(self, status: str | None, page_size: int, filters: dict[str, Any]) -> AsyncIterator[Invoice]:
        cursor: int | None = None
        while True:
            page = await self.list_invoices(status=status, page_size=page_size, cursor=cursor, **filters)
            for invoice in page.invoices:
                yield invoice
            if (cursor := next_cursor(page, cursor)) is None:
                return

    async def get_invoice_by_number(self, number: str) -> Invoice:
        """The one invoice numbered exactly ``number`` (``FV/1/2026``), from the list filtered by it.

        :param number: the invoice number, as inFakt writes it.
        :raises InfaktValidationError: when ``number`` cannot be an invoice number (nothing sent).
        :raises InfaktLookupError: when no invoice, or more than one, has that number.
        """
        checked = check_number(number)
        return only_match(checked, [invoice async for invoice in self.iter_invoices(number=checked)])

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
    async def _call(self, call: Call[_T]) -> _T:
        return await self._drive(self._steps(call, (await self._signer()).sign))

    async def _signer(self) -> Signer:
        signer = self._known_signer()
        if signer is None:
            async with self._token_lock:  # one token swap, however many tasks ask at once
                if self._token is None:
                    self._token = await self._drive(self._token_steps())
                signer = self._token
        return signer

    async def _drive(self, steps: Steps[_T]) -> _T:
        """Answer the core's actions: send over httpx, sleep with the async ``sleep``."""
        answer: Response | Failure | None = None
        try:
            while True:
                action = steps.send(answer)
                if isinstance(action, Send):
                    answer = await self._send(action.request)
                else:
                    await self._sleep(action.seconds)
                    answer = None
        except StopIteration as stop:
            result: _T = stop.value
            return result

    async def _send(self, request: Request) -> Response | Failure:
        import httpx  # deferred: heavy third-party import (already loaded by __init__)

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
            return await _within(self._exchange_once(built), self.settings.request_deadline)
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


async def _within(work: Coroutine[Any, Any, _T], seconds: float) -> _T:
    """Await ``work`` for at most ``seconds``, as ``asyncio.wait_for`` does, but never lose a cancellation.

    On Python 3.10 and 3.11, ``asyncio.wait_for`` returns the result instead of raising
    ``CancelledError`` when the work finishes in the same loop iteration as the cancel (CPython
    gh-86296, fixed by 3.12's rewrite). A trigger cancelled at that moment (the triggerer cancels the
    trigger of a cleared or timed-out task) then polled on for ever: seen with 1,000 triggers on a
    loaded machine. Here a cancel always wins: the work is cancelled and waited for (its response
    closed), then ``CancelledError`` is raised.

    :param work: the coroutine to run (as a task of its own).
    :param seconds: the deadline.
    :raises asyncio.TimeoutError: past the deadline; the work was cancelled and has ended.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait((task,), timeout=seconds)
    except BaseException:  # cancelled (or interrupted): the work goes too, whether or not it had finished
        task.cancel()
        await _ended(task)
        raise
    if not done:
        task.cancel()
        await _ended(task)
        raise asyncio.TimeoutError
    return task.result()


async def _ended(task: asyncio.Future[Any]) -> None:
    """Wait for a cancelled ``task`` to end, and mark its outcome as seen (no "never retrieved" warning)."""
    await asyncio.wait((task,))
    if not task.cancelled():
        task.exception()


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
    after the request went out: "maybe_sent".
    """
    import httpx  # deferred: heavy third-party import (already loaded by the client)

    connecting = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError))
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "fatal" if connecting else "maybe_sent"
        cause = cause.__cause__ or cause.__context__
    if connecting:
        return "connect"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return "fatal"
    return "maybe_sent"
