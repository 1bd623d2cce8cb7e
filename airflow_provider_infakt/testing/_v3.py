"""API v3: list and read invoices, deliver them by e-mail or post, mark them paid; JSON only, under an
``X-inFakt-ApiKey``."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any, TypedDict

from aiohttp import web

from . import _filters as filters
from . import _inputs as inputs
from . import credentials
from ._inputs import BadInput
from ._limits import SlidingWindowLimits
from ._responses import Answer, absolute_url, json_response
from .model import (
    LOCALES,
    PRINT_TYPE_TO_DOC_TYPE,
    PRINT_TYPES,
    Account,
    Invoice,
    PendingDelivery,
    PreconditionFailed,
    is_date,
)

#: v3 API keys and their scopes.
API_KEYS = {
    credentials.API_KEY: frozenset({"api:invoices:read", "api:invoices:write"}),
    credentials.READONLY_API_KEY: frozenset({"api:invoices:read"}),
}
#: v3 lives under /api/v3 (inFakt's documentation today) and /v3 (older material and clients).
V3_PREFIXES = ("/api/v3", "/v3")
#: The actions of ``POST /api/v3/invoices/{ref}/{action}.json``.
ACTIONS = ("deliver_via_email", "deliver_via_post", "paid")


class _Delivery(TypedDict):
    """What :meth:`~.model.Account.deliver` and :meth:`~.model.Account.accept` are told of a delivery."""

    type: str
    doc_type: str
    recipient: str | None
    api_version: str
    email_day: int | None


def action_route_name(request: web.Request) -> str:
    """``v3.deliver_via_email``, ``v3.deliver_via_post``, ``v3.paid`` (or ``v3.<what was asked>``)."""
    return "v3." + request.match_info["action"]


class V3Routes:
    """The handlers of API v3.

    :param account: the demo account they read, deliver from and mark paid.
    :param limits: the request limits, whose time scale also sets the daily e-mail limit's day.
    """

    def __init__(self, account: Account, limits: SlidingWindowLimits) -> None:
        self.account = account
        self.limits = limits

    async def list_invoices(self, request: web.Request) -> web.Response:
        """``GET /api/v3/invoices.json?offset=&limit=&q[field_pred]=&order=``; the filters may also
        come as a JSON body ``{"q": {"field_pred": value}}``, as inFakt's documentation shows."""
        if request.method != "GET":
            return json_response(405, {"error": "Method not allowed."})
        _guard(request, write=False)
        query = filters.flatten(await _params(request))
        numbers = {name: query.get(name, default) for name, default in (("offset", "0"), ("limit", "10"))}
        if not all(inputs.looks_like_a_number(v) and len(v) <= 9 for v in numbers.values()):
            return json_response(400, {"error": "offset and limit must be integers."})
        offset, limit = int(numbers["offset"]), int(numbers["limit"])
        if not 1 <= limit <= 100:
            return json_response(400, {"error": "offset must be >= 0 and limit between 1 and 100."})
        entities = filters.select([i.v3(c) for i, c in self.account.snapshot()], query)
        page = entities[offset : offset + limit]
        base = absolute_url(request).partition("?")[0]
        link_params = [(k, v) for k, v in query.items() if k not in ("offset", "limit")]

        def link(at: int) -> str:
            return base + "?" + urllib.parse.urlencode([("offset", at), ("limit", limit), *link_params])

        metainfo = {
            "count": len(page),
            "total_count": len(entities),
            "next": link(offset + limit) if offset + limit < len(entities) else None,
            "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        }
        return json_response(200, {"metainfo": metainfo, "entities": page})

    async def invoice(self, request: web.Request) -> web.Response:
        """``GET /api/v3/invoices/{id or uuid}.json``."""
        if request.method != "GET":
            return json_response(405, {"error": "Method not allowed."})
        _guard(request, write=False)
        invoice = self._invoice_or_404(request)
        return json_response(200, invoice.v3(self.account.client_of(invoice)))

    async def action(self, request: web.Request) -> web.Response:
        """``POST /api/v3/invoices/{ref}/{deliver_via_email|deliver_via_post|paid}.json``."""
        action = request.match_info["action"]
        if action not in ACTIONS:
            return json_response(404, {"error": f"Unknown action {action}."})
        if request.method != "POST":
            return json_response(405, {"error": "Method not allowed."})
        _guard(request, write=True)
        invoice = self._invoice_or_404(request)
        params = await _params(request)
        if action == "paid":
            paid_date = params.get("paid_date")
            if paid_date is not None and not is_date(paid_date):
                return json_response(422, {"errors": {"paid_date": ["must be a date (YYYY-MM-DD)"]}})
            if paid_date is not None and paid_date < invoice.issue_date:
                error = f"must not be earlier than the invoice date ({invoice.issue_date})"
                return json_response(422, {"errors": {"paid_date": [error]}})
            self.account.mark_paid(invoice.id, paid_date)
            return web.Response(status=204)
        errors = _delivery_errors(params)
        if errors:
            return json_response(422, {"errors": errors})
        print_type = params.get("print_type") or "original"
        delivery: _Delivery = {
            "type": "mail" if action == "deliver_via_email" else "post",
            "doc_type": PRINT_TYPE_TO_DOC_TYPE.get(print_type, print_type),
            "recipient": params.get("recipient"),
            "api_version": "v3",
            "email_day": self.limits.day(),
        }
        try:
            delay = self.account.send_delay
            if delay is None:
                self.account.deliver(invoice, **delivery)
            else:
                self._send_later(self.account.accept(invoice, delay=delay, **delivery), delay)
        except PreconditionFailed as exc:
            # inFakt documents 422 for "cannot be sent"; how it answers past the daily e-mail quota is not
            # documented: 422 with an "error" naming the daily limit is this emulator's assumption.
            status = {"no_address": 422, "no_postal_package": 402, "email_limit": 422}[exc.kind]
            return json_response(status, {"error": exc.message})
        return web.Response(status=202)

    def _invoice_or_404(self, request: web.Request) -> Invoice:
        invoice = self.account.find(request.match_info["ref"])
        if invoice is None:
            raise Answer(json_response(404, {"error": "Invoice not found."}))
        return invoice

    def _send_later(self, pending: PendingDelivery, delay: float) -> None:
        """inFakt's 202: the delivery was accepted; it is carried out ``delay`` seconds from now."""
        asyncio.get_running_loop().call_later(delay, self.account.complete, pending)


def _guard(request: web.Request, *, write: bool) -> None:
    """Refuse, with an :class:`Answer`, a suffix other than ``.json`` (406), a missing or unknown API key
    (401), a key without the scope the request needs (403)."""
    if request.match_info["fmt"] != "json":
        raise Answer(json_response(406, {"error": "Not acceptable: API v3 answers in JSON only (.json)."}))
    keys = request.headers.getall("X-inFakt-ApiKey", [])
    scopes = API_KEYS.get(keys[0]) if len(keys) == 1 else None
    if scopes is None:
        raise Answer(json_response(401, {"error": "Unauthorized: missing or invalid X-inFakt-ApiKey header."}))
    needed = "api:invoices:write" if write else "api:invoices:read"
    if needed not in scopes:
        raise Answer(json_response(403, {"error": f"Forbidden: this API key lacks the {needed} scope."}))


async def _params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and the body together, as Rails merges them: inFakt's clients
    put ``print_type`` in either. A name given twice, or in both with different values, is refused."""
    params: dict[str, Any] = dict(
        inputs.single_values(inputs.query_pairs(request.rel_url.raw_query_string), where="query string")
    )
    raw = await request.read()
    kind = inputs.body_kind(request.headers.get("Content-Type", ""), bool(raw.strip()))
    body: dict[str, Any] = {}
    if kind == "json":
        body = inputs.json_object(raw)
    elif kind == "form":
        body = dict(inputs.single_values(inputs.form_pairs(raw), where="form body"))
    for name, value in body.items():
        if name in params and params[name] != value:
            raise BadInput(f"Parameter {name!r} is given both in the query string and in the body.")
        params[name] = value
    return params


def _delivery_errors(params: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors of a v3 delivery, in v3's ``{"errors": ...}`` shape. Every field is optional
    (``print_type`` defaults to the original, as inFakt's documentation shows); fields inFakt does not
    know are ignored, as inFakt ignores them."""
    errors: dict[str, list[str]] = {}
    print_type = params.get("print_type")
    if print_type is not None and print_type not in PRINT_TYPES:
        errors["print_type"] = [f"is not included in the list ({', '.join(PRINT_TYPES)})"]
    locale = params.get("locale")
    if locale is not None and locale not in LOCALES:
        errors["locale"] = [f"is not included in the list ({', '.join(LOCALES)})"]
    recipient = params.get("recipient")
    if recipient is not None and not inputs.is_email(recipient):
        errors["recipient"] = ["is not an e-mail address"]
    send_copy = params.get("send_copy")
    if send_copy is not None:
        try:
            inputs.boolean("send_copy", send_copy)
        except BadInput:
            errors["send_copy"] = ["must be true or false"]
    return errors
