"""DAGs for the bulk operator's tests: the ids from the run's conf, one Airflow retry at once, and a
short in-flight window so that a retry resolving an unknown outcome stays quick."""

from __future__ import annotations

import datetime

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_infakt.operators.bulk import InfaktBulkDeliverInvoicesOperator

START = datetime.datetime(2026, 1, 1)

for on_error in ("continue", "fail"):
    with DAG(
        f"infakt_test_bulk_{on_error}", schedule=None, start_date=START, render_template_as_native_obj=True
    ) as bulk_dag:
        bulk = InfaktBulkDeliverInvoicesOperator(
            task_id="deliver_all",
            invoice_ids="{{ dag_run.conf['invoice_ids'] }}",
            on_error=on_error,
            retries=1,
            retry_delay=datetime.timedelta(seconds=0),
        )
        bulk.in_flight_window = 1  # seconds; the default is 5 minutes
    globals()[f"bulk_dag_{on_error}"] = bulk_dag

# Airflow's default rendering: the ids arrive as a JSON text.
with DAG("infakt_test_bulk_json", schedule=None, start_date=START) as bulk_json_dag:
    InfaktBulkDeliverInvoicesOperator(
        task_id="deliver_all",
        invoice_ids="{{ dag_run.conf['invoice_ids'] | tojson }}",
        locale="{{ dag_run.conf.get('locale') }}",
        retries=0,
    )
