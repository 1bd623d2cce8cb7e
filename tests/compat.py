"""What the tests must know about Airflow versions, in one place (the provider's own differences live in
``airflow_provider_infakt._compat``). Each branch says which versions need it; features are detected,
not version strings compared, except in the human-readable skip reasons."""

from __future__ import annotations

from typing import Any

from airflow_provider_infakt._compat import AIRFLOW_V3, has_ledger_store


def airflow_version() -> str:
    """The installed Airflow's version, for messages."""
    import airflow

    return str(airflow.__version__)


HAS_LEDGER_STORE = has_ledger_store()
#: Why a test that needs the delivery ledger is skipped here (only read where it is skipped).
NO_LEDGER_STORE_REASON = (
    f"Airflow {airflow_version()} has no asset state store "
    "(airflow.sdk.execution_time.context.AssetStateStoreAccessor, new in Airflow 3.3), so the operator runs "
    "without a delivery ledger; tests/dags/test_delivery_retries.py::test_without_store_* test what it "
    "guarantees instead"
)
#: Why a test of the no-ledger guarantee is skipped here.
HAS_LEDGER_STORE_REASON = (
    f"Airflow {airflow_version()} has the asset state store, so the delivery ledger is always there; this "
    "tests the guarantee of Airflow 2.10-3.2, where it is not"
)


def task_runner_calls_get_link() -> bool:
    """Whether the task runner calls each operator link's ``get_link`` and stores what it returns in
    XCom (``_link_<name>``) for the UI: Airflow 3's Task SDK does; Airflow 2's UI calls it instead."""
    return AIRFLOW_V3


def dag_test_logs_deferrals() -> bool:
    """Whether ``dag.test()`` logs a deferring task's state change (``new_state=deferred``) where the
    test can read it: Airflow 3's in-process task runner does; Airflow 2.10/2.11's ``dag.test()`` runs
    the trigger inline and logs nothing of the kind there."""
    return AIRFLOW_V3


def task_deferred_exception() -> type[BaseException]:
    """The exception ``BaseOperator.defer()`` raises: the Task SDK's from Airflow 3.2, Airflow core's in
    2.10-3.1 (3.0 and 3.1's ``airflow.sdk.exceptions`` have no ``TaskDeferred``)."""
    try:  # Airflow 3.2+
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow 2.10-3.1
        from airflow.exceptions import TaskDeferred  # type: ignore[no-redef,attr-defined]
    return TaskDeferred  # type: ignore[no-any-return]


def importable(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def ui_connection_form(conn_type: str) -> dict[str, Any]:
    """The connection form the web UI shows for ``conn_type``, the same shape on every version:
    ``{"hidden": {standard fields hidden}, "titles": {standard field: label}, "extra": {extra field:
    whether it is secret}}``; empty when the UI shows the generic form.

    Built in a fresh interpreter, as the UI's server builds it: Airflow 3.0 and 3.1 rebuild the providers
    manager singleton with mocked widget classes, and 3.1+ leave ``MagicMock`` modules in ``sys.modules``
    for WTForms and Flask-AppBuilder, which would mislead later tests of this process.
    """
    import json
    import pathlib
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from tests.compat import _ui_connection_form_here\n"
        "print(json.dumps(_ui_connection_form_here(sys.argv[1]), default=sorted))\n"
    )
    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code, conn_type], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    form = json.loads(out.strip().splitlines()[-1])
    return {"hidden": set(form["hidden"]), "titles": form["titles"], "extra": form["extra"]}


def _ui_connection_form_here(conn_type: str) -> dict[str, Any]:
    """:func:`ui_connection_form`, in this process.

    Airflow 2's Flask UI reads the providers manager's widgets and field behaviours (Flask-AppBuilder and
    WTForms always come with Airflow 2). Airflow 3's UI asks ``/ui/connections/hook_meta``, built by
    ``HookMetaService``: on 3.0 and 3.1 from the hook's ``get_connection_form_widgets`` and
    ``get_ui_field_behaviour`` with FAB's classes mocked (3.0 only mocks them where WTForms is installed,
    3.1 also where it is not), on 3.2+ from the provider info's ``conn-fields`` and ``ui-field-behaviour``.
    """
    try:  # Airflow 3.0+
        from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
    except ImportError:  # Airflow 2.10, 2.11
        return _airflow_2_connection_form(conn_type)
    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == conn_type]
    data = meta.model_dump()
    standard = {name: field for name, field in (data["standard_fields"] or {}).items() if field}
    extra = data["extra_fields"] or {}
    return {
        "hidden": {"schema" if name == "url_schema" else name for name, f in standard.items() if f["hidden"]},
        "titles": {name: f["title"] for name, f in standard.items() if f["title"]},
        "extra": {name: field["schema"].get("format") == "password" for name, field in extra.items()},
    }


def _airflow_2_connection_form(conn_type: str) -> dict[str, Any]:
    from airflow.providers_manager import ProvidersManager
    from wtforms import PasswordField

    manager = ProvidersManager()
    behaviour = manager.field_behaviours.get(conn_type, {})
    prefix = f"extra__{conn_type}__"
    return {
        "hidden": set(behaviour.get("hidden_fields", [])),
        "titles": dict(behaviour.get("relabeling", {})),
        "extra": {
            key.removeprefix(prefix): widget.field.field_class is PasswordField
            for key, widget in manager.connection_form_widgets.items()
            if key.startswith(prefix)
        },
    }


#: Why the UI shows the generic connection form (extras typed as JSON) on this version, or None.
GENERIC_CONNECTION_FORM_REASON = (
    f"Airflow {airflow_version()}'s UI builds a provider's connection form from the hook's WTForms widgets "
    "and only mocks WTForms where it is installed; it comes with the FAB provider, which this venv (a plain "
    "`pip install apache-airflow`) lacks, so the UI shows the generic form"
    if airflow_version().startswith("3.0.") and not importable("wtforms")
    else None
)


def dag_bag(path: Any) -> Any:
    """Airflow's ``DagBag`` of one DAG file or folder, parsed as the DAG processor parses it (its
    ``import_errors`` are what the UI lists)."""
    try:  # Airflow 3.2+ (airflow.models.dagbag keeps a deprecated alias)
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.10-3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef,attr-defined]
    return DagBag(dag_folder=str(path))


#: Whether Flask-AppBuilder and WTForms are installed: always with Airflow 2 (its UI is built on them);
#: with Airflow 3 only with the FAB provider, which the test venvs do not install.
HAS_FAB = importable("flask_appbuilder") and importable("wtforms")
#: Why a test that builds the real WTForms widgets is skipped here (only read where it is skipped).
NO_FAB_REASON = (
    f"Airflow {airflow_version()} is installed without Flask-AppBuilder and WTForms (Airflow 3 leaves them to "
    "the FAB provider), so the real widget classes cannot be built; test_connection_form_as_the_ui_shows_it "
    "checks the form Airflow 3's UI builds from the same hook methods (3.0, 3.1) or provider info (3.2+)"
)
