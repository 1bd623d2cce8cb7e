"""What ``airflow_provider_infakt._compat`` says about this Airflow matches what this Airflow does.

Each check runs on every version of the matrix: where a version lacks a feature, the test asserts how
the provider degrades there instead of being skipped."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_infakt import _compat
from airflow_provider_infakt.operators.deliver import RENDERED_RECIPIENT_WARNING, InfaktDeliverInvoiceOperator


def rendered(recipient: str) -> InfaktDeliverInvoiceOperator:
    """A deliver operator rendered as the task runner renders it before ``execute``."""
    import jinja2

    operator = InfaktDeliverInvoiceOperator(
        task_id=f"deliver_{uuid.uuid4().hex[:8]}", invoice_id=1, recipient=recipient
    )
    operator.render_template_fields({}, jinja_env=jinja2.Environment(autoescape=True))
    return operator


def stored_rendered_fields(operator: InfaktDeliverInvoiceOperator) -> dict[str, object]:
    """What the worker hands on to be stored as the task's rendered fields (before the API server)."""
    try:  # Airflow 3: the task runner serializes (3.1+: and redacts) them in the task process
        from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields
    except ImportError:  # Airflow 2: the worker writes RenderedTaskInstanceFields, which redacts each field
        from airflow.serialization.helpers import serialize_template_field
        from airflow.utils.log.secrets_masker import redact

        return {f: redact(serialize_template_field(getattr(operator, f), f), f) for f in operator.template_fields}
    return dict(_serialize_rendered_fields(operator))


def test_a_rendered_recipient_is_masked_in_the_stored_fields_exactly_where_compat_says():
    address = f"rtif.{uuid.uuid4().hex[:10]}@firma.example"
    operator = rendered(address)
    masked = stored_rendered_fields(operator)["recipient"] == "***"
    assert masked == _compat.worker_masks_rendered_fields()
    if not masked:  # Airflow 3.0: the address goes to the API server as it is
        assert stored_rendered_fields(operator)["recipient"] == address


def test_the_operator_warns_where_the_rendered_recipient_is_not_masked(caplog: pytest.LogCaptureFixture):
    with caplog.at_level("WARNING"):
        rendered(f"warn.{uuid.uuid4().hex[:10]}@firma.example")
    warned = RENDERED_RECIPIENT_WARNING in caplog.text
    assert warned == (not _compat.worker_masks_rendered_fields())


def test_ledger_store_is_there_exactly_where_compat_says():
    store, asset = _compat.ledger_store(), _compat.ledger_asset()
    assert (store is not None) == (asset is not None) == _compat.has_ledger_store()
    if asset is not None:
        from airflow_provider_infakt import LEDGER_ASSET_NAME

        assert asset.name == LEDGER_ASSET_NAME
