"""The path every API request takes, whatever its route: armed faults, the body read, inFakt's request
limits, the route's handler, the request log; and the middleware that answers every error, including
aiohttp's own (no such route, body too large), in the shape of the route's API.

Every request ends in an answer of its route's shape (v2: ``{"message", "request"}`` or the ``<hash>``
XML; v3 and admin: ``{"error"}`` or ``{"errors"}``; the OAuth endpoint and the web page: plain text),
whatever it carries: input is read through :mod:`._inputs`, which refuses bad input with a message,
never with an exception of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import web

from ._inputs import BadInput
from ._limits import SlidingWindowLimits
from ._responses import Answer, Handler, error_response, http_error_text, json_response
from .faults import Fault, FaultBook
from .model import Account, InvalidFields, RequestRecord

#: A route's name, or how to tell it from the request (``v2.deliver``, ``v3.paid``...): faults and the
#: request log go by it.
RouteName = str | Callable[[web.Request], str]
# The safety net's logger keeps the name it had when the whole server was one module: tests and users
# filter on it.
_LOG = logging.getLogger("airflow_provider_infakt.testing.server")


class _Drop(Exception):
    """Close the connection without an answer."""


#: The request's key for the account's generation (:attr:`.model.Account.generation`) it arrived in
#: (API routes never reset the account; the admin routes, which do, are not behind the pipeline).
_ACCOUNT_GENERATION = "infakt_account_generation"


class Pipeline:
    """Wraps route handlers in what every API request goes through.

    :param account: where requests are logged.
    :param faults: the armed faults, taken per request by route name or path.
    :param limits: inFakt's request limits (429 when exceeded, if switched on).
    """

    def __init__(self, account: Account, faults: FaultBook[Fault], limits: SlidingWindowLimits) -> None:
        self.account = account
        self.faults = faults
        self.limits = limits
        self._tasks: set[asyncio.Task[web.StreamResponse]] = set()

    def route(self, name: RouteName, api_version: str | None, handler: Handler) -> Handler:
        """``handler`` behind the pipeline, for a route of ``api_version`` (``None``: no API, no limits).

        :param name: the route's name, or a function of the request that gives it.
        :param api_version: ``"v2"`` or ``"v3"``: the shape of the errors, and whether limits apply.
        :param handler: the route's own handler.
        """

        async def serve(request: web.Request) -> web.StreamResponse:
            route = name if isinstance(name, str) else name(request)
            status: int | None = None
            request[_ACCOUNT_GENERATION] = self.account.generation
            try:
                response = await self._serve(route, api_version, handler, request)
                status = response.status
                return response
            except _Drop:
                request.transport.abort() if request.transport else None  # type: ignore[func-returns-value]
                raise asyncio.CancelledError from None
            finally:
                # not into the log of an account reset since: that log belongs to the next test
                if request[_ACCOUNT_GENERATION] == self.account.generation:
                    self.account.log_request(
                        RequestRecord(
                            method=request.method,
                            path=request.raw_path,
                            route=route,
                            api_version=api_version,
                            status=status,
                            time=time.time(),
                            peer=_peer(request),
                        )
                    )

        return serve

    async def _serve(
        self, route: str, api_version: str | None, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        fault = self.faults.take(route, request.path)
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.drop == "before":
                raise _Drop
            if fault.redirect_to is not None:
                return web.Response(status=307, headers={"Location": fault.redirect_to})
            if fault.status is not None:
                return _fault_response(fault, api_version, request)
        try:
            # Read the body now: a client that gives up during a processing delay takes its
            # connection (and the unread body) with it, and the request must still be processed.
            await request.read()
        except web.HTTPException as exc:
            return error_response(request, api_version, exc.status, http_error_text(exc))
        except ConnectionError:  # the client gave up (e.g. during latency): nothing to process
            raise _Drop from None
        if fault is not None and fault.processing_delay:
            response = await self._after_shielded(fault.processing_delay, route, api_version, handler, request)
        else:
            response = await self._process(route, api_version, handler, request)
        if fault is not None and fault.answer_delay:
            await asyncio.sleep(fault.answer_delay)
        if fault is not None and fault.drop == "after":
            raise _Drop
        return response

    async def _after_shielded(
        self, delay: float, route: str, api_version: str | None, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        """Wait ``delay`` seconds, then process: in a task of its own, so that nothing that happens to
        the connection meanwhile (the client timing out and closing it) stops the processing."""

        async def later() -> web.StreamResponse:
            await asyncio.sleep(delay)
            return await self._process(route, api_version, handler, request)

        task = asyncio.ensure_future(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _process(
        self, route: str, api_version: str | None, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        """Run the route's handler, unless the account was reset while the request waited (a fault's
        latency or processing delay): then it is dropped, as the account it was sent to is gone.
        Without this, a delayed delivery from one test was carried out on the next test's account."""
        if request[_ACCOUNT_GENERATION] != self.account.generation:
            raise _Drop
        try:
            if api_version is not None and route != "web.invoice":
                reason = self.limits.check(request.remote or "?", request.method)
                if reason is not None:
                    raise Answer(error_response(request, api_version, 429, reason))
            return await handler(request)
        except Answer as answer:
            return answer.response
        except BadInput as exc:
            message = str(exc) + (" See documentation." if request.path.startswith("/api/v2/") else "")
            return error_response(request, api_version, 400, message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(request, api_version, exc.status, http_error_text(exc))


@web.middleware
async def shape_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unmatched routes (404, 405), bodies too large (413), refused admin input (400, 422) and, should
    one ever slip through, an unexpected exception (500): answered in the route's shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or (exc.content_type or "").startswith("application/json"):
            raise
        return _error_for_path(request, exc.status, http_error_text(exc))
    except InvalidFields as exc:
        return json_response(422, {"errors": exc.errors})
    except BadInput as exc:
        return _error_for_path(request, 400, str(exc))
    except Exception as exc:  # the safety net: a bug, but the emulator must keep answering
        _LOG.error("inFakt emulator: %s in %s %s", type(exc).__name__, request.method, request.path)
        return _error_for_path(request, 500, "Internal emulator error.")


def _error_for_path(request: web.Request, status: int, message: str) -> web.Response:
    path = request.path
    if path.startswith("/api/v2/"):
        return error_response(request, "v2", status, message)
    if path.startswith(("/oauth/", "/app/")):
        return web.Response(status=status, text=message, content_type="text/plain")
    return json_response(status, {"error": message})


def _fault_response(fault: Fault, api_version: str | None, request: web.Request) -> web.Response:
    assert fault.status is not None
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if fault.body is not None:
        return web.Response(status=fault.status, body=fault.body.encode(), headers=headers)
    response = error_response(request, api_version or "v3", fault.status, f"Emulated fault: HTTP {fault.status}")
    response.headers.update(headers)
    return response


def _peer(request: web.Request) -> str:
    peername = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peername[0]}:{peername[1]}" if peername else ""
