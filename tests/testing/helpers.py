"""Test helpers for talking to the emulator as a client would: OAuth 1.0a signing and plain HTTP."""

from __future__ import annotations

from typing import Any

import requests
from oauthlib.oauth1 import Client


def oauth_headers(
    conn: dict[str, Any],
    url: str,
    *,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    token: bool = True,
    **client_options: Any,
) -> dict[str, str]:
    """Headers signing ``url`` with the connection's OAuth 1.0a credentials (``client_options``
    override e.g. ``client_secret``, ``timestamp``, ``nonce``)."""
    extra = conn["extra"]
    options: dict[str, Any] = {"client_secret": conn["password"]}
    if token:
        options.update(resource_owner_key=extra["oauth_token"], resource_owner_secret=extra["oauth_token_secret"])
    options.update(client_options)
    client = Client(conn["login"], **options)
    _, signed, _ = client.sign(url, http_method=method, body=body, headers=headers)
    return dict(signed)


def v2_get(conn: dict[str, Any], path_and_query: str, **client_options: Any) -> requests.Response:
    """A signed v2 GET of ``{host}{path_and_query}`` (host ends in ``/api/v2``)."""
    url = conn["host"] + path_and_query
    return requests.get(url, headers=oauth_headers(conn, url, **client_options), timeout=10)


def v3(emu_conn: dict[str, Any], method: str, path: str, **kwargs: Any) -> requests.Response:
    """A v3 request with the connection's API key."""
    headers = {"X-inFakt-ApiKey": emu_conn["password"], **kwargs.pop("headers", {})}
    kwargs.setdefault("timeout", 10)
    return requests.request(method, emu_conn["host"] + path, headers=headers, **kwargs)


def raw_http(url: str, request: bytes, *, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` (bytes, as is) to the server at ``url`` and read the answer until the server
    closes; for inputs no HTTP library would send. Returns status, headers (lower-case names), body."""
    import socket
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body
