"""OAuth 1.0a (HMAC-SHA1) verification for the emulator's v2 routes and xAuth.

Signatures are checked with oauthlib's RFC 5849 functions; timestamps must be fresh and nonces are
single-use, as a real OAuth 1.0a provider demands.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from . import credentials

#: How far (seconds) a request's oauth_timestamp may stray from the emulator's clock.
TIMESTAMP_TOLERANCE = 300


class OAuthRejected(Exception):
    """The request's OAuth 1.0a credentials are missing, unknown, stale, replayed or wrongly signed."""


class OAuthVerifier:
    """Knows the consumer, the token pairs and the nonces seen; verifies requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.consumers = {credentials.CONSUMER_KEY: credentials.CONSUMER_SECRET}
        self.tokens = {credentials.ACCESS_TOKEN: credentials.TOKEN_SECRET}
        self.users = {credentials.XAUTH_USERNAME: credentials.XAUTH_PASSWORD}
        self._nonces: dict[tuple[str, str, str], float] = {}

    def verify(
        self,
        *,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: str = "",
        require_token: bool = True,
    ) -> dict[str, str]:
        """Check a request's signature; return its oauth_* parameters, or raise :class:`OAuthRejected`.

        ``url`` is the absolute URL the client addressed (scheme, host and port from the Host header);
        ``body`` counts only if it is form-encoded.
        """
        query = url.partition("?")[2]
        form = body if "application/x-www-form-urlencoded" in headers.get("Content-Type", "") else ""
        auth_header = {"Authorization": headers["Authorization"]} if "Authorization" in headers else {}
        try:
            everything = oauth_signature.collect_parameters(
                uri_query=query, body=form, headers=auth_header, exclude_oauth_signature=False
            )
        except (ValueError, TypeError) as exc:
            raise OAuthRejected("Malformed OAuth parameters.") from exc
        oauth_list = [(k, v) for k, v in everything if k.startswith("oauth_")]
        oauth_params = dict(oauth_list)
        if len(oauth_params) != len(oauth_list):
            raise OAuthRejected("Duplicate OAuth parameters.")
        if not oauth_params.get("oauth_signature"):
            raise OAuthRejected("OAuth 1.0a signature required (Authorization: OAuth ...).")
        if oauth_params.get("oauth_signature_method") != "HMAC-SHA1":
            raise OAuthRejected("Unsupported oauth_signature_method: only HMAC-SHA1 is accepted.")
        consumer_secret = self.consumers.get(oauth_params.get("oauth_consumer_key", ""))
        if consumer_secret is None:
            raise OAuthRejected("Unknown oauth_consumer_key.")
        token = oauth_params.get("oauth_token")
        token_secret: str | None = ""
        if require_token or token:
            with self._lock:
                token_secret = self.tokens.get(token or "")
            if token_secret is None:
                raise OAuthRejected("Unknown or missing oauth_token.")
        self._check_freshness(oauth_params)

        request: Any = OAuthRequest(url, method, form, auth_header)  # type: ignore[arg-type]
        request.params = [(k, v) for k, v in everything if k != "oauth_signature"]
        request.signature = oauth_params["oauth_signature"]
        if not oauth_signature.verify_hmac_sha1(request, consumer_secret, token_secret):
            raise OAuthRejected("Invalid OAuth signature.")
        self._use_nonce(oauth_params)
        return oauth_params

    def _check_freshness(self, oauth_params: Mapping[str, str]) -> None:
        try:
            timestamp = int(oauth_params.get("oauth_timestamp", ""))
        except ValueError:
            raise OAuthRejected("Missing or malformed oauth_timestamp.") from None
        if abs(time.time() - timestamp) > TIMESTAMP_TOLERANCE:
            raise OAuthRejected(
                f"Stale oauth_timestamp: more than {TIMESTAMP_TOLERANCE} seconds from the server's clock."
            )
        if not oauth_params.get("oauth_nonce"):
            raise OAuthRejected("Missing oauth_nonce.")

    def _use_nonce(self, oauth_params: Mapping[str, str]) -> None:
        key = (
            oauth_params["oauth_consumer_key"],
            oauth_params.get("oauth_token", ""),
            oauth_params["oauth_nonce"] + "@" + oauth_params["oauth_timestamp"],
        )
        now = time.time()
        with self._lock:
            for old in [k for k, seen in self._nonces.items() if seen < now - 2 * TIMESTAMP_TOLERANCE]:
                del self._nonces[old]
            if key in self._nonces:
                raise OAuthRejected("oauth_nonce already used: each request needs a fresh nonce.")
            self._nonces[key] = now

    def xauth_exchange(self, form: Mapping[str, str]) -> tuple[str, str]:
        """Check an xAuth login; issue and remember a new token pair."""
        if form.get("x_auth_mode") != "client_auth":
            raise OAuthRejected("xAuth needs x_auth_mode=client_auth.")
        username = form.get("x_auth_username", "")
        password = form.get("x_auth_password", "")
        expected = self.users.get(username)
        if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
            raise OAuthRejected("Invalid xAuth username or password.")
        token, token_secret = secrets.token_hex(16), secrets.token_hex(20)
        with self._lock:
            self.tokens[token] = token_secret
        return token, token_secret
