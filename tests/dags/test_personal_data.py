"""Personal data on a real Airflow (issue 8, finding 9): the recipient's address reaches inFakt, and
nothing else: not the rendered-fields table behind the UI's "Rendered Template" tab, not XCom, not the
task log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import run_dag


# Each test has its own addresses: Airflow's secrets masker is one per process, so an address one test
# registered would be masked in the next test's log whether or not that test's run registered it.
def address(tag: str, name: str = "ksiegowa.kowalska") -> str:
    """An address of this test's own (``tag`` names the test)."""
    return f"{name}.{tag}@firma.example"


def local_part(address_: str) -> str:
    return address_.partition("@")[0]


@pytest.fixture
def task_log_masking(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let dag.test() print the task log through the secrets masker, as a worker writes the task log.

    dag.test() prints the task log with the test process's own logging set-up, which does not mask;
    a worker does. Airflow 3 writes each task log event through ``airflow.sdk.log.mask_logs`` (in the
    processors of ``logging_processors``, used for the log file): this fixture adds that step to the
    test's structlog processors. Airflow 2's ``airflow tasks run`` sets ``MASK_SECRETS_IN_LOGS`` and
    logs through handlers filtered by the ``SecretsMasker``: this fixture does the same for the task
    logger's console output. Either way, what the test reads is what the task log file would hold.
    """
    try:
        import structlog
        from airflow.sdk.log import mask_logs
    except ImportError:
        yield from _airflow_2_task_log_masking(monkeypatch)
        return
    processors = list(structlog.get_config()["processors"])
    structlog.configure(processors=[_at_task_log_level, *processors[:-1], mask_logs, processors[-1]])
    # Airflow 3.0's dag.test() leaves the task's stdlib logger (``self.log``) on plain logging handlers,
    # where no structlog processor runs; a worker's task runner routes it through structlog, and so
    # through mask_logs. A handler first on the task logger (run before its other handlers and those of
    # its parents: the console's, caplog's) masks each record in place, as that route would. Later
    # versions log the task through structlog in dag.test() too; there it finds nothing left to mask.
    masking = _MaskRecords(mask_logs)
    task_logger = logging.getLogger("airflow.task")
    task_logger.handlers.insert(0, masking)
    try:
        yield
    finally:
        task_logger.removeHandler(masking)
        structlog.configure(processors=processors)


class _MaskRecords(logging.Handler):
    """A handler that writes nothing: it passes each record's message through Airflow 3's ``mask_logs``
    processor, in place, for the handlers after it."""

    def __init__(self, mask_logs: Any) -> None:
        super().__init__()
        self.mask_logs = mask_logs

    def filter(self, record: logging.LogRecord) -> bool:
        event = self.mask_logs(None, record.levelname.lower(), {"event": record.getMessage()})
        record.msg, record.args = event["event"], ()
        return True

    def emit(self, record: logging.LogRecord) -> None:
        pass


def _at_task_log_level(logger: Any, method_name: str, event_dict: Any) -> Any:
    """Drop what a worker would not write to the task log: events below ``[logging] logging_level``.

    Airflow 3.0's dag.test() prints every debug line of its in-process supervisor, among them each
    message to the task runner with its contents (``SetRenderedFields(rendered_fields={... 'recipient':
    ...})``, ``MaskSecret(value=...)``). A worker writes the task log at ``logging_level`` (INFO here and
    by default); later versions' dag.test() print at that level too.
    """
    import structlog

    from airflow_provider_infakt._compat import get_conf_value

    threshold = logging.getLevelName(str(get_conf_value("logging", "logging_level", fallback="INFO")).upper())
    level = logging.getLevelName(method_name.upper())
    if isinstance(threshold, int) and isinstance(level, int) and level < threshold:
        raise structlog.DropEvent
    return event_dict


def _airflow_2_task_log_masking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import sys

    from airflow import settings
    from airflow.utils.log.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    monkeypatch.setattr(settings, "MASK_SECRETS_IN_LOGS", True)
    task_logger = logging.getLogger("airflow.task")
    # dag.test() adds an unfiltered console handler to the task logger unless it has one already.
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"))
    task_logger.addHandler(console)
    handlers = [*task_logger.handlers, *logging.getLogger().handlers]
    added = [h for h in handlers if masker not in h.filters]
    for handler in added:
        handler.addFilter(masker)
    try:
        yield
    finally:
        for handler in added:
            handler.removeFilter(masker)
        task_logger.removeHandler(console)


def rendered_fields(dag_id: str) -> dict[int, dict[str, Any]]:
    """RTIF of ``deliver_invoice`` in the latest run of ``dag_id``, by map index, as the metadata DB holds
    it (what the UI's "Rendered Template" tab shows)."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as RTIF
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(RTIF).where(RTIF.dag_id == dag_id, RTIF.task_id == "deliver_invoice")).all()
        latest = max(row.run_id for row in rows) if rows else None
        return {row.map_index: dict(row.rendered_fields) for row in rows if row.run_id == latest}


def task_log(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """What the run wrote as task log: dag.test() prints it; records that went through logging too."""
    out = capsys.readouterr()
    return out.out + out.err + caplog.text


@pytest.mark.parametrize(
    ("dag_id", "conf", "invoice_id"),
    [
        pytest.param("infakt_test_pii_jinja", {"invoice_id": 1}, 1, id="jinja"),
        pytest.param("infakt_test_pii_xcom", {}, 2, id="xcom"),
    ],
)
def test_the_rendered_recipient_reaches_inFakt_but_not_rtif_xcom_or_log(
    airflow_db, infakt_emulator, use_connection, task_log_masking, capsys, caplog, dag_id, conf, invoice_id
):
    to = address(dag_id.rsplit("_", 1)[-1])
    use_connection()
    capsys.readouterr()
    run = run_dag(dag_id, {**conf, "recipient": to})
    log = task_log(capsys, caplog)
    assert run.state == "success"
    assert [(d.invoice_id, d.recipient, d.address) for d in infakt_emulator.deliveries] == [(invoice_id, to, to)]
    rtif = rendered_fields(dag_id)
    assert list(rtif) == [-1]
    assert local_part(to) not in json.dumps(rtif)
    assert rtif[-1]["recipient"] == "***"  # still a template field; its rendered value masked
    assert rtif[-1]["invoice_id"] == invoice_id  # the other fields render as before
    assert local_part(to) not in repr({k: v for k, v in run.xcom.items() if k[0] == "deliver_invoice"})
    assert "callback: the recipient was ***" in log  # code that logs the rendered address shows ***
    assert local_part(to) not in log


def test_a_mapped_recipient_stays_out_of_rtif_and_log(
    airflow_db, infakt_emulator, use_connection, task_log_masking, capsys, caplog
):
    first, second = address("mapped"), address("mapped", name="jan.nowak+faktury")
    use_connection()
    capsys.readouterr()
    run = run_dag("infakt_test_pii_mapped", {"recipients": [first, second]})
    log = task_log(capsys, caplog)
    assert run.state == "success"
    assert sorted(d.address or "" for d in infakt_emulator.deliveries) == sorted([first, second])
    rtif = rendered_fields("infakt_test_pii_mapped")
    assert sorted(rtif) == [0, 1]
    assert local_part(first) not in json.dumps(rtif) and local_part(second) not in json.dumps(rtif)
    assert [rtif[i]["recipient"] for i in (0, 1)] == ["***", "***"]
    assert log.count("callback: the recipient was ***") >= 2  # once per mapped task (caplog may repeat it)
    assert local_part(first) not in log and local_part(second) not in log


@pytest.mark.parametrize(
    ("kind", "route", "status", "body"),
    [
        pytest.param({}, "v3.deliver_via_email", 422, '{{"error": "Recipient {} is invalid"}}', id="v3-error"),
        pytest.param(
            {}, "v3.deliver_via_email", 422, '{{"errors": {{"recipient": ["{} is invalid"]}}}}', id="v3-errors-dict"
        ),
        pytest.param(
            {"api_version": "v2"},
            "v2.deliver",
            400,
            '{{"message": "Recipient {} is blocked.", "request": "/api/v2/invoices/deliver.json"}}',
            id="v2-message",
        ),
    ],
)
def test_an_address_quoted_by_inFakt_is_masked_in_the_task_log(
    request, airflow_db, infakt_emulator, use_connection, task_log_masking, capsys, caplog, kind, route, status, body
):
    to = address(request.node.callspec.id.replace("-", "."))
    use_connection(**kind)
    infakt_emulator.fault(route, status=status, body=body.format(to))
    capsys.readouterr()
    run = run_dag("infakt_test_pii_jinja", {"invoice_id": 1, "recipient": to})
    log = task_log(capsys, caplog)
    assert run.state == "failed"
    assert run.tasks[("deliver_invoice", -1)] == ("failed", 1)
    assert infakt_emulator.deliveries == []
    assert "Nothing was sent" in log and f"HTTP {status}" in log  # the failure itself is told
    # masked where the error was made (redact_text: k***@...); the secrets masker alone would show ***
    assert "k***@firma.example" in log
    assert local_part(to) not in log
    assert local_part(to) not in json.dumps(rendered_fields("infakt_test_pii_jinja"))


def test_a_recipient_that_is_no_address_is_shown_as_typed(
    airflow_db, infakt_emulator, use_connection, task_log_masking, capsys, caplog
):
    use_connection()
    capsys.readouterr()
    # A customer number where an address belongs ('None' is no mistake: it is plain Jinja's "not given").
    run = run_dag("infakt_test_pii_xcom", {"recipient": "K-10442"})
    log = task_log(capsys, caplog)
    assert run.state == "failed"
    assert infakt_emulator.requests == []
    # Airflow 3.0's dag.test() prints the failure in a console box that wraps long lines (at spaces and
    # hyphens): compare the words, not the line breaks
    words = " ".join(log.replace("-\n", "-").split())
    assert "invalid recipient 'K-10442': it has no '@'" in words  # not '***', not 'K***'
