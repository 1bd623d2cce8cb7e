"""Deliver one inFakt invoice, then hand its id to the next task.

Trigger it with a configuration naming the invoice (every key is optional):

    {"invoice_id": 1, "type": "mail", "doc_type": "org", "recipient": "ksiegowosc@firma.example"}

The connection ``infakt_default`` says where inFakt is: inFakt itself (v3 API key), its sandbox, or
the bundled emulator (``make demo`` sets that up).
"""

from __future__ import annotations

import datetime

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.10+
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator
from airflow_provider_infakt.types import Jinja

with DAG(
    dag_id="example_infakt_deliver",
    description="Deliver the inFakt invoice named in the run's configuration",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    # Values from dag_run.conf keep their JSON types (an int stays an int, a missing recipient None).
    render_template_as_native_obj=True,
    tags=["infakt", "example"],
) as dag:
    deliver = InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice",
        invoice_id="{{ dag_run.conf.get('invoice_id', 1) }}",
        # Jinja(...) marks a template where the argument's type is a fixed set of words ("mail", "post").
        type=Jinja("{{ dag_run.conf.get('type', 'mail') }}"),
        doc_type=Jinja("{{ dag_run.conf.get('doc_type', 'org') }}"),
        recipient="{{ dag_run.conf.get('recipient') }}",
        infakt_conn_id="infakt_default",
        retries=2,
        retry_delay=datetime.timedelta(seconds=30),
    )

    @task
    def record_delivery(invoice_id: int) -> int:
        """Downstream work that needs the delivered invoice's id (booking, notifying, ...)."""
        print(f"inFakt delivered invoice {invoice_id}")
        return invoice_id

    record_delivery(deliver.output)
