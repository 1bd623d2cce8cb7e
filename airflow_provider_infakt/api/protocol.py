"""inFakt's wire protocol without any I/O: build requests, turn answers into results or exceptions.

This module and the small private ones beside it are the only code that knows URLs, query strings and
bodies: :mod:`._models` (results and :class:`Request`), :mod:`._build` (arguments checked, requests
built), :mod:`._decode` (headers, JSON and XML bodies), :mod:`._answers` (which answer proves what;
answer -> exception), :mod:`._urls` (origins, redirects), :mod:`._xauth` (the xAuth token swap).
Import from here: ``build_*`` functions validate their arguments (see :mod:`.vocabulary`) and return a
:class:`Request`; ``parse_*`` functions take the request, the HTTP status, the response headers and
the body bytes, and return a result dataclass or raise the matching :mod:`.errors` exception. Sync and
async clients only move the bytes.

v2 (the seed document):
    ``GET {base}/invoices/deliver.{fmt}?type=&doc_type=&id=[&recipient=]``,
    ``GET {base}/invoices/{id}.{fmt}``, ``GET {base}/invoices/list.{fmt}?page=&per_page=[&status=]``.
v3:
    ``POST {base}/invoices/{ref}/deliver_via_email.json`` (JSON body with ``print_type``...),
    ``POST {base}/invoices/{ref}/deliver_via_post.json``, ``GET {base}/invoices/{ref}.json``,
    ``GET {base}/invoices.json?offset=&limit=[&q[status_eq]=]...``, ``POST {base}/invoices/{ref}/paid.json``.

List filters (:mod:`._query`) are checked by :func:`check_invoice_filters` and written per version
by :func:`build_list_invoices`; :func:`narrow_page` re-checks each invoice of an answer against them.

XML is parsed with xmltodict, imported only when an XML body is met.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_infakt.types import FILTER_NAMES, FilterName

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
from ._build import (
    MAX_PAGE_SIZE,
    DeliverArguments,
    build_deliver,
    build_get_invoice,
    build_list_invoices,
    build_mark_paid,
    check_deliver,
    check_paid_date,
)
from ._decode import (
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
from ._models import Delivery, Invoice, InvoicePage, Payment, Request
from ._query import InvoiceFilters, check_invoice_filters, invoice_matches
from ._urls import follow_redirect, wrong_destination
from ._xauth import build_token_request, parse_token
from .errors import (
    InfaktError,
    InfaktProtocolError,
    InfaktUnknownOutcome,
)
from .vocabulary import (
    ApiVersion,
    normalize_status,
)

if TYPE_CHECKING:
    pass

__all__ = [
    "DONE_STATUSES",
    "FILTER_NAMES",
    "MAX_PAGE_SIZE",
    "MAX_QUOTED",
    "RATE_LIMITED_STATUS",
    "READ_RETRY_STATUSES",
    "REDIRECT_STATUSES",
    "REFUSED_STATUSES",
    "DeliverArguments",
    "Delivery",
    "FilterName",
    "Invoice",
    "InvoiceFilters",
    "InvoicePage",
    "Payment",
    "Request",
    "build_deliver",
    "build_get_invoice",
    "build_list_invoices",
    "build_mark_paid",
    "build_token_request",
    "check_deliver",
    "check_invoice_filters",
    "check_paid_date",
    "error_for",
    "follow_redirect",
    "header_value",
    "narrow_page",
    "parse_deliver",
    "parse_invoice",
    "parse_invoice_list",
    "parse_mark_paid",
    "parse_retry_after",
    "parse_token",
    "wrong_destination",
]


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


def narrow_page(page: InvoicePage, filters: InvoiceFilters | None) -> InvoicePage:
    """``page`` with only the invoices that pass ``filters`` (see :func:`._query.invoice_matches`);
    ``total_count`` and ``next_cursor`` stay the server's, so paging goes on as the server pages."""
    if filters is None:
        return page
    kept = tuple(
        invoice
        for invoice in page.invoices
        if invoice_matches(
            filters, invoice_id=invoice.id, status=invoice.status, number=invoice.number, raw=invoice.raw
        )
    )
    return page if len(kept) == len(page.invoices) else dataclasses.replace(page, invoices=kept)


def parse_mark_paid(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> Payment:
    """The :class:`Payment` for a mark-paid answer with a 2xx status (inFakt answers 204 with no body,
    or 201 when it queues the change; the body is not read), or raise the status's
    :class:`InfaktAPIError` (a 422 names the field inFakt refused)."""
    if request.paid is None:
        raise ValueError("parse_mark_paid needs the request built by build_mark_paid")
    _check(request, status, headers, body)
    return request.paid
