"""``FaultProxy``: a loopback HTTP proxy that lies to the client *after* the upstream has acted.

Put it between a client and the emulator (or any local HTTP server) and arm faults on it: the request
goes through, inFakt (the emulator) processes it and records the delivery, and then the client gets
something else, as from a load balancer or a CDN on a bad day: a 5xx, a gateway's HTML page, a body
cut short, a body too big, a body that does not parse, JSON nested beyond reason, no answer at all, or
an answer too late. ``drop_before`` closes the connection without forwarding, for the case where
nothing reached inFakt::

    with InfaktEmulator() as emu, FaultProxy(emu.url) as proxy:
        conn = connection_for(proxy.url)              # the client talks to the proxy
        proxy.fault("v3.deliver_via_email", kind="gateway", status=504)
        ...                                           # the client sees a 504 HTML page
        assert len(emu.deliveries) == 1               # and yet inFakt sent the invoice

It listens on loopback only and forwards to a loopback upstream only; it never follows redirects. It
keeps the request as the client sent it (path, query, headers including ``Host``), so OAuth 1.0a
signatures made for the proxy's URL verify upstream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from . import _render as render
from ._inputs import is_whole, seconds
from ._serving import BackgroundServer, is_loopback
from .faults import FaultBook

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

#: What a proxy fault can do to the answer.
PROXY_FAULT_KINDS = (
    "status",  # a 5xx with inFakt's own JSON (or v2 XML) error body, after forwarding
    "gateway",  # 502, 503 or 504 with a gateway's HTML page, after forwarding
    "truncate",  # the upstream's answer with a Content-Length larger than what is sent, then close
    "oversize",  # the upstream's status with a body larger than 10 MiB
    "malformed",  # the upstream's status with a body that does not parse
    "deep_json",  # the upstream's status with JSON nested 100,000 deep
    "drop_after",  # forward, then close the connection without answering
    "drop_before",  # close the connection without forwarding
    "delay",  # forward, wait ``delay`` seconds, then pass the answer on
    "replay",  # forward twice (as a proxy retrying a GET on its next upstream), answer with the second
)
#: Default size of an ``oversize`` body: one byte over 10 MiB.
OVERSIZE_BYTES = 10 * 1024 * 1024 + 1
#: Largest request body the proxy passes on.
MAX_REQUEST_BODY = 16 * 1024 * 1024
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
_ids = itertools.count(1)
_V2 = re.compile(r"/api/v2/invoices/(?P<name>[^/]+)\.[^/.]+")
_V3 = re.compile(r"(?:/api)?/v3/invoices(?:/(?P<ref>[^/]+)(?:/(?P<action>[^/]+))?)?\.[^/.]+")
_WEB = re.compile(r"/app/invoices/[^/]+")


def route_for(path: str) -> str:
    """The emulator's route name for a request path (without the query): ``v3.deliver_via_email``,
    ``v2.deliver``... ; ``admin`` for ``/_emulator``, ``other`` for anything else."""
    if path == "/oauth/access_token":
        return "oauth.access_token"
    if path == "/_emulator" or path.startswith("/_emulator/"):
        return "admin"
    if _WEB.fullmatch(path):
        return "web.invoice"
    v2 = _V2.fullmatch(path)
    if v2 is not None:
        return {"deliver": "v2.deliver", "list": "v2.list"}.get(v2["name"], "v2.invoice")
    v3 = _V3.fullmatch(path)
    if v3 is not None:
        if v3["action"] is not None:
            return "v3." + v3["action"]
        return "v3.invoice" if v3["ref"] is not None else "v3.list"
    return "other"


@dataclasses.dataclass
class ProxyFault:
    """One fault armed on a :class:`FaultProxy`.

    It applies to the next ``times`` requests (``None``: until cleared) whose route name matches
    ``route`` (an fnmatch pattern of the emulator's route names, or of paths when it starts with
    ``/``). ``kind`` is one of :data:`PROXY_FAULT_KINDS`. ``status`` goes with ``status`` (500-599,
    default 500) and ``gateway`` (502, 503 or 504, default 502). ``delay`` (seconds) is waited after the
    upstream answered and before the client is answered; with ``kind="delay"`` that is all it does.
    ``size`` is the body size of ``oversize`` (default :data:`OVERSIZE_BYTES`).

    :param route: an fnmatch pattern of route names (or of paths, starting with ``/``).
    :param kind: one of :data:`PROXY_FAULT_KINDS`.
    :param times: how many matching requests it applies to; None for every one until cleared.
    :param status: the status of ``status`` and ``gateway`` faults.
    :param delay: seconds waited after the upstream answered, before the client is answered.
    :param size: the body size of ``oversize``.
    :param id: the fault's number, given automatically.
    :param hits: how many requests it has applied to so far.
    """

    route: str
    kind: str
    times: int | None = 1
    status: int | None = None
    delay: float = 0.0
    size: int | None = None
    id: int = dataclasses.field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.route, str) or not self.route:
            raise ValueError(f"route must be a non-empty string (an fnmatch pattern), not {self.route!r}")
        if self.kind not in PROXY_FAULT_KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {PROXY_FAULT_KINDS}")
        if self.times is not None and (not is_whole(self.times) or self.times < 1):
            raise ValueError(f"times={self.times!r} must be a whole number of at least 1, or None")
        self.delay = seconds("delay", self.delay) or 0.0
        if self.kind == "delay" and not self.delay:
            raise ValueError("kind='delay' needs delay > 0 (seconds)")
        if self.kind == "drop_before" and self.delay:
            raise ValueError("drop_before forwards nothing, so there is nothing to wait for after forwarding")
        allowed = {"status": range(500, 600), "gateway": (502, 503, 504)}.get(self.kind)
        if allowed is None:
            if self.status is not None:
                raise ValueError(f"status goes with kind 'status' or 'gateway', not {self.kind!r}")
        else:
            self.status = self.status if self.status is not None else (500 if self.kind == "status" else 502)
            if not is_whole(self.status) or self.status not in allowed:
                raise ValueError(f"status={self.status!r} is not allowed with kind={self.kind!r}")
        if self.size is not None:
            if self.kind != "oversize":
                raise ValueError("size goes with kind='oversize'")
            if not is_whole(self.size) or not 1 <= self.size <= 1024**3:
                raise ValueError(f"size={self.size!r} must be a whole number of bytes from 1 to 1 GiB")

    @property
    def exhausted(self) -> bool:
        """Whether the fault has been applied ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def as_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ProxyRecord:
    """One request that reached the proxy.

    ``forwarded`` says whether it was passed on; ``upstream_status`` is the upstream's answer
    (``None`` if not forwarded or the upstream did not answer); ``fault`` the kind applied, if any;
    ``client_status`` the status the client was sent (``None`` if it was sent no status line).

    :param method: the HTTP method.
    :param path: the path with its query.
    :param route: the emulator's route name for it.
    :param forwarded: whether it was passed on.
    :param upstream_status: the upstream's status, or None.
    :param fault: the kind of fault applied, or None.
    :param client_status: the status the client was sent, or None.
    :param time: when it was received (Unix time).
    """

    method: str
    path: str
    route: str
    forwarded: bool
    upstream_status: int | None
    fault: str | None
    client_status: int | None
    time: float

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return dataclasses.asdict(self)


class _Upstream:
    """The upstream's answer, as received."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class FaultProxy(BackgroundServer):
    """A loopback HTTP/1.1 proxy to ``upstream`` with faults on demand. Use it as a context manager or
    call :meth:`start` and :meth:`stop`; :attr:`url` is where clients connect.

    :param upstream: the base URL to forward to, e.g. ``emu.url``; ``http`` on a loopback address
        (``127.0.0.1``, ``::1``, ``localhost``), no path.
    :param host: address to listen on; loopback only.
    :param port: port to listen on; 0 picks a free one.
    :param timeout: seconds to wait for the upstream's whole answer before answering the client 504.
    :raises ValueError: for an upstream or a listening address that is not loopback.
    """

    thread_name = "infakt-fault-proxy"

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0, *, timeout: float = 60.0) -> None:
        if not is_loopback(host):
            raise ValueError(f"the fault proxy listens on loopback only, not on {host!r}")
        self.upstream = _loopback_upstream(upstream)
        self._timeout = seconds("timeout", timeout) or 60.0
        super().__init__(host, port)
        self.faults: FaultBook[ProxyFault] = FaultBook()
        self._records: list[ProxyRecord] = []
        self._records_lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None

    # -- controls --------------------------------------------------------------------------------
    def fault(
        self,
        route: str = "*",
        *,
        kind: str,
        times: int | None = 1,
        status: int | None = None,
        delay: float = 0.0,
        size: int | None = None,
    ) -> ProxyFault:
        """Arm a fault for the next ``times`` requests to ``route``; see :class:`ProxyFault`.

        :param route: an fnmatch pattern of route names (``"v3.deliver_*"``) or of paths (``"/api/v2/*"``).
        :param kind: one of :data:`PROXY_FAULT_KINDS`.
        :param times: how many requests it applies to; ``None`` until cleared.
        :param status: for ``status`` (500-599) and ``gateway`` (502, 503, 504).
        :param delay: seconds to wait after the upstream answered, before answering the client.
        :param size: body size of ``oversize``.
        :raises ValueError: for values a fault cannot have.
        """
        return self.faults.add(ProxyFault(route=route, kind=kind, times=times, status=status, delay=delay, size=size))

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def reset(self) -> None:
        """Disarm every fault and forget the records."""
        self.faults.clear()
        with self._records_lock:
            self._records.clear()

    @property
    def records(self) -> list[ProxyRecord]:
        """Every request that reached the proxy, oldest first."""
        with self._records_lock:
            return list(self._records)

    @property
    def forwarded(self) -> list[ProxyRecord]:
        """The requests passed on to the upstream, oldest first."""
        return [r for r in self.records if r.forwarded]

    # -- serving ---------------------------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        # deferred: aiohttp (and yarl, below) are heavy; importing the testing package stays cheap
        import aiohttp
        from aiohttp import web

        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            trust_env=False,
        )
        # aiohttp resends an idempotent request once when the server drops the connection before
        # answering (a v2 deliver is a GET); the proxy must forward each request exactly once unless a
        # ``replay`` fault says otherwise. aiohttp has no public switch for it (3.14).
        self._session._retry_connection = False
        app = web.Application(client_max_size=MAX_REQUEST_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _on_stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _record(
        self,
        request: web.Request,
        route: str,
        *,
        forwarded: bool,
        upstream_status: int | None,
        fault: str | None,
        client_status: int | None,
    ) -> None:
        record = ProxyRecord(
            method=request.method,
            path=request.raw_path,
            route=route,
            forwarded=forwarded,
            upstream_status=upstream_status,
            fault=fault,
            client_status=client_status,
            time=time.time(),
        )
        with self._records_lock:
            self._records.append(record)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = route_for(request.path)
        fault = self.faults.take(route, request.path)
        kind = fault.kind if fault is not None else None
        body = await request.read()
        if kind == "drop_before":
            self._record(request, route, forwarded=False, upstream_status=None, fault=kind, client_status=None)
            _close(request, abort=True)
            raise asyncio.CancelledError
        try:
            upstream = await self._forward(request, body)
            if kind == "replay":
                self._record(
                    request, route, forwarded=True, upstream_status=upstream.status, fault=kind, client_status=None
                )
                upstream = await self._forward(request, body)
        except Exception as exc:  # the upstream could not be reached or did not answer in time
            status = 504 if isinstance(exc, asyncio.TimeoutError) else 502
            self._record(request, route, forwarded=True, upstream_status=None, fault=kind, client_status=status)
            return _gateway_page(status)
        # Recorded as soon as the upstream has answered, with what the client is going to get.
        response = None if kind in ("drop_after", "truncate") else self._answer(request, fault, upstream)
        client_status = response.status if response is not None else upstream.status if kind == "truncate" else None
        self._record(
            request, route, forwarded=True, upstream_status=upstream.status, fault=kind, client_status=client_status
        )
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if response is not None:
            return response
        if kind == "truncate":
            _write_truncated(request, upstream)
        else:
            _close(request, abort=True)
        raise asyncio.CancelledError

    async def _forward(self, request: web.Request, body: bytes) -> _Upstream:
        from yarl import URL  # deferred: see _make_app

        assert self._session is not None
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
        ) as response:
            payload = await response.read()
            raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
            return _Upstream(response.status, response.reason or "", raw, payload)

    def _answer(self, request: web.Request, fault: ProxyFault | None, upstream: _Upstream) -> web.Response:
        from aiohttp import web  # deferred: see _make_app

        kind = fault.kind if fault is not None else "delay"
        if fault is None or kind in ("delay", "replay"):
            return _passthrough(upstream)
        if kind == "gateway":
            assert fault.status is not None
            return _gateway_page(fault.status)
        if kind == "status":
            assert fault.status is not None
            return _infakt_error(request, fault.status)
        content_type = upstream.header("Content-Type") or render.CONTENT_TYPES["json"]
        xml = "xml" in content_type or request.path.endswith(".xml")
        if kind == "oversize":
            size = fault.size or OVERSIZE_BYTES
            filler = b"<!--" + b"x" * max(size - 7, 0) + b"-->" if xml else b" " * size
            body = filler[:size]
        elif kind == "malformed":
            body = (
                render.XML_DECLARATION.encode() + b"<invoice>\n  <invoice_id>1</invoice_"
                if xml
                else b'{"invoice": {"invoice_id": 1,'
            )
        else:  # deep_json
            body = b"[" * 100_000 + b"]" * 100_000
            content_type = render.CONTENT_TYPES["json"]
        return web.Response(status=upstream.status, body=body, headers={"Content-Type": content_type})


def _loopback_upstream(upstream: str) -> str:
    parts = urllib.parse.urlsplit(upstream)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"upstream must be http://<loopback address>:<port> with no path, not {upstream!r}")
    if not is_loopback(parts.hostname):
        raise ValueError(f"the fault proxy forwards to loopback only, not to {parts.hostname!r}")
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"upstream {upstream!r} has no valid port") from None
    return f"http://{host}:{port}" if port else f"http://{host}"


def _passthrough(upstream: _Upstream) -> web.Response:
    from aiohttp import web  # deferred: see _make_app

    response = web.Response(status=upstream.status, reason=upstream.reason or None, body=upstream.body)
    for name, value in upstream.headers:
        if name.lower() not in _HOP_BY_HOP and name.lower() not in ("date", "server"):
            response.headers.add(name, value)
    return response


def _infakt_error(request: web.Request, status: int) -> web.Response:
    """A 5xx in inFakt's own error shape for the route: v2 ``message``/``request`` (XML or JSON by
    suffix), otherwise v3's ``{"error": ...}``."""
    from aiohttp import web  # deferred: see _make_app

    message = f"Emulated proxy fault: HTTP {status}"
    if request.path.startswith("/api/v2/"):
        fmt = "xml" if request.path.endswith(".xml") else "json"
        body = render.v2_error(fmt, message, request.raw_path)
        return web.Response(status=status, body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})
    body = render.json_document({"error": message})
    return web.Response(status=status, body=body, headers={"Content-Type": render.CONTENT_TYPES["json"]})


_GATEWAY_TEXT = {
    502: ("Bad Gateway", "The gateway received an invalid response from the upstream server."),
    503: ("Service Unavailable", "The service is temporarily unable to handle the request."),
    504: ("Gateway Timeout", "The gateway did not receive a timely response from the upstream server."),
}


def _gateway_page(status: int) -> web.Response:
    """An HTML error page of the kind a load balancer or CDN answers with."""
    from aiohttp import web  # deferred: see _make_app

    title, text = _GATEWAY_TEXT[status]
    page = (
        f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {title}</h1></center>\r\n<p>{text}</p>\r\n"
        "<hr><center>fault-proxy</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")


def _write_truncated(request: web.Request, upstream: _Upstream) -> None:
    """The upstream's status and headers, a Content-Length 1 KiB larger than the body, half the body,
    then the connection closed."""
    sent = upstream.body[: len(upstream.body) // 2]
    claimed = len(upstream.body) + 1024
    lines = [f"HTTP/1.1 {upstream.status} {upstream.reason or 'OK'}"]
    lines += [f"{k}: {v}" for k, v in upstream.headers if k.lower() not in _HOP_BY_HOP]
    lines += [f"Content-Length: {claimed}", "Connection: close"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    transport = request.transport
    if transport is not None and not transport.is_closing():
        transport.write(head + sent)
    _close(request, abort=False)


def _close(request: web.Request, *, abort: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if abort:
        transport.abort()
    else:
        transport.close()  # after what was written has been sent
