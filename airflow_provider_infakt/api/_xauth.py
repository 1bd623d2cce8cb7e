"""The xAuth token swap on the wire: ``POST {root}/oauth/access_token`` with a form body, and its answer.

Signing the request is :mod:`.auth`'s job; this module only knows the URL, the form and the answer's
fields. :mod:`.protocol` re-exports both functions.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from ._answers import error_for
from ._models import Request
from ._urls import oauth_root
from .errors import InfaktProtocolError


def build_token_request(
    base_url: str, username: str, password: str, *, user_agent: str = "airflow-provider-infakt"
) -> Request:
    """The xAuth request, unsigned: ``POST {root}/oauth/access_token`` with a form body.

    ``root`` is ``base_url`` without its ``/api/v2`` (or ``/v2``) suffix. The request is idempotent
    (asking for a token again does nothing in the world).

    :param base_url: the API base URL of the connection (``.../api/v2``).
    :param username: the inFakt account's login.
    :param password: the inFakt account's password.
    :param user_agent: the ``User-Agent`` header.
    """
    body = urllib.parse.urlencode(
        [("x_auth_username", username), ("x_auth_password", password), ("x_auth_mode", "client_auth")]
    ).encode("ascii")
    return Request(
        method="POST",
        url=oauth_root(base_url) + "/oauth/access_token",
        headers=(
            ("Accept", "application/x-www-form-urlencoded"),
            ("Accept-Encoding", "gzip, deflate"),
            ("User-Agent", user_agent),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ),
        body=body,
        idempotent=True,
        route="oauth.access_token",
        api_version="v2",
        format="json",
    )


def parse_token(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """The ``(oauth_token, oauth_token_secret)`` pair from the token request's answer, or raise:
    :class:`~.errors.InfaktAuthError` for 401 (wrong login or signature), the status's error class
    for other errors, :class:`~.errors.InfaktProtocolError` for an answer without a token pair."""
    if not 200 <= status < 300:
        raise error_for(request, status, headers, body)
    fields = dict(urllib.parse.parse_qsl(body.decode("utf-8", errors="replace").strip()))
    token, secret = fields.get("oauth_token"), fields.get("oauth_token_secret")
    if not token or not secret:
        raise InfaktProtocolError(
            f"HTTP {status} from {request.route}: the answer holds no oauth_token and "
            f"oauth_token_secret ({len(body)} bytes, fields: {sorted(fields) or 'none'})",
            status=status,
        )
    return token, secret
