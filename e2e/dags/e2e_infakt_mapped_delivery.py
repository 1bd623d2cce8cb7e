"""e2e: deliver the invoices named in the run's configuration, one mapped task instance each.

Configuration: ``{"invoice_ids": [7, 8, ...]}``. ``make e2e`` triggers it with 20 invoices and checks that
the mapped task instances ran on both Celery workers and that each invoice was delivered exactly once.
"""

from __future__ import annotations

import datetime
from typing import Any

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.10+
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

with DAG(
    dag_id="e2e_infakt_mapped_delivery",
    description="e2e: one mapped delivery task instance per invoice in the run's configuration",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["infakt", "e2e"],
) as dag:

    @task
    def invoices_to_deliver(**context: Any) -> list[int]:
        """The invoice ids of the run's configuration."""
        return [int(i) for i in context["dag_run"].conf["invoice_ids"]]

    InfaktDeliverInvoiceOperator.partial(
        task_id="deliver_invoice",
        type="mail",
        doc_type="org",
        retries=1,
        retry_delay=datetime.timedelta(seconds=5),
    ).expand(invoice_id=invoices_to_deliver())
