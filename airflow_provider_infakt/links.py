"""The "inFakt invoice" button on a delivering task: a link to the invoice's page.

The operator works the URL out at execute time from the connection's ``extra.web_url`` template and
keeps it in XCom (key :data:`INVOICE_URL_XCOM_KEY`); :meth:`InfaktInvoiceLink.get_link` only reads
that XCom back. It never reads a connection and never calls inFakt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow_provider_infakt import _compat
from airflow_provider_infakt._compat import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

    from airflow_provider_infakt._compat import BaseOperator

#: XCom key under which the operator stores the invoice page URL.
INVOICE_URL_XCOM_KEY = "infakt_invoice_url"
#: The invoice page in inFakt's web app when the connection gives no ``extra.web_url``.
#: An assumption (inFakt documents no URL scheme for it): set ``extra.web_url`` to be sure.
DEFAULT_WEB_URL = "https://app.infakt.pl/app/faktury/{invoice_id}"
SANDBOX_WEB_URL = "https://app.sandbox-infakt.pl/app/faktury/{invoice_id}"


def invoice_url(template: str, invoice_id: int | str) -> str:
    """The invoice page URL: ``template`` with ``{invoice_id}`` filled in (URL-quoted).

    :param template: the page URL with ``{invoice_id}``.
    :param invoice_id: the invoice.
    """
    return template.replace("{invoice_id}", quote(str(invoice_id), safe=""))


class InfaktInvoiceLink(BaseOperatorLink):
    """Extra link "inFakt invoice": opens the delivered invoice in inFakt (or in the emulator)."""

    name = "inFakt invoice"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL the operator stored for this task instance, or ``""`` before it ran.

        :param operator: the operator the link belongs to (not used).
        :param ti_key: the task instance whose XCom holds the URL.
        """
        value = _compat.xcom_value(ti_key, INVOICE_URL_XCOM_KEY)  # looked up at call time: tests replace it
        return value if isinstance(value, str) else ""
