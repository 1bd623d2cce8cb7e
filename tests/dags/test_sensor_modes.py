"""InfaktInvoiceSensor's modes, soft_fail and timeout on a real Airflow, as Airflow's own sensors behave."""

from __future__ import annotations

import pytest

from .conftest import run_dag

MODES = ["poke", "reschedule", "deferrable"]


@pytest.mark.parametrize("mode", MODES)
def test_reaches_one_of_the_target_statuses(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    infakt_emulator.mark_paid(3)
    run = run_dag(f"infakt_test_sensor_{mode}_hard", {"invoice_id": 3})
    assert run.state == "success", run.tasks
    assert run.xcom[("wait", -1, "return_value")] == 3
    assert run.xcom[("wait", -1, "invoice_status")] == "paid"


@pytest.mark.parametrize("mode", MODES)
def test_timeout_fails(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    run = run_dag(f"infakt_test_sensor_{mode}_hard", {"invoice_id": 1})  # a draft: never paid
    assert run.state == "failed"
    assert run.tasks[("wait", -1)][0] == "failed"
    assert len([r for r in infakt_emulator.requests if r.route == "v3.invoice"]) >= 2


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_skips_on_timeout(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    run = run_dag(f"infakt_test_sensor_{mode}_soft", {"invoice_id": 1})
    assert run.tasks[("wait", -1)][0] == "skipped"


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_skips_on_unknown_invoice(airflow_db, infakt_emulator, use_connection, mode):
    use_connection()
    run = run_dag(f"infakt_test_sensor_{mode}_soft", {"invoice_id": 404})
    assert run.tasks[("wait", -1)][0] == "skipped"
    assert [r.status for r in infakt_emulator.requests] == [404]
