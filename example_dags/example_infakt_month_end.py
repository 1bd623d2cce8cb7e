"""Month end: deliver every draft invoice of the account in one task, summarise, then wait until paid.

1. ``list_drafts`` lists the account's draft invoices (optionally narrowed by ``id_from`` / ``id_to`` in
   the run's configuration) and returns their ids;
2. ``deliver_drafts`` delivers them all in one task, each exactly once, at inFakt's rate limit (150
   delivery requests a minute), with a progress line in its log at most every 10 seconds; an Airflow
   retry sends only what is left;
3. ``summarise`` prints how many were found, delivered and not delivered (and why), also when some
   were not, and then fails the run if any invoice was left undelivered, so nobody misses it;
4. ``wait_until_paid``: one sensor waits, deferred, until every delivered invoice is paid. It reads them
   through inFakt's invoice list: for N invoices with contiguous ids at most ceil(N/100) + 1 reads a poll
   (31 for 3,000), fewer as they are paid; it returns the ids and pushes XCom ``invoice_statuses``.

The connection ``infakt_default`` says where inFakt is (``make demo`` points it at the bundled emulator).
"""

from __future__ import annotations

import datetime

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.10+
    from airflow import DAG  # type: ignore[no-redef,attr-defined]
    from airflow.decorators import task  # type: ignore[no-redef,attr-defined]

from airflow_provider_infakt.operators.bulk import InfaktBulkDeliverInvoicesOperator
from airflow_provider_infakt.operators.list import InfaktListInvoicesOperator
from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor

with DAG(
    dag_id="example_infakt_month_end",
    description="Deliver every draft inFakt invoice in one paced, resumable task",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["infakt", "example"],
) as dag:
    drafts = InfaktListInvoicesOperator(
        task_id="list_drafts",
        status="draft",
        # plain Jinja renders a missing key as "None": not filtered on
        id_from="{{ dag_run.conf.get('id_from') }}",
        id_to="{{ dag_run.conf.get('id_to') }}",
    )
    deliver = InfaktBulkDeliverInvoicesOperator(
        task_id="deliver_drafts",
        invoice_ids=drafts.output,
        type="mail",
        doc_type="org",
        on_error="continue",
        retries=2,
        retry_delay=datetime.timedelta(minutes=1),
    )

    @task(trigger_rule="all_done")
    def summarise(**context: object) -> dict[str, int]:
        """Print the month end's counts; fail the run when some invoice was not delivered."""
        ti = context["ti"]
        found = ti.xcom_pull(task_ids="list_drafts") or []  # type: ignore[attr-defined]
        delivered = ti.xcom_pull(task_ids="deliver_drafts") or []  # type: ignore[attr-defined]
        failed = ti.xcom_pull(task_ids="deliver_drafts", key="failed") or {}  # type: ignore[attr-defined]
        print(
            f"Month end: {len(found)} draft invoice(s) found, {len(delivered)} delivered, {len(failed)} not delivered"
        )
        for invoice_id, reason in failed.items():
            print(f"  invoice {invoice_id}: {reason}")
        if len(delivered) < len(found):
            raise RuntimeError(f"{len(found) - len(delivered)} invoice(s) were not delivered; see above")
        return {"found": len(found), "delivered": len(delivered), "failed": len(failed)}

    wait_paid = InfaktInvoiceSensor(
        task_id="wait_until_paid",
        invoice_ids=deliver.output,
        target_status="paid",
        deferrable=True,
        # short for the demo, whose customers pay within seconds; a real month end polls every few minutes
        poke_interval=2,
        timeout=datetime.timedelta(days=30).total_seconds(),
    )

    deliver >> summarise() >> wait_paid
