"""The DAGs of the fault campaign (``fault_campaign.py``), and the state their callbacks share with it.

The campaign writes a one-line DAG file into Airflow's DAGs folder that imports this module, so that
``dag.test()`` finds the DAGs serialized and the callbacks below are the very functions the campaign
sets up (one module object, whoever imports it).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

#: ``between``: called with the task's context before each retry (a payment, a manual send...);
#: ``failure``: the message of the exception that failed the task, set by ``on_failure_callback``.
STATE: dict[str, Any] = {"between": None, "failure": None}

#: Short enough for a quick campaign, longer than any processing delay the campaign draws.
IN_FLIGHT_WINDOW = 1.5
START = datetime.datetime(2026, 1, 1)


def _between_tries(context: Any) -> None:
    action: Callable[[], None] | None = STATE["between"]
    if action is not None:
        action()


def _failed(context: Any) -> None:
    STATE["failure"] = str(context.get("exception"))


def build() -> dict[str, Any]:
    """The campaign's DAGs by id: ``infakt_fault_campaign`` and, with a 1 s ``execution_timeout``,
    ``infakt_fault_campaign_timeout``."""
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow import DAG  # type: ignore[no-redef,attr-defined]

    from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

    dags = {}
    for dag_id, timeout, delay in (
        ("infakt_fault_campaign", None, 0.0),
        ("infakt_fault_campaign_timeout", datetime.timedelta(seconds=1), 1.0),
    ):
        with DAG(dag_id, schedule=None, start_date=START, render_template_as_native_obj=True) as dag:
            InfaktDeliverInvoiceOperator(
                task_id="deliver_invoice",
                invoice_id="{{ dag_run.conf['invoice_id'] }}",
                infakt_conn_id="{{ dag_run.conf['conn_id'] }}",
                in_flight_window=IN_FLIGHT_WINDOW,
                retries=3,
                retry_delay=datetime.timedelta(seconds=delay),
                execution_timeout=timeout,
                on_retry_callback=_between_tries,
                on_failure_callback=_failed,
            )
        dags[dag_id] = dag
    return dags
