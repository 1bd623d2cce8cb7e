"""``InfaktEmulator``: the emulator's server on a background thread, and its Python controls."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
from types import TracebackType
from typing import Any, Literal

from . import credentials
from .faults import Fault, FaultBook
from .limits import RateLimiter
from .model import Account, DeliveryRecord, Invoice, RequestRecord


class InfaktEmulator:
    """A local inFakt: a real HTTP/1.1 server on loopback speaking API v2 (as the seed shows) and v3.

    Use it as a context manager (``with InfaktEmulator() as emu: ...``) or call :meth:`start` and
    :meth:`stop`. The server runs an asyncio loop on a daemon thread; the state it serves can be read
    and changed from any thread through this object's methods, or over HTTP at ``/_emulator/...``.

    :param host: address to listen on (loopback by default).
    :param port: port to listen on; 0 picks a free one.
    :param limits: enforce inFakt's documented request limits (429); off by default.
    :param time_scale: how much faster than real time the limits' minute and day run.
    :param postal_package: whether the demo account has bought a postal package (else ``post`` fails).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: bool = False,
        time_scale: float = 1.0,
        postal_package: bool = False,
        backlog: int = 2048,
    ) -> None:
        self.host = host
        self._port = port
        self._backlog = backlog
        self.account = Account(postal_package=postal_package)
        self.faults = FaultBook()
        self.limiter = RateLimiter(enabled=limits, time_scale=time_scale)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port: int | None = None

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> InfaktEmulator:
        """Start serving; returns once the port is listening."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="infakt-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            self._thread = None
            raise RuntimeError(f"the inFakt emulator could not start: {self._error}") from self._error
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._thread is None or self._loop is None or self._stopped is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)
        self._thread = None

    def __enter__(self) -> InfaktEmulator:
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
        from aiohttp import web

        from .server import EmulatorApp

        self.app = EmulatorApp(self.account, self.faults, self.limiter)
        runner = web.AppRunner(self.app.build(), access_log=None, handle_signals=False)
        await runner.setup()
        sock = _listen(self.host, self._port)
        site = web.SockSite(runner, sock, shutdown_timeout=1.0, backlog=self._backlog)
        await site.start()
        self.port = sock.getsockname()[1]
        self._stopped = asyncio.Event()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()

    # -- addresses and connections ---------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8080`` (no trailing slash, no API path)."""
        if self.port is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return f"http://{host}:{self.port}"

    def connection(
        self,
        api_version: Literal["v3", "v2"] = "v3",
        format: Literal["json", "xml"] = "json",
        auth: Literal["oauth", "xauth"] = "oauth",
        scope: Literal["write", "read"] = "write",
    ) -> dict[str, Any]:
        """An Airflow connection (JSON form) for this emulator with the demo credentials.

        ``os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(emu.connection())`` is all a test needs.
        ``format`` and ``auth`` apply to v2, ``scope`` to v3 (``read`` gives the read-only key).
        """
        return connection_for(self.url, api_version=api_version, format=format, auth=auth, scope=scope)

    # -- state -----------------------------------------------------------------------------------
    @property
    def deliveries(self) -> list[DeliveryRecord]:
        """Deliveries carried out so far, oldest first."""
        return self.account.copy_deliveries()

    @property
    def requests(self) -> list[RequestRecord]:
        """API requests received so far (admin routes excluded), oldest first."""
        return self.account.copy_requests()

    def reset(self) -> None:
        """Back to the seeded demo account; faults disarmed; limit counters forgotten."""
        reset_state(self.account, self.faults, self.limiter)

    def invoice(self, invoice_id: int | str) -> dict[str, Any]:
        """An invoice as the admin route shows it (v3 fields plus ``internal_status``, ``client_email``)."""
        found = self.account.find(invoice_id)
        if found is None:
            raise KeyError(f"no invoice {invoice_id!r} in the emulator")
        client = self.account.client_of(found)
        return {**found.v3(client), "internal_status": found.status, "client_email": client.email}

    def create_invoice(self, **fields: Any) -> dict[str, Any]:
        """Create an invoice (and its client).

        Fields: ``client_email``, ``client_name``, ``status``, ``number``, ``gross_price``.
        """
        created: Invoice = self.account.create_invoice(**fields)
        return self.invoice(created.id)

    def mark_paid(self, invoice_id: int) -> None:
        """Mark an invoice paid, as a payment registered in inFakt would."""
        self.account.mark_paid(invoice_id)

    def pay_after_delivery(self, seconds: float | None) -> None:
        """Scenario: mark each delivered invoice paid ``seconds`` after its delivery (``None`` stops it)."""
        self.account.pay_after_delivery = seconds

    def set_postal_package(self, bought: bool) -> None:
        """Whether the account has a postal package (without one, ``post`` deliveries are refused)."""
        self.account.postal_package = bought

    def set_limits(self, enabled: bool = True, time_scale: float | None = None) -> None:
        """Switch inFakt's request limits on or off; ``time_scale=60`` makes a minute last a second."""
        self.limiter.configure(enabled=enabled, time_scale=time_scale)

    def fault(
        self,
        route: str,
        *,
        status: int | None = None,
        times: int | None = 1,
        latency: float = 0.0,
        retry_after: str | int | None = None,
        drop: Literal["before", "after"] | None = None,
        redirect_to: str | None = None,
        body: str | None = None,
    ) -> Fault:
        """Arm a fault for the next ``times`` requests to ``route`` (an fnmatch pattern of route names).

        Route names: ``v2.deliver``, ``v2.invoice``, ``v2.list``, ``oauth.access_token``, ``v3.invoice``,
        ``v3.list``, ``v3.deliver_via_email``, ``v3.deliver_via_post``, ``v3.paid``, ``web.invoice``.
        See :class:`~airflow_provider_infakt.testing.faults.Fault` for the kinds.
        """
        return self.faults.add(
            Fault(
                route=route,
                status=status,
                times=times,
                latency=latency,
                retry_after=None if retry_after is None else str(retry_after),
                drop=drop,
                redirect_to=redirect_to,
                body=body,
            )
        )

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()


def reset_state(account: Account, faults: FaultBook, limiter: RateLimiter) -> None:
    """Reseed the account, disarm every fault, forget rate-limit counts (limit settings stay)."""
    account.reset()
    faults.clear()
    limiter.configure()


def connection_for(
    url: str,
    *,
    api_version: str = "v3",
    format: str = "json",
    auth: str = "oauth",
    scope: str = "write",
) -> dict[str, Any]:
    """The Airflow connection (JSON form) for an emulator at ``url`` with the demo credentials."""
    _choose("api_version", api_version, ("v3", "v2"))
    _choose("format", format, ("json", "xml"))
    _choose("auth", auth, ("oauth", "xauth"))
    _choose("scope", scope, ("write", "read"))
    url = url.rstrip("/")
    if api_version == "v3":
        key = credentials.API_KEY if scope == "write" else credentials.READONLY_API_KEY
        return {
            "conn_type": "infakt",
            "host": f"{url}/api/v3",
            "password": key,
            "extra": {"api_version": "v3", "web_url": f"{url}/app/invoices/{{invoice_id}}"},
        }
    extra: dict[str, Any] = {"api_version": "v2", "format": format}
    if auth == "oauth":
        extra.update(oauth_token=credentials.ACCESS_TOKEN, oauth_token_secret=credentials.TOKEN_SECRET)
    else:
        extra.update(xauth_username=credentials.XAUTH_USERNAME, xauth_password=credentials.XAUTH_PASSWORD)
    extra["web_url"] = f"{url}/app/invoices/{{invoice_id}}"
    return {
        "conn_type": "infakt",
        "host": f"{url}/api/v2",
        "login": credentials.CONSUMER_KEY,
        "password": credentials.CONSUMER_SECRET,
        "extra": extra,
    }


def connection_json(url: str, **options: Any) -> str:
    """:func:`connection_for` as one line of JSON, ready for ``AIRFLOW_CONN_INFAKT_DEFAULT``."""
    return json.dumps(connection_for(url, **options))


def _choose(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{field}={value!r} is not one of {', '.join(repr(a) for a in allowed)}")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock
