"""API v2 as the seed shows it (deliver, read, list; JSON or XML by suffix; OAuth 1.0a), and the xAuth
token exchange at ``/oauth/access_token``."""

from __future__ import annotations

import urllib.parse

from aiohttp import web

from . import _inputs as inputs
from . import _render as render
from ._inputs import BadInput
from ._limits import SlidingWindowLimits
from ._oauth import OAuthRejected, OAuthVerifier
from ._responses import absolute_url, error_response
from .model import DELIVERY_TYPES, DOC_TYPES, V2_STATUS_REVERSE, Account, PreconditionFailed, is_date


def route_name(request: web.Request) -> str:
    """``v2.deliver``, ``v2.list`` or ``v2.invoice``, by the path's ``{name}``."""
    name = request.match_info["name"]
    return "v2.deliver" if name == "deliver" else "v2.list" if name == "list" else "v2.invoice"


class V2Routes:
    """The handlers of API v2 and of xAuth.

    :param account: the demo account they read and deliver from.
    :param limits: the request limits, whose time scale also sets the daily e-mail limit's day.
    """

    def __init__(self, account: Account, limits: SlidingWindowLimits) -> None:
        self.account = account
        self.limits = limits
        self.oauth = OAuthVerifier()

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
                url=absolute_url(request),
                headers=request.headers,
                body=body,
                require_token=False,
            )
            token, secret = self.oauth.xauth_exchange(form)
        except OAuthRejected as exc:
            return web.Response(status=401, text=str(exc), content_type="text/plain")
        payload = urllib.parse.urlencode({"oauth_token": token, "oauth_token_secret": secret})
        return web.Response(body=payload.encode(), content_type="application/x-www-form-urlencoded")

    async def dispatch(self, request: web.Request) -> web.Response:
        """``GET /api/v2/invoices/{deliver|list|<id>}.{xml|json}``."""
        fmt = request.match_info["fmt"]
        if fmt not in render.CONTENT_TYPES:
            return _error(request, 406, f"Unknown format ({fmt}). Use .xml or .json. See documentation.")
        try:
            self.oauth.verify(method=request.method, url=absolute_url(request), headers=request.headers)
        except OAuthRejected as exc:
            return _error(request, 401, f"{exc} See documentation.")
        query = inputs.single_values(inputs.query_pairs(request.rel_url.raw_query_string), where="query string")
        route = route_name(request)
        if route == "v2.deliver":
            return self.deliver(request, fmt, query)
        if route == "v2.list":
            return self.list_invoices(request, fmt, query)
        name = request.match_info["name"]
        ref = inputs.invoice_ref(name, allow_uuid=False)
        invoice = self.account.find(ref) if ref is not None else None
        if invoice is None:
            return _error(request, 404, f"Invoice not found (id={name}). See documentation.")
        body = render.v2_body(fmt, "invoice", invoice.v2(self.account.client_of(invoice)))
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})

    def deliver(self, request: web.Request, fmt: str, query: dict[str, str]) -> web.Response:
        """The seed's call: ``GET /api/v2/invoices/deliver.{fmt}?type=&doc_type=&id=[&recipient=]``."""
        missing = [p for p in ("id", "type", "doc_type") if not query.get(p)]
        if missing:
            return _error(request, 400, f"Missing required parameter ({', '.join(missing)}). See documentation.")
        outside = [p for p, allowed in (("type", DELIVERY_TYPES), ("doc_type", DOC_TYPES)) if query[p] not in allowed]
        if outside:
            return _error(request, 400, render.value_not_in_set(outside))
        if not inputs.looks_like_a_number(query["id"]):
            return _error(request, 400, "Parameter's value is not a number (id). See documentation.")
        recipient = query.get("recipient")
        if recipient is not None and not inputs.is_email(recipient):
            return _error(request, 400, "Parameter's value is not an e-mail address (recipient). See documentation.")
        ref = inputs.invoice_ref(query["id"], allow_uuid=False)
        invoice = self.account.find(ref) if ref is not None else None
        if invoice is None:
            return _error(request, 404, f"Invoice not found (id={query['id']}). See documentation.")
        try:
            self.account.deliver(
                invoice,
                type=query["type"],
                doc_type=query["doc_type"],
                recipient=recipient,
                api_version="v2",
                email_day=self.limits.day(),
            )
        except PreconditionFailed as exc:
            return _error(request, 400, f"{exc.message} See documentation.")
        body = render.v2_body(fmt, "invoice", {"invoice_id": invoice.id})
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})

    def list_invoices(self, request: web.Request, fmt: str, query: dict[str, str]) -> web.Response:
        """``GET /api/v2/invoices/list.{fmt}?page=&per_page=&status=&client_id=&<date>_od=&<date>_do=``.

        ``status`` is a Polish word; ``client_id`` a number; the date ranges (``invoice_date``,
        ``sale_date``, ``paid_date``, each ``_od`` "from" and ``_do`` "to", inclusive) are this
        project's reading of inFakt's 2015 list page, which names the suffixes but shows no example.
        """
        numbers = {name: query.get(name, default) for name, default in (("page", "1"), ("per_page", "25"))}
        if not all(inputs.looks_like_a_number(v) and len(v) <= 9 for v in numbers.values()):
            return _error(request, 400, "Parameter's value is not a number (page, per_page).")
        page, per_page = int(numbers["page"]), int(numbers["per_page"])
        if page < 1 or not 1 <= per_page <= 100:
            return _error(request, 400, "page must be >= 1 and per_page between 1 and 100.")
        rows = self.account.snapshot()
        status = query.get("status")
        if status is not None:
            if status not in V2_STATUS_REVERSE:
                return _error(request, 400, render.value_not_in_set(["status"]))
            rows = [(i, c) for i, c in rows if i.status == V2_STATUS_REVERSE[status]]
        client_id = query.get("client_id")
        if client_id is not None:
            if not inputs.looks_like_a_number(client_id) or len(client_id) > 18:
                return _error(request, 400, "Parameter's value is not a number (client_id). See documentation.")
            rows = [(i, c) for i, c in rows if i.client_id == int(client_id)]
        for name, bound in query.items():
            field, _, end = name.rpartition("_")
            if field not in V2_DATE_FIELDS or end not in ("od", "do"):
                continue
            if not is_date(bound):
                return _error(
                    request, 400, f"Parameter's value is not a date (YYYY-MM-DD) ({name}). See documentation."
                )
            rows = [(i, c) for i, c in rows if _within(i.v2(c).get(field), bound, end)]
        chosen = rows[(page - 1) * per_page : page * per_page]
        value = {
            "invoices": [i.v2(c) for i, c in chosen],
            "page": page,
            "per_page": per_page,
            "total_count": len(rows),
        }
        body = render.xml_document("hash", value) if fmt == "xml" else render.json_document(value)
        return web.Response(body=body, headers={"Content-Type": render.CONTENT_TYPES[fmt]})


#: The dates a v2 list can be narrowed by, with ``<field>_od`` (from) and ``<field>_do`` (to).
V2_DATE_FIELDS = ("invoice_date", "sale_date", "paid_date")


def _within(actual: object, bound: str, end: str) -> bool:
    """Whether a date field's value is on or after (``od``) or on or before (``do``) ``bound``; an
    empty field is in no range."""
    if not isinstance(actual, str):
        return False
    return actual >= bound if end == "od" else actual <= bound


def _error(request: web.Request, status: int, message: str) -> web.Response:
    return error_response(request, "v2", status, message)
