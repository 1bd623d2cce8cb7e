"""The emulator's account state: clients, invoices, deliveries, the request log.

Pure Python and thread-safe: the HTTP server runs in its own thread while tests read the state from
theirs. Every public method takes the state's lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._inputs import invoice_ref, is_email, is_number, is_whole

if TYPE_CHECKING:
    from ._limits import SlidingWindowLimits
    from .faults import Fault, FaultBook

#: Internal status words; they are the provider's normalized statuses.
STATUSES = ("draft", "sent", "printed", "paid", "unpaid")
V2_STATUS = {
    "draft": "szkic",
    "sent": "wysłana",
    "printed": "wydrukowana",
    "paid": "zapłacona",
    "unpaid": "niezapłacona",
}
V2_STATUS_REVERSE = {v: k for k, v in V2_STATUS.items()}
#: v3 knows no "unpaid": an unpaid invoice has been sent.
V3_STATUS = {"draft": "draft", "sent": "sent", "printed": "printed", "paid": "paid", "unpaid": "sent"}

DELIVERY_TYPES = ("mail", "post")
DOC_TYPES = ("org", "KOPIA", "org_kop", "d_org", "d_kop")
PRINT_TYPES = ("original", "copy", "original_duplicate", "copy_duplicate", "duplicate", "regular")
#: v3 print_type -> the seed's doc_type word, for the delivery record.
PRINT_TYPE_TO_DOC_TYPE = {
    "original": "org",
    "copy": "KOPIA",
    "original_duplicate": "d_org",
    "copy_duplicate": "d_kop",
}
LOCALES = ("pl", "en", "pe")
#: The largest gross price (grosze) the emulator accepts for a created invoice.
MAX_GROSS_PRICE = 10**15
#: Invoice e-mails a day, as inFakt documents them: on a paid account, and otherwise.
#: The most invoices one :meth:`Account.create_invoices` call adds.
MAX_BULK_INVOICES = 100_000
PAID_EMAILS_PER_DAY = 3000
FREE_EMAILS_PER_DAY = 20

_UUID_NAMESPACE = uuid.UUID("6f1c9a52-3b7e-4f1e-9a57-0c1f3e2b8d11")


@dataclasses.dataclass
class Client:
    """A customer of the demo account."""

    id: int
    company_name: str
    email: str | None


@dataclasses.dataclass
class Invoice:
    """An invoice of the demo account; ``status`` is one of :data:`STATUSES`."""

    id: int
    uuid: str
    number: str
    client_id: int
    status: str
    gross_price: int  # in grosze, as v3 does
    issue_date: str  # the invoice date: inFakt's ``invoice_date`` (served under both names)
    paid_date: str | None = None
    sale_date: str | None = None  # None: the invoice date
    payment_date: str | None = None  # the payment due date; None: 14 days after the invoice date
    paid_at: float | None = None  # when it was marked paid (Unix time); admin only, inFakt shows the date

    @property
    def due_date(self) -> str:
        """``payment_date``, or 14 days after the invoice date when none was set."""
        if self.payment_date is not None:
            return self.payment_date
        return (dt.date.fromisoformat(self.issue_date) + dt.timedelta(days=14)).isoformat()

    def v3(self, client: Client) -> dict[str, Any]:
        """The invoice as v3 serves it (no client e-mail address: that is personal data). The invoice
        date is ``invoice_date``, as inFakt names it; ``issue_date`` (the emulator's older name) is kept."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "number": self.number,
            "kind": "vat",
            "status": V3_STATUS[self.status],
            "currency": "PLN",
            "gross_price": self.gross_price,
            "invoice_date": self.issue_date,
            "sale_date": self.sale_date or self.issue_date,
            "payment_date": self.due_date,
            "issue_date": self.issue_date,
            "paid_date": self.paid_date,
            "client_id": self.client_id,
            "client_company_name": client.company_name,
        }

    def admin(self, client: Client) -> dict[str, Any]:
        """The invoice as the admin routes show it: as v3 serves it, plus the internal status, the
        client's e-mail address and when it was marked paid (``paid_at``, Unix time, or None)."""
        return {
            **self.v3(client),
            "internal_status": self.status,
            "client_email": client.email,
            "paid_at": self.paid_at,
        }

    def v2(self, client: Client) -> dict[str, Any]:
        """The invoice as the emulator's (assumed) v2 read call serves it."""
        return {
            "invoice_id": self.id,
            "number": self.number,
            "status": V2_STATUS[self.status],
            "client_id": self.client_id,
            "client_company_name": client.company_name,
            "gross_price": f"{self.gross_price / 100:.2f}",
            "invoice_date": self.issue_date,
            "sale_date": self.sale_date or self.issue_date,
            "issue_date": self.issue_date,
            "paid_date": self.paid_date,
        }


@dataclasses.dataclass(frozen=True)
class DeliveryRecord:
    """One delivery the emulator carried out: what a real customer would have received.

    ``doc_type`` is in the seed's words (``org``, ``KOPIA``, ...) whichever API version sent it;
    ``recipient`` is the address the request named (``None`` if it named none) and ``address`` where
    the invoice went (``None`` for post).

    :param invoice_id: the invoice delivered.
    :param type: ``mail`` or ``post``.
    :param doc_type: the document, in the seed's words.
    :param recipient: the address the request named, or None.
    :param address: where the invoice went, or None for post.
    :param api_version: ``v2`` or ``v3``.
    :param time: when it was delivered (Unix time).
    :param accepted_at: when the request was accepted (Unix time), or None.
    """

    invoice_id: int
    type: str
    doc_type: str
    recipient: str | None
    address: str | None
    api_version: str
    time: float
    #: When the request was accepted; earlier than ``time`` when sending was deferred (v3's 202).
    accepted_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received.

    ``status`` is ``None`` when no response was sent; ``peer`` is the client's ``host:port``, so that a
    test can tell requests on one kept-alive connection from requests on many.

    :param method: the HTTP method.
    :param path: the path with its query.
    :param route: the route name (``v2.deliver``, ``v3.invoice``...).
    :param api_version: ``v2``, ``v3``, or None for other routes.
    :param status: the status answered, or None.
    :param time: when it was received (Unix time).
    :param peer: the client's ``host:port``.
    """

    method: str
    path: str
    route: str
    api_version: str | None
    status: int | None
    time: float
    peer: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class PendingDelivery:
    """A delivery accepted (v3 answered 202) but not carried out yet: inFakt sends after it answers.

    :param invoice_id: the invoice to deliver.
    :param type: ``mail`` or ``post``.
    :param doc_type: the document, in the seed's words.
    :param recipient: the address the request named, or None.
    :param address: where the invoice will go, or None for post.
    :param api_version: ``v2`` or ``v3``.
    :param accepted_at: when the request was accepted (Unix time).
    :param due: when the delivery is to be carried out (Unix time).
    """

    invoice_id: int
    type: str
    doc_type: str
    recipient: str | None
    address: str | None
    api_version: str
    accepted_at: float
    due: float

    def as_dict(self) -> dict[str, Any]:
        """The pending delivery as JSON-ready data."""
        return dataclasses.asdict(self)


class InvalidFields(ValueError):
    """Field values an invoice cannot have; ``errors`` maps each field to its messages (v3's 422 shape)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field} {' and '.join(texts)}" for field, texts in errors.items()))
        self.errors = errors


def invoice_field_errors(fields: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the fields of an invoice to create, in v3's ``{"errors": ...}`` shape."""
    errors: dict[str, list[str]] = {}
    if "gross_price" in fields:
        price = fields["gross_price"]
        if not is_number(price):
            errors["gross_price"] = ["is not a number"]
        elif not is_whole(price):
            errors["gross_price"] = ["must be a whole number of grosze"]
        elif price < 0:
            errors["gross_price"] = ["must be greater than or equal to 0"]
        elif price > MAX_GROSS_PRICE:
            errors["gross_price"] = [f"must be less than or equal to {MAX_GROSS_PRICE}"]
    if "client_email" in fields and fields["client_email"] is not None and not is_email(fields["client_email"]):
        errors["client_email"] = ["is not an e-mail address"]
    for field in ("client_name", "number"):
        if field not in fields or (field == "number" and fields[field] is None):
            continue
        value = fields[field]
        if not isinstance(value, str):
            errors[field] = ["must be a string"]
        elif not value.strip():
            errors[field] = ["can't be blank"]
        elif len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
            errors[field] = ["is invalid (at most 200 characters, no control characters)"]
    if "status" in fields and fields["status"] not in STATUSES:
        errors["status"] = [f"is not included in the list ({', '.join(STATUSES)})"]
    for field in ("invoice_date", "sale_date"):
        if fields.get(field) is not None and not is_date(fields[field]):
            errors[field] = ["must be a date (YYYY-MM-DD)"]
    if "client_id" in fields and fields["client_id"] is not None and not is_whole(fields["client_id"]):
        errors["client_id"] = ["must be the id of an existing client"]
    return errors


def is_date(value: object) -> bool:
    """Whether ``value`` is a ``YYYY-MM-DD`` string naming a real day."""
    if not isinstance(value, str) or len(value) != 10 or not value.isascii():
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class PreconditionFailed(Exception):
    """A delivery the account cannot make (no address, no postal package, daily limit)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _demo_clients() -> list[Client]:
    return [
        Client(1, "Piekarnia Złoty Kłos Sp. z o.o.", "faktury@zloty-klos.example"),
        Client(2, "Warsztat Samochodowy Nowak", "biuro@nowak-auto.example"),
        Client(3, "Kwiaciarnia Różany Zakątek", "kontakt@rozany.example"),
        Client(4, "Studio Graficzne Pixel s.c.", "pixel@studio-pixel.example"),
        Client(5, "Biuro Rachunkowe Bilans", "ksiegowosc@bilans.example"),
        Client(6, "Jan Kowalski (bez adresu e-mail)", None),
    ]


def invoice_uuid(invoice_id: int) -> str:
    """The deterministic uuid the emulator gives invoice ``invoice_id``."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"invoice-{invoice_id}"))


class Account:
    """The demo account: seeded on creation and on :meth:`reset`, with the settings and scenarios it
    was created with.

    :param postal_package: whether the account can send by post.
    :param paid: a paid account (3,000 invoice e-mails a day) or not (20 a day), as inFakt documents.
    :param email_daily_limit: e-mails a day the account may send, whatever its plan; ``None`` for the
        plan's.
    :param pay_after_delivery: scenario: seconds after a delivery its invoice is paid; ``None``: never.
    :param send_delay: scenario: seconds after a v3 delivery is accepted it is carried out; ``None``: at once.
    """

    def __init__(
        self,
        *,
        postal_package: bool = False,
        paid: bool = True,
        email_daily_limit: int | None = None,
        pay_after_delivery: float | None = None,
        send_delay: float | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._initial_postal_package = postal_package
        self._initial_paid = paid
        self._initial_email_daily_limit = email_daily_limit
        self._initial_pay_after_delivery = pay_after_delivery
        self._initial_send_delay = send_delay
        self.on_delivery: list[Callable[[DeliveryRecord], None]] = []
        #: Counts resets: work scheduled before one (a payment N seconds after a delivery) checks it.
        self.generation = 0
        self._seed()

    # -- seeding -------------------------------------------------------------------------------
    def _seed(self) -> None:
        self.postal_package = self._initial_postal_package
        self.paid = self._initial_paid
        #: An explicit daily e-mail limit, or ``None`` for the plan's (:attr:`email_daily_limit`).
        self.email_limit_override: int | None = self._initial_email_daily_limit
        #: The emulated day the e-mail count is for, and how many invoice e-mails went out on it.
        self._email_day: int | None = None
        self._emails_on_day = 0
        self.pending: list[PendingDelivery] = []
        #: Scenario: accepted v3 deliveries are carried out this many seconds later (``None``: at once).
        self.send_delay: float | None = self._initial_send_delay
        self.clients: dict[int, Client] = {c.id: c for c in _demo_clients()}
        self.invoices: dict[int, Invoice] = {}
        self.deliveries: list[DeliveryRecord] = []
        self.requests: list[RequestRecord] = []
        self.pay_after_delivery: float | None = self._initial_pay_after_delivery
        month = dt.date.today().strftime("%m/%Y")
        for client in self.clients.values():
            self._add_invoice(client.id, f"{client.id}/{month}", "draft", 12300 * client.id)

    def _add_invoice(
        self,
        client_id: int,
        number: str | None,
        status: str,
        gross_price: int,
        invoice_date: str | None = None,
        sale_date: str | None = None,
        invoice_id: int | None = None,
    ) -> Invoice:
        if invoice_id is None:
            invoice_id = max(self.invoices, default=0) + 1
        invoice = Invoice(
            id=invoice_id,
            uuid=invoice_uuid(invoice_id),
            number=number or f"{invoice_id}/{dt.date.today():%m/%Y}",
            client_id=client_id,
            status=status,
            gross_price=gross_price,
            issue_date=invoice_date or dt.date.today().isoformat(),
            sale_date=sale_date,
        )
        self.invoices[invoice_id] = invoice
        return invoice

    @property
    def email_daily_limit(self) -> int:
        """Invoice e-mails a day the account may send: :data:`PAID_EMAILS_PER_DAY` on a paid account,
        :data:`FREE_EMAILS_PER_DAY` otherwise, unless set explicitly (setting ``None`` goes back to the
        plan's)."""
        if self.email_limit_override is not None:
            return self.email_limit_override
        return PAID_EMAILS_PER_DAY if self.paid else FREE_EMAILS_PER_DAY

    @email_daily_limit.setter
    def email_daily_limit(self, value: int | None) -> None:
        self.email_limit_override = value

    def emails_sent_on(self, day: int | None) -> int:
        """Invoice e-mails counted against the quota on emulated day ``day`` (0 for ``None``: limits off).

        :param day: the emulated day's number.
        """
        with self._lock:
            return self._emails_on_day if day is not None and day == self._email_day else 0

    def reset(self) -> None:
        """Back to the seeded demo account: invoices, deliveries (pending ones dropped), request log,
        the day's e-mail count; scenarios and account settings as the account was created with."""
        with self._lock:
            self.generation += 1
            self._seed()

    # -- reads ---------------------------------------------------------------------------------
    def find(self, ref: str | int) -> Invoice | None:
        """The invoice with this numeric id (an ``int``, or ASCII digits) or uuid, or ``None``."""
        key = ref if isinstance(ref, int) and not isinstance(ref, bool) else invoice_ref(str(ref))
        with self._lock:
            if isinstance(key, int):
                return self.invoices.get(key)
            for invoice in self.invoices.values():
                if invoice.uuid == key:
                    return invoice
            return None

    def client_of(self, invoice: Invoice) -> Client:
        """The client an invoice was issued to."""
        with self._lock:
            return self.clients[invoice.client_id]

    def snapshot(self) -> list[tuple[Invoice, Client]]:
        """Copies of all invoices with their clients, in id order."""
        with self._lock:
            return [
                (dataclasses.replace(i), dataclasses.replace(self.clients[i.client_id]))
                for i in sorted(self.invoices.values(), key=lambda i: i.id)
            ]

    # -- writes --------------------------------------------------------------------------------
    def create_invoice(
        self,
        *,
        client_email: str | None = "klient@example.com",
        client_name: str = "Nowy Klient Sp. z o.o.",
        status: str = "draft",
        number: str | None = None,
        gross_price: int = 10000,
        invoice_date: str | None = None,
        sale_date: str | None = None,
        client_id: int | None = None,
    ) -> Invoice:
        """Add an invoice (and a new client for it, unless ``client_id`` names an existing one) to the
        account.

        :param invoice_date: the invoice date (``YYYY-MM-DD``); None for today.
        :param sale_date: the sale date; None for the invoice date.
        :param client_id: an existing client's id, to issue the invoice to (``client_email`` and
            ``client_name`` are then not used); None for a new client.
        :raises InvalidFields: (a ``ValueError``) naming each field whose value an invoice cannot have.
        """
        errors = invoice_field_errors(
            {
                "client_email": client_email,
                "client_name": client_name,
                "status": status,
                "number": number,
                "gross_price": gross_price,
                "invoice_date": invoice_date,
                "sale_date": sale_date,
                "client_id": client_id,
            }
        )
        with self._lock:
            if client_id is not None and "client_id" not in errors and client_id not in self.clients:
                errors["client_id"] = ["must be the id of an existing client"]
            if errors:
                raise InvalidFields(errors)
            if client_id is None:
                client = Client(max(self.clients) + 1, client_name, client_email)
                self.clients[client.id] = client
                client_id = client.id
            return self._add_invoice(client_id, number, status, gross_price, invoice_date, sale_date)

    def create_invoices(
        self,
        count: int,
        *,
        client_email: str | None = "klient@example.com",
        client_name: str = "Nowy Klient Sp. z o.o.",
        status: str = "draft",
        gross_price: int = 10000,
        invoice_date: str | None = None,
        sale_date: str | None = None,
        client_id: int | None = None,
    ) -> list[Invoice]:
        """Add ``count`` invoices with contiguous ids at once, each as :meth:`create_invoice` would add
        it (a new client each, unless ``client_id`` names an existing one; numbers as the emulator
        numbers them). All or none: a field value an invoice cannot have adds nothing.

        :param count: how many, from 1 to :data:`MAX_BULK_INVOICES`.
        :raises InvalidFields: (a ``ValueError``) naming each field whose value an invoice cannot have.
        """
        fields = {
            "client_email": client_email,
            "client_name": client_name,
            "status": status,
            "gross_price": gross_price,
            "invoice_date": invoice_date,
            "sale_date": sale_date,
            "client_id": client_id,
        }
        errors = invoice_field_errors(fields)
        if not is_whole(count) or not 1 <= count <= MAX_BULK_INVOICES:
            errors["count"] = [f"must be a whole number from 1 to {MAX_BULK_INVOICES}"]
        with self._lock:
            if client_id is not None and "client_id" not in errors and client_id not in self.clients:
                errors["client_id"] = ["must be the id of an existing client"]
            if errors:
                raise InvalidFields(errors)
            first_id = max(self.invoices, default=0) + 1
            next_client = max(self.clients) + 1
            made = []
            for n in range(count):
                owner = client_id
                if owner is None:
                    owner = next_client + n
                    self.clients[owner] = Client(owner, client_name, client_email)
                made.append(self._add_invoice(owner, None, status, gross_price, invoice_date, sale_date, first_id + n))
            return made

    def mark_paid(self, invoice_id: int, paid_date: str | None = None) -> Invoice:
        """Set the invoice's status to paid, as a payment registered in inFakt does."""
        with self._lock:
            invoice = self.invoices[invoice_id]
            invoice.status = "paid"
            invoice.paid_date = paid_date or dt.date.today().isoformat()
            invoice.paid_at = time.time()
            return invoice

    def deliver(
        self,
        invoice: Invoice,
        *,
        type: str,
        doc_type: str,
        recipient: str | None,
        api_version: str,
        email_day: int | None = None,
    ) -> DeliveryRecord:
        """Check the account's preconditions, record the delivery and move the status to sent.

        :param type: ``mail`` or ``post``.
        :param doc_type: in the seed's words (``org``, ``KOPIA``...), whichever API version asked.
        :param recipient: the address the request named, or ``None`` for the client's own.
        :param api_version: ``v2`` or ``v3``, for the record.
        :param email_day: the emulated day (:meth:`.SlidingWindowLimits.day`) whose quota of invoice
            e-mails a ``mail`` delivery counts against; ``None`` (limits off) does not enforce it.
        :raises PreconditionFailed: no address to mail to, no postal package, the daily limit reached.
        """
        with self._lock:
            address = self._check(invoice, type, recipient, email_day)
            now = time.time()
            record = DeliveryRecord(invoice.id, type, doc_type, recipient, address, api_version, now, now)
            self._record(record)
        self._announce(record)
        return record

    def accept(
        self,
        invoice: Invoice,
        *,
        type: str,
        doc_type: str,
        recipient: str | None,
        api_version: str,
        delay: float,
        email_day: int | None = None,
    ) -> PendingDelivery:
        """Check the preconditions now and accept the delivery, to be carried out by :meth:`complete`
        ``delay`` seconds later (inFakt's 202 Accepted: it may send after it answers).

        :param delay: seconds until the delivery is due; the other parameters as for :meth:`deliver`.
        :raises PreconditionFailed: as :meth:`deliver`, at once.
        """
        with self._lock:
            address = self._check(invoice, type, recipient, email_day)
            now = time.time()
            pending = PendingDelivery(invoice.id, type, doc_type, recipient, address, api_version, now, now + delay)
            self.pending.append(pending)
            return pending

    def complete(self, pending: PendingDelivery) -> DeliveryRecord | None:
        """Carry out an accepted delivery: record it and move the status to sent. ``None`` if it is no
        longer pending (the account was reset meanwhile)."""
        with self._lock:
            if not any(p is pending for p in self.pending):
                return None
            self.pending = [p for p in self.pending if p is not pending]
            record = DeliveryRecord(
                pending.invoice_id,
                pending.type,
                pending.doc_type,
                pending.recipient,
                pending.address,
                pending.api_version,
                time.time(),
                pending.accepted_at,
            )
            self._record(record)
        self._announce(record)
        return record

    def _check(self, invoice: Invoice, type: str, recipient: str | None, email_day: int | None) -> str | None:
        """The address to mail to (``None`` for post) once every precondition holds; a ``mail``
        delivery is counted against ``email_day``'s quota (the caller records it at once)."""
        client = self.clients[invoice.client_id]
        if type != "mail":
            if not self.postal_package:
                raise PreconditionFailed(
                    "no_postal_package",
                    "Sending invoices by post needs a postal package (pakiet wysyłek). "
                    "Buy one in inFakt to send invoices by post.",
                )
            return None
        address = recipient or client.email
        if address is None:
            raise PreconditionFailed(
                "no_address",
                f"Client of invoice {invoice.number} has no e-mail address. Add one in the client's "
                "settings or give recipient.",
            )
        if email_day is not None:
            if email_day != self._email_day:
                self._email_day, self._emails_on_day = email_day, 0
            if self._emails_on_day >= self.email_daily_limit:
                plan = "paid" if self.paid else "free"
                raise PreconditionFailed(
                    "email_limit",
                    f"Daily limit of {self.email_daily_limit} invoice e-mails reached ({plan} account). "
                    "Sending resumes tomorrow.",
                )
            self._emails_on_day += 1
        return address

    def _record(self, record: DeliveryRecord) -> None:
        self.deliveries.append(record)
        invoice = self.invoices.get(record.invoice_id)
        if invoice is not None and invoice.status in ("draft", "printed"):
            invoice.status = "sent"

    def _announce(self, record: DeliveryRecord) -> None:
        with self._lock:
            callbacks = list(self.on_delivery)
        for callback in callbacks:
            callback(record)

    def copy_pending(self) -> list[PendingDelivery]:
        """Deliveries accepted but not carried out yet, oldest first."""
        with self._lock:
            return list(self.pending)

    def log_request(self, record: RequestRecord) -> None:
        """Append to the request log."""
        with self._lock:
            self.requests.append(record)

    def copy_deliveries(self) -> list[DeliveryRecord]:
        """The deliveries so far, oldest first."""
        with self._lock:
            return list(self.deliveries)

    def copy_requests(self) -> list[RequestRecord]:
        """The requests so far, oldest first."""
        with self._lock:
            return list(self.requests)


def reset_state(account: Account, faults: FaultBook[Fault], limiter: SlidingWindowLimits) -> None:
    """Back to the state the emulator started with: the account reseeded with the settings and scenarios
    it was created with, the faults armed at the start re-armed (others disarmed), limit counts forgotten
    and the limit settings as constructed."""
    account.reset()
    faults.reset()
    limiter.reset()


def email_quota(account: Account, limits: SlidingWindowLimits) -> dict[str, Any]:
    """The account's daily e-mail quota: ``paid``, ``emails_per_day``, ``enforced`` (only while the
    limits are on), ``day`` (the emulated day's number, or None while off), ``sent_today`` and
    ``left_today``.

    :param account: the demo account.
    :param limits: the limits, which keep the emulated day.
    """
    day = limits.day()
    sent = account.emails_sent_on(day)
    per_day = account.email_daily_limit
    return {
        "paid": account.paid,
        "emails_per_day": per_day,
        "enforced": day is not None,
        "day": day,
        "sent_today": sent,
        "left_today": max(0, per_day - sent),
    }
