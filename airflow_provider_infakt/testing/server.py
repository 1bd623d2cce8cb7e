"""The emulator's HTTP server: aiohttp routes for v2, v3, xAuth, the web page and the admin API."""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import credentials, render
from .faults import Fault, FaultBook
from .limits import RateLimiter
from .model import (
    DELIVERY_TYPES,
    DOC_TYPES,
    LOCALES,
    PRINT_TYPE_TO_DOC_TYPE,
    PRINT_TYPES,
    STATUSES,
    V2_STATUS_REVERSE,
    V3_STATUS,
    Account,
    Invoice,
    PreconditionFailed,
    RequestRecord,
)
from .oauth import OAuthRejected, OAuthVerifier

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: v3 API keys and their scopes.
API_KEYS = {
    credentials.API_KEY: frozenset({"api:invoices:read", "api:invoices:write"}),
    credentials.READONLY_API_KEY: frozenset({"api:invoices:read"}),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_V3_FILTER = re.compile(r"^q\[(?P<field>[a-z_]+?)_(?P<pred>eq|cont|lt|gt|lteq|gteq|null)\]$")
_V3_FIELDS = ("id", "uuid", "number", "status", "client_id", "gross_price", "issue_date", "paid_date")


class _Drop(Exception):
    """Close the connection without an answer."""


class _Answer(Exception):
    """Stop processing and send this response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class EmulatorApp:
    """Routes and behaviour; :class:`~airflow_provider_infakt.testing.InfaktEmulator` runs it."""

    def __init__(self, account: Account, faults: FaultBook, limiter: RateLimiter) -> None:
        self.account = account
        self.faults = faults
        self.limiter = limiter
        self.oauth = OAuthVerifier()
        self._loop: asyncio.AbstractEventLoop | None = None
        account.on_delivery.append(self._schedule_payment)

    # -- application -------------------------------------------------------------------------
    def build(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=1024 * 1024)
        r = app.router
        r.add_post("/oauth/access_token", self._api("oauth.access_token", "v2", self.xauth))
        r.add_get("/api/v2/invoices/{name}.{fmt}", self._api("v2", "v2", self.v2_dispatch))
        r.add_route("*", "/api/v3/invoices.{fmt}", self._api("v3.list", "v3", self.v3_list))
        r.add_route("*", "/api/v3/invoices/{ref}.{fmt}", self._api("v3.invoice", "v3", self.v3_invoice))
        r.add_route("*", "/api/v3/invoices/{ref}/{action}.{fmt}", self._api("v3.action", "v3", self.v3_action))
        r.add_get("/app/invoices/{ref}", self._api("web.invoice", None, self.web_invoice))
        r.add_get("/_emulator", self.admin_index)
        r.add_get("/_emulator/", self.admin_index)
        r.add_get("/_emulator/deliveries", self.admin_deliveries)
        r.add_get("/_emulator/requests", self.admin_requests)
        r.add_post("/_emulator/reset", self.admin_reset)
        r.add_get("/_emulator/invoices", self.admin_invoices)
        r.add_post("/_emulator/invoices", self.admin_create_invoice)
        r.add_get("/_emulator/invoices/{id}", self.admin_invoice)
        r.add_post("/_emulator/invoices/{id}/paid", self.admin_mark_paid)
        r.add_post("/_emulator/scenarios/pay-after-delivery", self.admin_pay_after)
        r.add_get("/_emulator/faults", self.admin_faults)
        r.add_post("/_emulator/faults", self.admin_add_fault)
        r.add_delete("/_emulator/faults", self.admin_clear_faults)
        r.add_get("/_emulator/limits", self.admin_limits)
        r.add_post("/_emulator/limits", self.admin_set_limits)
        r.add_post("/_emulator/account", self.admin_account)
        app.on_startup.append(self._remember_loop)
        return app

    async def _remember_loop(self, _app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()

    # -- the pipeline every API request goes through -----------------------------------------
    def _api(self, route: str, api_version: str | None, handler: Handler) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
            name = self._route_name(route, request)
            status: int | None = None
            try:
                response = await self._serve(name, api_version, handler, request)
                status = response.status
                return response
            except _Drop:
                request.transport.abort() if request.transport else None  # type: ignore[func-returns-value]
                raise asyncio.CancelledError from None
            finally:
                self.account.log_request(
                    RequestRecord(
                        method=request.method,
                        path=request.raw_path,
                        route=name,
                        api_version=api_version,
                        status=status,
                        time=time.time(),
                        peer=_peer(request),
                    )
                )

        return serve

    async def _serve(
        self, route: str, api_version: str | None, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        fault = self.faults.take(route)
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.drop == "before":
                raise _Drop
            if fault.redirect_to is not None:
                return web.Response(status=307, headers={"Location": fault.redirect_to})
            if fault.status is not None:
                return self._fault_response(fault, route, api_version, request)
        try:
            if api_version is not None and route != "web.invoice":
                reason = self.limiter.check(request.remote or "?", request.method)
                if reason is not None:
                    raise _Answer(self._error(request, api_version, 429, reason))
            response = await handler(request)
        except _Answer as answer:
            response = answer.response
        if fault is not None and fault.drop == "after":
            raise _Drop
        return response

    @staticmethod
    def _route_name(route: str, request: web.Request) -> str:
        if route == "v2":
            name = request.match_info["name"]
            return "v2.deliver" if name == "deliver" else "v2.list" if name == "list" else "v2.invoice"
        if route == "v3.action":
            return "v3." + request.match_info["action"]
        return route

    def _fault_response(self, fault: Fault, route: str, api_version: str | None, request: web.Request) -> web.Response:
        assert fault.status is not None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.body is not None:
            return web.Response(status=fault.status, body=fault.body.encode(), headers=headers)
        response = self._error(request, api_version or "v3", fault.status, f"Emulated fault: HTTP {fault.status}")
        response.headers.update(headers)
        return response

    # -- error bodies ------------------------------------------------------------------------
    def _error(self, request: web.Request, api_version: str, status: int, message: str) -> web.Response:
        if api_version == "v2":
            fmt = request.match_info.get("fmt", "json")
            fmt = fmt if fmt in render.CONTENT_TYPES else "json"
            body = render.v2_error(fmt, message, request.raw_path)
            return web.Response(status=status, body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})
        return _json(status, {"error": message})

    # -- xAuth ---------------------------------------------------------------------------------
    async def xauth(self, request: web.Request) -> web.Response:
        """``POST /oauth/access_token``: xAuth login answered with a form-encoded token pair."""
        body = await request.text()
        try:
            self.oauth.verify(
                method="POST",
                url=_absolute_url(request),
                headers=request.headers,
                body=body,
                require_token=False,
            )
            token, secret = self.oauth.xauth_exchange(dict(urllib.parse.parse_qsl(body)))
        except OAuthRejected as exc:
            return web.Response(status=401, text=str(exc), content_type="text/plain")
        payload = urllib.parse.urlencode({"oauth_token": token, "oauth_token_secret": secret})
        return web.Response(body=payload.encode(), content_type="application/x-www-form-urlencoded")

    # -- v2 ------------------------------------------------------------------------------------
    async def v2_dispatch(self, request: web.Request) -> web.Response:
        """``GET /api/v2/invoices/{deliver|list|<id>}.{xml|json}``."""
        fmt = request.match_info["fmt"]
        if fmt not in render.CONTENT_TYPES:
            return self._error(request, "v2", 406, f"Unknown format ({fmt}). Use .xml or .json. See documentation.")
        try:
            self.oauth.verify(method=request.method, url=_absolute_url(request), headers=request.headers)
        except OAuthRejected as exc:
            return self._error(request, "v2", 401, f"{exc} See documentation.")
        route = self._route_name("v2", request)
        if route == "v2.deliver":
            return self.v2_deliver(request, fmt)
        if route == "v2.list":
            return self.v2_list(request, fmt)
        name = request.match_info["name"]
        invoice = self.account.find(name) if name.isdigit() else None
        if invoice is None:
            return self._error(request, "v2", 404, f"Invoice not found (id={name}). See documentation.")
        body = render.v2_body(fmt, "invoice", invoice.v2(self.account.client_of(invoice)))
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})

    def v2_deliver(self, request: web.Request, fmt: str) -> web.Response:
        """The seed's call: ``GET /api/v2/invoices/deliver.{fmt}?type=&doc_type=&id=[&recipient=]``."""
        query = request.query
        missing = [p for p in ("id", "type", "doc_type") if not query.get(p)]
        if missing:
            return self._error(
                request, "v2", 400, f"Missing required parameter ({', '.join(missing)}). See documentation."
            )
        outside = [p for p, allowed in (("type", DELIVERY_TYPES), ("doc_type", DOC_TYPES)) if query[p] not in allowed]
        if outside:
            return self._error(request, "v2", 400, render.value_not_in_set(outside))
        if not query["id"].isdigit():
            return self._error(request, "v2", 400, "Parameter's value is not a number (id). See documentation.")
        recipient = query.get("recipient")
        if recipient is not None and not _EMAIL.match(recipient):
            return self._error(
                request,
                "v2",
                400,
                "Parameter's value is not an e-mail address (recipient). See documentation.",
            )
        invoice = self.account.find(int(query["id"]))
        if invoice is None:
            return self._error(request, "v2", 404, f"Invoice not found (id={query['id']}). See documentation.")
        try:
            self.account.deliver(
                invoice,
                type=query["type"],
                doc_type=query["doc_type"],
                recipient=recipient,
                api_version="v2",
                email_window=self._email_window(),
            )
        except PreconditionFailed as exc:
            status = 429 if exc.kind == "email_limit" else 400
            return self._error(request, "v2", status, f"{exc.message} See documentation.")
        body = render.v2_body(fmt, "invoice", {"invoice_id": invoice.id})
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})

    def v2_list(self, request: web.Request, fmt: str) -> web.Response:
        """``GET /api/v2/invoices/list.{fmt}?page=&per_page=&status=`` (status in Polish)."""
        try:
            page = int(request.query.get("page", "1"))
            per_page = int(request.query.get("per_page", "25"))
        except ValueError:
            return self._error(request, "v2", 400, "Parameter's value is not a number (page, per_page).")
        if page < 1 or not 1 <= per_page <= 100:
            return self._error(request, "v2", 400, "page must be >= 1 and per_page between 1 and 100.")
        rows = self.account.snapshot()
        status = request.query.get("status")
        if status is not None:
            if status not in V2_STATUS_REVERSE:
                return self._error(request, "v2", 400, render.value_not_in_set(["status"]))
            rows = [(i, c) for i, c in rows if i.status == V2_STATUS_REVERSE[status]]
        chosen = rows[(page - 1) * per_page : page * per_page]
        value = {
            "invoices": [i.v2(c) for i, c in chosen],
            "page": page,
            "per_page": per_page,
            "total_count": len(rows),
        }
        body = render.xml_document("hash", value) if fmt == "xml" else render.json_document(value)
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})

    # -- v3 ------------------------------------------------------------------------------------
    def _v3_guard(self, request: web.Request, *, write: bool) -> None:
        if request.match_info["fmt"] != "json":
            raise _Answer(_json(406, {"error": "Not acceptable: API v3 answers in JSON only (.json)."}))
        scopes = API_KEYS.get(request.headers.get("X-inFakt-ApiKey", ""))
        if scopes is None:
            raise _Answer(_json(401, {"error": "Unauthorized: missing or invalid X-inFakt-ApiKey header."}))
        needed = "api:invoices:write" if write else "api:invoices:read"
        if needed not in scopes:
            raise _Answer(_json(403, {"error": f"Forbidden: this API key lacks the {needed} scope."}))

    def _v3_invoice_or_404(self, request: web.Request) -> Invoice:
        invoice = self.account.find(request.match_info["ref"])
        if invoice is None:
            raise _Answer(_json(404, {"error": "Invoice not found."}))
        return invoice

    async def v3_list(self, request: web.Request) -> web.Response:
        """``GET /api/v3/invoices.json?offset=&limit=&q[field_pred]=&order=``."""
        if request.method != "GET":
            return _json(405, {"error": "Method not allowed."})
        self._v3_guard(request, write=False)
        query = request.query
        try:
            offset = int(query.get("offset", "0"))
            limit = int(query.get("limit", "10"))
        except ValueError:
            return _json(400, {"error": "offset and limit must be integers."})
        if offset < 0 or not 1 <= limit <= 100:
            return _json(400, {"error": "offset must be >= 0 and limit between 1 and 100."})
        entities = [i.v3(c) for i, c in self.account.snapshot()]
        for key, value in query.items():
            if not key.startswith("q["):
                continue
            match = _V3_FILTER.match(key)
            if match is None or match["field"] not in _V3_FIELDS:
                return _json(400, {"error": f"Unknown filter {key}. Fields: {', '.join(_V3_FIELDS)}."})
            entities = [e for e in entities if _v3_matches(e.get(match["field"]), match["pred"], value)]
        if "order" in query:
            field, _, direction = query["order"].partition(" ")
            if field not in _V3_FIELDS or direction not in ("", "asc", "desc"):
                return _json(400, {"error": f"Cannot order by {query['order']!r}."})
            entities.sort(key=lambda e: (e[field] is None, e[field]), reverse=direction == "desc")
        page = entities[offset : offset + limit]
        base = _absolute_url(request).partition("?")[0]

        def link(at: int) -> str:
            rest = [(k, v) for k, v in query.items() if k not in ("offset", "limit")]
            return base + "?" + urllib.parse.urlencode([("offset", at), ("limit", limit), *rest])

        metainfo = {
            "count": len(page),
            "total_count": len(entities),
            "next": link(offset + limit) if offset + limit < len(entities) else None,
            "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        }
        return _json(200, {"metainfo": metainfo, "entities": page})

    async def v3_invoice(self, request: web.Request) -> web.Response:
        """``GET /api/v3/invoices/{id or uuid}.json``."""
        if request.method != "GET":
            return _json(405, {"error": "Method not allowed."})
        self._v3_guard(request, write=False)
        invoice = self._v3_invoice_or_404(request)
        return _json(200, invoice.v3(self.account.client_of(invoice)))

    async def v3_action(self, request: web.Request) -> web.Response:
        """``POST /api/v3/invoices/{ref}/{deliver_via_email|deliver_via_post|paid}.json``."""
        action = request.match_info["action"]
        if action not in ("deliver_via_email", "deliver_via_post", "paid"):
            return _json(404, {"error": f"Unknown action {action}."})
        if request.method != "POST":
            return _json(405, {"error": "Method not allowed."})
        self._v3_guard(request, write=True)
        invoice = self._v3_invoice_or_404(request)
        raw = await request.read()
        try:
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _json(400, {"error": "Request body is not valid JSON."})
        if not isinstance(payload, dict):
            return _json(400, {"error": "Request body must be a JSON object."})
        if action == "paid":
            paid_date = payload.get("paid_date")
            if paid_date is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(paid_date)):
                return _json(422, {"errors": {"paid_date": ["must be a date (YYYY-MM-DD)"]}})
            self.account.mark_paid(invoice.id, paid_date)
            return web.Response(status=204)
        errors = _v3_delivery_errors(payload, email=action == "deliver_via_email")
        if errors:
            return _json(422, {"errors": errors})
        print_type = str(payload.get("print_type") or "original")
        try:
            self.account.deliver(
                invoice,
                type="mail" if action == "deliver_via_email" else "post",
                doc_type=PRINT_TYPE_TO_DOC_TYPE.get(print_type, print_type),
                recipient=payload.get("recipient"),
                api_version="v3",
                email_window=self._email_window(),
            )
        except PreconditionFailed as exc:
            status = {"no_address": 422, "no_postal_package": 402, "email_limit": 429}[exc.kind]
            return _json(status, {"error": exc.message})
        return web.Response(status=202)

    # -- web page for the "inFakt invoice" extra link ---------------------------------------
    async def web_invoice(self, request: web.Request) -> web.Response:
        """``GET /app/invoices/{id}``: a small HTML page standing in for the inFakt web app."""
        invoice = self.account.find(request.match_info["ref"])
        if invoice is None:
            return web.Response(status=404, text="Invoice not found", content_type="text/plain")
        client = self.account.client_of(invoice)
        page = (
            '<!doctype html><html lang="pl"><head><meta charset="utf-8">'
            f"<title>Faktura {html.escape(invoice.number)}</title></head><body>"
            f"<h1>Faktura {html.escape(invoice.number)}</h1>"
            f"<p>Klient: {html.escape(client.company_name)}</p>"
            f"<p>Status: {html.escape(V3_STATUS[invoice.status])}</p>"
            "<p><small>inFakt emulator</small></p></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    # -- admin ---------------------------------------------------------------------------------
    async def admin_index(self, _request: web.Request) -> web.Response:
        """List the admin routes."""
        routes = sorted(
            {
                f"{r.method} {r.resource.canonical}"
                for r in _request.app.router.routes()
                if r.resource is not None and r.resource.canonical.startswith("/_emulator")
            }
        )
        return _json(200, {"routes": routes})

    async def admin_deliveries(self, _request: web.Request) -> web.Response:
        """Every delivery recorded, oldest first."""
        return _json(200, {"deliveries": [d.as_dict() for d in self.account.copy_deliveries()]})

    async def admin_requests(self, _request: web.Request) -> web.Response:
        """Every API request received, oldest first."""
        return _json(200, {"requests": [r.as_dict() for r in self.account.copy_requests()]})

    async def admin_reset(self, _request: web.Request) -> web.Response:
        """Reseed the account, disarm faults, switch limits off."""
        self.reset()
        return _json(200, {"reset": True})

    def reset(self) -> None:
        """Reseed the account, disarm faults, forget rate-limit counts (limit settings stay)."""
        from .emulator import reset_state

        reset_state(self.account, self.faults, self.limiter)

    async def admin_invoices(self, _request: web.Request) -> web.Response:
        """All invoices as v3 shows them, plus the client's e-mail address (admin only)."""
        return _json(200, {"invoices": [_admin_invoice(i, c) for i, c in self.account.snapshot()]})

    async def admin_invoice(self, request: web.Request) -> web.Response:
        """One invoice, as in :meth:`admin_invoices`."""
        invoice = self.account.find(request.match_info["id"])
        if invoice is None:
            return _json(404, {"error": "Invoice not found."})
        return _json(200, _admin_invoice(invoice, self.account.client_of(invoice)))

    async def admin_create_invoice(self, request: web.Request) -> web.Response:
        """Create an invoice from JSON (fields as :meth:`Account.create_invoice`)."""
        payload = await _json_body(request)
        allowed = {"client_email", "client_name", "status", "number", "gross_price"}
        unknown = set(payload) - allowed
        if unknown:
            return _json(400, {"error": f"Unknown fields {sorted(unknown)}; allowed: {sorted(allowed)}."})
        if payload.get("status", "draft") not in STATUSES:
            return _json(400, {"error": f"status must be one of {', '.join(STATUSES)}."})
        invoice = self.account.create_invoice(**payload)
        return _json(201, _admin_invoice(invoice, self.account.client_of(invoice)))

    async def admin_mark_paid(self, request: web.Request) -> web.Response:
        """Mark an invoice paid."""
        invoice = self.account.find(request.match_info["id"])
        if invoice is None:
            return _json(404, {"error": "Invoice not found."})
        self.account.mark_paid(invoice.id)
        return _json(200, _admin_invoice(invoice, self.account.client_of(invoice)))

    async def admin_pay_after(self, request: web.Request) -> web.Response:
        """Scenario: ``{"seconds": N}`` marks each delivered invoice paid N seconds later; null stops it."""
        seconds = (await _json_body(request)).get("seconds")
        if seconds is not None and (not isinstance(seconds, int | float) or seconds < 0):
            return _json(400, {"error": "seconds must be a non-negative number or null."})
        self.account.pay_after_delivery = seconds
        return _json(200, {"seconds": seconds})

    async def admin_faults(self, _request: web.Request) -> web.Response:
        """Armed faults."""
        return _json(200, {"faults": [f.as_dict() for f in self.faults.list()]})

    async def admin_add_fault(self, request: web.Request) -> web.Response:
        """Arm a fault: JSON with the fields of :class:`~.faults.Fault`."""
        payload = await _json_body(request)
        allowed = {"route", "status", "times", "latency", "retry_after", "drop", "redirect_to", "body"}
        unknown = set(payload) - allowed
        if unknown or "route" not in payload:
            return _json(400, {"error": f"A fault needs route; allowed fields: {sorted(allowed)}."})
        if payload.get("retry_after") is not None:
            payload["retry_after"] = str(payload["retry_after"])
        try:
            fault = self.faults.add(Fault(**payload))
        except (TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(201, fault.as_dict())

    async def admin_clear_faults(self, _request: web.Request) -> web.Response:
        """Disarm every fault."""
        self.faults.clear()
        return _json(200, {"faults": []})

    async def admin_limits(self, _request: web.Request) -> web.Response:
        """Whether limits are on, and the time scale."""
        return _json(200, self.limits_state())

    def limits_state(self) -> dict[str, Any]:
        """Limit settings as JSON-ready data."""
        return {
            "enabled": self.limiter.enabled,
            "time_scale": self.limiter.time_scale,
            "get_per_minute": self.limiter.get_per_minute,
            "other_per_minute": self.limiter.other_per_minute,
            "emails_per_day": self.account.email_daily_limit,
        }

    async def admin_set_limits(self, request: web.Request) -> web.Response:
        """Switch limits: JSON ``{"enabled"?: bool, "time_scale"?: number}``."""
        payload = await _json_body(request)
        try:
            self.limiter.configure(enabled=payload.get("enabled"), time_scale=payload.get("time_scale"))
        except ValueError as exc:
            return _json(400, {"error": str(exc)})
        return _json(200, self.limits_state())

    async def admin_account(self, request: web.Request) -> web.Response:
        """Account settings: JSON ``{"postal_package"?: bool, "emails_per_day"?: int}``."""
        payload = await _json_body(request)
        if "postal_package" in payload:
            self.account.postal_package = bool(payload["postal_package"])
        if "emails_per_day" in payload:
            self.account.email_daily_limit = int(payload["emails_per_day"])
        return _json(
            200,
            {"postal_package": self.account.postal_package, "emails_per_day": self.account.email_daily_limit},
        )

    # -- helpers -------------------------------------------------------------------------------
    def _email_window(self) -> float | None:
        return 86400.0 / self.limiter.time_scale if self.limiter.enabled else None

    def _schedule_payment(self, record: Any) -> None:
        seconds = self.account.pay_after_delivery
        if seconds is None or self._loop is None:
            return
        loop = self._loop
        invoice_id = record.invoice_id
        loop.call_soon_threadsafe(lambda: loop.call_later(seconds, self.account.mark_paid, invoice_id))


def _json(status: int, value: Any) -> web.Response:
    return web.Response(
        status=status,
        body=render.json_document(value),
        headers={"Content-Type": render.CONTENT_TYPES["json"]},
    )


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise _AdminError("Request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise _AdminError("Request body must be a JSON object.")
    return payload


class _AdminError(web.HTTPBadRequest):
    def __init__(self, message: str) -> None:
        super().__init__(body=render.json_document({"error": message}), content_type="application/json")


def _peer(request: web.Request) -> str:
    peername = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peername[0]}:{peername[1]}" if peername else ""


def _absolute_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{request.raw_path}"


def _admin_invoice(invoice: Invoice, client: Any) -> dict[str, Any]:
    return {**invoice.v3(client), "internal_status": invoice.status, "client_email": client.email}


def _v3_delivery_errors(payload: dict[str, Any], *, email: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    print_type = payload.get("print_type")
    if email and print_type is None:
        errors["print_type"] = ["can't be blank"]
    elif print_type is not None and print_type not in PRINT_TYPES:
        errors["print_type"] = [f"is not included in the list ({', '.join(PRINT_TYPES)})"]
    locale = payload.get("locale")
    if locale is not None and locale not in LOCALES:
        errors["locale"] = [f"is not included in the list ({', '.join(LOCALES)})"]
    recipient = payload.get("recipient")
    if recipient is not None and (not isinstance(recipient, str) or not _EMAIL.match(recipient)):
        errors["recipient"] = ["is not an e-mail address"]
    send_copy = payload.get("send_copy")
    if send_copy is not None and not isinstance(send_copy, bool):
        errors["send_copy"] = ["must be true or false"]
    return errors


def _v3_matches(actual: Any, predicate: str, expected: str) -> bool:
    if predicate == "null":
        return (actual is None) == (expected.lower() in ("1", "true"))
    if actual is None:
        return False
    if predicate == "cont":
        return expected.lower() in str(actual).lower()
    left: Any = actual
    right: Any = expected
    if isinstance(actual, int):
        try:
            right = int(expected)
        except ValueError:
            return False
    if predicate == "eq":
        return bool(left == right)
    ops = {"lt": left < right, "gt": left > right, "lteq": left <= right, "gteq": left >= right}
    return bool(ops[predicate])
