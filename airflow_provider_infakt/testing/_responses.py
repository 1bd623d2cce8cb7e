"""What the emulator's routes answer with: JSON documents, errors in the shape of the route's API, and
the exception a handler raises to stop with an answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import _render as render

#: An aiohttp request handler.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Largest request body read (bytes); larger ones are answered 413.
MAX_BODY = 1024 * 1024


class Answer(Exception):
    """Stop processing and send this response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, value: Any) -> web.Response:
    """``value`` (JSON-ready data) as a compact JSON document."""
    return web.Response(
        status=status,
        body=render.json_document(value),
        headers={"Content-Type": render.CONTENT_TYPES["json"]},
    )


def error_response(request: web.Request, api_version: str | None, status: int, message: str) -> web.Response:
    """An error in the shape of the API the request spoke: v2's ``{"message", "request"}`` (JSON or the
    ``<hash>`` XML, by the path's suffix), v3's ``{"error"}``; plain text for the OAuth endpoint and for
    routes of no API (``api_version=None``)."""
    if api_version is None or request.path.startswith("/oauth/"):
        return web.Response(status=status, text=message, content_type="text/plain")
    if api_version == "v2":
        fmt = request.match_info.get("fmt") or request.path.rpartition(".")[2]
        fmt = fmt if fmt in render.CONTENT_TYPES else "json"
        body = render.v2_error(fmt, message, request.raw_path)
        return web.Response(status=status, body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})
    return json_response(status, {"error": message})


def http_error_text(exc: web.HTTPException) -> str:
    """The message for an error aiohttp raised (no such route, method, body too large)."""
    if exc.status == 413:
        return f"Request body too large (at most {MAX_BODY} bytes)."
    if exc.status == 405:
        return "Method not allowed."
    if exc.status == 404:
        return "Not found: no such route."
    return exc.reason


def absolute_url(request: web.Request) -> str:
    """The URL the client asked for, as it sent it (scheme, ``Host``, raw path and query)."""
    return f"{request.scheme}://{request.host}{request.raw_path}"
