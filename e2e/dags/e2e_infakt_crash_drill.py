"""e2e: one delivery whose first try is killed with its worker after inFakt accepted the request.

Configuration: ``{"invoice_id": 7}``. ``make e2e`` arms the emulator to hold back and then drop its
answer, and ``kill -9``s the Celery worker running the task once the delivery is recorded. The
scheduler fails the orphaned try when its heartbeat stops; the retry (on the other worker) finds
"about to send" in the delivery ledger and, with ``on_unknown_outcome="check"``, reads the invoice:
``sent`` now, ``draft`` before, so it was delivered, and the retry succeeds without sending again.

``in_flight_window`` is short here (10 s instead of 5 minutes) so the drill takes seconds: the
emulator acts on a request at once in this drill, so nothing can still be in flight after it.
"""

from __future__ import annotations

import datetime

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.10+
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

with DAG(
    dag_id="e2e_infakt_crash_drill",
    description="e2e: a delivery whose worker dies after inFakt accepted it; the retry must not send again",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["infakt", "e2e"],
) as dag:
    InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice",
        invoice_id="{{ dag_run.conf['invoice_id'] }}",
        type="mail",
        doc_type="org",
        retries=2,
        retry_delay=datetime.timedelta(seconds=2),
        on_unknown_outcome="check",
        in_flight_window=datetime.timedelta(seconds=10),
    )
