"""DAGs for the provider's own tests: short retry delays, mapping."""

from __future__ import annotations

import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import task

from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

START = datetime.datetime(2026, 1, 1)

for mode in ("check", "resend", "fail"):
    with DAG(
        f"infakt_test_retry_{mode}", schedule=None, start_date=START, render_template_as_native_obj=True
    ) as retry_dag:
        InfaktDeliverInvoiceOperator(
            task_id="deliver_invoice",
            invoice_id="{{ dag_run.conf['invoice_id'] }}",
            type="{{ dag_run.conf.get('type', 'mail') }}",
            doc_type="{{ dag_run.conf.get('doc_type', 'org') }}",
            on_unknown_outcome=mode,
            in_flight_window=1,
            retries=1,
            retry_delay=datetime.timedelta(seconds=0),
        )
    globals()[f"retry_dag_{mode}"] = retry_dag

with DAG("infakt_test_mapped", schedule=None, start_date=START) as mapped_dag:
    delivered = InfaktDeliverInvoiceOperator.partial(
        task_id="deliver_invoice", type="mail", doc_type="KOPIA", retries=0
    ).expand(invoice_id=[1, 2, 3, 4, 5])

    @task
    def collect(ids):
        return sorted(ids)

    collect(delivered.output)

from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor  # noqa: E402

for deferrable in (True, False):
    name = "deferrable" if deferrable else "poke"
    with DAG(
        f"infakt_test_wait_{name}", schedule=None, start_date=START, render_template_as_native_obj=True
    ) as wait_dag:
        sensor = InfaktInvoiceSensor(
            task_id="wait",
            invoice_id="{{ dag_run.conf['invoice_id'] }}",
            target_status="{{ dag_run.conf.get('target_status', 'paid') }}",
            deferrable=deferrable,
            mode="poke",
            poke_interval=0.2,
            timeout=20,
        )

        @task
        def got(invoice_id):
            return invoice_id

        got(sensor.output)
    globals()[f"wait_dag_{name}"] = wait_dag

# Sensor behaviour as in Airflow's own sensors: modes, soft_fail, timeout.
for sensor_mode in ("poke", "reschedule", "deferrable"):
    for soft in (False, True):
        suffix = f"{sensor_mode}_{'soft' if soft else 'hard'}"
        with DAG(
            f"infakt_test_sensor_{suffix}", schedule=None, start_date=START, render_template_as_native_obj=True
        ) as sensor_dag:
            InfaktInvoiceSensor(
                task_id="wait",
                invoice_id="{{ dag_run.conf['invoice_id'] }}",
                target_status=["paid", "unpaid"],
                deferrable=sensor_mode == "deferrable",
                mode="reschedule" if sensor_mode == "reschedule" else "poke",
                poke_interval=0.2,
                timeout=2,
                soft_fail=soft,
            )
        globals()[f"sensor_dag_{suffix}"] = sensor_dag

# One sensor for many invoices, in each mode: ids and target from the run's conf; "_any" waits for the
# first invoice, "_soft" skips instead of failing.
for sensor_mode in ("poke", "reschedule", "deferrable"):
    for variant in ("all", "any", "soft"):
        with DAG(
            f"infakt_test_set_sensor_{sensor_mode}_{variant}",
            schedule=None,
            start_date=START,
            render_template_as_native_obj=True,
        ) as set_sensor_dag:
            InfaktInvoiceSensor(
                task_id="wait",
                invoice_ids="{{ dag_run.conf['invoice_ids'] }}",
                target_status="{{ dag_run.conf.get('target_status', 'paid') }}",
                wait_for="any" if variant == "any" else "all",
                deferrable=sensor_mode == "deferrable",
                mode="reschedule" if sensor_mode == "reschedule" else "poke",
                poke_interval=0.2,
                timeout=4,
                soft_fail=variant == "soft",
            )
        globals()[f"set_sensor_dag_{sensor_mode}_{variant}"] = set_sensor_dag

# The delivery-outcome model under faults (issue 8): a short in-flight window so tests stay quick, and
# an on_retry_callback that can act "between two tries" (a customer paying, say) as a conf key asks.


def _between_tries(context):
    """Do what ``dag_run.conf['between_tries']`` asks of the emulator before the next try: ``"pay"``
    (the customer pays the invoice) or a fault to arm (a dict, as ``POST /_emulator/faults`` takes)."""
    import json
    import os
    import urllib.parse
    import urllib.request

    conf = context["dag_run"].conf or {}
    action = conf.get("between_tries")
    host = urllib.parse.urlsplit(json.loads(os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"])["host"])
    admin = f"{host.scheme}://{host.netloc}/_emulator"
    if action == "pay":
        request = urllib.request.Request(f"{admin}/invoices/{conf['invoice_id']}/paid", method="POST")  # noqa: S310
    elif isinstance(action, dict):
        body = json.dumps(action).encode()
        request = urllib.request.Request(f"{admin}/faults", data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json")
    else:
        return
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 (the local emulator)


with DAG("infakt_test_outcome", schedule=None, start_date=START, render_template_as_native_obj=True) as outcome_dag:
    InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice",
        invoice_id="{{ dag_run.conf['invoice_id'] }}",
        doc_type="{{ dag_run.conf.get('doc_type', 'org') }}",
        in_flight_window=3,
        retries=3,
        retry_delay=datetime.timedelta(seconds=0),
        on_retry_callback=_between_tries,
    )

with DAG(
    "infakt_test_mapped_conf", schedule=None, start_date=START, render_template_as_native_obj=True
) as mapped_conf_dag:

    @task
    def invoices(**context):
        return list(context["dag_run"].conf["invoice_ids"])

    InfaktDeliverInvoiceOperator.partial(task_id="deliver_invoice", in_flight_window=1, retries=0).expand(
        invoice_id=invoices()
    )

# Airflow's default rendering (no render_template_as_native_obj): every template renders to text, so
# a missing conf key gives 'None' (or '' with a '' default) and a bool 'True'/'False'.
with DAG("infakt_test_plain_jinja", schedule=None, start_date=START) as plain_jinja_dag:
    InfaktDeliverInvoiceOperator(
        task_id="deliver_invoice",
        invoice_id="{{ dag_run.conf['invoice_id'] }}",
        recipient="{{ dag_run.conf.get('recipient') }}",
        locale="{{ dag_run.conf.get('locale', '') }}",
        send_copy="{{ dag_run.conf.get('send_copy') }}",
        retries=0,
    )
