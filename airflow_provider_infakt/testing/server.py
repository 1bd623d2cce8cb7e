"""The emulator's HTTP server: aiohttp routes for v2, v3, xAuth, the web page and the admin API.

Every request ends in an answer of the shape its route speaks (v2: ``{"message", "request"}`` or the
``<hash>`` XML; v3 and admin: ``{"error"}`` or ``{"errors"}``; the OAuth endpoint and the web page:
plain text), whatever it carries: input is read through :mod:`._inputs`, which refuses bad input with a
message, never with an exception of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import _inputs as inputs
from . import _render as render
from . import credentials
from ._inputs import BadInput
from ._limits import SlidingWindowLimits
from ._oauth import OAuthRejected, OAuthVerifier
from .faults import Fault, FaultBook
from .model import (
    DELIVERY_TYPES,
    DOC_TYPES,
    LOCALES,
    PRINT_TYPE_TO_DOC_TYPE,
    PRINT_TYPES,
    V2_STATUS_REVERSE,
    V3_STATUS,
    Account,
    DeliveryRecord,
    InvalidFields,
    Invoice,
    PendingDelivery,
    PreconditionFailed,
    RequestRecord,
    invoice_field_errors,
    reset_state,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: v3 API keys and their scopes.
API_KEYS = {
    credentials.API_KEY: frozenset({"api:invoices:read", "api:invoices:write"}),
    credentials.READONLY_API_KEY: frozenset({"api:invoices:read"}),
}
#: Largest request body read (bytes); larger ones are answered 413.
MAX_BODY = 1024 * 1024
_V3_FIELDS = ("id", "uuid", "number", "status", "client_id", "gross_price", "issue_date", "paid_date")
_V3_PREDICATES = ("eq", "cont", "lt", "gt", "lteq", "gteq", "null")
#: v3 lives under /api/v3 (inFakt's documentation today) and /v3 (older material and clients).
V3_PREFIXES = ("/api/v3", "/v3")
_LOG = logging.getLogger("airflow_provider_infakt.testing.server")


class _Drop(Exception):
    """Close the connection without an answer."""


class _Answer(Exception):
    """Stop processing and send this response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class EmulatorApp:
    """Routes and behaviour; :class:`~airflow_provider_infakt.testing.InfaktEmulator` runs it."""

    def __init__(self, account: Account, faults: FaultBook[Fault], limiter: SlidingWindowLimits) -> None:
        self.account = account
        self.faults = faults
        self.limiter = limiter
        self.oauth = OAuthVerifier()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        account.on_delivery.append(self._schedule_payment)

    # -- application -------------------------------------------------------------------------
    def build(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._shape_errors])
        r = app.router
        r.add_post("/oauth/access_token", self._api("oauth.access_token", "v2", self.xauth))
        r.add_get("/api/v2/invoices/{name}.{fmt}", self._api("v2", "v2", self.v2_dispatch))
        for prefix in V3_PREFIXES:
            r.add_route("*", prefix + "/invoices.{fmt}", self._api("v3.list", "v3", self.v3_list))
            r.add_route("*", prefix + "/invoices/{ref}.{fmt}", self._api("v3.invoice", "v3", self.v3_invoice))
            r.add_route("*", prefix + "/invoices/{ref}/{action}.{fmt}", self._api("v3.action", "v3", self.v3_action))
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
        r.add_post("/_emulator/scenarios/deferred-sending", self.admin_deferred_sending)
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

    # -- every request: errors in the shape of the route -------------------------------------
    @web.middleware
    async def _shape_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Unmatched routes (404, 405), bodies too large (413), refused admin input (400, 422) and,
        should one ever slip through, an unexpected exception (500): answered in the route's shape."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or (exc.content_type or "").startswith("application/json"):
                raise
            return self._error_for_path(request, exc.status, _http_error_text(exc))
        except InvalidFields as exc:
            return _json(422, {"errors": exc.errors})
        except BadInput as exc:
            return self._error_for_path(request, 400, str(exc))
        except Exception as exc:  # the safety net: a bug, but the emulator must keep answering
            _LOG.error("inFakt emulator: %s in %s %s", type(exc).__name__, request.method, request.path)
            return self._error_for_path(request, 500, "Internal emulator error.")

    def _error_for_path(self, request: web.Request, status: int, message: str) -> web.Response:
        path = request.path
        if path.startswith("/api/v2/"):
            return self._error(request, "v2", status, message)
        if path.startswith(("/oauth/", "/app/")):
            return web.Response(status=status, text=message, content_type="text/plain")
        return _json(status, {"error": message})

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
        fault = self.faults.take(route, request.path)
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.drop == "before":
                raise _Drop
            if fault.redirect_to is not None:
                return web.Response(status=307, headers={"Location": fault.redirect_to})
            if fault.status is not None:
                return self._fault_response(fault, api_version, request)
        try:
            # Read the body now: a client that gives up during a processing delay takes its
            # connection (and the unread body) with it, and the request must still be processed.
            await request.read()
        except web.HTTPException as exc:
            return self._error(request, api_version, exc.status, _http_error_text(exc))
        except ConnectionError:  # the client gave up (e.g. during latency): nothing to process
            raise _Drop from None
        if fault is not None and fault.processing_delay:
            response = await self._after_shielded(fault.processing_delay, route, api_version, handler, request)
        else:
            response = await self._process(route, api_version, handler, request)
        if fault is not None and fault.answer_delay:
            await asyncio.sleep(fault.answer_delay)
        if fault is not None and fault.drop == "after":
            raise _Drop
        return response

    async def _after_shielded(
        self, delay: float, route: str, api_version: str | None, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        """Wait ``delay`` seconds, then process: in a task of its own, so that nothing that happens to
        the connection meanwhile (the client timing out and closing it) stops the processing."""

        async def later() -> web.StreamResponse:
            await asyncio.sleep(delay)
            return await self._process(route, api_version, handler, request)

        task = asyncio.ensure_future(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(task)

    async def _process(
        self, route: str, api_version: str | None, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        try:
            if api_version is not None and route != "web.invoice":
                reason = self.limiter.check(request.remote or "?", request.method)
                if reason is not None:
                    raise _Answer(self._error(request, api_version, 429, reason))
            return await handler(request)
        except _Answer as answer:
            return answer.response
        except BadInput as exc:
            message = str(exc) + (" See documentation." if request.path.startswith("/api/v2/") else "")
            return self._error(request, api_version, 400, message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return self._error(request, api_version, exc.status, _http_error_text(exc))

    @staticmethod
    def _route_name(route: str, request: web.Request) -> str:
        if route == "v2":
            name = request.match_info["name"]
            return "v2.deliver" if name == "deliver" else "v2.list" if name == "list" else "v2.invoice"
        if route == "v3.action":
            return "v3." + request.match_info["action"]
        return route

    def _fault_response(self, fault: Fault, api_version: str | None, request: web.Request) -> web.Response:
        assert fault.status is not None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        if fault.body is not None:
            return web.Response(status=fault.status, body=fault.body.encode(), headers=headers)
        response = self._error(request, api_version or "v3", fault.status, f"Emulated fault: HTTP {fault.status}")
        response.headers.update(headers)
        return response

    # -- error bodies ------------------------------------------------------------------------
    def _error(self, request: web.Request, api_version: str | None, status: int, message: str) -> web.Response:
        if api_version is None or request.path.startswith("/oauth/"):
            return web.Response(status=status, text=message, content_type="text/plain")
        if api_version == "v2":
            fmt = request.match_info.get("fmt") or request.path.rpartition(".")[2]
            fmt = fmt if fmt in render.CONTENT_TYPES else "json"
            body = render.v2_error(fmt, message, request.raw_path)
            return web.Response(status=status, body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})
        return _json(status, {"error": message})

    # -- xAuth ---------------------------------------------------------------------------------
    async def xauth(self, request: web.Request) -> web.Response:
        """``POST /oauth/access_token``: xAuth login answered with a form-encoded token pair."""
        raw = await request.read()
        media = request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if raw and media != "application/x-www-form-urlencoded":
            raise BadInput("xAuth needs a form body (Content-Type: application/x-www-form-urlencoded).")
        try:
            body = raw.decode("ascii")
        except UnicodeDecodeError:
            raise BadInput("Request body is not valid UTF-8 form data (percent-encode it).") from None
        form = inputs.single_values(inputs.form_pairs(raw), where="form body")
        try:
            self.oauth.verify(
                method="POST",
                url=_absolute_url(request),
                headers=request.headers,
                body=body,
                require_token=False,
            )
            token, secret = self.oauth.xauth_exchange(form)
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
        query = inputs.single_values(inputs.query_pairs(request.rel_url.raw_query_string), where="query string")
        route = self._route_name("v2", request)
        if route == "v2.deliver":
            return self.v2_deliver(request, fmt, query)
        if route == "v2.list":
            return self.v2_list(request, fmt, query)
        name = request.match_info["name"]
        ref = inputs.invoice_ref(name, allow_uuid=False)
        invoice = self.account.find(ref) if ref is not None else None
        if invoice is None:
            return self._error(request, "v2", 404, f"Invoice not found (id={name}). See documentation.")
        body = render.v2_body(fmt, "invoice", invoice.v2(self.account.client_of(invoice)))
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})

    def v2_deliver(self, request: web.Request, fmt: str, query: dict[str, str]) -> web.Response:
        """The seed's call: ``GET /api/v2/invoices/deliver.{fmt}?type=&doc_type=&id=[&recipient=]``."""
        missing = [p for p in ("id", "type", "doc_type") if not query.get(p)]
        if missing:
            return self._error(
                request, "v2", 400, f"Missing required parameter ({', '.join(missing)}). See documentation."
            )
        outside = [p for p, allowed in (("type", DELIVERY_TYPES), ("doc_type", DOC_TYPES)) if query[p] not in allowed]
        if outside:
            return self._error(request, "v2", 400, render.value_not_in_set(outside))
        if not inputs.looks_like_a_number(query["id"]):
            return self._error(request, "v2", 400, "Parameter's value is not a number (id). See documentation.")
        recipient = query.get("recipient")
        if recipient is not None and not inputs.is_email(recipient):
            return self._error(
                request,
                "v2",
                400,
                "Parameter's value is not an e-mail address (recipient). See documentation.",
            )
        ref = inputs.invoice_ref(query["id"], allow_uuid=False)
        invoice = self.account.find(ref) if ref is not None else None
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

    def v2_list(self, request: web.Request, fmt: str, query: dict[str, str]) -> web.Response:
        """``GET /api/v2/invoices/list.{fmt}?page=&per_page=&status=`` (status in Polish)."""
        numbers = {name: query.get(name, default) for name, default in (("page", "1"), ("per_page", "25"))}
        if not all(inputs.looks_like_a_number(v) and len(v) <= 9 for v in numbers.values()):
            return self._error(request, "v2", 400, "Parameter's value is not a number (page, per_page).")
        page, per_page = int(numbers["page"]), int(numbers["per_page"])
        if page < 1 or not 1 <= per_page <= 100:
            return self._error(request, "v2", 400, "page must be >= 1 and per_page between 1 and 100.")
        rows = self.account.snapshot()
        status = query.get("status")
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
        keys = request.headers.getall("X-inFakt-ApiKey", [])
        scopes = API_KEYS.get(keys[0]) if len(keys) == 1 else None
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

    async def _v3_params(self, request: web.Request) -> dict[str, Any]:
        """Parameters from the query string and the body together, as Rails merges them: inFakt's
        clients put ``print_type`` in either. A name given twice, or in both with different values,
        is refused."""
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

    async def v3_list(self, request: web.Request) -> web.Response:
        """``GET /api/v3/invoices.json?offset=&limit=&q[field_pred]=&order=``; the filters may also
        come as a JSON body ``{"q": {"field_pred": value}}``, as inFakt's documentation shows."""
        if request.method != "GET":
            return _json(405, {"error": "Method not allowed."})
        self._v3_guard(request, write=False)
        query = await self._v3_params(request)
        nested = query.pop("q", None)
        if nested is not None:
            if not isinstance(nested, dict):
                raise BadInput('"q" must be an object of filters, e.g. {"q": {"status_eq": "sent"}}.')
            for key, value in nested.items():
                name = f"q[{key}]"
                text = ("true" if value else "false") if isinstance(value, bool) else value
                if name in query or not isinstance(text, str | int) or isinstance(text, bool):
                    raise BadInput(f"Filter {key!r} is given twice or is not a string, number or boolean.")
                query[name] = str(text)
        for name, value in list(query.items()):
            if inputs.is_whole(value):
                query[name] = str(value)
            elif not isinstance(value, str):
                raise BadInput(f"List parameter {name!r} must be a string or a whole number.")
        numbers = {name: query.get(name, default) for name, default in (("offset", "0"), ("limit", "10"))}
        if not all(inputs.looks_like_a_number(str(v)) and len(str(v)) <= 9 for v in numbers.values()):
            return _json(400, {"error": "offset and limit must be integers."})
        offset, limit = int(numbers["offset"]), int(numbers["limit"])
        if not 1 <= limit <= 100:
            return _json(400, {"error": "offset must be >= 0 and limit between 1 and 100."})
        entities = [i.v3(c) for i, c in self.account.snapshot()]
        for key, value in query.items():
            if not key.startswith("q["):
                continue
            filtered = _v3_filter(key)
            if filtered is None:
                return _json(400, {"error": f"Unknown filter {key}. Fields: {', '.join(_V3_FIELDS)}."})
            field, predicate = filtered
            entities = [e for e in entities if _v3_matches(e.get(field), predicate, value)]
        if "order" in query:
            field, _, direction = query["order"].partition(" ")
            if field not in _V3_FIELDS or direction not in ("", "asc", "desc"):
                return _json(400, {"error": f"Cannot order by {query['order']!r}."})
            entities.sort(key=lambda e: (e[field] is None, e[field]), reverse=direction == "desc")
        page = entities[offset : offset + limit]
        base = _absolute_url(request).partition("?")[0]
        link_params = [(k, v) for k, v in query.items() if k not in ("offset", "limit")]

        def link(at: int) -> str:
            return base + "?" + urllib.parse.urlencode([("offset", at), ("limit", limit), *link_params])

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
        params = await self._v3_params(request)
        if action == "paid":
            paid_date = params.get("paid_date")
            if paid_date is not None and not _is_date(paid_date):
                return _json(422, {"errors": {"paid_date": ["must be a date (YYYY-MM-DD)"]}})
            self.account.mark_paid(invoice.id, paid_date)
            return web.Response(status=204)
        errors = _v3_delivery_errors(params)
        if errors:
            return _json(422, {"errors": errors})
        print_type = params.get("print_type") or "original"
        delivery: dict[str, Any] = {
            "type": "mail" if action == "deliver_via_email" else "post",
            "doc_type": PRINT_TYPE_TO_DOC_TYPE.get(print_type, print_type),
            "recipient": params.get("recipient"),
            "api_version": "v3",
            "email_window": self._email_window(),
        }
        try:
            delay = self.account.send_delay
            if delay is None:
                self.account.deliver(invoice, **delivery)
            else:
                self._send_later(self.account.accept(invoice, delay=delay, **delivery), delay)
        except PreconditionFailed as exc:
            status = {"no_address": 422, "no_postal_package": 402, "email_limit": 429}[exc.kind]
            return _json(status, {"error": exc.message})
        return web.Response(status=202)

    def _send_later(self, pending: PendingDelivery, delay: float) -> None:
        """inFakt's 202: the delivery was accepted; it is carried out ``delay`` seconds from now."""
        asyncio.get_running_loop().call_later(delay, self.account.complete, pending)

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
    async def admin_index(self, request: web.Request) -> web.Response:
        """List the admin routes."""
        routes = sorted(
            {
                f"{r.method} {r.resource.canonical}"
                for r in request.app.router.routes()
                if r.resource is not None and r.resource.canonical.startswith("/_emulator")
            }
        )
        return _json(200, {"routes": routes})

    async def admin_deliveries(self, _request: web.Request) -> web.Response:
        """Every delivery recorded, oldest first, and those accepted but not carried out yet."""
        return _json(
            200,
            {
                "deliveries": [d.as_dict() for d in self.account.copy_deliveries()],
                "pending": [p.as_dict() for p in self.account.copy_pending()],
            },
        )

    async def admin_requests(self, _request: web.Request) -> web.Response:
        """Every API request received, oldest first."""
        return _json(200, {"requests": [r.as_dict() for r in self.account.copy_requests()]})

    async def admin_reset(self, request: web.Request) -> web.Response:
        """Reseed the account, disarm faults, forget rate-limit counts."""
        await _no_fields(request)
        self.reset()
        return _json(200, {"reset": True})

    def reset(self) -> None:
        """Reseed the account, disarm faults, forget rate-limit counts (limit settings stay)."""
        reset_state(self.account, self.faults, self.limiter)

    async def admin_invoices(self, _request: web.Request) -> web.Response:
        """All invoices as v3 shows them, plus the client's e-mail address (admin only)."""
        return _json(200, {"invoices": [_admin_invoice(i, c) for i, c in self.account.snapshot()]})

    def _admin_invoice_or_error(self, request: web.Request) -> Invoice:
        text = request.match_info["id"]
        ref = inputs.invoice_ref(text)
        invoice = self.account.find(ref) if ref is not None else None
        if invoice is not None:
            return invoice
        if ref is None and not inputs.looks_like_a_number(text):
            raise BadInput(f"Invoice id must be a number or a uuid, not {text[:60]!r}.")
        raise _Answer(_json(404, {"error": "Invoice not found."}))

    async def admin_invoice(self, request: web.Request) -> web.Response:
        """One invoice, as in :meth:`admin_invoices`."""
        try:
            invoice = self._admin_invoice_or_error(request)
        except _Answer as answer:
            return answer.response
        return _json(200, _admin_invoice(invoice, self.account.client_of(invoice)))

    async def admin_create_invoice(self, request: web.Request) -> web.Response:
        """Create an invoice from JSON (fields as :meth:`Account.create_invoice`); field values an
        invoice cannot have are answered 422 ``{"errors": {field: [...]}}``, as v3 answers them."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, ("client_email", "client_name", "status", "number", "gross_price"))
        errors = invoice_field_errors(payload)
        if errors:
            raise InvalidFields(errors)
        invoice = self.account.create_invoice(**payload)
        return _json(201, _admin_invoice(invoice, self.account.client_of(invoice)))

    async def admin_mark_paid(self, request: web.Request) -> web.Response:
        """Mark an invoice paid."""
        await _no_fields(request)
        try:
            invoice = self._admin_invoice_or_error(request)
        except _Answer as answer:
            return answer.response
        self.account.mark_paid(invoice.id)
        return _json(200, _admin_invoice(invoice, self.account.client_of(invoice)))

    async def admin_pay_after(self, request: web.Request) -> web.Response:
        """Scenario: ``{"seconds": N}`` marks each delivered invoice paid N seconds later; null stops it."""
        seconds = _scenario_seconds(inputs.json_object(await request.read()))
        self.account.pay_after_delivery = seconds
        return _json(200, {"seconds": seconds})

    async def admin_deferred_sending(self, request: web.Request) -> web.Response:
        """Scenario: ``{"seconds": N}``: v3 deliveries are accepted (202) at once and carried out N
        seconds later (recorded, invoice ``sent``); null sends at once again."""
        seconds = _scenario_seconds(inputs.json_object(await request.read()))
        self.account.send_delay = seconds
        return _json(200, {"seconds": seconds})

    async def admin_faults(self, _request: web.Request) -> web.Response:
        """Armed faults."""
        return _json(200, {"faults": [f.as_dict() for f in self.faults.armed()]})

    async def admin_add_fault(self, request: web.Request) -> web.Response:
        """Arm a fault: JSON with the fields of :class:`~.faults.Fault`."""
        payload = inputs.json_object(await request.read())
        allowed = (
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
        inputs.unknown_fields(payload, allowed)
        if "route" not in payload:
            raise BadInput(f"A fault needs route; allowed fields: {sorted(allowed)}.")
        try:
            fault = Fault(**payload)
        except (TypeError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        return _json(201, self.faults.add(fault).as_dict())

    async def admin_clear_faults(self, request: web.Request) -> web.Response:
        """Disarm every fault."""
        await _no_fields(request)
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
        """Switch limits: JSON ``{"enabled"?: bool, "time_scale"?: positive number}``."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, ("enabled", "time_scale"))
        enabled = payload.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise BadInput(f"enabled must be true or false, not {enabled!r}.")
        time_scale = payload.get("time_scale")
        if time_scale is not None and (not inputs.is_number(time_scale) or not 0 < time_scale <= 1e6):
            raise BadInput(f"time_scale must be a positive number (at most 1000000), not {time_scale!r}.")
        self.limiter.configure(enabled=enabled, time_scale=time_scale)
        return _json(200, self.limits_state())

    async def admin_account(self, request: web.Request) -> web.Response:
        """Account settings: JSON ``{"postal_package"?: bool, "emails_per_day"?: int}``."""
        payload = inputs.json_object(await request.read())
        inputs.unknown_fields(payload, ("postal_package", "emails_per_day"))
        postal_package = payload.get("postal_package", self.account.postal_package)
        if not isinstance(postal_package, bool):
            raise BadInput(f"postal_package must be true or false, not {postal_package!r}.")
        emails = payload.get("emails_per_day", self.account.email_daily_limit)
        if not inputs.is_whole(emails) or not 0 <= emails <= 10**9:
            raise BadInput(f"emails_per_day must be a whole number from 0 to 1000000000, not {emails!r}.")
        self.account.postal_package = postal_package
        self.account.email_daily_limit = emails
        return _json(
            200,
            {"postal_package": self.account.postal_package, "emails_per_day": self.account.email_daily_limit},
        )

    # -- helpers -------------------------------------------------------------------------------
    def _email_window(self) -> float | None:
        return 86400.0 / self.limiter.time_scale if self.limiter.enabled else None

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


def _json(status: int, value: Any) -> web.Response:
    return web.Response(
        status=status,
        body=render.json_document(value),
        headers={"Content-Type": render.CONTENT_TYPES["json"]},
    )


def _http_error_text(exc: web.HTTPException) -> str:
    if exc.status == 413:
        return f"Request body too large (at most {MAX_BODY} bytes)."
    if exc.status == 405:
        return "Method not allowed."
    if exc.status == 404:
        return "Not found: no such route."
    return exc.reason


async def _no_fields(request: web.Request) -> None:
    """Admin routes that take no input refuse any: an option that does nothing must not pass silently."""
    inputs.unknown_fields(inputs.json_object(await request.read()), ())


def _scenario_seconds(payload: dict[str, Any]) -> float | None:
    inputs.unknown_fields(payload, ("seconds",))
    if "seconds" not in payload:
        raise BadInput('seconds is required: {"seconds": N}, or {"seconds": null} to stop.')
    return inputs.seconds("seconds", payload["seconds"], allow_none=True)


def _peer(request: web.Request) -> str:
    peername = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peername[0]}:{peername[1]}" if peername else ""


def _absolute_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{request.raw_path}"


def _admin_invoice(invoice: Invoice, client: Any) -> dict[str, Any]:
    return {**invoice.v3(client), "internal_status": invoice.status, "client_email": client.email}


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _v3_delivery_errors(params: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors of a v3 delivery, in v3's ``{"errors": ...}`` shape. Every field is optional
    (``print_type`` defaults to the original, as inFakt's documentation shows); fields inFakt does
    not know are ignored, as inFakt ignores them."""
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


def _v3_filter(key: str) -> tuple[str, str] | None:
    """``q[gross_price_lteq]`` -> ``("gross_price", "lteq")``; ``None`` for an unknown filter."""
    if not (key.startswith("q[") and key.endswith("]")):
        return None
    inner = key[2:-1]
    for predicate in sorted(_V3_PREDICATES, key=len, reverse=True):
        field = inner.removesuffix("_" + predicate)
        if field != inner and field in _V3_FIELDS:
            return field, predicate
    return None


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
        if not inputs.looks_like_a_number(expected.removeprefix("-")) or len(expected) > 19:
            return False
        right = int(expected)
    if predicate == "eq":
        return bool(left == right)
    ops = {"lt": left < right, "gt": left > right, "lteq": left <= right, "gteq": left >= right}
    return bool(ops[predicate])
