"""inFakt's wire protocol without any I/O: build requests, turn answers into results or exceptions.

This is the only module that knows URLs, query strings and bodies. ``build_*`` functions validate
their arguments (see :mod:`.vocabulary`) and return a :class:`Request`; ``parse_*`` functions take the
request, the HTTP status, the response headers and the body bytes, and return a result dataclass or
raise the matching :mod:`.errors` exception. Sync and async clients only move the bytes.

v2 (the seed document):
    ``GET {base}/invoices/deliver.{fmt}?type=&doc_type=&id=[&recipient=]``,
    ``GET {base}/invoices/{id}.{fmt}``, ``GET {base}/invoices/list.{fmt}?page=&per_page=[&status=]``.
v3:
    ``POST {base}/invoices/{ref}/deliver_via_email.json`` (JSON body with ``print_type``...),
    ``POST {base}/invoices/{ref}/deliver_via_post.json``, ``GET {base}/invoices/{ref}.json``,
    ``GET {base}/invoices.json?offset=&limit=[&q[status_eq]=]``.

XML is parsed with xmltodict, imported only when an XML body is met.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .errors import (
    InfaktError,
    InfaktProtocolError,
    InfaktRedirectError,
    InfaktUnknownOutcome,
    InfaktValidationError,
    error_class_for_status,
    mask_email,
    redact_text,
)
from .vocabulary import (
    ApiVersion,
    DeliveryType,
    Format,
    Status,
    normalize_status,
    print_type_for,
    status_query_value,
    validate_delivery_type,
    validate_doc_type,
    validate_invoice_id,
    validate_locale,
    validate_recipient,
    validate_send_copy,
)

if TYPE_CHECKING:
    from .settings import ClientSettings

__all__ = [
    "MAX_PAGE_SIZE",
    "Delivery",
    "Invoice",
    "InvoicePage",
    "Request",
    "build_deliver",
    "build_get_invoice",
    "build_list_invoices",
    "error_for",
    "follow_redirect",
    "header_value",
    "parse_deliver",
    "parse_invoice",
    "parse_invoice_list",
    "parse_retry_after",
    "wrong_destination",
]

#: The largest page inFakt serves (v3 ``limit``, v2 ``per_page``).
MAX_PAGE_SIZE: Final = 100
#: A deliver's answer proves "done" only with one of these statuses and the expected body.
DONE_STATUSES: Final = frozenset({200, 201, 202, 204})
#: A deliver's answer proves "not done" with one of these statuses and inFakt's own error body...
REFUSED_STATUSES: Final = frozenset({400, 401, 402, 403, 404, 406, 422, 423})
#: ...or with this status, whatever the body: a rate limiter refuses before anything is done.
RATE_LIMITED_STATUS: Final = 429
#: Answers after which a read (never a deliver) is sent again.
READ_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
#: The longest API message (or request echo) quoted in an exception; longer ones are cut, saying so.
MAX_QUOTED: Final = 500
_MAX_ERROR_TEXT: Final = 200
_MAX_ERROR_TEXTS: Final = 5
_MAX_ERROR_FIELDS: Final = 20
_SALVAGE_BYTES: Final = 16 * 1024
_MAX_DEPTH: Final = 64
_MAX_ELEMENTS: Final = 200_000
_MAX_ID: Final = 2**63 - 1
_INT_TEXT: Final = re.compile(r"-?[0-9]{1,19}")
#: A Location every URL parser reads the same way: printable ASCII, no spaces, no backslashes.
_PLAIN_URL: Final = re.compile(r"[!-\[\]-~]+")
_SECRET_HEADERS: Final = frozenset({"authorization", "x-infakt-apikey", "cookie", "proxy-authorization"})
_SNIPPET: Final = 160
_CONTENT_TYPES: Final[Mapping[str, str]] = {"json": "application/json", "xml": "application/xml"}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Delivery:
    """A delivery inFakt accepted: which invoice, how, as which document, on which API version.

    The recipient's e-mail address is deliberately NOT kept (it is personal data and this object is
    meant for logs and XCom): ``recipient_given`` only says whether one was passed instead of the
    address on the invoice's client. ``invoice_id`` is an int when numeric, else the v3 uuid.
    """

    invoice_id: int | str
    type: DeliveryType
    doc_type: str
    api_version: ApiVersion
    recipient_given: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of all fields."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Invoice:
    """One invoice as read from inFakt.

    ``status`` is normalized over both API versions (``draft``, ``sent``, ``printed``, ``paid``,
    ``unpaid``), or None when the API sent a word this provider does not know; ``raw_status`` is the
    API's own word. ``raw`` is the invoice object as decoded (it may hold personal data: keep it out of
    logs and XCom unless you mean to).
    """

    id: int | None
    uuid: str | None
    number: str | None
    status: Status | None
    raw_status: str | None
    paid_date: str | None
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)

    @property
    def reference(self) -> int | str:
        """The id to use in later calls: the numeric id when known, else the uuid."""
        if self.id is not None:
            return self.id
        if self.uuid is not None:
            return self.uuid
        raise ValueError("invoice has neither id nor uuid")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the summary fields (``raw`` left out)."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "number": self.number,
            "status": self.status,
            "raw_status": self.raw_status,
            "paid_date": self.paid_date,
        }


@dataclasses.dataclass(frozen=True)
class InvoicePage:
    """One page of an invoice list.

    ``next_cursor`` is what to pass as ``cursor`` to :func:`build_list_invoices` for the next page (the
    v2 page number or the v3 offset), or None on the last page.
    """

    invoices: tuple[Invoice, ...]
    total_count: int | None
    next_cursor: int | None


# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class Request:
    """An HTTP request described, not sent.

    ``url`` has no query string: the query is ``params`` (in order). ``idempotent`` is False for a
    request that makes inFakt do something in the world (a delivery): such a request is never resent
    once it may have arrived. ``route`` names the call (``v2.deliver``, ``v3.invoice``...), matching the
    emulator's route names. ``delivery`` is the :class:`Delivery` a deliver request produces on success.
    The repr hides credential headers, masks e-mail addresses and leaves the body out.
    """

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    idempotent: bool = True
    route: str = ""
    api_version: ApiVersion = "v3"
    format: Format = "json"
    delivery: Delivery | None = None

    @property
    def full_url(self) -> str:
        """``url`` with the query string (spaces as ``%20``, reserved characters percent-encoded)."""
        if not self.params:
            return self.url
        return self.url + "?" + urllib.parse.urlencode(self.params, quote_via=urllib.parse.quote)

    @property
    def target(self) -> str:
        """Path and query, as v2 echoes it back."""
        parts = urllib.parse.urlsplit(self.full_url)
        return parts.path + ("?" + parts.query if parts.query else "")

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def with_header(self, name: str, value: str) -> Request:
        """A copy with header ``name`` set to ``value`` (replacing any header of that name)."""
        lowered = name.lower()
        kept = tuple((k, v) for k, v in self.headers if k.lower() != lowered)
        return dataclasses.replace(self, headers=(*kept, (name, value)))

    def __repr__(self) -> str:
        headers = {k: ("[redacted]" if k.lower() in _SECRET_HEADERS else v) for k, v in self.headers}
        params = [(k, mask_email(v) if k == "recipient" else v) for k, v in self.params]
        body = "None" if self.body is None else f"<{len(self.body)} bytes>"
        return (
            f"Request(method={self.method!r}, url={self.url!r}, params={params!r}, headers={headers!r}, "
            f"body={body}, idempotent={self.idempotent!r}, route={self.route!r})"
        )


def _settings_parts(settings: ClientSettings) -> tuple[str, ApiVersion, Format]:
    return settings.base_url.rstrip("/"), settings.api_version, settings.format


def _base_headers(settings: ClientSettings, fmt: Format) -> tuple[tuple[str, str], ...]:
    # Only the encodings the clients inflate themselves, with a bound (see ._body): never br or zstd,
    # which the HTTP libraries would otherwise offer when their optional packages are installed.
    return (
        ("Accept", _CONTENT_TYPES[fmt]),
        ("Accept-Encoding", "gzip, deflate"),
        ("User-Agent", settings.user_agent),
    )


def _path_ref(ref: int | str) -> str:
    return urllib.parse.quote(str(ref), safe="")


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------
def build_deliver(
    settings: ClientSettings,
    invoice_id: object,
    type: object,
    doc_type: object,
    recipient: object = None,
    locale: object = None,
    send_copy: object = None,
) -> Request:
    """The request that makes inFakt deliver one invoice, after validating every argument.

    v2: ``GET {base}/invoices/deliver.{fmt}?type=&doc_type=&id=[&recipient=]`` (the seed's order).
    v3: ``POST {base}/invoices/{ref}/deliver_via_email.json`` (``type="mail"``) or
    ``deliver_via_post.json`` (``type="post"``) with a JSON body ``{"print_type", "recipient"?,
    "locale"?, "send_copy"?}``; ``doc_type`` is translated to ``print_type``.

    ``locale`` and ``send_copy`` exist on v3 only; ``recipient``, ``locale`` and ``send_copy`` apply to
    e-mail delivery only. Anything refused raises :class:`InfaktValidationError` before any I/O.
    The returned request is not idempotent: it is never resent once it may have arrived.
    """
    base, version, fmt = _settings_parts(settings)
    ref = validate_invoice_id(invoice_id, version)
    kind = validate_delivery_type(type)
    doc = validate_doc_type(doc_type, version)
    address = validate_recipient(recipient) if recipient is not None else None
    lang = validate_locale(locale) if locale is not None else None
    copy = validate_send_copy(send_copy) if send_copy is not None else None
    if kind == "post":
        for field, value in (("recipient", address), ("locale", lang), ("send_copy", copy)):
            if value is not None:
                raise InfaktValidationError(
                    f"invalid {field}: it applies to e-mail delivery (type='mail') only, not to "
                    "type='post'; leave it unset",
                    field=field,
                    value=mask_email(value) if isinstance(value, str) and field == "recipient" else value,
                )
    if version == "v2":
        for field, value in (("locale", lang), ("send_copy", copy)):
            if value is not None:
                raise InfaktValidationError(
                    f"invalid {field} {value!r}: API v2 deliver has no {field} parameter; it exists on v3",
                    field=field,
                    value=value,
                )
    delivery = Delivery(
        invoice_id=ref, type=kind, doc_type=doc, api_version=version, recipient_given=address is not None
    )
    if version == "v2":
        params: list[tuple[str, str]] = [("type", kind), ("doc_type", doc), ("id", str(ref))]
        if address is not None:
            params.append(("recipient", address))
        return Request(
            method="GET",
            url=f"{base}/invoices/deliver.{fmt}",
            params=tuple(params),
            headers=_base_headers(settings, fmt),
            idempotent=False,
            route="v2.deliver",
            api_version="v2",
            format=fmt,
            delivery=delivery,
        )
    payload: dict[str, Any] = {"print_type": print_type_for(doc)}
    if address is not None:
        payload["recipient"] = address
    if lang is not None:
        payload["locale"] = lang
    if copy is not None:
        payload["send_copy"] = copy
    action = "deliver_via_email" if kind == "mail" else "deliver_via_post"
    return Request(
        method="POST",
        url=f"{base}/invoices/{_path_ref(ref)}/{action}.json",
        headers=(*_base_headers(settings, "json"), ("Content-Type", "application/json")),
        body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        idempotent=False,
        route=f"v3.{action}",
        api_version="v3",
        format="json",
        delivery=delivery,
    )


def build_get_invoice(settings: ClientSettings, invoice_id: object) -> Request:
    """The request that reads one invoice: v2 ``GET {base}/invoices/{id}.{fmt}`` (an assumption of this
    project: no official v2 page survives), v3 ``GET {base}/invoices/{id or uuid}.json``."""
    base, version, fmt = _settings_parts(settings)
    ref = validate_invoice_id(invoice_id, version)
    return Request(
        method="GET",
        url=f"{base}/invoices/{_path_ref(ref)}.{fmt}",
        headers=_base_headers(settings, fmt),
        route=f"{version}.invoice",
        api_version=version,
        format=fmt,
    )


def build_list_invoices(
    settings: ClientSettings, *, status: object = None, page_size: int = 25, cursor: int | None = None
) -> Request:
    """The request for one page of invoices, optionally only those with a normalized ``status``.

    ``cursor`` is None for the first page, else :attr:`InvoicePage.next_cursor` of the previous page.
    v2: ``GET {base}/invoices/list.{fmt}?page=&per_page=[&status=<Polish word>]``.
    v3: ``GET {base}/invoices.json?offset=&limit=[&q[status_eq]=]`` (``unpaid`` is refused on v3).
    """
    base, version, fmt = _settings_parts(settings)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InfaktValidationError(
            f"invalid page_size {page_size!r}: expected an int from 1 to {MAX_PAGE_SIZE}",
            field="page_size",
            value=page_size,
        )
    raw_status = status_query_value(status, version) if status is not None else None
    if version == "v2":
        page = 1 if cursor is None else cursor
        params: list[tuple[str, str]] = [("page", str(page)), ("per_page", str(page_size))]
        if raw_status is not None:
            params.append(("status", raw_status))
        url = f"{base}/invoices/list.{fmt}"
    else:
        offset = 0 if cursor is None else cursor
        params = [("offset", str(offset)), ("limit", str(page_size))]
        if raw_status is not None:
            params.append(("q[status_eq]", raw_status))
        url = f"{base}/invoices.json"
    return Request(
        method="GET",
        url=url,
        params=tuple(params),
        headers=_base_headers(settings, fmt),
        route=f"{version}.list",
        api_version=version,
        format=fmt,
    )


def follow_redirect(request: Request, status: int, location: str | None) -> Request:
    """The request to send after a redirect answer, or raise :class:`InfaktRedirectError`.

    Followed only when the target has the same scheme, host and port as the request (credentials never
    go anywhere else) and the method would not change (307/308 always; 301/302/303 for GET only).

    URL parsers disagree about odd URLs (``http://a:1\\@b:2/`` is host ``b`` to :mod:`urllib.parse`
    and host ``a`` to urllib3), so a ``Location`` that is not plain printable ASCII without
    backslashes, or that carries userinfo (``user@``), is refused; and the new request keeps the
    request's own scheme and host text: only the target's path and query are taken from the
    ``Location``. The clients check the destination once more, with their transport's own parser,
    just before sending (see :func:`wrong_destination`).
    """
    from .settings import url_origin

    if not location:
        raise InfaktRedirectError(
            f"HTTP {status} from {request.route} without a Location header", status=status, location=None
        )

    def refuse(why: str, shown: str | None) -> InfaktRedirectError:
        return InfaktRedirectError(
            f"HTTP {status} from {request.route} redirects to {shown or 'an unusable Location'}; {why}",
            status=status,
            location=shown,
        )

    text = location.strip(" ")
    if not _PLAIN_URL.fullmatch(text):
        raise refuse(
            "refusing a Location with control characters, spaces, backslashes or non-ASCII characters "
            "(URL parsers read such a Location differently)",
            _cap(redact_text(repr(text)), 120),
        )
    try:
        target = urllib.parse.urljoin(request.full_url, text)
        parts = urllib.parse.urlsplit(target)
        origin = url_origin(target)
    except ValueError:
        raise refuse("refusing an unparseable Location", _cap(redact_text(repr(text)), 120)) from None
    shown = _cap(redact_text(f"{parts.scheme}://{parts.netloc}{parts.path}"), 200)
    if "@" in parts.netloc or origin != url_origin(request.url):
        raise refuse(
            "that is another origin (or carries userinfo); refusing to follow it with credentials. "
            "Check the connection's host (base URL)",
            shown,
        )
    if request.method != "GET" and status not in (307, 308):
        raise refuse(f"following it would turn {request.method} into GET; refusing to follow", shown)
    own = urllib.parse.urlsplit(request.url)
    params = tuple(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    url = urllib.parse.urlunsplit((own.scheme, own.netloc, parts.path or "/", "", ""))
    return dataclasses.replace(request, url=url, params=params)


def wrong_destination(route: str, origin: tuple[str, str, int], scheme: str, host: str, port: int | None) -> str | None:
    """Why the request for ``route`` must not go out, or None when (``scheme``, ``host``, ``port``) --
    its destination as the transport itself parsed the URL -- is ``origin``, the configured base URL's.

    The clients call this for every request right before it goes out, so that no credential reaches
    another host even if :mod:`urllib.parse` and the transport were to read the URL differently.
    """
    scheme = scheme.lower()
    actual = (scheme, host.strip("[]").lower().rstrip("."), port or (443 if scheme == "https" else 80))
    wanted = (origin[0], origin[1].strip("[]").lower().rstrip("."), origin[2])
    if actual == wanted:
        return None
    return (
        f"refusing to send {route} to {actual[0]}://{_cap(actual[1], 80)}:{actual[2]}: credentials go "
        f"only to the configured {wanted[0]}://{wanted[1]}:{wanted[2]}"
    )


# ---------------------------------------------------------------------------------------------
# Decoding helpers
# ---------------------------------------------------------------------------------------------
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
    import xml.parsers.expat

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
    import xml.parsers.expat

    import xmltodict

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


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
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
    message: str | None = None
    echo: str | None = None
    errors: dict[str, list[str]] = {}
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
            cls = error_class_for_status(status)
            retry_after = parse_retry_after(header_value(headers, "Retry-After"), now)
            return cls(
                status,
                message or "validation failed",
                request_echo=echo,
                errors=errors,
                retry_after=retry_after,
                route=request.route,
            )
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
    import time

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


def _check(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> None:
    if not 200 <= status < 300:
        raise error_for(request, status, headers, body)


# ---------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------
def parse_deliver(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> Delivery:
    """The :class:`Delivery` for a deliver answer that proves inFakt acted, or raise.

    ============================================================  =======================================
    answer                                                        outcome
    ============================================================  =======================================
    200, 201, 202 or 204 with the expected body: v3 empty or a     done: the :class:`Delivery`
    JSON object (not an error); v2 ``{"invoice":{"invoice_id":N}}``
    or ``<invoice><invoice_id>N</invoice_id></invoice>`` naming
    the requested invoice (N a positive integer or digit string)
    429, whatever the body                                        not done: :class:`InfaktRateLimitedError`
    400, 401, 402, 403, 404, 406, 422, 423 with inFakt's own      not done: the status's
    error body (JSON ``message`` / ``error`` / ``errors``, XML    :class:`InfaktAPIError`
    ``<hash><message>``)
    anything else: any 5xx (503 too), a 4xx without inFakt's      :class:`InfaktUnknownOutcome`, saying
    body or with another status, a redirect, another 2xx or 1xx,  what came back
    a success status with any other body
    ============================================================  =======================================

    Transport failures (a read timeout, a dropped connection, an oversized answer, the deadline) are
    the policy's part of the same rule (:func:`.policy.failure_error`).
    """
    if request.delivery is None:
        raise ValueError("parse_deliver needs the request built by build_deliver")
    try:
        return _parse_deliver(request, request.delivery, status, headers, body)
    except InfaktError:
        raise
    except Exception as exc:  # a surprise on a deliver proves nothing; it must not pass as "not done"
        raise InfaktUnknownOutcome(
            f"HTTP {status} but the answer could not be checked ({type(exc).__name__})",
            route=request.route,
            status=status,
        ) from None


def _parse_deliver(
    request: Request, delivery: Delivery, status: int, headers: Mapping[str, str], body: bytes
) -> Delivery:
    if status not in DONE_STATUSES:
        raise error_for(request, status, headers, body)

    def unknown(reason: str) -> InfaktUnknownOutcome:
        return InfaktUnknownOutcome(f"HTTP {status} but {reason}", route=request.route, status=status)

    if request.api_version == "v3":
        if not body.strip():
            return delivery
        try:
            kind, doc = _decode_as(body, headers, "json")
        except _Unreadable as exc:
            raise unknown(str(exc)) from None
        if kind != "json" or not isinstance(doc, dict):
            raise unknown(f"the answer is not empty nor a JSON object ({_describe_body(headers, body)})")
        if _is_infakt_error(kind, doc):
            raise unknown(f"the answer is an error message ({_describe_body(headers, body)})")
        return delivery
    try:
        doc = _decode(body, headers, request.format)
    except _Unreadable as exc:
        raise unknown(str(exc)) from None
    invoice = doc.get("invoice") if isinstance(doc, dict) else None
    raw_id = invoice.get("invoice_id", invoice.get("id")) if isinstance(invoice, dict) else None
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise unknown(f"the answer names no invoice_id ({_describe_body(headers, body)})")
    number = _as_int(raw_id)
    if number is None or number <= 0:
        raise unknown(f"the answer's invoice_id {_shown(raw_id)} is not an invoice id (a positive integer)")
    if number != delivery.invoice_id:
        raise unknown(f"the answer names invoice {number}, not the one requested ({delivery.invoice_id})")
    return dataclasses.replace(delivery, invoice_id=number)


def _invoice_from(obj: Any, api_version: ApiVersion) -> Invoice:
    if not isinstance(obj, dict):
        raise _Unreadable(f"an invoice was expected, got {type(obj).__name__}")
    raw_status = _as_text(obj.get("status"))
    raw_id = obj.get("id", obj.get("invoice_id")) if api_version == "v3" else obj.get("invoice_id", obj.get("id"))
    return Invoice(
        id=_as_int(raw_id),
        uuid=_as_text(obj.get("uuid")),
        number=_as_text(obj.get("number")),
        status=normalize_status(raw_status, api_version),
        raw_status=raw_status,
        paid_date=_as_text(obj.get("paid_date")),
        raw=obj,
    )


def _unwrap(doc: Any, name: str) -> Any:
    if isinstance(doc, dict) and set(doc) == {name}:
        return doc[name]
    return doc


def parse_invoice(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> Invoice:
    """The :class:`Invoice` in a read answer (v2 ``{"invoice": {...}}`` / ``<invoice>``, v3 the object),
    or raise: the status's :class:`InfaktAPIError`, or :class:`InfaktProtocolError` for an unreadable
    body."""
    _check(request, status, headers, body)
    try:
        doc = _unwrap(_decode(body, headers, request.format), "invoice")
        invoice = _invoice_from(doc, request.api_version)
    except _Unreadable as exc:
        raise InfaktProtocolError(f"HTTP {status} from {request.route}: {exc}", status=status) from None
    if invoice.id is None and invoice.uuid is None:
        raise InfaktProtocolError(
            f"HTTP {status} from {request.route}: the invoice has no id ({_describe_body(headers, body)})",
            status=status,
        )
    return invoice


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _param(request: Request, name: str) -> int | None:
    for key, value in request.params:
        if key == name:
            return _as_int(value)
    return None


def parse_invoice_list(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> InvoicePage:
    """The :class:`InvoicePage` in a list answer, or raise (as :func:`parse_invoice`).

    v2: ``{"invoices": [...], "page", "per_page", "total_count"}`` or its XML forms. v3:
    ``{"metainfo": {"count", "total_count", "next", ...}, "entities": [...]}``.
    """
    _check(request, status, headers, body)
    try:
        doc = _decode(body, headers, request.format)
        if request.api_version == "v3":
            return _v3_page(request, doc)
        return _v2_page(request, doc)
    except _Unreadable as exc:
        raise InfaktProtocolError(f"HTTP {status} from {request.route}: {exc}", status=status) from None


def _v3_page(request: Request, doc: Any) -> InvoicePage:
    if not isinstance(doc, dict) or not isinstance(doc.get("entities"), list):
        raise _Unreadable("a list answer without 'entities'")
    invoices = tuple(_invoice_from(item, "v3") for item in doc["entities"])
    found = doc.get("metainfo")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    total = _as_int(meta.get("total_count"))
    offset = _param(request, "offset") or 0
    following = offset + len(invoices)
    if not invoices:
        next_cursor = None
    elif "next" in meta:
        next_cursor = following if meta.get("next") else None
    elif total is not None:
        next_cursor = following if following < total else None
    else:
        next_cursor = following if len(invoices) >= (_param(request, "limit") or 1) else None
    return InvoicePage(invoices=invoices, total_count=total, next_cursor=next_cursor)


def _v2_page(request: Request, doc: Any) -> InvoicePage:
    if isinstance(doc, dict) and len(doc) == 1 and next(iter(doc)) in ("hash", "invoices"):
        root_name = next(iter(doc))
        inner = doc[root_name]
        doc = inner if root_name == "hash" else {"invoices": inner}
    if not isinstance(doc, dict) or "invoices" not in doc:
        raise _Unreadable("a list answer without 'invoices'")
    container = doc["invoices"]
    meta: dict[str, Any] = dict(doc)
    if isinstance(container, dict):  # <invoices page=".." total_count=".."><invoice>..</invoice></invoices>
        meta.update({k: v for k, v in container.items() if k != "invoice"})
    items = _listify(container.get("invoice") if isinstance(container, dict) else container)
    invoices = tuple(_invoice_from(item, "v2") for item in items)
    total = _as_int(meta.get("total_count"))
    page = _as_int(meta.get("page")) or _param(request, "page") or 1
    per_page = _as_int(meta.get("per_page")) or _param(request, "per_page") or len(invoices)
    if not invoices:
        next_cursor = None
    elif total is not None:
        next_cursor = page + 1 if page * per_page < total else None
    else:
        next_cursor = page + 1 if len(invoices) >= per_page else None
    return InvoicePage(invoices=invoices, total_count=total, next_cursor=next_cursor)
