"""An aiohttp application served from a daemon thread: the life cycle the emulator and the fault proxy
share (start, stop, context manager, the URL to reach it, the TCP connections it holds), and the logger
aiohttp writes to for both."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aiohttp import web

S = TypeVar("S", bound="BackgroundServer")


class ConnectionCounter:
    """Counts the TCP connections a server accepts and holds: one per socket, however many requests
    (keep-alive) travel over it. Thread-safe: the server's loop counts, any thread reads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._opened = 0

    def watch(self, server: web.Server) -> None:
        """Count the connections ``server`` (an aiohttp low-level server, e.g. ``AppRunner.server``)
        accepts from now on.

        aiohttp tells its server of each connection's start and end through ``connection_made`` and
        ``connection_lost``; the counter wraps both on this one server object.

        :param server: the server whose connections to count.
        """
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: Any) -> None:
            with self._lock:
                self._open += 1
                self._opened += 1
            made(handler, transport)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            with self._lock:
                self._open -= 1
            lost(handler, exc)

        # instance attributes shadow the methods for this server only
        setattr(server, "connection_made", connection_made)  # noqa: B010 - mypy refuses assigning a method
        setattr(server, "connection_lost", connection_lost)  # noqa: B010

    @property
    def open(self) -> int:
        """Connections open now."""
        with self._lock:
            return self._open

    @property
    def opened(self) -> int:
        """Connections accepted since the server started or :meth:`forget_opened` was called."""
        with self._lock:
            return self._opened

    def forget_opened(self) -> None:
        """Start counting accepted connections from zero again (open ones stay counted as open)."""
        with self._lock:
            self._opened = 0

    def as_dict(self) -> dict[str, int]:
        """``{"open": n, "opened_total": m}``, read together."""
        with self._lock:
            return {"open": self._open, "opened_total": self._opened}


class BackgroundServer:
    """Serves the application :meth:`_make_app` builds, on its own event loop in a daemon thread.

    Use it as a context manager or call :meth:`start` and :meth:`stop`.

    :param host: address to listen on.
    :param port: port to listen on; 0 picks a free one.
    :param backlog: the listening socket's backlog.
    """

    thread_name = "background-server"

    def __init__(self, host: str, port: int, *, backlog: int = 2048) -> None:
        self.host = host
        self._port = port
        self._backlog = backlog
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port: int | None = None
        #: The TCP connections the server accepts and holds (see :class:`ConnectionCounter`).
        self.connection_counter = ConnectionCounter()

    # -- what a subclass provides --------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        """The application to serve, built on the server's loop."""
        raise NotImplementedError

    async def _on_stop(self) -> None:
        """Called on the server's loop before the application is torn down."""

    # -- life cycle ------------------------------------------------------------------------------
    def start(self: S) -> S:
        """Start serving; returns once the port is listening.

        :raises RuntimeError: if it is running already, or could not start (the cause is chained).
        """
        if self._thread is not None:
            raise RuntimeError(f"the {self.thread_name} is already running")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            self._thread = None
            raise RuntimeError(f"the {self.thread_name} could not start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Stop serving and close every connection (a no-op when not running)."""
        if self._thread is None or self._loop is None or self._stopped is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)
        self._thread = None

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        from aiohttp import web  # deferred: heavy third-party import, made when a server starts

        app = await self._make_app()
        # shutdown_timeout belongs to the runner since aiohttp 3.9 (the extra's floor); given to the site,
        # it warns "shutdown_timeout should be set on BaseRunner" in every process that starts a server.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, logger=server_logger(), shutdown_timeout=1.0)
        await runner.setup()
        self.connection_counter.forget_opened()
        if runner.server is not None:
            self.connection_counter.watch(runner.server)
        try:
            sock = _listen(self.host, self._port)
            site = web.SockSite(runner, sock, backlog=self._backlog)
            await site.start()
            self.port = sock.getsockname()[1]
            self._stopped = asyncio.Event()
            self._ready.set()
            await self._stopped.wait()
        finally:
            await self._on_stop()
            await runner.cleanup()

    # -- address ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8080`` (no trailing slash, no path)."""
        if self.port is None:
            raise RuntimeError(f"the {self.thread_name} is not running: call start() or use it as a context manager")
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return f"http://{host}:{self.port}"


class _QuietErrors(logging.Filter):
    """aiohttp logs requests it cannot parse with a traceback whose text holds the request line, and
    so perhaps an e-mail address from a query: keep the fact, drop the text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            # a client's fault, answered 400: worth a warning, not an error of the emulator
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"Unreadable HTTP request, answered 400 ({type(record.exc_info[1]).__name__})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


def server_logger() -> logging.Logger:
    """The logger aiohttp writes to for the emulator and the fault proxy, with request text kept out of it."""
    logger = logging.getLogger("airflow_provider_infakt.testing.http")
    if not any(isinstance(f, _QuietErrors) for f in logger.filters):
        logger.addFilter(_QuietErrors())
    return logger


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` counts; no name is looked up)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
