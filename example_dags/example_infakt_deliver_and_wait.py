"""Deliver an invoice, wait (deferred, no worker slot) until it is sent and then paid, and act on it.

Configuration (every key optional): ``{"invoice_id": 2, "type": "mail", "doc_type": "org"}``.
``make demo`` runs it against the emulator, which marks each delivered invoice paid a few seconds
after delivery, so the whole chain finishes in seconds.
"""

from __future__ import annotations

import datetime

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.10+
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator
from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor
from airflow_provider_infakt.types import Jinja

with DAG(
    dag_id="example_infakt_deliver_and_wait",
    description="Deliver an inFakt invoice, wait until it is sent and paid, then book the payment",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["infakt", "example"],
) as dag:
    deliver = InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice",
        invoice_id="{{ dag_run.conf.get('invoice_id', 2) }}",
        # Jinja(...) marks a template where the argument's type is a fixed set of words ("mail", "post").
        type=Jinja("{{ dag_run.conf.get('type', 'mail') }}"),
        doc_type=Jinja("{{ dag_run.conf.get('doc_type', 'org') }}"),
        retries=2,
    )
    # Each sensor returns the invoice id, so the chain passes it along without glue code.
    wait_sent = InfaktInvoiceSensor(
        task_id="wait_until_sent",
        invoice_id=deliver.output,
        target_status="sent",
        deferrable=True,
        poke_interval=2,
        timeout=datetime.timedelta(hours=1).total_seconds(),
    )
    wait_paid = InfaktInvoiceSensor(
        task_id="wait_until_paid",
        invoice_id=wait_sent.output,
        target_status="paid",
        deferrable=True,
        poke_interval=2,
        timeout=datetime.timedelta(days=30).total_seconds(),
    )

    @task
    def book_payment(invoice_id: int) -> int:
        """Downstream work on the paid invoice (bookkeeping, a thank-you note, ...)."""
        print(f"Invoice {invoice_id} is paid")
        return invoice_id

    book_payment(wait_paid.output)
