"""Credentials and request signing: v3 API key, v2 OAuth 1.0a (HMAC-SHA1), v2 xAuth token exchange.

Every credentials class hides its secrets in ``repr`` and ``str``. Signing is pure computation on a
:class:`~.protocol.Request`: it returns a copy with the credential in a header (never in the URL).
oauthlib is imported only when something is signed.

xAuth: :meth:`XAuth.token_request` gives the unsigned token request and :meth:`XAuth.parse_token` turns
its answer into an :class:`OAuth1Auth`; the wire format of both (URL, form, answer fields) is protocol
(:mod:`._xauth`, re-exported by :mod:`.protocol`). The clients swap the login for a token once and keep
the token for their life.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Protocol, TypeAlias

from ._models import Request
from ._xauth import build_token_request, parse_token
from .errors import InfaktConfigError

__all__ = ["API_KEY_HEADER", "ApiKeyAuth", "Auth", "OAuth1Auth", "Signer", "XAuth"]

#: The v3 authentication header.
API_KEY_HEADER = "X-inFakt-ApiKey"
_HIDDEN = "'***'"


class Signer(Protocol):
    """Anything that puts credentials on a request."""

    def sign(self, request: Request) -> Request:
        """A copy of ``request`` carrying the credentials."""
        ...


#: oauthlib logs the parameters it signs at DEBUG level: the xAuth password and the signature base
#: string included. Those records are dropped at the source, whatever the logging configuration.
_OAUTHLIB_LOGGERS = ("oauthlib.oauth1.rfc5849", "oauthlib.oauth1.rfc5849.signature", "oauthlib.oauth1")


class _DropDebug(logging.Filter):
    """Drops DEBUG records (oauthlib's parameter dumps); lets warnings and errors through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_DROP_DEBUG = _DropDebug()


def _silence_oauthlib_debug() -> None:
    for name in _OAUTHLIB_LOGGERS:
        logger = logging.getLogger(name)
        if _DROP_DEBUG not in logger.filters:
            logger.addFilter(_DROP_DEBUG)


def _require(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InfaktConfigError(f"{name} must be a non-empty string")
    if any(ch in value for ch in "\r\n"):
        raise InfaktConfigError(f"{name} must not contain line breaks")
    return value


class ApiKeyAuth:
    """A v3 API key, sent as the ``X-inFakt-ApiKey`` header. ``repr`` never shows the key.

    :param key: the API key: printable ASCII, no spaces.
    :raises InfaktConfigError: when the key is empty or holds other characters.
    """

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        self._key = _require("API key", key)
        if not all("!" <= ch <= "~" for ch in self._key):
            # It travels as an HTTP header value: a non-ASCII letter would fail deep in http.client
            # (UnicodeEncodeError), a NUL or a space would go out as typed. The key is not shown.
            raise InfaktConfigError(
                "API key must consist of printable ASCII characters without spaces; check what was pasted"
            )

    def sign(self, request: Request) -> Request:
        """A copy of ``request`` carrying the API key header.

        :param request: the request to sign.
        """
        return request.with_header(API_KEY_HEADER, self._key)

    def __repr__(self) -> str:
        return f"ApiKeyAuth(key={_HIDDEN})"

    __str__ = __repr__


class OAuth1Auth:
    """A v2 OAuth 1.0a identity: consumer key/secret and access token/secret, signing with HMAC-SHA1.

    ``repr`` shows only the consumer key.

    :param consumer_key: the consumer (application) key.
    :param consumer_secret: the consumer secret.
    :param token: the access token, or None (with ``token_secret``) to sign with the consumer only.
    :param token_secret: the access token secret, or None.
    :param nonce: makes the nonce of each signature, to make signatures reproducible in tests.
    :param timestamp: makes the timestamp of each signature, likewise.
    :raises InfaktConfigError: when a value is empty or holds a line break, or only one of ``token``
        and ``token_secret`` is given.
    """

    __slots__ = ("_consumer_key", "_consumer_secret", "_nonce", "_timestamp", "_token", "_token_secret")

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        token: str | None,
        token_secret: str | None,
        *,
        nonce: Callable[[], str] | None = None,
        timestamp: Callable[[], str] | None = None,
    ) -> None:
        self._consumer_key = _require("consumer key", consumer_key)
        self._consumer_secret = _require("consumer secret", consumer_secret)
        if (token is None) != (token_secret is None):
            raise InfaktConfigError("give both the OAuth token and token secret, or neither")
        self._token = _require("OAuth token", token) if token is not None else None
        self._token_secret = _require("OAuth token secret", token_secret) if token_secret is not None else None
        self._nonce = nonce
        self._timestamp = timestamp

    @property
    def consumer_key(self) -> str:
        """The consumer (application) key; not a secret."""
        return self._consumer_key

    def sign(self, request: Request) -> Request:
        """A copy of ``request`` with an OAuth 1.0a ``Authorization`` header (HMAC-SHA1).

        The signature covers the method, the URL with its query, and a form-encoded body if the request
        has one with ``Content-Type: application/x-www-form-urlencoded``.

        :param request: the request to sign.
        """
        import oauthlib.oauth1  # deferred: third-party, only v2 signing needs it

        _silence_oauthlib_debug()
        client = oauthlib.oauth1.Client(
            self._consumer_key,
            client_secret=self._consumer_secret,
            resource_owner_key=self._token,
            resource_owner_secret=self._token_secret,
            signature_method=oauthlib.oauth1.SIGNATURE_HMAC_SHA1,
            signature_type=oauthlib.oauth1.SIGNATURE_TYPE_AUTH_HEADER,
            nonce=self._nonce() if self._nonce else None,
            timestamp=self._timestamp() if self._timestamp else None,
        )
        content_type = request.header("Content-Type") or ""
        body: str | None = None
        headers: dict[str, str] = {}
        if request.body is not None:
            body = request.body.decode("utf-8")
            if content_type:
                headers["Content-Type"] = content_type
        uri, signed_headers, _ = client.sign(
            request.full_url,
            http_method=request.method,  # type: ignore[arg-type]
            body=body,
            headers=headers,
        )
        if uri != request.full_url:  # oauthlib only changes the URI for query-string signing
            raise InfaktConfigError("OAuth signing changed the URL; signatures must go in the header")
        return request.with_header("Authorization", signed_headers["Authorization"])

    def __repr__(self) -> str:
        token = _HIDDEN if self._token is not None else "None"
        return (
            f"OAuth1Auth(consumer_key={self._consumer_key!r}, consumer_secret={_HIDDEN}, "
            f"token={token}, token_secret={token})"
        )

    __str__ = __repr__


class XAuth:
    """v2 xAuth credentials: consumer key/secret plus the account's username and password, exchanged
    once for an access token pair. ``repr`` shows the consumer key only.

    :param consumer_key: the consumer (application) key.
    :param consumer_secret: the consumer secret.
    :param username: the inFakt login.
    :param password: the inFakt password.
    :param nonce: makes the nonce of each signature, to make signatures reproducible in tests.
    :param timestamp: makes the timestamp of each signature, likewise.
    :raises InfaktConfigError: when a value is empty or holds a line break.
    """

    __slots__ = ("_consumer", "_password", "_username")

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        username: str,
        password: str,
        *,
        nonce: Callable[[], str] | None = None,
        timestamp: Callable[[], str] | None = None,
    ) -> None:
        self._consumer = OAuth1Auth(consumer_key, consumer_secret, None, None, nonce=nonce, timestamp=timestamp)
        self._username = _require("xAuth username", username)
        self._password = _require("xAuth password", password)

    @property
    def consumer_key(self) -> str:
        """The consumer (application) key; not a secret."""
        return self._consumer.consumer_key

    def sign(self, request: Request) -> Request:
        """A copy of ``request`` signed with the consumer key and secret only (no token), as the xAuth
        exchange must be.

        :param request: the request to sign.
        """
        return self._consumer.sign(request)

    def token_request(self, base_url: str, *, user_agent: str = "airflow-provider-infakt") -> Request:
        """The xAuth token request, unsigned (see :func:`.protocol.build_token_request`). Sign it with
        :meth:`sign` just before each send: every attempt needs a fresh nonce.

        :param base_url: the v2 API base URL (``.../api/v2``).
        :param user_agent: the ``User-Agent`` header.
        """
        return build_token_request(base_url, self._username, self._password, user_agent=user_agent)

    def parse_token(self, request: Request, status: int, headers: Mapping[str, str], body: bytes) -> OAuth1Auth:
        """The :class:`OAuth1Auth` (consumer plus the new token) from the token request's answer, or
        raise (see :func:`.protocol.parse_token`).

        :param request: the token request that was sent.
        :param status: the answer's HTTP status.
        :param headers: the answer's headers.
        :param body: the answer's body.
        """
        token, secret = parse_token(request, status, headers, body)
        consumer = self._consumer
        return OAuth1Auth(
            consumer.consumer_key,
            consumer._consumer_secret,
            token,
            secret,
            nonce=consumer._nonce,
            timestamp=consumer._timestamp,
        )

    def exchange_request(self, base_url: str, *, user_agent: str = "airflow-provider-infakt") -> Request:
        """Deprecated alias of :meth:`token_request` (the name "exchange" now belongs to nothing).

        :param base_url: as for :meth:`token_request`.
        :param user_agent: as for :meth:`token_request`.
        """
        warnings.warn("XAuth.exchange_request is deprecated; use XAuth.token_request", DeprecationWarning, 2)
        return self.token_request(base_url, user_agent=user_agent)

    def parse_exchange(self, request: Request, status: int, headers: Mapping[str, str], body: bytes) -> OAuth1Auth:
        """Deprecated alias of :meth:`parse_token`.

        :param request: as for :meth:`parse_token`.
        :param status: as for :meth:`parse_token`.
        :param headers: as for :meth:`parse_token`.
        :param body: as for :meth:`parse_token`.
        """
        warnings.warn("XAuth.parse_exchange is deprecated; use XAuth.parse_token", DeprecationWarning, 2)
        return self.parse_token(request, status, headers, body)

    def __repr__(self) -> str:
        return (
            f"XAuth(consumer_key={self.consumer_key!r}, consumer_secret={_HIDDEN}, "
            f"username={_HIDDEN}, password={_HIDDEN})"
        )

    __str__ = __repr__


#: Any credentials a :class:`~.settings.ClientSettings` accepts.
Auth: TypeAlias = "ApiKeyAuth | OAuth1Auth | XAuth"
