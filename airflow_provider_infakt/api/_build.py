"""Building inFakt requests: validate the arguments, then say exactly what goes on the wire.

Private: import these from :mod:`airflow_provider_infakt.api.protocol`. No I/O here; each ``build_*``
function validates its arguments (see :mod:`.vocabulary`) before it returns a :class:`Request`.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ._decode import _MAX_ID, _shown
from ._models import Delivery, Payment, Request
from ._query import InvoiceFilters, check_date, check_invoice_filters, filter_params
from .errors import InfaktValidationError, mask_email
from .vocabulary import (
    ApiVersion,
    DeliveryType,
    DocType,
    Format,
    Locale,
    PrintType,
    print_type_for,
    validate_delivery_type,
    validate_doc_type,
    validate_invoice_id,
    validate_locale,
    validate_recipient,
    validate_send_copy,
)

if TYPE_CHECKING:
    from .settings import ClientSettings

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
@dataclasses.dataclass(frozen=True)
class DeliverArguments:
    """The arguments of one delivery, each validated for one API version (see :func:`check_deliver`).

    :param invoice_id: the invoice reference (an int id; on v3 also a uuid).
    :param type: ``mail`` or ``post``.
    :param doc_type: the seed's document type on v2, a v2 word or a v3 ``print_type`` on v3.
    :param recipient: the e-mail address to deliver to, or None for the client's own (not in ``repr``).
    :param locale: v3 e-mail language, or None.
    :param send_copy: v3: send a copy to the account's own address, or None.
    :param api_version: the API version the arguments were checked for.
    """

    invoice_id: int | str
    type: DeliveryType
    doc_type: DocType | PrintType
    recipient: str | None = dataclasses.field(repr=False)
    locale: Locale | None
    send_copy: bool | None
    api_version: ApiVersion


def check_deliver(
    settings: ClientSettings,
    invoice_id: object,
    type: object,
    doc_type: object,
    recipient: object = None,
    locale: object = None,
    send_copy: object = None,
) -> DeliverArguments:
    """Validate every argument of a delivery for ``settings``' API version, without building a request.

    :param settings: the client settings (their API version decides what is allowed).
    :param invoice_id: the invoice id (v3: or uuid).
    :param type: ``mail`` or ``post``.
    :param doc_type: the document type (the seed's words; on v3 also a ``print_type``).
    :param recipient: an e-mail address, or None.
    :param locale: v3 only: ``pl``, ``en`` or ``pe``, or None.
    :param send_copy: v3 only: a boolean, or None.
    :return: the validated arguments.
    :raises InfaktValidationError: naming the field, the value and what is allowed.
    """
    version = settings.api_version
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
    return DeliverArguments(ref, kind, doc, address, lang, copy, version)


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
    e-mail delivery only. Anything refused raises :class:`InfaktValidationError` before any I/O (see
    :func:`check_deliver`). The returned request is not idempotent: it is never resent once it may
    have arrived.
    """
    base, version, fmt = _settings_parts(settings)
    args = check_deliver(settings, invoice_id, type, doc_type, recipient, locale, send_copy)
    ref, kind, doc, address, lang, copy = (
        args.invoice_id,
        args.type,
        args.doc_type,
        args.recipient,
        args.locale,
        args.send_copy,
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
    settings: ClientSettings,
    *,
    status: object = None,
    page_size: int = 25,
    cursor: int | None = None,
    filters: InvoiceFilters | None = None,
) -> Request:
    """The request for one page of invoices, optionally only those with a normalized ``status`` and
    matching ``filters`` (checked by :func:`check_invoice_filters`; ``status`` may be given in
    either, not in both).

    ``cursor`` is None for the first page, else :attr:`InvoicePage.next_cursor` of the previous page.
    v2: ``GET {base}/invoices/list.{fmt}?page=&per_page=[&status=<Polish word>][&client_id=]
    [&<date>_od=&<date>_do=]``.
    v3: ``GET {base}/invoices.json?offset=&limit=[&q[status_eq]=][&q[number_eq]=]...`` (``unpaid`` is
    refused on v3); see :func:`filter_params`.
    """
    base, version, fmt = _settings_parts(settings)
    if filters is not None and not isinstance(filters, InvoiceFilters):
        raise InfaktValidationError(
            f"invalid filters {_shown(filters)}: expected InvoiceFilters (see check_invoice_filters)",
            field="filters",
            value=_shown(filters),
        )
    if status is not None:
        if filters is not None and filters.status is not None:
            raise InfaktValidationError(
                "invalid status: given both as status= and in filters; give it once",
                field="status",
                value=status,
            )
        filters = dataclasses.replace(
            filters or InvoiceFilters(), status=check_invoice_filters({"status": status}, version).status
        )
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
    query = filter_params(filters, version) if filters is not None else []
    if version == "v2":
        page = 1 if cursor is None else cursor
        params: list[tuple[str, str]] = [("page", str(page)), ("per_page", str(page_size)), *query]
        url = f"{base}/invoices/list.{fmt}"
    else:
        offset = 0 if cursor is None else cursor
        params = [("offset", str(offset)), ("limit", str(page_size)), *query]
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


def build_mark_paid(settings: ClientSettings, invoice_id: object, paid_date: object = None) -> Request:
    """The request that marks one invoice paid, after validating the arguments.

    v3: ``POST {base}/invoices/{ref}/paid.json`` with the JSON body ``{"paid_date": "YYYY-MM-DD"}``, or
    ``{}`` without a date (inFakt then takes the day it receives the request). v2 has no such call:
    refused before any I/O. The request is idempotent (marking a paid invoice paid on the same date
    changes nothing), so the policy may send it again after a lost answer.

    :param settings: the client settings.
    :param invoice_id: the invoice: an int, a string of digits, or an invoice uuid.
    :param paid_date: a ``datetime.date`` or a ``YYYY-MM-DD`` string, or None.
    :raises InfaktValidationError: naming the field, the value and what is allowed.
    """
    base, version, _fmt = _settings_parts(settings)
    if version != "v3":
        raise InfaktValidationError(
            "mark_paid needs API v3: inFakt's API v2 has no call to mark an invoice paid; "
            "use a v3 connection (api_version 'v3')",
            field="api_version",
            value=version,
            allowed=("v3",),
        )
    ref = validate_invoice_id(invoice_id, version)
    day = check_paid_date(paid_date)
    payload: dict[str, Any] = {} if day is None else {"paid_date": day}
    return Request(
        method="POST",
        url=f"{base}/invoices/{_path_ref(ref)}/paid.json",
        headers=(*_base_headers(settings, "json"), ("Content-Type", "application/json")),
        body=json.dumps(payload, separators=(",", ":")).encode("utf-8"),
        idempotent=True,
        route="v3.paid",
        api_version="v3",
        format="json",
        paid=Payment(invoice_id=ref, paid_date=day, api_version="v3"),
    )


def check_paid_date(paid_date: object) -> str | None:
    """``paid_date`` as ``YYYY-MM-DD``, or None when not given.

    :param paid_date: a ``datetime.date``, a ``YYYY-MM-DD`` string, or None.
    :raises InfaktValidationError: for anything else (a datetime too: a payment has a day, not a time).
    """
    if paid_date is None:
        return None
    return check_date("paid_date", paid_date).isoformat()
