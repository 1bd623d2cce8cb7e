"""Mapping an answer to an exception: which statuses prove what, inFakt's own error bodies, and the
message a user reads."""

from __future__ import annotations

import html
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

from ._decode import (
    _SNIPPET,
    _as_text,
    _cap,
    _decode,
    _decode_as,
    _describe_body,
    _flat,
    _printable,
    _Unreadable,
    header_value,
    parse_retry_after,
)
from ._models import Request
from .errors import (
    InfaktAPIError,
    InfaktError,
    InfaktQuotaExceededError,
    InfaktRedirectError,
    InfaktUnknownOutcome,
    error_class_for_status,
    is_quota_message,
    quota_limit,
    redact_text,
)
from .vocabulary import Format

#: A deliver's answer proves "done" only with one of these statuses and the expected body.
DONE_STATUSES: Final = frozenset({200, 201, 202, 204})
#: A deliver's answer proves "not done" with one of these statuses and inFakt's own error body...
REFUSED_STATUSES: Final = frozenset({400, 401, 402, 403, 404, 406, 422, 423})
#: ...or with this status, whatever the body: a rate limiter refuses before anything is done.
RATE_LIMITED_STATUS: Final = 429
#: Answers after which a read (never a deliver) is sent again.
READ_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
#: Refusals that, with a message about a daily limit, stand for the daily e-mail quota (inFakt does not
#: document which status it uses: 422 "cannot be sent", 429 "limit reached" or 402 "plan limit" all fit).
QUOTA_STATUSES: Final = frozenset({400, 402, 403, 422, 429})
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_MAX_ERROR_TEXT: Final = 200
_MAX_ERROR_TEXTS: Final = 5
_MAX_ERROR_FIELDS: Final = 20
_SALVAGE_BYTES: Final = 16 * 1024


def _capped_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """v3 validation errors cut to a size an exception message can carry."""
    capped: dict[str, list[str]] = {}
    for field, texts in list(errors.items())[:_MAX_ERROR_FIELDS]:
        kept = [_cap(text, _MAX_ERROR_TEXT) for text in texts[:_MAX_ERROR_TEXTS]]
        if len(texts) > _MAX_ERROR_TEXTS:
            kept.append(f"[cut: {len(texts) - _MAX_ERROR_TEXTS} more]")
        capped[_cap(field, 80)] = kept
    if len(errors) > _MAX_ERROR_FIELDS:
        capped["[cut]"] = [f"{len(errors) - _MAX_ERROR_FIELDS} more fields"]
    return capped


def _error_fields(doc: Any) -> tuple[str | None, str | None, dict[str, list[str]]]:
    """(message, request echo, validation errors) from any of inFakt's error shapes, each cut to
    :data:`MAX_QUOTED` characters; lenient (used for reads, where nothing depends on who answered)."""
    if isinstance(doc, dict) and len(doc) == 1 and isinstance(next(iter(doc.values())), dict):
        root_name = next(iter(doc))
        if root_name == "hash":
            doc = doc[root_name]  # XML: <hash><message/><request/></hash>
    if not isinstance(doc, dict):
        return None, None, {}
    message = _as_text(doc.get("message")) or _as_text(doc.get("error"))
    if message is None and isinstance(doc.get("error"), dict):
        message = _as_text(doc["error"].get("message"))
    echo = _as_text(doc.get("request"))
    errors: dict[str, list[str]] = {}
    raw_errors = doc.get("errors")
    if isinstance(raw_errors, dict):
        for field, texts in raw_errors.items():
            items = texts if isinstance(texts, list) else [texts]
            errors[str(field)] = [_flat(str(t)) for t in items if t is not None]
    elif isinstance(raw_errors, list):
        errors["base"] = [_flat(str(t)) for t in raw_errors if t is not None]
    elif isinstance(raw_errors, str):
        message = message or raw_errors
    return (
        (_cap(_flat(message)) if message else None),
        (_cap(html.unescape("".join(echo.split()))) if echo else None),
        _capped_errors(errors),
    )


def _is_infakt_error(kind: Format, doc: Any) -> bool:
    """Whether ``doc`` is one of inFakt's own error bodies: a JSON object with a non-empty text
    ``message`` or ``error``, or a non-empty ``errors`` object or list; or v2's XML ``<hash>`` with a
    non-empty ``<message>``. Anything else (a gateway's page, another service's JSON) is not."""

    def text(value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip())

    if not isinstance(doc, dict):
        return False
    if kind == "xml":
        inner = doc.get("hash")
        return len(doc) == 1 and isinstance(inner, dict) and text(inner.get("message"))
    errors = doc.get("errors")
    return text(doc.get("message")) or text(doc.get("error")) or (isinstance(errors, (dict, list)) and bool(errors))


def _salvage_message(body: bytes) -> tuple[str | None, str | None]:
    """Pull message and request echo out of a body that is not valid JSON or XML (its first 64 KiB)."""
    text = body[:_SALVAGE_BYTES].decode("utf-8", errors="replace")
    message = echo = None
    found = _element(text, "message") or _json_string(text, r"message|error")
    if found is not None:
        message = _cap(_flat(html.unescape(found.replace("\\'", "'").replace('\\"', '"'))))
    found = _element(text, "request") or _json_string(text, "request")
    if found is not None:
        echo = _cap(html.unescape("".join(found.split())))
    return message, echo


def _element(text: str, name: str) -> str | None:
    """The text of the first ``<name>...</name>`` in ``text`` (found in linear time: a lazy regex
    rescans to the end from every opening tag, which is quadratic on a body of opening tags)."""
    start = text.find(f"<{name}>")
    if start < 0:
        return None
    start += len(name) + 2
    end = text.find(f"</{name}>", start)
    return text[start:end] if end >= 0 else None


def _json_string(text: str, names: str) -> str | None:
    """The first JSON string value of a key matching ``names`` (a regex alternation) in ``text``."""
    found = re.search(rf'"(?:{names})"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    return found.group(1) if found else None


def _redirect_target(headers: Mapping[str, str]) -> str | None:
    """Where a redirect points, for a message: scheme, host and path only (no query: it may hold
    personal data), cut short; None without a Location header."""
    location = header_value(headers, "Location")
    if not location:
        return None
    try:
        parts = urllib.parse.urlsplit(location.strip())
    except ValueError:
        return _cap(redact_text(repr(location)), 80)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path
    return _cap(_printable(redact_text(shown)), 200)


def _api_error(request: Request, status: int, headers: Mapping[str, str], body: bytes, now: float) -> InfaktError:
    """The :class:`InfaktAPIError` subclass for ``status``, with the API's message (or a description of
    the body when it held none)."""
    message: str | None = None
    echo: str | None = None
    errors: dict[str, list[str]] = {}
    try:
        if body.strip():
            message, echo, errors = _error_fields(_decode(body, headers, request.format))
    except _Unreadable:
        message, echo = _salvage_message(body)
        content_type = (header_value(headers, "Content-Type") or "").lower()
        if message is None and content_type.startswith("text/plain") and body.strip():
            text = _flat(body[: _SNIPPET * 4].decode("utf-8", errors="replace"))
            message = redact_text(text[:_SNIPPET] + ("..." if len(text) > _SNIPPET else ""))
    if message is None and errors:
        message = "validation failed"
    if message is None:
        message = f"no error message in the answer ({_describe_body(headers, body)})"
    retry_after = parse_retry_after(header_value(headers, "Retry-After"), now)
    return _refusal(request, status, message, echo, errors, retry_after)


def _refusal(
    request: Request,
    status: int,
    message: str,
    echo: str | None,
    errors: dict[str, list[str]],
    retry_after: float | None,
) -> InfaktAPIError:
    """The status's :class:`InfaktAPIError`, or :class:`InfaktQuotaExceededError` for a refusal whose
    message speaks of a daily limit."""
    if status in QUOTA_STATUSES and is_quota_message(message):
        return InfaktQuotaExceededError(
            status,
            message,
            limit=quota_limit(message),
            request_echo=echo,
            errors=errors,
            retry_after=retry_after,
            route=request.route,
        )
    cls = error_class_for_status(status)
    return cls(status, message, request_echo=echo, errors=errors, retry_after=retry_after, route=request.route)


def _is_replay(message: str | None) -> bool:
    """Whether an OAuth 1.0a refusal says the request's nonce was seen before: a replay of it, not a
    refusal of what it asks for."""
    return message is not None and "nonce" in message.lower()


def _deliver_error(request: Request, status: int, headers: Mapping[str, str], body: bytes, now: float) -> InfaktError:
    """The exception for a deliver's answer that is not a success: "not done" only for 429 and for
    inFakt's own error body with a status of :data:`REFUSED_STATUSES`; an unknown outcome otherwise."""
    if status == RATE_LIMITED_STATUS:
        return _api_error(request, status, headers, body, now)
    own = False
    message: str | None = None  # only inFakt's own error body has one
    try:
        kind, doc = _decode_as(body, headers, request.format)
    except _Unreadable:
        pass
    else:
        own = _is_infakt_error(kind, doc)
        if own:
            message, echo, errors = _error_fields(doc)
    seen = _describe_body(headers, body)
    if status in REFUSED_STATUSES:
        if own and status == 401 and _is_replay(message):
            return InfaktUnknownOutcome(
                f"HTTP 401 but inFakt says the request's OAuth nonce was used already ({redact_text(message or '')}): "
                "a copy of this very request reached it before (a proxy may resend a GET), and that copy may "
                "have been delivered, so this answer proves nothing",
                route=request.route,
                status=status,
            )
        if own:
            retry_after = parse_retry_after(header_value(headers, "Retry-After"), now)
            return _refusal(request, status, message or "validation failed", echo, errors, retry_after)
        reason = (
            f"the answer is HTTP {status} without inFakt's own error body ({seen}); a proxy, gateway or "
            "load balancer may have answered, so it proves nothing"
        )
    elif 300 <= status < 400:
        target = _redirect_target(headers)
        reason = (
            f"the answer is HTTP {status}, a redirect to {target or 'nowhere (no Location)'}; a delivery is "
            "never sent again, not even to follow a redirect"
        )
    elif status >= 500:
        reason = f"the server answered HTTP {status} ({seen}); a proxy may answer so after inFakt acted"
    else:
        reason = f"HTTP {status} is not an answer that proves whether inFakt acted ({seen})"
    return InfaktUnknownOutcome(reason, route=request.route, status=status, api_message=message)


def error_for(
    request: Request, status: int, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> InfaktError:
    """The exception that stands for an error answer (the caller raises it).

    For a deliver (a request that is not idempotent) the rule of :func:`parse_deliver` applies: 429, and
    inFakt's own error body with a status of :data:`REFUSED_STATUSES`, give the status's
    :class:`InfaktAPIError`; anything else gives :class:`InfaktUnknownOutcome`.

    For any other request a redirect gives :class:`InfaktRedirectError`; anything else the
    :class:`InfaktAPIError` subclass for the status, with the API's own message (cut to
    :data:`MAX_QUOTED` characters), or a description of the body when it held none.
    """
    moment = time.time() if now is None else now
    if not request.idempotent:
        return _deliver_error(request, status, headers, body, moment)
    if status in REDIRECT_STATUSES:
        shown = _redirect_target(headers)
        return InfaktRedirectError(
            f"HTTP {status} from {request.route} redirects to {shown or 'nowhere'}; not followed",
            status=status,
            location=shown,
        )
    return _api_error(request, status, headers, body, moment)


def is_quota_answer(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an answer is inFakt's refusal for the daily e-mail quota (sending again the same day is
    pointless, so the policy does not retry it even as a 429).

    :param request: the request answered.
    :param status: the answer's status.
    :param headers: its headers.
    :param body: its body.
    """
    if status not in QUOTA_STATUSES:
        return False
    return isinstance(error_for(request, status, headers, body), InfaktQuotaExceededError)


def _check(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> None:
    if not 200 <= status < 300:
        raise error_for(request, status, headers, body)
