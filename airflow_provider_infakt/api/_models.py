"""The results the protocol returns (:class:`Delivery`, :class:`Invoice`, :class:`InvoicePage`,
:class:`Payment`) and :class:`Request`, an HTTP request described, not sent. Standard library only.

Every result that names an invoice has ``invoice_id``: the id to use in later calls (an int when
numeric, else the v3 uuid). :class:`Invoice` also keeps ``id`` (the numeric id only, or None) and
``uuid``, as read."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

from .errors import mask_email
from .vocabulary import ApiVersion, DeliveryType, Format, Status

_SECRET_HEADERS: Final = frozenset({"authorization", "x-infakt-apikey", "cookie", "proxy-authorization"})


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Delivery:
    """A delivery inFakt accepted: which invoice, how, as which document, on which API version.

    The recipient's e-mail address is deliberately NOT kept (it is personal data and this object is
    meant for logs and XCom): ``recipient_given`` only says whether one was passed instead of the
    address on the invoice's client. ``invoice_id`` is an int when numeric, else the v3 uuid.

    :param invoice_id: the invoice delivered.
    :param type: how: ``mail`` or ``post``.
    :param doc_type: as which document (``org``, ``KOPIA``...).
    :param api_version: ``v2`` or ``v3``.
    :param recipient_given: whether a recipient address was passed instead of the client's.
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

    :param id: the numeric id, when the API gave one.
    :param uuid: the v3 uuid, when the API gave one.
    :param number: the invoice number, e.g. ``FV 1/2024``.
    :param status: the normalized status, or None for a word this provider does not know.
    :param raw_status: the API's own status word.
    :param paid_date: the payment date as the API wrote it, or None.
    :param raw: the invoice object as decoded.
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

    @property
    def invoice_id(self) -> int | str:
        """The same as :attr:`reference`, under the name :class:`Delivery` and :class:`Payment` use:
        ``result.invoice_id`` works on every result that names an invoice."""
        return self.reference

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the summary fields (``raw`` left out), with ``invoice_id``."""
        return {
            "invoice_id": self.id if self.id is not None else self.uuid,
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

    :param invoices: the invoices of this page.
    :param total_count: how many invoices the whole list holds, when the API says.
    :param next_cursor: the cursor of the next page, or None on the last one.
    """

    invoices: tuple[Invoice, ...]
    total_count: int | None
    next_cursor: int | None


@dataclasses.dataclass(frozen=True)
class Payment:
    """An invoice inFakt accepted to mark paid (v3 ``POST /invoices/{ref}/paid.json``).

    :param invoice_id: the invoice marked paid (an int when numeric, else the v3 uuid).
    :param paid_date: the payment date sent (``YYYY-MM-DD``), or None: inFakt takes the day it
        receives the request.
    :param api_version: the API version (``v3``: v2 has no such call).
    """

    invoice_id: int | str
    paid_date: str | None
    api_version: ApiVersion

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of all fields."""
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class Request:
    """An HTTP request described, not sent.

    ``url`` has no query string: the query is ``params`` (in order). ``idempotent`` is False for a
    request that makes inFakt do something in the world (a delivery): such a request is never resent
    once it may have arrived. ``route`` names the call (``v2.deliver``, ``v3.invoice``...), matching the
    emulator's route names. ``delivery`` is the :class:`Delivery` a deliver request produces on success,
    ``paid`` the :class:`Payment` a mark-paid request produces.
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
    paid: Payment | None = None

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
