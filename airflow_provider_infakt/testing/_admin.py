"""The admin API under ``/_emulator``: what the emulator recorded, and the controls a test or a demo
uses over HTTP (invoices, scenarios, faults, limits, account settings, reset).

Admin requests bypass the pipeline: no faults, no limits, not logged. Refused input is raised as
:class:`~._inputs.BadInput` (400) or :class:`~.model.InvalidFields` (422) and answered by the
middleware.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from . import _inputs as inputs
from ._inputs import BadInput
from ._limits import SlidingWindowLimits
from ._responses import Answer, json_response
from ._serving import ConnectionCounter
from .faults import Fault, FaultBook
from .model import Account, InvalidFields, Invoice, email_quota, invoice_field_errors, reset_state

#: The fields of ``POST /_emulator/faults``: those of :class:`~.faults.Fault` a user sets.
FAULT_FIELDS = (
    "route",
    "status",
    "times",
    "latency",
    "retry_after",
    "drop",
    "redirect_to",
    "body",
    "processing_delay",
    "answer_delay",
)


class AdminRoutes:
    """The handlers of the admin API.

    :param account: the demo account.
    :param faults: the armed faults of the emulator.
    :param limits: the request limits.
    :param connections: the server's TCP connection counter.
    :param pay_invoices: schedules payments: ``(ids, seconds, start_in)`` -> the plan (see
        :meth:`~.server.EmulatorApp.pay_invoices`).
    """

    def __init__(
        self,
        account: Account,
        faults: FaultBook[Fault],
        limits: SlidingWindowLimits,
        connections: ConnectionCounter,
        pay_invoices: Callable[[Sequence[object], object, object], dict[str, float | int]],
    ) -> None:
        self.account = account
        self.faults = faults
        self.limits = limits
        self.connection_counter = connections
        self._pay_invoices = pay_invoices

    async def index(self, request: web.Request) -> web.Response:
        """List the admin routes."""
        routes = sorted(
            {
                f"{r.method} {r.resource.canonical}"
                for r in request.app.router.routes()
                if r.resource is not None and r.resource.canonical.startswith("/_emulator")
            }
        )
        return json_response(200, {"routes": routes})

    async def deliveries(self, _request: web.Request) -> web.Response:
        """Every delivery recorded, oldest first, and those accepted but not carried out yet."""
        return json_response(
            200,
            {
                "deliveries": [d.as_dict() for d in self.account.copy_deliveries()],
                "pending": [p.as_dict() for p in self.account.copy_pending()],
            },
        )

    async def requests(self, _request: web.Request) -> web.Response:
        """Every API request received, oldest first."""
        return json_response(200, {"requests": [r.as_dict() for r in self.account.copy_requests()]})

    async def connections(self, _request: web.Request) -> web.Response:
        """``GET /_emulator/connections``: TCP connections open now (``open``: the admin request's own
        included) and accepted since the start or the last reset (``opened_total``); keep-alive requests
        share one."""
        return json_response(200, self.connection_counter.as_dict())

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /_emulator/reset``: back to the state the emulator was started with (its constructor's
        arguments, or ``infakt-emulator``'s options): the seeded demo account (invoices; deliveries,
        pending ones dropped; request log), account settings and scenarios (``--postal-package``,
        ``--pay-after-delivery``, ``--defer-sending``) as started, the faults armed at the start
        (``--fault``) re-armed and every other one disarmed, limit settings (``--limits``,
        ``--time-scale``) as started and their counts forgotten."""
        await _no_fields(request)
        reset_state(self.account, self.faults, self.limits)
        self.connection_counter.forget_opened()
        return json_response(200, {"reset": True})

    async def invoices(self, _request: web.Request) -> web.Response:
        """All invoices as v3 shows them, plus the client's e-mail address (admin only)."""
        return json_response(200, {"invoices": [i.admin(c) for i, c in self.account.snapshot()]})

    async def invoice(self, request: web.Request) -> web.Response:
        """One invoice, as in :meth:`invoices`."""
        try:
            invoice = self._invoice_or_error(request)
        except Answer as answer:
            return answer.response
        return json_response(200, invoice.admin(self.account.client_of(invoice)))

    async def create_invoice(self, request: web.Request) -> web.Response:
        """Create an invoice from JSON (fields as :meth:`~.model.Account.create_invoice`); field values an
        invoice cannot have are answered 422 ``{"errors": {field: [...]}}``, as v3 answers them.

        With ``"count": N`` (no ``number``), N invoices with those fields and contiguous ids, each to a
        new client, answered ``{"count": N, "ids": [...]}`` (:meth:`~.model.Account.create_invoices`)."""
        payload = inputs.json_object(await request.read())
        if "count" in payload:
            inputs.unknown_fields(payload, ("count", "client_email", "client_name", "status", "gross_price"))
            made = self.account.create_invoices(**payload)
            return json_response(201, {"count": len(made), "ids": [i.id for i in made]})
        inputs.unknown_fields(payload, ("client_email", "client_name", "status", "number", "gross_price"))
        errors = invoice_field_errors(payload)
        if errors:
            raise InvalidFields(errors)
        invoice = self.account.create_invoice(**payload)
        return json_response(201, invoice.admin(self.account.client_of(invoice)))

    async def mark_paid(self, request: web.Request) -> web.Response:
        """Mark an invoice paid."""
        await _no_fields(request)
        try:
            invoice = self._invoice_or_error(request)
        except Answer as answer:
            return answer.response
        self.account.mark_paid(invoice.id)
        return json_response(200, invoice.admin(self.account.client_of(invoice)))

    async def pay_after(self, request: web.Request) -> web.Response:
        """Scenario: ``{"seconds": N}`` marks each delivered invoice paid N seconds later; null stops it."""
        seconds = _scenario_seconds(inputs.json_object(await request.read()))
        self.account.pay_after_delivery = seconds
        return json_response(200, {"seconds": seconds})

    async def pay_invoices(self, request: web.Request) -> web.Response:
        """Scenario: ``{"ids": [...], "seconds": S, "start_in"?: D}`` marks the invoices paid in that
        order, spread evenly over S seconds starting D seconds from now (default 0); answers the plan
        ``{"count", "first_at", "last_at"}`` (Unix times). Each payment's time is the invoice's
        ``paid_at``."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, ("ids", "seconds", "start_in"))
        if "ids" not in payload or "seconds" not in payload:
            raise BadInput('ids and seconds are required: {"ids": [7, 8, 9], "seconds": 30}.')
        plan = self._pay_invoices(payload["ids"], payload["seconds"], payload.get("start_in", 0))
        return json_response(200, plan)

    async def deferred_sending(self, request: web.Request) -> web.Response:
        """Scenario: ``{"seconds": N}``: v3 deliveries are accepted (202) at once and carried out N
        seconds later (recorded, invoice ``sent``); null sends at once again."""
        seconds = _scenario_seconds(inputs.json_object(await request.read()))
        self.account.send_delay = seconds
        return json_response(200, {"seconds": seconds})

    async def armed_faults(self, _request: web.Request) -> web.Response:
        """Armed faults."""
        return json_response(200, {"faults": [f.as_dict() for f in self.faults.armed()]})

    async def add_fault(self, request: web.Request) -> web.Response:
        """Arm a fault: JSON with the fields of :class:`~.faults.Fault`."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, FAULT_FIELDS)
        if "route" not in payload:
            raise BadInput(f"A fault needs route; allowed fields: {sorted(FAULT_FIELDS)}.")
        try:
            fault = Fault(**payload)
        except (TypeError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        return json_response(201, self.faults.add(fault).as_dict())

    async def clear_faults(self, request: web.Request) -> web.Response:
        """Disarm every fault."""
        await _no_fields(request)
        self.faults.clear()
        return json_response(200, {"faults": []})

    async def limits_settings(self, _request: web.Request) -> web.Response:
        """Whether limits are on, and the time scale."""
        return json_response(200, self.limits_state())

    def limits_state(self) -> dict[str, bool | float | int]:
        """Limit settings as JSON-ready data."""
        return {
            "enabled": self.limits.enabled,
            "time_scale": self.limits.time_scale,
            "get_per_minute": self.limits.get_per_minute,
            "other_per_minute": self.limits.other_per_minute,
            "emails_per_day": self.account.email_daily_limit,
        }

    async def set_limits(self, request: web.Request) -> web.Response:
        """Switch limits: JSON ``{"enabled"?: bool, "time_scale"?: positive number, "get_per_minute"?:
        int, "other_per_minute"?: int}``."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, ("enabled", "time_scale", "get_per_minute", "other_per_minute"))
        per_minute: dict[str, int] = {}
        for name in ("get_per_minute", "other_per_minute"):
            value = payload.get(name)
            if value is not None and (not inputs.is_whole(value) or not 0 <= value <= 10**9):
                raise BadInput(f"{name} must be a whole number from 0 to 1000000000, not {value!r}.")
            if value is not None:
                per_minute[name] = value
        enabled = payload.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise BadInput(f"enabled must be true or false, not {enabled!r}.")
        time_scale = payload.get("time_scale")
        if time_scale is not None and (not inputs.is_number(time_scale) or not 0 < time_scale <= 1e6):
            raise BadInput(f"time_scale must be a positive number (at most 1000000), not {time_scale!r}.")
        self.limits.configure(enabled=enabled, time_scale=time_scale, **per_minute)
        return json_response(200, self.limits_state())

    async def account_settings(self, request: web.Request) -> web.Response:
        """Account settings: JSON ``{"postal_package"?: bool, "paid"?: bool, "emails_per_day"?: int or
        null, "reset_daily_quota"?: true}``. ``paid`` sets the plan (3,000 invoice e-mails a day, or 20);
        ``emails_per_day`` overrides the plan's number (``null``: the plan's again);
        ``reset_daily_quota`` starts the next emulated day (as ``POST /_emulator/day/advance``)."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, ("postal_package", "paid", "emails_per_day", "reset_daily_quota"))
        for name in ("postal_package", "paid"):
            if name in payload and not isinstance(payload[name], bool):
                raise BadInput(f"{name} must be true or false, not {payload[name]!r}.")
        emails = payload.get("emails_per_day", self.account.email_limit_override)
        if emails is not None and (not inputs.is_whole(emails) or not 0 <= emails <= 10**9):
            raise BadInput(
                f"emails_per_day must be a whole number from 0 to 1000000000 (or null for the plan's), not {emails!r}."
            )
        reset_quota = payload.get("reset_daily_quota", False)
        if not isinstance(reset_quota, bool):
            raise BadInput(f"reset_daily_quota must be true or false, not {reset_quota!r}.")
        self.account.postal_package = payload.get("postal_package", self.account.postal_package)
        self.account.paid = payload.get("paid", self.account.paid)
        self.account.email_daily_limit = emails
        if reset_quota:
            self.limits.next_day()
        return json_response(200, self.account_state())

    async def account_info(self, _request: web.Request) -> web.Response:
        """``GET /_emulator/account``: the account settings and today's e-mail quota."""
        return json_response(200, self.account_state())

    async def next_day(self, request: web.Request) -> web.Response:
        """``POST /_emulator/day/advance``: start the next emulated day; the daily e-mail quota starts over."""
        await _no_fields(request)
        self.limits.next_day()
        return json_response(200, self.account_state())

    def account_state(self) -> dict[str, Any]:
        """Account settings and the day's e-mail quota as JSON-ready data (see :func:`email_quota`)."""
        return {"postal_package": self.account.postal_package, **email_quota(self.account, self.limits)}

    def _invoice_or_error(self, request: web.Request) -> Invoice:
        text = request.match_info["id"]
        ref = inputs.invoice_ref(text)
        invoice = self.account.find(ref) if ref is not None else None
        if invoice is not None:
            return invoice
        if ref is None and not inputs.looks_like_a_number(text):
            raise BadInput(f"Invoice id must be a number or a uuid, not {text[:60]!r}.")
        raise Answer(json_response(404, {"error": "Invoice not found."}))


async def _no_fields(request: web.Request) -> None:
    """Admin routes that take no input refuse any: an option that does nothing must not pass silently."""
    inputs.unknown_fields(inputs.json_object(await request.read()), ())


def _scenario_seconds(payload: dict[str, Any]) -> float | None:
    inputs.unknown_fields(payload, ("seconds",))
    if "seconds" not in payload:
        raise BadInput('seconds is required: {"seconds": N}, or {"seconds": null} to stop.')
    return inputs.seconds("seconds", payload["seconds"], allow_none=True)
