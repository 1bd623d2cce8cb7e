"""Reading what a request carries, strictly: ids, e-mail addresses, numbers, JSON and form bodies.

Every function here either returns a clean value or raises :class:`BadInput` with a message fit for the
answer's body; nothing here raises anything else on any input, so no input can turn into a 500. Pure
Python, no aiohttp.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, TypeGuard

#: An invoice id in a path or a parameter: ASCII digits only (``str.isdigit`` also accepts U+0661, the
#: Arabic-Indic one, which ``int()`` reads as 1, and U+00B2, the superscript two, which ``int()``
#: refuses). More than 18 digits cannot be an id of ours.
_ID = re.compile(r"[0-9]{1,18}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: One address, nothing around it: no whitespace or control characters anywhere (``$`` would let a
#: trailing newline through; ``fullmatch`` does not).
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f,;<>\"]+@[^@\s\x00-\x1f\x7f,;<>\"]+\.[^@\s\x00-\x1f\x7f,;<>\"]+")
_MAX_EMAIL = 254
#: A header value we are willing to send back (Retry-After, Location): printable ASCII only.
_HEADER_SAFE = re.compile(r"[\x20-\x7e]*")
_JSON_TYPES = ("application/json", "text/json")
_FORM_TYPE = "application/x-www-form-urlencoded"
MAX_SECONDS = 24 * 3600.0


class BadInput(ValueError):
    """The request carries something we refuse; ``str(exc)`` says what, for the answer's body."""


# -- ids -------------------------------------------------------------------------------------------
def invoice_ref(text: str, *, allow_uuid: bool = True) -> int | str | None:
    """An invoice reference from a path or parameter: the id as an ``int``, a uuid (lower-case
    ``8-4-4-4-12`` hex) as a ``str`` when ``allow_uuid``, otherwise ``None``.

    ``None`` means "no invoice can have this reference"; whether that is a 404 or a 400 is the
    route's business.

    :param text: the reference as it came (already percent-decoded).
    :param allow_uuid: whether a uuid counts (v3 and admin routes) or only a number (v2).
    """
    if _ID.fullmatch(text):
        return int(text)
    if allow_uuid and _UUID.fullmatch(text):
        return text
    return None


def looks_like_a_number(text: str) -> bool:
    """Whether ``text`` is ASCII digits (of any length): a number, though perhaps no id of ours."""
    return text.isascii() and text.isdigit()


# -- scalar values ---------------------------------------------------------------------------------
def is_email(value: object) -> bool:
    """Whether ``value`` is a string holding exactly one e-mail address and nothing else."""
    return isinstance(value, str) and len(value) <= _MAX_EMAIL and _EMAIL.fullmatch(value) is not None


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (``bool`` is not a number here, though Python says it is)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_whole(value: object) -> TypeGuard[int]:
    """An ``int`` (not a ``bool``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def seconds(field: str, value: object, *, allow_none: bool = False) -> float | None:
    """A duration in seconds: a finite number from 0 to a day; ``None`` passes if ``allow_none``.

    :param field: the field's name, for the message.
    :param value: what was given.
    :param allow_none: whether ``None`` (JSON ``null``) is a valid value.
    :raises BadInput: naming the field and the value.
    """
    if value is None and allow_none:
        return None
    if not is_number(value) or not 0 <= value <= MAX_SECONDS:
        expected = "a non-negative number or null" if allow_none else "a non-negative number"
        raise BadInput(f"{field} must be {expected} (seconds, at most {MAX_SECONDS:.0f}), not {_show(value)}.")
    return float(value)


def header_value(field: str, value: object) -> str:
    """A string safe to send back in a header: printable ASCII, no line breaks (an ``int`` is turned
    into its digits).

    :param field: the field's name, for the message.
    :param value: what was given.
    :raises BadInput: naming the field and the value.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _HEADER_SAFE.fullmatch(value) or len(value) > 2048:
        raise BadInput(f"{field} must be printable ASCII text without line breaks, not {_show(value)}.")
    return value


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


# -- bodies and queries ----------------------------------------------------------------------------
def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``.

    Refused: bytes that are not UTF-8, text that is not JSON, ``NaN`` and ``Infinity`` (not JSON),
    nesting too deep to read, a key given twice, and any JSON that is not an object.
    """
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("Request body is not valid UTF-8.") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except RecursionError:
        raise BadInput("Request body is nested too deeply.") from None
    except BadInput:
        raise
    except ValueError:
        raise BadInput("Request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise BadInput("Request body must be a JSON object.")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BadInput(f"Request body gives {key!r} more than once.")
        seen[key] = value
    return seen


def _no_constants(name: str) -> NoReturn:
    raise BadInput(f"Request body is not valid JSON ({name} is not a JSON number).")


def single_values(pairs: Iterable[tuple[str, str]], *, where: str) -> dict[str, str]:
    """Name-value pairs (a query or a form) as a dict, refusing a name given twice: which one
    would count is anyone's guess, and for a delivery a guess is not good enough.

    :param pairs: the pairs in the order given.
    :param where: where they came from (``"query string"``, ``"form body"``), for the message.
    :raises BadInput: naming the parameter given twice.
    """
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise BadInput(f"Parameter {name!r} is given more than once in the {where}.")
        values[name] = value
    return values


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """A raw (still percent-encoded) query string as name-value pairs; escapes must decode to UTF-8."""
    try:
        return urllib.parse.parse_qsl(raw_query, keep_blank_values=True, errors="strict", max_num_fields=200)
    except UnicodeDecodeError:
        raise BadInput("Query string is not valid UTF-8 once decoded.") from None
    except ValueError:
        raise BadInput("Query string has too many parameters.") from None


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """A form-encoded body as name-value pairs; its percent-escapes must decode to UTF-8."""
    try:
        text = raw.decode("ascii")
        return urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=100)
    except UnicodeDecodeError:
        raise BadInput("Form body is not valid UTF-8 (or has raw non-ASCII bytes).") from None
    except ValueError:
        raise BadInput("Form body has too many fields.") from None


def body_kind(content_type: str, has_body: bool) -> str:
    """How to read a request body from its media type: ``"json"``, ``"form"`` or ``"none"``.

    No Content-Type with a body counts as JSON (some clients send JSON without saying so); any other
    media type is refused.

    :param content_type: the ``Content-Type`` header's value (``""`` if none).
    :param has_body: whether the request has a (non-blank) body.
    :raises BadInput: for another media type, or a charset other than UTF-8.
    """
    media = content_type.partition(";")[0].strip().lower()
    if not has_body:
        return "none"
    if media in _JSON_TYPES or media.endswith("+json") or not media:
        _utf8_only(content_type)
        return "json"
    if media == _FORM_TYPE:
        return "form"
    raise BadInput(f"Unsupported Content-Type {media!r}: send a JSON body with Content-Type: application/json.")


def _utf8_only(content_type: str) -> None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise BadInput("Request body must be UTF-8 (charset=utf-8).")


def boolean(field: str, value: object) -> bool:
    """``true``/``false`` from JSON, or the words a form sends for them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise BadInput(f"{field} must be true or false, not {_show(value)}.")


def unknown_fields(payload: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Refuse fields outside ``allowed`` (admin routes: a typo must not pass silently).

    :param payload: the JSON object given.
    :param allowed: the field names the route knows.
    :raises BadInput: naming the unknown fields and the allowed ones.
    """
    extra = sorted(set(payload) - set(allowed))
    if extra:
        raise BadInput(f"Unknown fields {extra}; allowed: {sorted(allowed)}.")
