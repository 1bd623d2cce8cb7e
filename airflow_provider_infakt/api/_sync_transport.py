"""The synchronous client's requests adapter: the last destination check and the per-request deadline.

requests has no overall timeout: its read timeout applies to each read from the socket, so a server
that sends a byte now and then keeps a call open as long as it likes. :class:`GuardedAdapter` gives
every request a :class:`Watch`; a timer thread cuts the request's socket (``shutdown``) when the
deadline passes, which wakes the blocked read with an error. The connection in use is found through
the adapter's own connection pools, which note the connection each thread takes.

Right before a request goes out, the adapter also checks the connection pool it is about to use:
its scheme, host and port are where the bytes will go, whatever any URL parser thought.

Imported by :mod:`.client` when a client is created (it imports requests and urllib3).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests
import requests.adapters
import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .protocol import wrong_destination

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

__all__ = ["GuardedAdapter", "Watch", "WrongDestinationError"]

_CURRENT = threading.local()
_RETRY_CUT = 0.05


class WrongDestinationError(requests.exceptions.InvalidURL):
    """The connection pool for a request is not the configured origin's; nothing was sent."""


class Watch:
    """One request under a deadline: the connection it uses, and whether the deadline cut it.

    :param seconds: the deadline, from :meth:`start`.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.connection: BaseHTTPConnection | None = None
        self.expired = False
        self._done = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._timer = threading.Thread(target=self._run, name="infakt-deadline", daemon=True)

    def __enter__(self) -> Watch:
        _CURRENT.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._done = True
        self._wake.set()
        _CURRENT.watch = None

    def _run(self) -> None:
        if self._wake.wait(self.seconds):
            return  # finished in time
        with self._lock:
            if self._done:
                return
            self.expired = True
        # Cut the connection; while it is still being made (DNS, connect) there is no socket yet.
        while True:
            with self._lock:
                if self._done:
                    return
                sock = getattr(self.connection, "sock", None)
                if isinstance(sock, socket.socket):
                    try:
                        # socket.socket's own shutdown, also for an SSLSocket: it wakes a blocked read
                        # without tearing down the TLS object under the reading thread.
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
            if self._wake.wait(_RETRY_CUT):
                return


def _note_connection(connection: BaseHTTPConnection) -> None:
    watch = getattr(_CURRENT, "watch", None)
    if watch is not None:
        watch.connection = connection


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        _note_connection(connection)
        return connection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        _note_connection(connection)
        return connection


_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose pools note the connection in use (for :class:`Watch`) and which refuses
    to send anywhere but ``origin``.

    :param origin: (scheme, host, port) of the configured base URL.
    """

    def __init__(self, origin: tuple[str, str, int]) -> None:
        self.origin = origin
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)  # type: ignore[assignment]

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers keep their own pools
            manager.pool_classes_by_scheme = dict(_POOLS)  # type: ignore[assignment]
        return manager

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: tuple[str, str] | str | None = None,  # as requests reads it (its stubs differ between methods)
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Check the pool the request would use against the origin, then send it as requests does."""
        pool = self.get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        problem = wrong_destination(
            f"the {request.method} request", self.origin, pool.scheme or "", pool.host or "", pool.port
        )
        if problem is not None:
            raise WrongDestinationError(problem)
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
