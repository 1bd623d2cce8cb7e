"""A type checker catches wrong words in a DAG file: the public arguments are typed with Literal."""

from __future__ import annotations

import re
import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api")

DAG_FILE = textwrap.dedent(
    """
    from airflow_provider_infakt.hooks.infakt import InfaktHook
    from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator
    from airflow_provider_infakt.operators.list import InfaktListInvoicesOperator
    from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor
    from airflow_provider_infakt.types import Jinja

    deliver = InfaktDeliverInvoiceOperator(task_id="ok", invoice_id=1, type="post", doc_type="KOPIA", locale="en")
    InfaktDeliverInvoiceOperator(task_id="tpl", invoice_id="{{ ti.xcom_pull('x') }}", type=Jinja("{{ params.t }}"))
    InfaktInvoiceSensor(task_id="wait", invoice_id=deliver.output, target_status=["sent", "paid"])
    InfaktDeliverInvoiceOperator(task_id="bad1", invoice_id=1, type="fax")  # refused
    InfaktDeliverInvoiceOperator(task_id="bad2", invoice_id=1, doc_type="kopia")  # refused
    InfaktDeliverInvoiceOperator(task_id="bad3", invoice_id=1, locale="de")  # refused
    InfaktDeliverInvoiceOperator(task_id="bad4", invoice_id=1, on_unknown_outcome="retry")  # refused
    InfaktInvoiceSensor(task_id="bad5", invoice_id=1, target_status="payed")  # refused
    InfaktHook().deliver_invoice(1, type="fax")  # refused
    InfaktListInvoicesOperator(task_id="bad6", status="payed")  # refused
    InfaktListInvoicesOperator(task_id="ok2", status=Jinja("{{ params.status }}"), invoice_date_from="{{ ds }}")
    InfaktHook().iter_invoices(status="payed")  # refused
    """
)


def test_mypy_refuses_words_the_api_does_not_know(tmp_path):
    path = tmp_path / "users_dag.py"
    path.write_text(DAG_FILE)
    out, err, status = mypy_api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"), str(path)]
    )
    lines = sorted(int(n) for n in re.findall(r"users_dag\.py:(\d+): error", out))
    refused = [n for n, line in enumerate(DAG_FILE.splitlines(), 1) if line.endswith("# refused")]
    assert status == 1, out + err
    assert lines == refused, out
    assert 'Argument "type" to "InfaktDeliverInvoiceOperator" has incompatible type "Literal[\'fax\']"' in out
