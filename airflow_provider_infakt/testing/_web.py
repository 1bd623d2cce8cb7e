"""The page behind the task's "inFakt invoice" link: a small HTML page standing in for inFakt's web app."""

from __future__ import annotations

import html

from aiohttp import web

from .model import V3_STATUS, Account


class WebPage:
    """``GET /app/invoices/{ref}``.

    :param account: the demo account whose invoices it shows.
    """

    def __init__(self, account: Account) -> None:
        self.account = account

    async def invoice(self, request: web.Request) -> web.Response:
        """``GET /app/invoices/{id}``: a page with the invoice's number, client and status."""
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
