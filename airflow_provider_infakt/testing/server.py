"""The emulator's HTTP application: which URL goes to which handler, and through what.

The pieces, one concern each:

- :mod:`._pipeline`: what every API request goes through (faults, limits, the request log) and the
  middleware that answers errors in the route's shape;
- :mod:`._v2`: API v2 and xAuth; :mod:`._v3` (with :mod:`._filters`, the list query): API v3;
- :mod:`._admin`: the admin API under ``/_emulator``; :mod:`._web`: the invoice page;
- :mod:`._responses`: the answers they share; :mod:`.model`: the state they serve.

:class:`~airflow_provider_infakt.testing.InfaktEmulator` builds an :class:`EmulatorApp` and serves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiohttp import web

from . import _inputs as inputs
from ._admin import AdminRoutes
from ._inputs import BadInput
from ._limits import SlidingWindowLimits
from ._pipeline import Pipeline, shape_errors
from ._responses import MAX_BODY, Handler
from ._serving import ConnectionCounter, server_logger
from ._v2 import V2Routes
from ._v2 import route_name as v2_route_name
from ._v3 import API_KEYS, V3_PREFIXES, V3Routes, action_route_name
from ._web import WebPage
from .faults import Fault, FaultBook
from .model import Account, DeliveryRecord

__all__ = ["API_KEYS", "MAX_BODY", "V3_PREFIXES", "EmulatorApp", "Handler", "server_logger"]


class EmulatorApp:
    """The routes of the emulator over one account, one set of faults and one set of limits.

    :param account: the demo account served.
    :param faults: the armed faults.
    :param limiter: inFakt's request limits.
    :param connections: the server's TCP connection counter, which the admin API shows; None for a
        new one that counts nothing.
    """

    def __init__(
        self,
        account: Account,
        faults: FaultBook[Fault],
        limiter: SlidingWindowLimits,
        connections: ConnectionCounter | None = None,
    ) -> None:
        self.account = account
        self.faults = faults
        self.limiter = limiter
        self.pipeline = Pipeline(account, faults, limiter)
        self.v2 = V2Routes(account, limiter)
        self.oauth = self.v2.oauth
        self.v3 = V3Routes(account, limiter)
        self.connections = connections or ConnectionCounter()
        self.admin = AdminRoutes(account, faults, limiter, self.connections, self.pay_invoices)
        self.web = WebPage(account)
        self._loop: asyncio.AbstractEventLoop | None = None
        account.on_delivery.append(self._schedule_payment)

    def build(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[shape_errors])
        r, api, v2, v3, admin = app.router, self.pipeline.route, self.v2, self.v3, self.admin
        r.add_post("/oauth/access_token", api("oauth.access_token", "v2", v2.xauth))
        r.add_get("/api/v2/invoices/{name}.{fmt}", api(v2_route_name, "v2", v2.dispatch))
        for prefix in V3_PREFIXES:
            r.add_route("*", prefix + "/invoices.{fmt}", api("v3.list", "v3", v3.list_invoices))
            r.add_route("*", prefix + "/invoices/{ref}.{fmt}", api("v3.invoice", "v3", v3.invoice))
            r.add_route("*", prefix + "/invoices/{ref}/{action}.{fmt}", api(action_route_name, "v3", v3.action))
        r.add_get("/app/invoices/{ref}", api("web.invoice", None, self.web.invoice))
        # the admin API bypasses the pipeline: no faults, no limits, not in the request log
        r.add_get("/_emulator", admin.index)
        r.add_get("/_emulator/", admin.index)
        r.add_get("/_emulator/deliveries", admin.deliveries)
        r.add_get("/_emulator/requests", admin.requests)
        r.add_get("/_emulator/connections", admin.connections)
        r.add_post("/_emulator/reset", admin.reset)
        r.add_get("/_emulator/invoices", admin.invoices)
        r.add_post("/_emulator/invoices", admin.create_invoice)
        r.add_get("/_emulator/invoices/{id}", admin.invoice)
        r.add_post("/_emulator/invoices/{id}/paid", admin.mark_paid)
        r.add_post("/_emulator/scenarios/pay-after-delivery", admin.pay_after)
        r.add_post("/_emulator/scenarios/pay-invoices", admin.pay_invoices)
        r.add_post("/_emulator/scenarios/deferred-sending", admin.deferred_sending)
        r.add_get("/_emulator/faults", admin.armed_faults)
        r.add_post("/_emulator/faults", admin.add_fault)
        r.add_delete("/_emulator/faults", admin.clear_faults)
        r.add_get("/_emulator/limits", admin.limits_settings)
        r.add_post("/_emulator/limits", admin.set_limits)
        r.add_post("/_emulator/account", admin.account_settings)
        r.add_get("/_emulator/account", admin.account_info)
        r.add_post("/_emulator/day/advance", admin.next_day)
        app.on_startup.append(self._remember_loop)
        return app

    # -- the pay-after-delivery scenario: payments scheduled on the server's loop ------------------
    async def _remember_loop(self, _app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()

    def _schedule_payment(self, record: DeliveryRecord) -> None:
        seconds = self.account.pay_after_delivery
        if seconds is None or self._loop is None:
            return
        loop = self._loop
        invoice_id, generation = record.invoice_id, self.account.generation
        loop.call_soon_threadsafe(lambda: loop.call_later(seconds, self._pay, invoice_id, generation))

    def _pay(self, invoice_id: int, generation: int) -> None:
        # not if the account was reset meanwhile: invoice 1 of the new account is another invoice
        if self.account.generation == generation and self.account.find(invoice_id) is not None:
            self.account.mark_paid(invoice_id)

    # -- the pay-invoices scenario: given invoices paid one by one over a period -------------------
    def pay_invoices(self, ids: Sequence[object], seconds: object, start_in: object) -> dict[str, float | int]:
        """Mark ``ids`` paid, in that order, spread evenly from ``start_in`` seconds from now to
        ``start_in + seconds`` (one id: at ``start_in``). Callable from any thread; a reset before a
        payment is due cancels it.

        :param ids: the invoices' numeric ids, each an existing invoice, at most :data:`MAX_PAYMENTS`.
        :param seconds: the period the payments are spread over (0 to a day).
        :param start_in: seconds from now to the first payment (0 to a day).
        :returns: ``{"count": n, "first_at": t0, "last_at": t1}``, the first and last payment's Unix times.
        :raises BadInput: (a ``ValueError``) naming the field and what is wrong; nothing is scheduled.
        """
        over = inputs.seconds("seconds", seconds) or 0.0
        delay = inputs.seconds("start_in", start_in) or 0.0
        if isinstance(ids, str | bytes) or not isinstance(ids, Sequence) or not 1 <= len(ids) <= MAX_PAYMENTS:
            raise BadInput(f"ids must be a list of 1 to {MAX_PAYMENTS} invoice ids.")
        wrong = [i for i in ids if not inputs.is_whole(i) or self.account.find(i) is None]
        if wrong:
            shown = ", ".join(repr(w)[:30] for w in wrong[:5]) + (
                f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
            )
            raise BadInput(f"ids must name existing invoices by their numeric id; not: {shown}.")
        if self._loop is None:
            raise RuntimeError("the emulator is not serving")
        checked = [int(i) for i in ids]  # type: ignore[call-overload] # each passed is_whole above
        step = over / (len(checked) - 1) if len(checked) > 1 else 0.0
        loop, generation, now = self._loop, self.account.generation, time.time()

        def schedule() -> None:
            for n, invoice_id in enumerate(checked):
                loop.call_later(delay + n * step, self._pay, invoice_id, generation)

        loop.call_soon_threadsafe(schedule)
        return {"count": len(checked), "first_at": now + delay, "last_at": now + delay + over}


#: The most invoices one ``pay-invoices`` scenario pays.
MAX_PAYMENTS = 100_000
