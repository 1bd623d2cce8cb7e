"""inFakt's wire protocol without any I/O: build requests, turn answers into results or exceptions.

This module and the small private ones beside it are the only code that knows URLs, query strings and
bodies: :mod:`._models` (results and :class:`Request`), :mod:`._decode` (headers, JSON and XML
bodies), :mod:`._answers` (which answer proves what; answer -> exception), :mod:`._urls` (origins,
redirects), :mod:`._xauth` (the xAuth token swap). Import from here: ``build_*`` functions validate
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
import json
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ._answers import (
    DONE_STATUSES,
    RATE_LIMITED_STATUS,
    READ_RETRY_STATUSES,
    REDIRECT_STATUSES,
    REFUSED_STATUSES,
    _check,
    _is_infakt_error,
    error_for,
)
from ._decode import (
    _MAX_ID,
    MAX_QUOTED,
    _as_int,
    _as_text,
    _decode,
    _decode_as,
    _describe_body,
    _shown,
    _Unreadable,
    header_value,
    parse_retry_after,
)
from ._models import Delivery, Invoice, InvoicePage, Request
from ._urls import follow_redirect, wrong_destination
from ._xauth import build_token_request, parse_token
from .errors import (
    InfaktError,
    InfaktProtocolError,
    InfaktUnknownOutcome,
    InfaktValidationError,
    mask_email,
)
from .vocabulary import (
    ApiVersion,
    Format,
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
    "DONE_STATUSES",
    "MAX_PAGE_SIZE",
    "MAX_QUOTED",
    "RATE_LIMITED_STATUS",
    "READ_RETRY_STATUSES",
    "REDIRECT_STATUSES",
    "REFUSED_STATUSES",
    "Delivery",
    "Invoice",
    "InvoicePage",
    "Request",
    "build_deliver",
    "build_get_invoice",
    "build_list_invoices",
    "build_token_request",
    "error_for",
    "follow_redirect",
    "header_value",
    "parse_deliver",
    "parse_invoice",
    "parse_invoice_list",
    "parse_retry_after",
    "parse_token",
    "wrong_destination",
]

#: The largest page inFakt serves (v3 ``limit``, v2 ``per_page``).
MAX_PAGE_SIZE: Final = 100
_CONTENT_TYPES: Final[Mapping[str, str]] = {"json": "application/json", "xml": "application/xml"}


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
    first = 1 if version == "v2" else 0  # v2 counts pages from 1, v3 an offset from 0
    if cursor is not None and (
        isinstance(cursor, bool) or not isinstance(cursor, int) or not first <= cursor <= _MAX_ID
    ):
        raise InfaktValidationError(
            f"invalid cursor {_shown(cursor)}: expected None or an int from {first} (a page's next_cursor)",
            field="cursor",
            value=_shown(cursor),
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
