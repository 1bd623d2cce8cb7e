"""How a client reaches inFakt: base URL, API version, format, credentials, timeouts and limits.

:class:`ClientSettings` checks itself when built, so that a bad configuration fails before any
request: unknown version or format, XML on v3, credentials of the wrong kind for the version,
credentials inside the URL, and plain ``http://`` to anything but a loopback host unless
``allow_http=True``.

This module imports nothing but the standard library.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import unicodedata
import urllib.parse
from typing import TYPE_CHECKING, Final

from ._urls import oauth_root, url_origin
from .auth import ApiKeyAuth, OAuth1Auth, XAuth
from .errors import InfaktConfigError, InfaktValidationError
from .vocabulary import ApiVersion, Format, validate_api_version, validate_format

if TYPE_CHECKING:
    from .auth import Auth

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_TIMEOUT_SECONDS",
    "ClientSettings",
    "RateLimit",
    "is_loopback_host",
    "oauth_root",
]

DEFAULT_MAX_RESPONSE_BYTES: Final = 10 * 1024 * 1024
#: The longest timeout or deadline accepted, in seconds (a day): longer ones are typing mistakes, and
#: past about 10**9 seconds the standard library's waits overflow.
MAX_TIMEOUT_SECONDS: Final = 24 * 3600.0


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """A client-side request budget, per minute; the defaults are inFakt's documented limits
    (GET 300 a minute, other methods 150 a minute, per source IP).

    The client paces its requests so that no sliding one-minute window holds more than these (see
    :mod:`.ratelimit`).

    :param get_per_minute: GET requests allowed a minute.
    :param other_per_minute: requests of other methods allowed a minute.
    :param shared: draw on the one budget this process keeps for the API's origin and these limits
        (:func:`.ratelimit.shared_limiter`), as inFakt counts per source IP; False for a budget of the
        client's own. A client given its own ``monotonic`` clock always keeps its own.
    :raises InfaktConfigError: when either allows less than one request a minute.
    """

    get_per_minute: int = 300
    other_per_minute: int = 150
    shared: bool = True

    def __post_init__(self) -> None:
        if self.get_per_minute < 1 or self.other_per_minute < 1:
            raise InfaktConfigError("rate limits must allow at least one request a minute")


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and for addresses in 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    """Everything a client needs to talk to one inFakt account.

    :param base_url: the API root INCLUDING the version path, e.g. ``https://api.infakt.pl/api/v3`` or
        ``https://www.infakt.pl/api/v2``. A trailing slash is removed.
    :param api_version: ``"v2"`` or ``"v3"``.
    :param auth: :class:`~.auth.ApiKeyAuth` for v3; :class:`~.auth.OAuth1Auth` or :class:`~.auth.XAuth`
        for v2.
    :param format: ``"json"`` or ``"xml"`` (v2 only; v3 is JSON).
    :param timeout: (connect, read) timeouts in seconds. The read timeout applies to each read: a server
        sending a byte now and then never trips it (see ``deadline``).
    :param deadline: the longest one HTTP request may take in all (connecting, sending, reading the
        whole answer), in seconds; None means ``connect + 2 x read`` timeout. Past it the request is
        cut: on a deliver that is an unknown outcome, on a read a retryable transport error.
    :param verify: TLS verification: True, False, or a path to a CA bundle.
    :param max_retries: how many times a retryable failure is retried (0 = never).
    :param backoff_base: first backoff delay in seconds; doubles with every retry (with jitter).
    :param backoff_max: the longest backoff delay.
    :param retry_after_max: the longest wait a ``Retry-After`` header may impose; longer ones are capped.
    :param allow_http: allow plain ``http://`` to a non-loopback host (never do this with real credentials).
    :param rate_limit: a client-side request budget, or None for none.
    :param max_response_bytes: the largest response body read; a larger one is cut off with an error.
    :param max_redirects: how many same-origin redirects are followed (others are always refused).
    :param user_agent: the ``User-Agent`` header.
    """

    base_url: str
    api_version: ApiVersion
    auth: Auth
    format: Format = "json"
    timeout: tuple[float, float] = (10.0, 30.0)
    deadline: float | None = None
    verify: bool | str = True
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 60.0
    allow_http: bool = False
    rate_limit: RateLimit | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = 3
    user_agent: str = "airflow-provider-infakt"

    def __post_init__(self) -> None:
        try:
            api_version = validate_api_version(self.api_version)
            fmt = validate_format(self.format, api_version)
        except InfaktValidationError as exc:
            raise InfaktConfigError(str(exc)) from None
        object.__setattr__(self, "api_version", api_version)
        object.__setattr__(self, "format", fmt)
        object.__setattr__(self, "base_url", self._checked_url())
        self._check_auth()
        connect, read = self.timeout
        if not (_seconds(connect) and _seconds(read)):
            raise InfaktConfigError(
                f"timeouts must be positive numbers of seconds up to {MAX_TIMEOUT_SECONDS:g}, "
                f"got connect={connect!r}, read={read!r}"
            )
        if self.deadline is not None and not _seconds(self.deadline):
            raise InfaktConfigError(
                f"deadline must be a positive number of seconds up to {MAX_TIMEOUT_SECONDS:g}, got {self.deadline!r}"
            )
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise InfaktConfigError(
                f"verify={self.verify!r}: no CA bundle (file or directory) at that path; give an existing "
                "path, true for the default CA bundle, or false"
            )
        if self.max_retries < 0 or self.max_redirects < 0:
            raise InfaktConfigError("max_retries and max_redirects must be zero or more")
        if self.max_response_bytes < 1024:
            raise InfaktConfigError("max_response_bytes must be at least 1024")

    def _checked_url(self) -> str:
        if not isinstance(self.base_url, str) or not self.base_url.strip():
            raise InfaktConfigError("base_url is empty; expected e.g. https://api.infakt.pl/api/v3")
        text = self.base_url.strip()
        bad = next((ch for ch in text if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")), None)
        if bad is not None:  # the URL is not shown: it may hold credentials
            # urlsplit drops tabs and line breaks silently ('exa\nmple.com' would become 'example.com').
            raise InfaktConfigError(f"base_url contains whitespace or a control character (U+{ord(bad):04X})")
        try:
            parts = urllib.parse.urlsplit(text)
            port = parts.port  # parsed here: an invalid port would otherwise fail at the first request
        except ValueError as exc:  # a port that is no number or out of range, an unclosed '[' ...
            raise InfaktConfigError(f"base_url cannot be parsed as a URL: {exc}") from None
        if port == 0:
            raise InfaktConfigError("base_url has port 0, which no server listens on")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InfaktConfigError(
                f"base_url must be an http(s) URL with a host, e.g. https://api.infakt.pl/api/v3 "
                f"(got scheme {parts.scheme!r})"
            )
        if parts.username is not None or parts.password is not None:
            raise InfaktConfigError(
                f"base_url for host {parts.hostname!r} holds credentials; pass them as auth instead"
            )
        if parts.query or parts.fragment:
            raise InfaktConfigError("base_url must not have a query string or fragment")
        if parts.scheme == "http" and not self.allow_http and not is_loopback_host(parts.hostname):
            raise InfaktConfigError(
                f"refusing plain http:// to {parts.hostname!r}: credentials would travel unencrypted. "
                "Use https://, or set allow_http=True for a trusted test server"
            )
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))

    def _check_auth(self) -> None:
        if self.api_version == "v3" and not isinstance(self.auth, ApiKeyAuth):
            raise InfaktConfigError(
                f"API v3 authenticates with an API key (ApiKeyAuth), got {type(self.auth).__name__}"
            )
        if self.api_version == "v2" and not isinstance(self.auth, (OAuth1Auth, XAuth)):
            raise InfaktConfigError(
                f"API v2 authenticates with OAuth 1.0a (OAuth1Auth or XAuth), got {type(self.auth).__name__}"
            )

    @property
    def request_deadline(self) -> float:
        """The longest one HTTP request may take in all: ``deadline``, or ``connect + 2 x read``."""
        if self.deadline is not None:
            return float(self.deadline)
        connect, read = self.timeout
        return float(connect + 2 * read)

    @property
    def origin(self) -> tuple[str, str, int]:
        """(scheme, host, port) of the base URL: the only place credentials are ever sent."""
        return url_origin(self.base_url)


def _seconds(value: object) -> bool:
    """True for a number of seconds a timeout may be: positive, finite, at most a day (not a bool).

    :param value: the timeout or deadline as given.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and 0 < value <= MAX_TIMEOUT_SECONDS
