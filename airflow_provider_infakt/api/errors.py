"""One exception tree for everything that can go wrong when talking to inFakt.

Every exception derives from :class:`InfaktError` and carries a ``retryable`` flag that answers one
question: *may the very same request be sent again without risk of doing something twice, and with a
chance of a different answer?*

- :class:`InfaktAPIError` and its subclasses: inFakt answered with an error status. They carry the
  status, the API's own message, v2's request echo, v3's validation ``errors`` and ``Retry-After``.
- :class:`InfaktUnknownOutcome`: a delivery was sent but its result cannot be known (any 5xx, an
  answer that is not inFakt's, a redirect, an oversized answer, a read timeout, the deadline, a
  connection dropped after the request went out). Never resend it blindly. On a deliver, every other
  exception proves that nothing was done (see :mod:`.policy` for the whole rule).
- :class:`InfaktConnectionError`: no connection could be made; nothing reached inFakt.
- :class:`InfaktTransportError`: other I/O trouble (a redirect refused, a response too large, ...).
- :class:`InfaktValidationError`: a value was refused on the client side, before any request.
- :class:`InfaktConfigError`: the client settings are unusable (e.g. plain HTTP to a remote host).

No exception message, ``repr`` or attribute holds an API key, OAuth secret or password. No exception
message holds an e-mail address unmasked: every message, and every text from inFakt an exception keeps
(``api_message``, ``errors``, the v2 request echo), passes through :func:`redact_text` when the
exception is made, since inFakt's messages may quote the recipient (``jan@example.com is invalid``).

This module imports nothing but the standard library.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "InfaktAPIError",
    "InfaktAuthError",
    "InfaktBadRequestError",
    "InfaktConfigError",
    "InfaktConnectionError",
    "InfaktError",
    "InfaktForbiddenError",
    "InfaktLockedError",
    "InfaktLookupError",
    "InfaktNotAcceptableError",
    "InfaktNotFoundError",
    "InfaktPaymentRequiredError",
    "InfaktProtocolError",
    "InfaktQuotaExceededError",
    "InfaktRateLimitedError",
    "InfaktRedirectError",
    "InfaktResponseTooLargeError",
    "InfaktServerError",
    "InfaktTransportError",
    "InfaktUnknownOutcome",
    "InfaktUnprocessableError",
    "InfaktValidationError",
    "error_class_for_status",
    "is_quota_message",
    "looks_like_address",
    "mask_email",
    "quota_limit",
    "redact_request_echo",
    "redact_text",
]

#: Query parameters whose values never appear in a message: personal data or credentials.
_MASKED_PARAMS = frozenset({"recipient", "x_auth_username"})
_SECRET_PARAMS = frozenset(
    {"x_auth_password", "oauth_signature", "oauth_token", "oauth_token_secret", "oauth_consumer_key"}
)
#: The ways an "@" is written in the texts this package handles: as is, percent-encoded (URLs), as a
#: JSON escape, as an HTML character reference, full-width.
_AT = re.compile(r"@|%40|\\u0040|&#0*64;|&#[xX]0*40;|\uff20")
#: A JSON ``\uXXXX`` escape, which may stand for any character of an address.
_JSON_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")
#: Punctuation taken as part of a local part when looking for addresses in text: the RFC 5322 atext
#: characters that rarely delimit text. ``'=&?/{}|`` and the backtick are left out, so that
#: ``recipient='jan@example.com'`` keeps its ``recipient='`` (a local part holding one of them is masked
#: from after it).
_LOCAL_PUNCT = frozenset("._%+-!#$*^~")
_DOMAIN_PUNCT = frozenset(".-%")


def _in_address(ch: str, punctuation: frozenset[str]) -> bool:
    """Whether ``ch`` can be part of an address in free text: letters and digits of any script, combining
    marks, invisible format characters (a zero-width space hides nothing), the given punctuation."""
    return ch.isalnum() or ch in punctuation or unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf")


def _local_start(text: str, at: int, floor: int) -> int:
    """Where the local part that ends at ``at`` starts (``at`` itself when there is none)."""
    i = at
    while i > floor:
        ch = text[i - 1]
        if _in_address(ch, _LOCAL_PUNCT) or (ch == "\\" and _JSON_ESCAPE.match(text, i - 1)):
            i -= 1
        else:
            break
    return i


def _has_domain(text: str, start: int) -> bool:
    """Whether a host name (anything with a letter or digit, in any script or escaped) starts at
    ``start``."""
    i = start
    while i < len(text):
        escape = _JSON_ESCAPE.match(text, i)
        if escape:
            return True
        ch = text[i]
        if ch.isalnum():
            return True
        if not _in_address(ch, _DOMAIN_PUNCT):
            return False
        i += 1
    return False


def looks_like_address(text: str) -> bool:
    """Whether ``text`` holds an ``@`` in any of its written forms (``@``, ``%40``, ``\\u0040``,
    ``&#64;``, full-width U+FF20), so that showing it could show an e-mail address."""
    return _AT.search(text) is not None


def mask_email(value: str) -> str:
    """Return ``value`` with the local part of an e-mail address hidden: ``j***@example.com``.

    A value without ``@`` keeps only its first character (``j***``); an empty value stays empty.
    Anything after the first ``@`` that looks like another address is masked as well.

    :param value: one address (a recipient, a user name), not free text: see :func:`redact_text`.
    """
    if not value:
        return value
    local, at, domain = value.partition("@")
    if not at:
        return value[0] + "***"
    return local[:1] + "***@" + redact_text(domain)


def redact_text(text: str) -> str:
    """Return ``text`` with the local part of every e-mail address in it masked: ``j***@example.com``.

    Found wherever an ``@`` (also written ``%40``, ``\\u0040``, ``&#64;``, ``&#x40;`` or full-width as U+FF20) has a
    local part before it and a host name after it: upper case, ``+`` tags, subdomains, letters of any
    script (``zażółć@łódź.pl``), percent-encoded or JSON-escaped characters, and addresses quoted in
    JSON or Python reprs. The domain stays visible; the ``@`` keeps the form it had. Text without an
    address comes back unchanged, and masking twice changes nothing.

    :param text: any text: an API message, a log line, a URL.
    """
    out: list[str] = []
    done = 0
    floor = 0
    for match in _AT.finditer(text):
        start = _local_start(text, match.start(), floor)
        floor = match.end()
        if start == match.start() or not _has_domain(text, match.end()):
            continue
        first = text[start]
        out.append(text[done:start])
        out.append((first if first.isalnum() else "") + "***")
        done = match.start()
    out.append(text[done:])
    return "".join(out)


def redact_request_echo(echo: str | None) -> str | None:
    """Return v2's ``request`` echo (path and query) with personal data masked and secrets removed."""
    if echo is None:
        return None
    path, question, query = echo.partition("?")
    if not question:
        return redact_text(path)
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    parts = []
    for name, value in pairs:
        if name in _SECRET_PARAMS:
            parts.append(f"{name}=[redacted]")
        elif name in _MASKED_PARAMS:
            parts.append(f"{name}={mask_email(value)}")
        else:
            parts.append(f"{name}={redact_text(value)}")
    return redact_text(path) + "?" + "&".join(parts)


class InfaktError(Exception):
    """Base class of every error raised by :mod:`airflow_provider_infakt.api`.

    ``retryable`` is True when sending the same request again is safe and may succeed.
    """

    retryable: bool = False
    #: Whether the message is passed through :func:`redact_text`; off only where this package writes the
    #: whole message itself and masks what it shows (:class:`InfaktValidationError`).
    _redact_message: bool = True

    def __init__(self, *args: object) -> None:
        """Keep ``args`` with every e-mail address in a text masked (:func:`redact_text`).

        :param args: the message, as for :class:`Exception`.
        """
        if self._redact_message:
            args = tuple(redact_text(a) if isinstance(a, str) else a for a in args)
        super().__init__(*args)

    def __reduce__(self) -> tuple[object, ...]:
        """Keep every subclass picklable (Airflow may ship exceptions between processes)."""
        return (_rebuild_error, (type(self), tuple(self.args), dict(self.__dict__)))


def _rebuild_error(cls: type[InfaktError], args: tuple[object, ...], state: dict[str, object]) -> InfaktError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InfaktConfigError(InfaktError, ValueError):
    """The client settings cannot work (bad URL, plain HTTP to a remote host, unknown version...)."""


class InfaktValidationError(InfaktError, ValueError):
    """A value was refused before any request was made.

    The message is the caller's, as written: :mod:`~airflow_provider_infakt.api.vocabulary` masks the
    values it shows, and its messages may show an example address (``name@example.com``) or a value
    that is not an address at all, which must be seen as typed. ``value`` is kept with any address in
    it masked. Each parameter but ``message`` is kept as an attribute of the same name.

    :param message: the message, as written.
    :param field: the name of the parameter (``doc_type``, ``recipient``, ...).
    :param value: the refused value as shown in the message (masked for e-mail addresses).
    :param allowed: the allowed values, when the field has a closed set; empty otherwise.
    :param suggestion: the allowed value the refused one most likely meant, or None.
    """

    _redact_message = False

    def __init__(
        self,
        message: str,
        *,
        field: str,
        value: object = None,
        allowed: Sequence[str] = (),
        suggestion: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = redact_text(value) if isinstance(value, str) else value
        self.allowed = tuple(allowed)
        self.suggestion = suggestion


class InfaktTransportError(InfaktError):
    """The exchange with inFakt failed below the level of an HTTP answer, or its answer was unusable.

    ``retryable`` says whether the same request may be sent again (set per instance).

    :param message: what failed.
    :param retryable: whether the same request may be sent again.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class InfaktConnectionError(InfaktTransportError):
    """No connection to inFakt could be made: nothing was sent, so nothing happened there."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class InfaktRedirectError(InfaktTransportError):
    """inFakt answered with a redirect that the client refuses to follow (credentials stay home)."""

    def __init__(self, message: str, *, status: int, location: str | None) -> None:
        super().__init__(message, retryable=False)
        self.status = status
        self.location = location


class InfaktResponseTooLargeError(InfaktTransportError):
    """The response body went over the configured size cap; reading was stopped."""

    def __init__(self, message: str, *, status: int, limit: int) -> None:
        super().__init__(message, retryable=False)
        self.status = status
        self.limit = limit


class InfaktProtocolError(InfaktTransportError):
    """inFakt answered with a success status but a body this client cannot understand."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, retryable=False)
        self.status = status


class InfaktUnknownOutcome(InfaktError):
    """A delivery was (or may have been) sent, but whether inFakt acted on it cannot be known.

    Raised for a deliver whose answer proves neither "done" nor "not done": any 5xx (503 too: a proxy
    may answer so after inFakt acted), a 4xx without inFakt's own error body or with a status inFakt
    does not use for refusals, a redirect, a success status with an unexpected body, an answer over the
    size cap, a read timeout, the per-request deadline, a connection dropped after the request went
    out. The client never resends such a request; the caller must find out (e.g. read the invoice)
    before trying again. ``reason`` says what was seen. Each parameter is kept as an attribute of the
    same name.

    :param reason: what was seen.
    :param route: the request's route name (``v2.deliver``, ``v3.deliver_via_email``...).
    :param status: the HTTP status, when one came back; None for timeouts and dropped connections.
    :param api_message: the API's own message, when one could be read.
    """

    retryable = False

    def __init__(self, reason: str, *, route: str, status: int | None = None, api_message: str | None = None) -> None:
        self.reason = redact_text(reason)
        self.route = route
        self.status = status
        self.api_message = None if api_message is None else redact_text(api_message)
        super().__init__(self._describe())

    def _describe(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        text = f"outcome unknown for {self.route} ({status}): {self.reason}"
        if self.api_message:
            text += f"; API said: {self.api_message}"
        return text + ". The request was not resent: check the invoice before delivering it again."


class InfaktAPIError(InfaktError):
    """inFakt answered with an error status.

    Each parameter is kept as an attribute of the same name.

    :param status: the HTTP status code.
    :param api_message: the API's own message (v2 ``message``, v3 ``error``), or a description of what
        came back when the body held none.
    :param request_echo: v2's ``request`` echo (path and query), e-mail addresses masked; None on v3.
    :param errors: v3 validation errors, ``{"field": ["text", ...]}``; empty when none were given.
    :param retry_after: seconds to wait as the ``Retry-After`` header said, or None.
    :param route: the request's route name, when known.
    """

    retryable = False

    def __init__(
        self,
        status: int,
        api_message: str,
        *,
        request_echo: str | None = None,
        errors: Mapping[str, Sequence[str]] | None = None,
        retry_after: float | None = None,
        route: str | None = None,
    ) -> None:
        self.status = status
        self.api_message = redact_text(api_message)
        self.request_echo = redact_request_echo(request_echo)
        self.errors: dict[str, list[str]] = {
            redact_text(str(k)): [redact_text(str(t)) for t in v] for k, v in (errors or {}).items()
        }
        self.retry_after = retry_after
        self.route = route
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" from {self.route}" if self.route else ""
        text = f"HTTP {self.status}{where}: {self.api_message}"
        if self.errors:
            details = "; ".join(f"{field}: {', '.join(texts)}" for field, texts in self.errors.items())
            text += f" ({details})"
        if self.request_echo:
            text += f" [request: {self.request_echo}]"
        return text


class InfaktBadRequestError(InfaktAPIError):
    """HTTP 400: a parameter was missing or outside its set. Sending it again will not help."""


class InfaktNotAcceptableError(InfaktBadRequestError):
    """HTTP 406: the format suffix is not one the API serves (v3 is ``.json`` only)."""


class InfaktUnprocessableError(InfaktAPIError):
    """HTTP 422: inFakt understood the request but cannot do it (e.g. the client has no e-mail address)."""


class InfaktAuthError(InfaktAPIError):
    """HTTP 401: the credentials are missing or wrong (or an OAuth signature did not verify)."""


class InfaktForbiddenError(InfaktAuthError):
    """HTTP 403: the credentials are valid but not allowed to do this (scope, plan, blocked IP)."""


class InfaktPaymentRequiredError(InfaktAPIError):
    """HTTP 402: a plan limit was reached or the feature (e.g. postal delivery) is not paid for."""


class InfaktNotFoundError(InfaktAPIError):
    """HTTP 404: no such invoice (or no such endpoint)."""


class InfaktLockedError(InfaktAPIError):
    """HTTP 423: the resource is locked."""


class InfaktRateLimitedError(InfaktAPIError):
    """HTTP 429 (and, on a read, 503): nothing was done; wait and try again.

    A deliver answered 503 raises :class:`InfaktUnknownOutcome` instead: a proxy may answer so after
    inFakt acted.
    """

    retryable = True


class InfaktQuotaExceededError(InfaktAPIError):
    """inFakt refused a delivery because the account's daily quota of invoice e-mails is used up (3,000
    a day on a paid account, 20 otherwise). Nothing was sent, and sending again the same day will not
    help: stop and try the rest tomorrow.

    inFakt does not document how it answers past the quota; any refusal (400, 402, 403, 422 or 429 with
    inFakt's own error body) whose message speaks of a daily limit is taken for this error
    (:func:`is_quota_message`). ``limit`` is the number of e-mails a day the message names, or None.
    The other parameters are those of :class:`InfaktAPIError`.

    :param status: the HTTP status code.
    :param api_message: the API's own message.
    :param limit: the daily limit the message names, or None.
    """

    retryable = False

    def __init__(self, status: int, api_message: str, *, limit: int | None = None, **kwargs: Any) -> None:
        self.limit = limit
        super().__init__(status, api_message, **kwargs)

    def _describe(self) -> str:
        return super()._describe() + " (the account's daily e-mail quota is used up; nothing was sent)"


#: A message that speaks of a daily limit or quota, in English or Polish ("dzienny limit", "limit dobowy").
_QUOTA_WORDS = re.compile(r"\b(daily|per day|a day|dzienn\w*|dobow\w*)\b", re.IGNORECASE)
_LIMIT_WORDS = re.compile(r"\b(limit\w*|quota)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\b(\d{1,3}(?:[ ,.\u00a0]\d{3})+|\d+)\b")


def is_quota_message(message: str | None) -> bool:
    """Whether an error message says that a daily limit (inFakt's daily quota of invoice e-mails) was
    reached: it names both a day ("daily", "a day", "dzienny", "dobowy") and a limit or quota.

    :param message: the API's own message, or None.
    """
    if not message:
        return False
    return _QUOTA_WORDS.search(message) is not None and _LIMIT_WORDS.search(message) is not None


def quota_limit(message: str) -> int | None:
    """The first number in a quota message (``Daily limit of 3,000 ...`` -> 3000), or None.

    :param message: the API's own message.
    """
    found = _NUMBER.search(message)
    return int(re.sub(r"\D", "", found.group(1))) if found else None


class InfaktServerError(InfaktAPIError):
    """HTTP 5xx on a request whose outcome does not matter (a read): it may be retried.

    A deliver answered with any 5xx raises :class:`InfaktUnknownOutcome` instead.
    """

    retryable = True


class InfaktLookupError(InfaktError, LookupError):
    """A lookup by something other than the id (an invoice number) found no invoice, or more than one.

    :param message: what was looked for and what was found.
    :param field: what was looked up by (``number``).
    :param value: the value looked for.
    :param matches: the ids of the invoices found (empty when none was).
    """

    def __init__(self, message: str, *, field: str, value: str, matches: Sequence[int | str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.matches = tuple(matches)


_BY_STATUS: dict[int, type[InfaktAPIError]] = {
    400: InfaktBadRequestError,
    401: InfaktAuthError,
    402: InfaktPaymentRequiredError,
    403: InfaktForbiddenError,
    404: InfaktNotFoundError,
    406: InfaktNotAcceptableError,
    422: InfaktUnprocessableError,
    423: InfaktLockedError,
    429: InfaktRateLimitedError,
    503: InfaktRateLimitedError,
}


def error_class_for_status(status: int) -> type[InfaktAPIError]:
    """Return the :class:`InfaktAPIError` subclass that stands for the HTTP ``status``.

    Unlisted 4xx map to :class:`InfaktAPIError` itself (not retryable); other 5xx to
    :class:`InfaktServerError`.
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return InfaktServerError
    return InfaktAPIError
