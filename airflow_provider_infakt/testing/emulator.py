"""``InfaktEmulator``: the emulator's server on a background thread, and its Python controls."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import credentials
from ._inputs import seconds as _seconds
from ._limits import SlidingWindowLimits
from ._serving import BackgroundServer, is_loopback
from .faults import Fault, FaultBook
from .model import Account, DeliveryRecord, Invoice, PendingDelivery, RequestRecord, email_quota, reset_state

if TYPE_CHECKING:
    from aiohttp import web

    from .server import EmulatorApp


class InfaktEmulator(BackgroundServer):
    """A local inFakt: a real HTTP/1.1 server on loopback speaking API v2 (as the seed shows) and v3.

    Use it as a context manager (``with InfaktEmulator() as emu: ...``) or call :meth:`start` and
    :meth:`stop`. The server runs an asyncio loop on a daemon thread; the state it serves can be read
    and changed from any thread through this object's methods, or over HTTP at ``/_emulator/...``.

    Everything given to the constructor is the emulator's starting state: :meth:`reset` (and ``POST
    /_emulator/reset``) returns to it, whatever was changed since (account settings, scenarios, faults,
    limits), with the seeded demo account and nothing recorded.

    :param host: address to listen on (loopback by default).
    :param port: port to listen on; 0 picks a free one.
    :param limits: enforce inFakt's documented request limits (429); off by default.
    :param time_scale: how much faster than real time the limits' minute and day run.
    :param postal_package: whether the demo account has bought a postal package (else ``post`` fails).
    :param paid_account: a paid account (3,000 invoice e-mails a day) or a free one (20 a day); the
        quota is enforced while the limits are on.
    :param pay_after_delivery: scenario from the start: mark each delivered invoice paid this many
        seconds after its delivery (see :meth:`pay_after_delivery`); ``None``: never.
    :param defer_sending: scenario from the start: carry out v3 deliveries this many seconds after
        accepting them (see :meth:`defer_sending`); ``None``: at once.
    :param faults: faults armed from the start (see :meth:`fault`); a reset re-arms them, unused.
    :param backlog: the listening socket's backlog.
    :raises ValueError: for a value a setting cannot have.
    """

    thread_name = "infakt-emulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: bool = False,
        time_scale: float = 1.0,
        postal_package: bool = False,
        paid_account: bool = True,
        pay_after_delivery: float | None = None,
        defer_sending: float | None = None,
        faults: Iterable[Fault] = (),
        backlog: int = 2048,
    ) -> None:
        super().__init__(host, port, backlog=backlog)
        self.account = Account(
            postal_package=postal_package,
            paid=paid_account,
            pay_after_delivery=_seconds("pay_after_delivery", pay_after_delivery, allow_none=True),
            send_delay=_seconds("defer_sending", defer_sending, allow_none=True),
        )
        self.faults: FaultBook[Fault] = FaultBook(faults)
        self.limiter = SlidingWindowLimits(enabled=limits, time_scale=time_scale)
        self.app: EmulatorApp

    async def _make_app(self) -> web.Application:
        from .server import EmulatorApp  # aiohttp and oauthlib: loaded when a server starts, not on import

        self.app = EmulatorApp(self.account, self.faults, self.limiter, self.connection_counter)
        return self.app.build()

    # -- addresses and connections ---------------------------------------------------------------
    def connection(
        self,
        api_version: Literal["v3", "v2"] = "v3",
        format: Literal["json", "xml"] = "json",
        auth: Literal["oauth", "xauth"] = "oauth",
        scope: Literal["write", "read"] = "write",
    ) -> dict[str, Any]:
        """An Airflow connection (JSON form) for this emulator with the demo credentials.

        ``os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(emu.connection())`` is all a test needs.

        :param api_version: ``v3`` (API key) or ``v2`` (OAuth 1.0a).
        :param format: v2 only: ``json`` or ``xml``.
        :param auth: v2 only: ``oauth`` (a token pair) or ``xauth`` (a login exchanged for one).
        :param scope: v3 only: ``write``, or ``read`` for the read-only key.
        """
        return connection_for(self.url, api_version=api_version, format=format, auth=auth, scope=scope)

    # -- state -----------------------------------------------------------------------------------
    @property
    def deliveries(self) -> list[DeliveryRecord]:
        """Deliveries carried out so far, oldest first."""
        return self.account.copy_deliveries()

    @property
    def pending_deliveries(self) -> list[PendingDelivery]:
        """Deliveries accepted (v3 answered 202) but not carried out yet, oldest first; see
        :meth:`defer_sending`."""
        return self.account.copy_pending()

    @property
    def requests(self) -> list[RequestRecord]:
        """API requests received so far (admin routes excluded), oldest first."""
        return self.account.copy_requests()

    def reset(self) -> None:
        """Back to the state the emulator was constructed with: the seeded demo account (deliveries,
        those not sent yet included, and the request log dropped), account settings and scenarios as
        given to the constructor, the constructor's faults re-armed and every other fault disarmed,
        limit settings as constructed and their counts forgotten, the count of connections accepted
        (:meth:`connections_opened`) back to 0; open connections stay open. A request still waiting
        out a fault's delay is dropped without being carried out, and one answered after the reset is
        not in the new request log: what one test sent never lands in the next. ``POST /_emulator/reset``
        does the same."""
        reset_state(self.account, self.faults, self.limiter)
        self.connection_counter.forget_opened()

    def open_connections(self) -> int:
        """TCP connections to the emulator open now (API and admin ones alike). A client with keep-alive
        holds one for many requests; the count drops when a connection's close reaches the server, a
        moment after the client closes it.
        """
        return self.connection_counter.open

    def connections_opened(self) -> int:
        """TCP connections the emulator accepted since it started or was last reset (``GET
        /_emulator/connections`` shows both counts)."""
        return self.connection_counter.opened

    def invoice(self, invoice_id: int | str) -> dict[str, Any]:
        """An invoice as the admin route shows it (v3 fields plus ``internal_status``, ``client_email``).

        :param invoice_id: the invoice's id or uuid.
        :raises KeyError: when the emulator has no such invoice.
        """
        found = self.account.find(invoice_id)
        if found is None:
            raise KeyError(f"no invoice {invoice_id!r} in the emulator")
        return found.admin(self.account.client_of(found))

    def create_invoice(self, **fields: Any) -> dict[str, Any]:
        """Create an invoice (and its client).

        :param fields: ``client_email``, ``client_name``, ``status``, ``number``, ``gross_price``,
            ``invoice_date``, ``sale_date``, ``client_id`` (an existing client).
        """
        created: Invoice = self.account.create_invoice(**fields)
        return self.invoice(created.id)

    def create_invoices(self, count: int, **fields: Any) -> list[int]:
        """Create ``count`` invoices at once, with contiguous ids, each to a new client (unless
        ``client_id`` is given); ``POST /_emulator/invoices`` with ``"count"`` does the same.

        :param count: how many (1 to 100,000).
        :param fields: ``client_email``, ``client_name``, ``status``, ``gross_price``, ``invoice_date``,
            ``sale_date``, ``client_id``: the same for every invoice.
        :returns: their ids, in order.
        :raises ValueError: naming each field whose value an invoice cannot have; nothing is created.
        """
        return [i.id for i in self.account.create_invoices(count, **fields)]

    def pay_invoices(self, invoice_ids: Sequence[int], seconds: float, *, start_in: float = 0.0) -> dict[str, Any]:
        """Scenario: mark ``invoice_ids`` paid one by one, in that order, spread evenly over ``seconds``,
        the first ``start_in`` seconds from now, as customers paying a month's invoices would. Each
        invoice's ``paid_at`` (see :meth:`invoice`) says when it was paid; a reset cancels payments not
        made yet. ``POST /_emulator/scenarios/pay-invoices`` does the same.

        :param invoice_ids: numeric ids of existing invoices (1 to 100,000 of them).
        :param seconds: the period the payments are spread over (0 to a day).
        :param start_in: seconds from now to the first payment (0 to a day).
        :returns: the plan: ``count``, ``first_at`` and ``last_at`` (Unix times of the first and last payment).
        :raises ValueError: for an unknown id or a period out of range; nothing is scheduled.
        :raises RuntimeError: when the emulator is not running.
        """
        if self.port is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        return self.app.pay_invoices(list(invoice_ids), seconds, start_in)

    def mark_paid(self, invoice_id: int) -> None:
        """Mark an invoice paid, as a payment registered in inFakt would.

        :param invoice_id: the invoice's id.
        """
        self.account.mark_paid(invoice_id)

    def pay_after_delivery(self, seconds: float | None) -> None:
        """Scenario: mark each delivered invoice paid ``seconds`` after its delivery (``None`` stops it).

        :param seconds: from 0 to a day, or ``None``.
        """
        self.account.pay_after_delivery = _seconds("seconds", seconds, allow_none=True)

    def defer_sending(self, seconds: float | None) -> None:
        """Scenario: inFakt's 202 Accepted taken at its word. A v3 delivery is checked and answered 202
        at once, but carried out ``seconds`` later: only then is it recorded in :attr:`deliveries` and
        does the invoice become ``sent``; meanwhile it is in :attr:`pending_deliveries`. ``None`` sends
        at once again (deliveries already accepted still go out). v2 always sends at once: its answer
        carries the result.

        :param seconds: from 0 to a day, or ``None``.
        """
        self.account.send_delay = _seconds("seconds", seconds, allow_none=True)

    def set_postal_package(self, bought: bool) -> None:
        """Whether the account has a postal package (without one, ``post`` deliveries are refused).

        :param bought: True for an account with a postal package.
        """
        self.account.postal_package = bought

    def set_limits(
        self,
        enabled: bool = True,
        time_scale: float | None = None,
        *,
        get_per_minute: int | None = None,
        other_per_minute: int | None = None,
    ) -> None:
        """Switch inFakt's request limits (and the daily e-mail quota) on or off; past requests are
        forgotten, the emulated day goes on.

        :param enabled: enforce the limits (429 past the per-minute ones, 422 past the e-mail quota).
        :param time_scale: how much faster than real time the limits' minute and day run: ``60`` makes
            a minute last a second; ``None`` keeps the current scale.
        :param get_per_minute: GET requests a minute (inFakt's 300 unless set); ``None`` keeps it.
        :param other_per_minute: other requests a minute (inFakt's 150 unless set); ``None`` keeps it.
        :raises ValueError: for a time scale that is not a positive number (at most 1000000), or a
            limit that is not a whole number from 0.
        """
        self.limiter.configure(
            enabled=enabled, time_scale=time_scale, get_per_minute=get_per_minute, other_per_minute=other_per_minute
        )

    def set_paid_account(self, paid: bool) -> None:
        """The account's plan: paid (3,000 invoice e-mails a day) or free (20 a day), as inFakt documents.
        An explicit ``account.email_daily_limit`` still wins; set it to ``None`` for the plan's.

        :param paid: True for a paid account.
        """
        self.account.paid = paid

    def next_day(self) -> int:
        """Start the next emulated day now: the daily e-mail quota starts over (``POST
        /_emulator/day/advance`` does the same). Return the new day's number.

        Days also pass by themselves: one lasts ``86400 / time_scale`` real seconds.
        """
        return self.limiter.next_day()

    def email_quota(self) -> dict[str, Any]:
        """The daily e-mail quota as ``GET /_emulator/account`` shows it: ``paid``, ``emails_per_day``,
        ``enforced`` (while the limits are on), ``day``, ``sent_today``, ``left_today``."""
        return email_quota(self.account, self.limiter)

    def fault(
        self,
        route: str,
        *,
        status: int | None = None,
        times: int | None = 1,
        latency: float = 0.0,
        retry_after: str | int | None = None,
        drop: Literal["before", "after"] | None = None,
        redirect_to: str | None = None,
        body: str | None = None,
        processing_delay: float = 0.0,
        answer_delay: float = 0.0,
    ) -> Fault:
        """Arm a fault for the next ``times`` requests to ``route`` (an fnmatch pattern of route names,
        or of paths when it starts with ``/``).

        Route names: ``v2.deliver``, ``v2.invoice``, ``v2.list``, ``oauth.access_token``, ``v3.invoice``,
        ``v3.list``, ``v3.deliver_via_email``, ``v3.deliver_via_post``, ``v3.paid``, ``web.invoice``.
        See :class:`~airflow_provider_infakt.testing.faults.Fault` for the kinds.

        :param route: which requests: ``"v3.deliver_*"``, ``"*"``, ``"/api/v2/*"``...
        :param status: answer this status (with the route's error body, or ``body``) without processing.
        :param times: how many requests it applies to; ``None`` until cleared.
        :param latency: seconds to wait before anything else.
        :param retry_after: ``Retry-After`` header sent with ``status``.
        :param drop: ``"before"``: close without processing; ``"after"``: process, then close unanswered.
        :param redirect_to: answer 307 with this ``Location``.
        :param body: the body sent with ``status``.
        :param processing_delay: seconds between receiving the request and processing it (the delivery
            is recorded then, even if the client has given up meanwhile), then the answer.
        :param answer_delay: seconds between processing the request and answering.
        :raises ValueError: for values a fault cannot have, or kinds that do not combine.
        """
        return self.faults.add(
            Fault(
                route=route,
                status=status,
                times=times,
                latency=latency,
                retry_after=None if retry_after is None else str(retry_after),
                drop=drop,
                redirect_to=redirect_to,
                body=body,
                processing_delay=processing_delay,
                answer_delay=answer_delay,
            )
        )

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()


def connection_for(
    url: str,
    *,
    api_version: str = "v3",
    format: str = "json",
    auth: str = "oauth",
    scope: str = "write",
) -> dict[str, Any]:
    """The Airflow connection (JSON form) for an emulator at ``url`` with the demo credentials.

    :param url: the emulator's (or a proxy's) base URL, e.g. ``emu.url``. Without a scheme, a loopback
        address (``127.0.0.1:8765``, ``localhost:8765``, ``[::1]:8765``) is taken as ``http://``; any
        other host needs its scheme.
    :param api_version: ``v3`` or ``v2``.
    :param format: v2 only: ``json`` or ``xml``.
    :param auth: v2 only: ``oauth`` (a token pair) or ``xauth`` (a login exchanged for one).
    :param scope: v3 only: ``write``, or ``read`` for the read-only key.
    :raises ValueError: for a value outside its set, a URL that is not an http(s) URL, or an option of
        one API version (``format="xml"``, ``auth="xauth"``; ``scope="read"``) given for the other.
    """
    _choose("api_version", api_version, ("v3", "v2"))
    _choose("format", format, ("json", "xml"))
    _choose("auth", auth, ("oauth", "xauth"))
    _choose("scope", scope, ("write", "read"))
    if api_version == "v3" and (format, auth) != ("json", "oauth"):
        raise ValueError(
            f"format={format!r} and auth={auth!r} apply to api_version='v2' only: v3 speaks JSON with an API key"
        )
    if api_version == "v2" and scope != "write":
        raise ValueError(f"scope={scope!r} applies to api_version='v3' only: v2 has no read-only key")
    url = _base_url(url)
    if api_version == "v3":
        key = credentials.API_KEY if scope == "write" else credentials.READONLY_API_KEY
        return {
            "conn_type": "infakt",
            "host": f"{url}/api/v3",
            "password": key,
            "extra": {"api_version": "v3", "web_url": f"{url}/app/invoices/{{invoice_id}}"},
        }
    extra: dict[str, Any] = {"api_version": "v2", "format": format}
    if auth == "oauth":
        extra.update(oauth_token=credentials.ACCESS_TOKEN, oauth_token_secret=credentials.TOKEN_SECRET)
    else:
        extra.update(xauth_username=credentials.XAUTH_USERNAME, xauth_password=credentials.XAUTH_PASSWORD)
    extra["web_url"] = f"{url}/app/invoices/{{invoice_id}}"
    return {
        "conn_type": "infakt",
        "host": f"{url}/api/v2",
        "login": credentials.CONSUMER_KEY,
        "password": credentials.CONSUMER_SECRET,
        "extra": extra,
    }


def _base_url(url: str) -> str:
    """An emulator's base URL with its scheme and without a trailing slash.

    :param url: ``http://127.0.0.1:8765``; without a scheme (``127.0.0.1:8765``), ``http://`` is
        assumed for a loopback address only. An API path (``/api/v3``, ``/api/v2``, ``/v3``) is dropped:
        the connection adds its own.
    :raises ValueError: for a URL without a scheme on another host, or one that is not an http(s) URL
        with a host.
    """
    text = url.strip() if isinstance(url, str) else url
    if not isinstance(text, str) or not text:
        raise ValueError(f"url must be the emulator's base URL, e.g. 'http://127.0.0.1:8765', not {url!r}")
    if "://" not in text:
        host = urllib.parse.urlsplit("//" + text).hostname
        if host is None or not is_loopback(host):
            raise ValueError(
                f"url={url!r} has no scheme: give it, e.g. 'http://{text}' or 'https://{text}' "
                "(http:// is assumed only for a loopback address such as 127.0.0.1:8765)"
            )
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"url={url!r} has a port that is not a number from 0 to 65535") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url={url!r} is not an http:// or https:// URL with a host, e.g. 'http://127.0.0.1:8765'")
    # The API paths the emulator's banner prints (http://127.0.0.1:8765/api/v3) name the same server.
    path = parts.path.rstrip("/")
    for api_path in ("/api/v3", "/api/v2", "/v3"):
        if path.endswith(api_path):
            path = path[: -len(api_path)]
            break
    if path:
        raise ValueError(
            f"url={url!r} has the path {parts.path!r}: give the emulator's base URL, e.g. "
            f"'{parts.scheme}://{parts.netloc}' (the connection adds /api/v3 or /api/v2 itself)"
        )
    return f"{parts.scheme}://{parts.netloc}"


def connection_json(url: str, **options: str) -> str:
    """:func:`connection_for` as one line of JSON, ready for ``AIRFLOW_CONN_INFAKT_DEFAULT``.

    :param url: as for :func:`connection_for`.
    :param options: ``api_version``, ``format``, ``auth`` and ``scope``, as for :func:`connection_for`.
    """
    return json.dumps(connection_for(url, **options))


def _choose(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{field}={value!r} is not one of {', '.join(repr(a) for a in allowed)}")
