"""``InfaktHook``: an Airflow connection in, an inFakt client out."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_infakt._compat import BaseHook, aget_connection, amask_secret, mask_secret

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_infakt.api import (
        AsyncInfaktClient,
        ClientSettings,
        Delivery,
        InfaktClient,
        Invoice,
    )
    from airflow_provider_infakt.api.protocol import Payment
    from airflow_provider_infakt.api.vocabulary import Status
    from airflow_provider_infakt.hooks.connection import ConnectionFields
    from airflow_provider_infakt.types import DeliveryType, DocType, Locale, PrintType


class InfaktHook(BaseHook):
    """Talks to inFakt (API v3 with an API key, or API v2 with OAuth 1.0a or xAuth) for one connection.

    The connection's fields are described in :mod:`airflow_provider_infakt.hooks.connection`; in short:
    ``host`` is the API base URL with its version path (empty for inFakt's own), the v3 API key goes in
    ``password``, the v2 consumer key and secret in ``login`` and ``password`` with the token pair or the
    xAuth login in the extras, and ``extra.api_version`` picks the version (``v3`` by default).

    Every secret of the connection is registered with Airflow's secrets masker as soon as it is read.
    The client is created once per hook and reused (one HTTP session, kept alive).

    :param infakt_conn_id: the Airflow connection to use.
    :param kwargs: passed on to :class:`BaseHook`.

    Importing this module is cheap (DAG files are parsed often): the connection rules and the HTTP
    clients load on first use.
    """

    conn_name_attr = "infakt_conn_id"
    default_conn_name = "infakt_default"
    conn_type = "infakt"
    hook_name = "inFakt"

    def __init__(self, infakt_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.infakt_conn_id = infakt_conn_id

    # -- connection --------------------------------------------------------------------------------
    @staticmethod
    def _fields_of(conn: Connection) -> ConnectionFields:
        """The connection's fields (its secrets not masked yet: see :func:`secrets_of`)."""
        # deferred (as every api/ and hooks.connection import below): they load the api package, ~20 ms
        # that a DAG file importing this hook would pay on every parse
        from airflow_provider_infakt.hooks.connection import ConnectionFields, extra_of

        return ConnectionFields(
            conn_id=conn.conn_id,
            host=conn.host,
            login=conn.login,
            password=conn.password,
            extra=extra_of(getattr(conn, "extra", None), conn.extra_dejson),
            port=getattr(conn, "port", None),
            schema=getattr(conn, "schema", None),
        )

    @cached_property
    def connection_fields(self) -> ConnectionFields:
        """The connection's fields, looked up once per hook; every secret masked on the way."""
        from airflow_provider_infakt.hooks.connection import secrets_of  # deferred: see _fields_of

        fields = self._fields_of(self.get_connection(self.infakt_conn_id))
        for secret in secrets_of(fields):
            mask_secret(secret)
        return fields

    @cached_property
    def settings(self) -> ClientSettings:
        """The client settings read from the connection."""
        from airflow_provider_infakt.hooks.connection import settings_from_connection  # deferred: see _fields_of

        return settings_from_connection(self.connection_fields)

    async def asettings(self) -> ClientSettings:
        """:attr:`settings` for async code: the connection lookup never blocks the event loop."""
        if "connection_fields" not in self.__dict__:
            from airflow_provider_infakt.hooks.connection import secrets_of  # deferred: see _fields_of

            fields = self._fields_of(await _aget_connection(self.infakt_conn_id))
            for secret in secrets_of(fields):
                await amask_secret(secret)  # never the sync send to the supervisor, on the loop
            self.__dict__["connection_fields"] = fields
        return self.settings

    @property
    def web_url_template(self) -> str:
        """The invoice page template (``extra.web_url``, else inFakt's app) with ``{invoice_id}``."""
        from airflow_provider_infakt.hooks.connection import web_url_template  # deferred: see _fields_of

        return web_url_template(self.connection_fields)

    # -- clients -----------------------------------------------------------------------------------
    def get_conn(self) -> InfaktClient:
        """The synchronous client (same as :meth:`get_client`)."""
        return self.get_client()

    def get_client(self) -> InfaktClient:
        """The synchronous :class:`~airflow_provider_infakt.api.InfaktClient`, created once per hook."""
        client: InfaktClient | None = self.__dict__.get("_client")
        if client is None:
            from airflow_provider_infakt.api.client import InfaktClient  # deferred: see _fields_of

            client = InfaktClient(self.settings)
            self.__dict__["_client"] = client
        return client

    async def get_async_client(self) -> AsyncInfaktClient:
        """A new :class:`~airflow_provider_infakt.api.AsyncInfaktClient` (the caller closes it).

        Safe inside an event loop (a trigger): the connection comes from Airflow's async lookup where
        that sees every secrets backend (Airflow 3.1+ in a triggerer), else from the sync lookup in a
        worker thread (Airflow 2.10-3.0; and ``airflow dags test`` on 3.1+, where the async lookup of
        the in-line trigger misses the metadata database); the TLS context is built once per process,
        in a thread, and shared by every async client.
        """
        from airflow_provider_infakt.api.aio import AsyncInfaktClient, prepare_transport  # deferred: see _fields_of

        settings = await self.asettings()
        await asyncio.to_thread(prepare_transport, settings.verify)  # slow only the first time
        return AsyncInfaktClient(settings)

    def close(self) -> None:
        """Close the synchronous client's HTTP session, if one was opened."""
        client = self.__dict__.pop("_client", None)
        if client is not None:
            client.close()

    # -- calls -------------------------------------------------------------------------------------
    def deliver_invoice(
        self,
        invoice_id: int | str,
        type: DeliveryType = "mail",
        doc_type: DocType | PrintType = "org",
        recipient: str | None = None,
        *,
        locale: Locale | None = None,
        send_copy: bool | None = None,
    ) -> Delivery:
        """Deliver one invoice; see :meth:`airflow_provider_infakt.api.InfaktClient.deliver_invoice`.

        :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid.
        :param type: ``mail`` (e-mail) or ``post`` (traditional post).
        :param doc_type: ``org``, ``KOPIA``, ``org_kop`` (v2 only), ``d_org`` or ``d_kop``.
        :param recipient: an e-mail address to send to instead of the client's (``mail`` only).
        :param locale: v3 only: ``pl``, ``en`` or ``pe``.
        :param send_copy: v3 only: also send a copy to the account owner.
        """
        return self.get_client().deliver_invoice(
            invoice_id, type, doc_type, recipient, locale=locale, send_copy=send_copy
        )

    def get_invoice(self, invoice_id: int | str) -> Invoice:
        """Read one invoice, with its status normalized over v2 and v3.

        :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid.
        """
        return self.get_client().get_invoice(invoice_id)

    def iter_invoices(
        self,
        status: Status | None = None,
        *,
        number: str | None = None,
        client_id: int | str | None = None,
        id_from: int | str | None = None,
        id_to: int | str | None = None,
        invoice_date_from: dt.date | str | None = None,
        invoice_date_to: dt.date | str | None = None,
        sale_date_from: dt.date | str | None = None,
        sale_date_to: dt.date | str | None = None,
        paid_date_from: dt.date | str | None = None,
        paid_date_to: dt.date | str | None = None,
        page_size: int = 100,
    ) -> Iterator[Invoice]:
        """Yield the invoices matching every filter given (None: not filtered on), page by page.

        Every filter is checked before the first request: a wrong value raises
        :class:`~airflow_provider_infakt.api.InfaktValidationError` naming it, the value and what is
        allowed. Filters go to inFakt as its own list query (v3 ``q[...]`` predicates, v2 list
        parameters) and are checked again on every invoice read. Dates are ``datetime.date`` or
        ``YYYY-MM-DD`` strings; ranges are inclusive.

        :param status: ``draft``, ``sent``, ``printed``, ``paid`` (``unpaid`` too on v2).
        :param number: the invoice number, matched exactly (``FV/1/2026``).
        :param client_id: the client's id.
        :param id_from: the smallest invoice id.
        :param id_to: the largest invoice id.
        :param invoice_date_from: issued on or after.
        :param invoice_date_to: issued on or before.
        :param sale_date_from: sold on or after.
        :param sale_date_to: sold on or before.
        :param paid_date_from: paid on or after.
        :param paid_date_to: paid on or before.
        :param page_size: invoices per request (1-100).
        """
        return self.get_client().iter_invoices(
            status=status,
            page_size=page_size,
            number=number,
            client_id=client_id,
            id_from=id_from,
            id_to=id_to,
            invoice_date_from=invoice_date_from,
            invoice_date_to=invoice_date_to,
            sale_date_from=sale_date_from,
            sale_date_to=sale_date_to,
            paid_date_from=paid_date_from,
            paid_date_to=paid_date_to,
        )

    def get_invoice_by_number(self, number: str) -> Invoice:
        """The one invoice numbered exactly ``number`` (``FV/1/2026``).

        :param number: the invoice number, as inFakt writes it.
        :raises InfaktValidationError: when ``number`` cannot be an invoice number (nothing sent).
        :raises InfaktLookupError: (a ``LookupError``) when no invoice, or more than one, has that
            number; ``matches`` holds the ids found.
        """
        return self.get_client().get_invoice_by_number(number)

    def mark_paid(self, invoice_id: int | str, paid_date: dt.date | str | None = None) -> Payment:
        """Mark an invoice paid (API v3 only; v2 has no such call, refused before any request).

        :param invoice_id: the invoice: an int, a string of digits, or an invoice uuid.
        :param paid_date: the day it was paid (``datetime.date`` or ``YYYY-MM-DD``, not before the
            invoice date); None for the day inFakt receives the request.
        """
        return self.get_client().mark_paid(invoice_id, paid_date)

    def test_connection(self) -> tuple[bool, str]:
        """Check the connection with one cheap read (the first page of one invoice)."""
        from airflow_provider_infakt.api.errors import (  # deferred: see _fields_of
            InfaktAuthError,
            InfaktConfigError,
            InfaktError,
            InfaktTransportError,
        )

        try:
            settings = self.settings
            page = self.get_client().list_invoices(page_size=1)
        except InfaktConfigError as exc:
            return False, f"The connection is not usable: {exc}"
        except InfaktAuthError as exc:
            settings = self.settings
            what = "API key" if settings.api_version == "v3" else "OAuth credentials or signature"
            said = str(exc.api_message or exc).rstrip(".")
            return False, f"inFakt rejected the {what} (HTTP {exc.status}): {said}{_version_hint(settings)}"
        except InfaktTransportError as exc:
            return False, f"Could not talk to inFakt at {self.settings.base_url}: {exc}"
        except InfaktError as exc:
            hint = ""
            if getattr(exc, "status", None) == 404:
                hint = (
                    f"; is the host's path right? It holds the API's base URL with its version path, e.g. "
                    f"https://api.infakt.pl/api/v3 (or .../api/v2 for API v2); here {self.settings.base_url}"
                )
            return False, f"inFakt answered with an error: {str(exc).rstrip('.')}{hint}"
        finally:
            self.close()
        total = "" if page.total_count is None else f"; {page.total_count} invoice(s) visible"
        return True, f"Connected to inFakt API {settings.api_version} at {settings.base_url}{total}"

    # -- connection form (Airflow 2; Airflow 3.2+ reads the provider info instead) ------------------
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (Airflow 2 and Airflow 3 before 3.2)."""
        # deferred: Airflow 2's web server (Flask) only; not installed with Airflow 3
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from wtforms import BooleanField, PasswordField, StringField

        # deferred: ~0.5 ms at parse time before Airflow 3.2 (which loads it with the provider info)
        from airflow_provider_infakt.hooks.form import FORM_FIELDS

        widgets: dict[str, Any] = {}
        for name, (label, kind, description) in FORM_FIELDS.items():
            if kind == "password":
                widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=description)
            elif kind == "boolean":
                widgets[name] = BooleanField(label, default=False, description=description)
            else:
                widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=description)
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Labels, placeholders and hidden fields of the connection form (Airflow 2)."""
        from airflow_provider_infakt.hooks.form import UI_FIELD_BEHAVIOUR  # deferred: see the form widgets

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }


def _version_hint(settings: ClientSettings) -> str:
    """A hint when the connection's API version and its host's version path disagree (a v2 connection
    pointed at .../api/v3 is refused with v3's "missing API key" answer)."""
    path = settings.base_url.rstrip("/").rsplit("/", 1)[-1]
    other = {"v2": "v3", "v3": "v2"}[settings.api_version]
    if path == other:
        return (
            f"; the connection is set up for API {settings.api_version} (extra.api_version) but its host ends "
            f"in /{other}: make them agree"
        )
    return ""


async def _aget_connection(conn_id: str) -> Connection:
    # where the lookup goes on which Airflow (and why dag.test() needs a thread there): _compat
    connection: Connection = await aget_connection(conn_id)
    return connection


__all__ = ["InfaktHook"]
