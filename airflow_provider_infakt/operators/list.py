"""``InfaktListInvoicesOperator``: the ids of the invoices matching some filters, for the next tasks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_infakt._compat import AirflowException, AirflowFailException, BaseOperator
from airflow_provider_infakt.types import FILTER_NAMES, rendered_nothing

if TYPE_CHECKING:
    # XComArg from airflow.models: its home on Airflow 2, a re-export of airflow.sdk's on Airflow 3, so a
    # user's type checker sees the real class on every version (never imported at run time)
    from airflow.models.xcom_arg import XComArg
    from airflow.sdk import Context

    from airflow_provider_infakt.types import Jinja, Status

#: The most invoice ids the operator returns unless told otherwise.
DEFAULT_MAX_RESULTS = 10_000


def _not_set_as_none(value: object) -> object:
    """None for what a template renders when nothing was given (``"None"``, ``""``, blanks); else ``value``."""
    return None if rendered_nothing(value) else value


def _shown(name: str, value: object) -> str:
    """``name=value`` for a log line: numbers as they are, text and dates quoted."""
    return f"{name}={value}" if isinstance(value, int) else f"{name}={str(value)!r}"


class InfaktListInvoicesOperator(BaseOperator):
    """List the invoices matching every filter given and return their ids (XCom ``return_value``).

    The first step of a billing DAG: the list of ids feeds ``InfaktDeliverInvoiceOperator.partial(...)
    .expand(invoice_id=listed.output)`` or a task that takes them all. Every filter is optional and
    templated; unset filters (None, and what plain Jinja renders for a missing value: ``"None"`` or
    ``""``) do not filter. Values are checked after rendering, before any request: a wrong one fails
    the task (no Airflow retry) naming the filter, the value and what is allowed. Dates are
    ``datetime.date`` or ``YYYY-MM-DD`` strings (``"{{ ds }}"``, ``"{{ macros.ds_add(ds, -30) }}"``);
    ranges are inclusive.

    :param status: ``draft``, ``sent``, ``printed`` or ``paid`` (and ``unpaid`` on API v2).
    :param number: the invoice number, matched exactly (``FV/1/2026``).
    :param client_id: the client's id in inFakt.
    :param id_from: the smallest invoice id.
    :param id_to: the largest invoice id.
    :param invoice_date_from: issued on or after this date.
    :param invoice_date_to: issued on or before this date.
    :param sale_date_from: sold on or after this date.
    :param sale_date_to: sold on or before this date.
    :param paid_date_from: paid on or after this date.
    :param paid_date_to: paid on or before this date.
    :param max_results: the most ids the task returns (default 10,000): when more invoices match, the
        task fails saying so (no Airflow retry) rather than return a cut list. Narrow the filters (a
        date range) or raise it.
    :param infakt_conn_id: the inFakt connection.
    :param kwargs: passed on to :class:`BaseOperator`.

    Returns (XCom ``return_value``) the invoice ids as ints, in the order inFakt lists them, each once.
    Only ids are returned: no invoice data (which may name the customer) goes to XCom or the log.
    A read that fails for a reason a retry may cure (a 429, a 5xx, a lost connection) raises so that
    Airflow's retries apply; other API errors fail the task with inFakt's message.
    """

    template_fields: Sequence[str] = (*FILTER_NAMES, "infakt_conn_id")
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        status: Status | Jinja | XComArg | None = None,
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
        max_results: int = DEFAULT_MAX_RESULTS,
        infakt_conn_id: str = "infakt_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.status = status
        self.number = number
        self.client_id = client_id
        self.id_from = id_from
        self.id_to = id_to
        self.invoice_date_from = invoice_date_from
        self.invoice_date_to = invoice_date_to
        self.sale_date_from = sale_date_from
        self.sale_date_to = sale_date_to
        self.paid_date_from = paid_date_from
        self.paid_date_to = paid_date_to
        self.max_results = max_results
        self.infakt_conn_id = infakt_conn_id

    def execute(self, context: Context) -> list[int]:
        """Render -> validate -> list (page by page) -> the ids.

        :param context: the task's context.
        """
        # deferred: DAG files import this module; the api package costs ~20 ms at import, the hook ~1 ms
        from airflow_provider_infakt.api.errors import (
            InfaktConfigError,
            InfaktError,
            InfaktValidationError,
            redact_text,
        )
        from airflow_provider_infakt.api.protocol import check_invoice_filters
        from airflow_provider_infakt.hooks.infakt import InfaktHook

        limit = self.max_results
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise AirflowFailException(f"Nothing was read: max_results={limit!r} is not a positive int")
        filters: dict[str, object] = {name: _not_set_as_none(getattr(self, name)) for name in FILTER_NAMES}
        hook = InfaktHook(infakt_conn_id=self.infakt_conn_id)
        try:
            checked = check_invoice_filters(filters, hook.settings.api_version)
        except (InfaktValidationError, InfaktConfigError) as exc:
            raise AirflowFailException(f"Nothing was read: {exc}") from None
        shown = redact_text(", ".join(_shown(name, getattr(checked, name)) for name in checked.given()) or "no filters")
        ids: list[int] = []
        seen: set[int] = set()
        try:
            listed = hook.iter_invoices(**dataclasses.asdict(checked))  # InvoiceFilters' fields are the filters
            for invoice in listed:
                if invoice.id is None:
                    raise AirflowFailException(
                        f"inFakt listed an invoice without a numeric id (uuid {invoice.uuid!r}); cannot return it"
                    )
                if invoice.id in seen:  # offset paging repeats an invoice when one is added meanwhile
                    continue
                if len(ids) == limit:
                    raise AirflowFailException(
                        f"More than max_results={limit} invoices match ({shown}); nothing is returned rather "
                        "than a cut list. Narrow the filters (e.g. an invoice_date range) or raise max_results."
                    )
                seen.add(invoice.id)
                ids.append(invoice.id)
        except InfaktError as exc:
            if exc.retryable:
                raise AirflowException(f"Listing invoices failed; a retry may succeed: {exc}") from None
            raise AirflowFailException(f"Listing invoices failed: {exc}") from None
        finally:
            hook.close()
        self.log.info("%d invoice(s) match (%s)", len(ids), shown)
        return ids
