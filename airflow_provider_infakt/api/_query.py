"""Invoice list filters: checked once, then written as each API version's query, and re-checked on
each invoice that comes back.

Private: import these from :mod:`airflow_provider_infakt.api.protocol`. Standard library only.

Each filter is a name this module knows (:data:`FILTER_NAMES`) with a value checked for its kind
(a status, an invoice number, a positive id, a date). Nothing else reaches the query string: an
unknown name is refused, and every value is percent-encoded by :attr:`.Request.full_url`, so a value
such as ``"1&q[status_eq]=paid"`` stays one value and cannot add a parameter.

v3 speaks Ransack predicates (``q[<field>_<predicate>]``, inclusive ranges ``_gteq``/``_lteq``); v2
knows ``status`` (Polish), ``client_id`` and date ranges with ``_od``/``_do`` suffixes (an assumption
of this project, from inFakt's 2015 v2 list page: no byte-exact example survives). What an API version
cannot filter on (v2: the number and the id range) is filtered here, on each invoice read, and so is
everything else, so that a server that ignores a predicate still yields only matching invoices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Mapping
from typing import Any, Final

from airflow_provider_infakt.types import FILTER_NAMES

from .errors import InfaktValidationError, redact_text
from .vocabulary import ApiVersion, Status, status_query_value, validate_status

# The filter names are argument types of the hook and the list operator: they live in ..types.
#: The date fields a range may be given for (``<field>_from`` / ``<field>_to``, both inclusive).
DATE_FIELDS: Final = ("invoice_date", "sale_date", "paid_date")
_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_NUMBER_LENGTH: Final = 200
_MAX_ID: Final = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class InvoiceFilters:
    """Checked invoice list filters; None means "not filtered on". Dates are inclusive.

    :param status: only invoices with this normalized status.
    :param number: only the invoice with exactly this number (``FV/1/2026``).
    :param client_id: only invoices of this client.
    :param id_from: only invoices with an id at least this.
    :param id_to: only invoices with an id at most this.
    :param invoice_date_from: issued on or after this date.
    :param invoice_date_to: issued on or before this date.
    :param sale_date_from: sold on or after this date.
    :param sale_date_to: sold on or before this date.
    :param paid_date_from: paid on or after this date.
    :param paid_date_to: paid on or before this date.
    """

    status: Status | None = None
    number: str | None = None
    client_id: int | None = None
    id_from: int | None = None
    id_to: int | None = None
    invoice_date_from: dt.date | None = None
    invoice_date_to: dt.date | None = None
    sale_date_from: dt.date | None = None
    sale_date_to: dt.date | None = None
    paid_date_from: dt.date | None = None
    paid_date_to: dt.date | None = None

    def given(self) -> dict[str, str]:
        """The filters set, as text (dates ``YYYY-MM-DD``), for logs and messages."""
        shown: dict[str, str] = {}
        for name in FILTER_NAMES:
            value = getattr(self, name)
            if value is not None:
                shown[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return shown


def _refuse(field: str, value: object, expected: str) -> InfaktValidationError:
    shown = redact_text(repr(value))
    if len(shown) > 60:
        shown = shown[:60] + f"... ({len(shown)} characters)"
    return InfaktValidationError(f"invalid {field} {shown}: expected {expected}", field=field, value=shown)


def _positive_int(field: str, value: object) -> int:
    expected = "a positive integer (an int or a string of digits)"
    if isinstance(value, bool):
        raise _refuse(field, value, expected)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 19:
        value = int(value.strip())
    if not isinstance(value, int) or not 0 < value <= _MAX_ID:
        raise _refuse(field, value, expected)
    return value


def check_date(field: str, value: object) -> dt.date:
    """``value`` as a date: a ``datetime.date`` (not a datetime) or a ``YYYY-MM-DD`` string.

    :param field: the argument's name, for the message.
    :param value: what was given.
    :raises InfaktValidationError: naming the field, the value and what is allowed.
    """
    expected = "a date: a datetime.date or a 'YYYY-MM-DD' string (e.g. '{{ ds }}' in a template)"
    if isinstance(value, dt.datetime):
        raise _refuse(field, value, expected + "; a datetime is not a date (use its .date())")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise _refuse(field, value, expected + "; that day does not exist") from None
    raise _refuse(field, value, expected)


def _number(value: object) -> str:
    expected = f"an invoice number: a non-empty string of at most {_MAX_NUMBER_LENGTH} characters"
    if not isinstance(value, str) or not value.strip():
        raise _refuse("number", value, expected)
    if len(value) > _MAX_NUMBER_LENGTH or not value.isprintable():
        raise _refuse("number", value, expected + ", without control characters")
    return value


def _unknown(name: object) -> InfaktValidationError:
    allowed = ", ".join(FILTER_NAMES)
    text = name if isinstance(name, str) else ""
    close = difflib.get_close_matches(text, FILTER_NAMES, n=1, cutoff=0.6)
    suggestion = close[0] if close else None
    message = f"unknown invoice filter {redact_text(repr(name))[:60]}: allowed filters are {allowed}"
    if suggestion is not None:
        message += f"; did you mean {suggestion!r}?"
    return InfaktValidationError(
        message, field="filters", value=redact_text(repr(name))[:60], allowed=FILTER_NAMES, suggestion=suggestion
    )


def check_invoice_filters(filters: Mapping[str, object], api_version: ApiVersion) -> InvoiceFilters:
    """Check every filter (name and value) for ``api_version``, before any request.

    A None value means "not filtered on". Names are those of :data:`FILTER_NAMES`; ``status`` is a
    normalized status (``unpaid`` exists on v2 only); ``number`` a non-empty string, matched exactly;
    ``client_id``, ``id_from`` and ``id_to`` positive integers (or strings of digits); the dates a
    ``datetime.date`` or a ``YYYY-MM-DD`` string. A range's start must not be after its end.

    :param filters: the filters by name.
    :param api_version: the API the list is read from.
    :return: the checked filters.
    :raises InfaktValidationError: naming the filter, the value and what is allowed.
    """
    values: dict[str, Any] = {}
    for name, value in filters.items():
        if name not in FILTER_NAMES:
            raise _unknown(name)
        if value is None:
            continue
        if name == "status":
            status_query_value(value, api_version)  # refuses 'unpaid' on v3
            values[name] = validate_status(value)
        elif name == "number":
            values[name] = _number(value)
        elif name in ("client_id", "id_from", "id_to"):
            values[name] = _positive_int(name, value)
        else:
            values[name] = check_date(name, value)
    checked = InvoiceFilters(**values)
    for field in ("id", *DATE_FIELDS):
        low, high = getattr(checked, f"{field}_from"), getattr(checked, f"{field}_to")
        if low is not None and high is not None and low > high:
            raise InfaktValidationError(
                f"invalid {field}_from {str(low)!r}: it is after {field}_to {str(high)!r}, so no invoice "
                "can match; a range's start must not be after its end (both are inclusive)",
                field=f"{field}_from",
                value=str(low),
            )
    return checked


def filter_params(filters: InvoiceFilters, api_version: ApiVersion) -> list[tuple[str, str]]:
    """The query parameters that ask the server for ``filters`` (in :data:`FILTER_NAMES` order).

    v3: ``q[status_eq]``, ``q[number_eq]``, ``q[client_id_eq]``, ``q[id_gteq]``/``q[id_lteq]``,
    ``q[<date field>_gteq]``/``q[<date field>_lteq]``. v2: ``status`` (the Polish word),
    ``client_id``, ``<date field>_od``/``<date field>_do``; the number and the id range are checked
    on each invoice read instead (:func:`invoice_matches`).
    """
    params: list[tuple[str, str]] = []
    if api_version == "v3":
        suffixes = {"from": "gteq", "to": "lteq"}
        for name, text in filters.given().items():
            if name == "status":
                params.append(("q[status_eq]", status_query_value(text, "v3")))
            elif name in ("number", "client_id"):
                params.append((f"q[{name}_eq]", text))
            else:
                field, _, end = name.rpartition("_")
                params.append((f"q[{field}_{suffixes[end]}]", text))
        return params
    for name, text in filters.given().items():
        if name == "status":
            params.append(("status", status_query_value(text, "v2")))
        elif name == "client_id":
            params.append(("client_id", text))
        elif name.endswith(("_date_from", "_date_to")):
            field, _, end = name.rpartition("_")
            params.append((f"{field}_{'od' if end == 'from' else 'do'}", text))
    return params


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 19:
        return int(value.strip())
    return None


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value.strip()[:10]):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def invoice_matches(
    filters: InvoiceFilters,
    *,
    invoice_id: int | None,
    status: Status | None,
    number: str | None,
    raw: Mapping[str, Any],
) -> bool:
    """Whether one invoice read from a list passes ``filters``.

    Fields the invoice carries are compared; a field the answer leaves out entirely (an older answer
    shape) is taken as the server's business. A range on a field that is present but empty
    (``paid_date: null``) does not match, as the server's own comparison would not.

    :param filters: the checked filters.
    :param invoice_id: the invoice's numeric id, if any.
    :param status: its normalized status.
    :param number: its number.
    :param raw: the invoice object as decoded (for ``client_id`` and the dates).
    """
    if filters.status is not None and status != filters.status:
        return False
    if filters.number is not None and number != filters.number:
        return False
    if filters.client_id is not None and "client_id" in raw and _as_int(raw["client_id"]) != filters.client_id:
        return False
    if invoice_id is not None:
        if filters.id_from is not None and invoice_id < filters.id_from:
            return False
        if filters.id_to is not None and invoice_id > filters.id_to:
            return False
    for field in DATE_FIELDS:
        low, high = getattr(filters, f"{field}_from"), getattr(filters, f"{field}_to")
        if (low is None and high is None) or field not in raw:
            continue
        day = _as_date(raw[field])
        if day is None or (low is not None and day < low) or (high is not None and day > high):
            return False
    return True
