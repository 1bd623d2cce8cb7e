"""Every example DAG (example_dags/) imports with zero import errors and runs to success, as written,
against the emulator: on each supported Airflow, as ``make test-matrix`` runs this suite on each."""

from __future__ import annotations

import pathlib

import pytest

from ..compat import dag_bag
from .conftest import ROOT, run_dag

EXAMPLE_FILES = sorted((ROOT / "example_dags").glob("*.py"))

#: How each example DAG is run here: its conf, and how many reads of the invoice after the delivery the
#: emulator serves before the invoice is paid (None: never), for DAGs that wait for the payment.
RUNS: dict[str, tuple[dict[str, object], int | None]] = {
    "example_infakt_deliver": ({"invoice_id": 2}, None),
    # paid once both sensors have read it 'sent': the paid-sensor must wait (defer) for it
    "example_infakt_deliver_and_wait": ({"invoice_id": 2}, 2),
    # the emulator's drafts 1-5 (draft 6's client has no e-mail address)
    "example_infakt_month_end": ({"id_to": 5}, None),
}
#: What the emulator must have delivered after a DAG's run, where that is not its conf's invoice_id.
DELIVERED = {"example_infakt_month_end": [1, 2, 3, 4, 5]}
#: Seconds after its delivery the emulator marks an invoice paid, for DAGs that wait on many invoices.
PAID_AFTER_DELIVERY = {"example_infakt_month_end": 0.5}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_example_dag_file_imports_without_errors(path: pathlib.Path) -> None:
    bag = dag_bag(path)
    assert bag.import_errors == {}
    assert bag.dag_ids, f"{path.name} defines no DAG"
    unknown = set(bag.dag_ids) - set(RUNS)
    assert not unknown, f"add a run of {sorted(unknown)} to RUNS in {__name__}"


def test_every_example_dag_has_a_run() -> None:
    dag_ids = {dag_id for path in EXAMPLE_FILES for dag_id in dag_bag(path).dag_ids}
    assert dag_ids == set(RUNS)


@pytest.mark.parametrize("dag_id", sorted(RUNS))
def test_example_dag_runs_to_success(airflow_db, infakt_emulator, use_connection, pay_after_reads, dag_id) -> None:
    conf, reads_before_payment = RUNS[dag_id]
    use_connection()
    if reads_before_payment is not None:
        pay_after_reads(conf["invoice_id"], reads=reads_before_payment, after_route="deliver")
    infakt_emulator.pay_after_delivery(PAID_AFTER_DELIVERY.get(dag_id))
    run = run_dag(dag_id, conf)
    assert run.state == "success", run.tasks
    assert run.tasks and all(state == "success" for state, _ in run.tasks.values()), run.tasks
    expected = DELIVERED.get(dag_id) or [conf["invoice_id"]]
    assert [d.invoice_id for d in infakt_emulator.deliveries] == expected
    if dag_id == "example_infakt_month_end":  # it ends waiting until every delivered invoice is paid
        assert run.xcom[("wait_until_paid", -1, "return_value")] == expected
        assert run.xcom[("wait_until_paid", -1, "invoice_statuses")] == {str(i): "paid" for i in expected}
