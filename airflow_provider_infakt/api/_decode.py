"""Decoding answers: headers, Retry-After, JSON and XML bodies (with the seed's quirks), and the small
helpers that quote values from an answer safely in messages.

XML is parsed with xmltodict, imported only when an XML body is met."""

from __future__ import annotations

import json
import re
import xml.parsers.expat
from collections.abc import Mapping
from typing import Any, Final

from .errors import redact_text
from .vocabulary import Format

#: The longest API message (or request echo) quoted in an exception; longer ones are cut, saying so.
MAX_QUOTED: Final = 500
_MAX_DEPTH: Final = 64
_MAX_ELEMENTS: Final = 200_000
_MAX_ID: Final = 2**63 - 1
_INT_TEXT: Final = re.compile(r"-?[0-9]{1,19}")
_SNIPPET: Final = 160


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in any mapping, looked up case-insensitively."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date (relative to the
    Unix time ``now``). None when absent or unreadable; never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        # deferred: email.utils costs ~8 ms (socket, datetime, random...) in plain Python, where the
        # api package is used too; only an HTTP-date Retry-After needs it
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return max(0.0, seconds)


class _Unreadable(Exception):
    """The body could not be decoded; the message says what came back (safe for users)."""


def _cap(text: str, limit: int = MAX_QUOTED) -> str:
    """``text`` cut to ``limit`` characters, saying so (API messages may be megabytes long)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [cut: {len(text)} characters in all]"


def _shown(value: object, limit: int = 40) -> str:
    """A short ``repr`` of a value from an answer; never fails on huge integers."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<an integer of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x00``), for messages."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _describe_body(headers: Mapping[str, str], body: bytes) -> str:
    content_type = _cap(_printable(header_value(headers, "Content-Type") or "no Content-Type"), 80)
    if not body:
        return f"an empty body ({content_type})"
    text = body[: _SNIPPET * 4].decode("utf-8", errors="replace")
    text = redact_text(" ".join(text.split()))
    if len(text) > _SNIPPET:
        text = text[:_SNIPPET] + "..."
    return f"{len(body)} bytes of {content_type}: {text!r}"


def _sniff(body: bytes) -> Format | None:
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    if stripped[:1] == b"<":
        return "xml"
    return None


def _load_json(body: bytes, headers: Mapping[str, str]) -> Any:
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        return json.loads(text)
    except ValueError:  # also a number over Python's int-string conversion limit
        pass
    # The seed prints bodies with \' escapes and line breaks inside strings: accept those too.
    try:
        return json.loads(text.replace("\\'", "'"), strict=False)
    except ValueError:
        raise _Unreadable(f"unreadable JSON ({_describe_body(headers, body)})") from None


def _xml_value(node: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise _Unreadable(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(node, list):
        return [_xml_value(item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if str(node.get("@nil", "")).lower() == "true":
        return None
    if node.get("@type") == "array":
        items: list[Any] = []
        for key, child in node.items():
            if not key.startswith("@"):
                items.extend(child if isinstance(child, list) else [child])
        return [_xml_value(item, depth + 1) for item in items]
    out: dict[str, Any] = {}
    for key, child in node.items():
        if key in ("@type", "@nil"):
            continue
        out[key[1:] if key.startswith("@") else key] = _xml_value(child, depth + 1)
    if set(out) == {"#text"}:
        return out["#text"]
    return out


def _check_xml_shape(data: bytes) -> None:
    """Refuse, cheaply and before building anything, an XML document nested deeper than
    :data:`_MAX_DEPTH` levels, with more than :data:`_MAX_ELEMENTS` elements, or declaring entities
    (xmltodict would build a dict per element first, and recurse through them after). Syntax errors
    are left to the real parse."""
    depth = 0
    count = 0

    def start(name: str, attributes: object) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > _MAX_DEPTH:
            raise _Unreadable(f"nested deeper than {_MAX_DEPTH} levels")
        if count > _MAX_ELEMENTS:
            raise _Unreadable(f"more than {_MAX_ELEMENTS} elements")

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def entity(*args: object) -> None:
        raise _Unreadable("it declares entities")

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError:
        return


def _load_xml(body: bytes, headers: Mapping[str, str]) -> Any:
    import xmltodict  # deferred: third-party, only v2 XML answers need it

    text = body.decode("utf-8", errors="replace").lstrip("\ufeff")
    attempts = [text]
    if '\\"' in text:  # the seed's error body prints its XML declaration with escaped quotes
        attempts.append(text.replace('\\"', '"'))
    for candidate in attempts:
        data = candidate.encode("utf-8")
        try:
            _check_xml_shape(data)
            parsed = xmltodict.parse(data, disable_entities=True)
        except _Unreadable as exc:
            raise _Unreadable(f"unreadable XML, {exc} ({_describe_body(headers, body)})") from None
        except (xml.parsers.expat.ExpatError, ValueError):
            continue
        try:
            return _xml_value(parsed)
        except _Unreadable as exc:
            raise _Unreadable(f"unreadable XML, {exc} ({_describe_body(headers, body)})") from None
    raise _Unreadable(f"unreadable XML ({_describe_body(headers, body)})")


def _decode_as(body: bytes, headers: Mapping[str, str], expected: Format) -> tuple[Format, Any]:
    """(the format met, the decoded document); raises :class:`_Unreadable`, never a raw error."""
    kind = _sniff(body) or expected
    if not body.strip():
        raise _Unreadable(_describe_body(headers, body))
    try:
        return kind, (_load_xml(body, headers) if kind == "xml" else _load_json(body, headers))
    except RecursionError:  # json nests by recursion: a deeply nested answer must not escape raw
        raise _Unreadable(f"nested too deeply to read ({_describe_body(headers, body)})") from None


def _decode(body: bytes, headers: Mapping[str, str], expected: Format) -> Any:
    return _decode_as(body, headers, expected)[1]


def _as_int(value: Any) -> int | None:
    """An int from an int or a string of ASCII digits (at most 19, so never over Python's int-string
    conversion limit), within a signed 64-bit range; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -_MAX_ID <= value <= _MAX_ID else None
    if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
        return number if -_MAX_ID <= number <= _MAX_ID else None
    return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _shown(value) if isinstance(value, int) and value.bit_length() > 64 else str(value)
    return None


def _flat(text: str) -> str:
    return " ".join(text.split())
