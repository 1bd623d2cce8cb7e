"""DAGs for the personal-data tests: the recipient given by Jinja, by XCom, and mapped over XCom."""

from __future__ import annotations

import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

START = datetime.datetime(2026, 1, 1)


def log_recipient(context):
    """What careless code might do: log the rendered recipient (the task log must still not show it).

    The task instance's task, not ``context["task"]``: Airflow 3.0's task runner renders a copy of the
    task (``prepare_for_execution``) and leaves the unrendered one in ``context["task"]``, so there a
    callback reading ``context["task"].recipient`` gets the Jinja template, not the address."""
    task_ = context["ti"].task
    task_.log.info("callback: the recipient was %s", task_.recipient)


with DAG("infakt_test_pii_jinja", schedule=None, start_date=START, render_template_as_native_obj=True) as pii_jinja:
    InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice",
        invoice_id="{{ dag_run.conf['invoice_id'] }}",
        recipient="{{ dag_run.conf['recipient'] }}",
        retries=0,
        on_success_callback=log_recipient,
        on_failure_callback=log_recipient,
    )

with DAG("infakt_test_pii_xcom", schedule=None, start_date=START) as pii_xcom:
    # The upstream task is the user's: it keeps its own return value out of its log.
    @task(show_return_value_in_logs=False)
    def address(**context):
        return context["dag_run"].conf["recipient"]

    InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice", invoice_id=2, recipient=address(), retries=0, on_success_callback=log_recipient
    )

with DAG("infakt_test_pii_mapped", schedule=None, start_date=START) as pii_mapped:

    @task(show_return_value_in_logs=False)
    def addresses(**context):
        return list(context["dag_run"].conf["recipients"])

    InfaktDeliverInvoiceOperator.partial(
        task_id="deliver_invoice", invoice_id=3, retries=0, on_success_callback=log_recipient
    ).expand(recipient=addresses())
