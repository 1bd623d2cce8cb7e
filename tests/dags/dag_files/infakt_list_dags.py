"""A billing DAG's first steps for the provider's own tests: list invoices by filters from the run's
conf (plain Jinja, so a missing key renders as "None"), then deliver each one (mapped)."""

from __future__ import annotations

import datetime

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator
from airflow_provider_infakt.operators.list import InfaktListInvoicesOperator

with DAG("infakt_test_list_and_deliver", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as list_dag:
    listed = InfaktListInvoicesOperator(
        task_id="list_invoices",
        status="{{ dag_run.conf.get('status') }}",
        client_id="{{ dag_run.conf.get('client_id') }}",
        invoice_date_from="{{ dag_run.conf.get('from', '') }}",
        invoice_date_to="{{ dag_run.conf.get('to', '') }}",
    )
    InfaktDeliverInvoiceOperator.partial(task_id="deliver_invoice", type="mail", doc_type="org", retries=0).expand(
        invoice_id=listed.output
    )
