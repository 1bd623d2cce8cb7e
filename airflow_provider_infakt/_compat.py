"""Where each supported Airflow (2.10, 2.11, 3.0, 3.1, 3.2, 3.3) keeps things: the only module that knows.

Everything else imports Airflow's base classes, configuration, secret masking and exceptions from
here. Airflow 3 moves the authoring interface into the Task SDK (``airflow.sdk``) piece by piece, so
each name is looked up on its own, newest place first, and each fallback says which versions need it.
Where Airflow allows, the lookup detects the feature instead of comparing version strings.
"""

from __future__ import annotations

import sys
from typing import Any

try:  # Airflow 3.0+: the Task SDK (BaseHook joined it only in 3.1, below)
    from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator, PokeReturnValue

    AIRFLOW_V3 = True
except ImportError:  # Airflow 2.10, 2.11
    from airflow.models import BaseOperator  # type: ignore[no-redef,attr-defined]
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore[no-redef]
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue  # type: ignore[no-redef,attr-defined]

    AIRFLOW_V3 = False

try:  # Airflow 3.1+
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 2.10, 2.11, 3.0 (3.0's airflow.hooks.base reads connections via the Task SDK)
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]

try:  # Airflow 3.2+: the Task SDK's exceptions are the ones the task runner acts on
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
except ImportError:  # Airflow 2.10-3.1: 3.0 has none of these in airflow.sdk.exceptions, 3.1 only
    # AirflowException, and their task runners catch airflow.exceptions' classes
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )

try:  # Airflow 3.0+
    from airflow.sdk.log import mask_secret as _mask_secret
except ImportError:  # Airflow 2.10, 2.11 (airflow.utils.log.secrets_masker is gone in 3.0)
    from airflow.utils.log.secrets_masker import mask_secret as _mask_secret  # type: ignore[no-redef]


def mask_secret(secret: str | None, name: str | None = None) -> None:
    """Register ``secret`` with Airflow's secrets masker so that logs show ``***`` instead."""
    if secret:
        _mask_secret(secret, name)


async def amask_secret(secret: str | None) -> None:
    """:func:`mask_secret` for async code: on Airflow 3.3+ the task SDK tells its supervisor with
    ``asend``, as the triggerer's event loop needs (the sync ``send`` would block the loop, and fail
    silently while another request is in flight); elsewhere the sync call, which stays in-process."""
    if not secret:
        return
    try:  # Airflow 3.1+
        from airflow.sdk.log import amask_secret as _amask
    except ImportError:  # Airflow 2.10-3.0
        mask_secret(secret)
        return
    await _amask(secret)


def native_async_connection_lookup() -> bool:
    """Whether :func:`aget_connection` here uses Airflow's own async lookup (``BaseHook.aget_connection``)
    rather than the sync lookup in a worker thread.

    Airflow 2.10, 2.11 and 3.0 have no async lookup. Airflow 3.1+ has one: in a task or a trigger it tries
    ``AIRFLOW_CONN_*`` variables (and any configured secrets backend), then asks the supervisor, which
    reads the metadata database, through ``task_runner.SUPERVISOR_COMMS.asend``; a real triggerer's comms
    (``TriggerCommsDecoder``) have it. ``dag.test()`` (so ``airflow dags test`` and ``airflow tasks
    test``) on 3.1-3.3 runs a deferred task's trigger in line (``_run_inline_trigger`` ->
    ``InProcessTestSupervisor.run_trigger_in_process``) with ``InProcessSupervisorComms``, which has
    ``send`` only: ``ExecutionAPISecretsBackend.aget_connection`` fails on the missing ``asend``, swallows
    the ``AttributeError`` and returns nothing, so a connection stored in the metadata database is "not
    defined". The sync lookup goes through ``send`` and finds it. Detected from the comms in place, not
    from the version: an Airflow whose in-process comms learn ``asend`` gets the native lookup back.
    """
    if getattr(BaseHook, "aget_connection", None) is None:  # Airflow 2.10, 2.11, 3.0
        return False
    # the module holding SUPERVISOR_COMMS: a process that never loaded it has no supervisor to ask
    task_runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return comms is None or hasattr(comms, "asend")


async def aget_connection(conn_id: str) -> Any:
    """The Airflow connection ``conn_id``, for async code (a trigger): it never blocks the event loop.

    Airflow's own async lookup where it reaches every place a connection can be stored; elsewhere
    (see :func:`native_async_connection_lookup`) Airflow's sync lookup, run in a worker thread.

    :param conn_id: the connection to look up.
    :raises AirflowNotFoundException: (Airflow's) when no secrets backend knows ``conn_id``.
    """
    if native_async_connection_lookup():  # Airflow 3.1+ in a real triggerer, a task, or no supervisor
        return await BaseHook.aget_connection(conn_id)  # type: ignore[attr-defined,unused-ignore]
    from asgiref.sync import sync_to_async  # deferred: only here; Airflow 2 and 3 both ship asgiref

    return await sync_to_async(BaseHook.get_connection)(conn_id)


def worker_masks_rendered_fields() -> bool:
    """Whether a value registered with :func:`mask_secret` during rendering is masked in the stored
    rendered template fields (the UI's "Rendered Template" tab) when a worker runs the task.

    Airflow 2.10/2.11: the worker writes them itself, through the secrets masker :func:`mask_secret`
    fills. Airflow 3.1+: the task runner redacts them in the task process before it sends them. Airflow
    3.0: the task process sends them unredacted, and the API server redacts them with its own masker,
    which never saw a secret registered in the task, so such a value is stored as it is (``dag.test()``
    does not show this: there task, supervisor and API share one process and one masker). Detected
    from the task runner itself, not from the version number.
    """
    try:  # Airflow 3.0+
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # Airflow 2.10, 2.11
        return True
    import inspect

    try:
        source = inspect.getsource(task_runner._serialize_rendered_fields)
    except (AttributeError, OSError, TypeError):  # moved or rewritten: a later Airflow than 3.0
        return True
    return "redact(" in source  # Airflow 3.1+ redacts in the task process; 3.0 does not


def get_conf_value(section: str, key: str, fallback: Any = None) -> Any:
    """A configuration value, read lazily (importing configuration at module level is not free)."""
    try:  # Airflow 3.2+
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 2.10-3.1
        from airflow.configuration import conf  # type: ignore[no-redef]
    return conf.get(section, key, fallback=fallback)


def has_ledger_store() -> bool:
    """Whether this Airflow has the asset state store that holds the delivery ledger (Airflow 3.3+).

    Airflow 2.10-3.2 have none (``airflow.sdk.execution_time.context`` exists from 3.0, without
    ``AssetStateStoreAccessor``): there the operator runs without a ledger and says so in the task log.
    """
    try:  # Airflow 3.3+
        from airflow.sdk.execution_time.context import AssetStateStoreAccessor  # noqa: F401
    except ImportError:  # Airflow 2.10-3.2
        return False
    return True


def ledger_asset() -> Any:
    """The asset whose state store holds the delivery ledger, or None where Airflow has no asset
    state store (before 3.3). Delivery tasks declare it as an inlet so that Airflow registers it."""
    if not has_ledger_store():  # Airflow 2.10-3.2
        return None
    from airflow.sdk import Asset

    from airflow_provider_infakt import LEDGER_ASSET_NAME

    return Asset(name=LEDGER_ASSET_NAME, uri=f"infakt://{LEDGER_ASSET_NAME}")


def ledger_store() -> Any:
    """The delivery ledger's store (the asset state store of :func:`ledger_asset`), or None before 3.3."""
    if not has_ledger_store():  # Airflow 2.10-3.2
        return None
    from airflow.sdk.execution_time.context import AssetStateStoreAccessor

    from airflow_provider_infakt import LEDGER_ASSET_NAME

    return AssetStateStoreAccessor(name=LEDGER_ASSET_NAME)


def xcom_value(ti_key: Any, key: str) -> Any:
    """The XCom value of ``key`` for the task instance ``ti_key`` (for operator links)."""
    try:  # Airflow 3.0+
        from airflow.sdk.execution_time.xcom import XCom
    except ImportError:  # Airflow 2.10, 2.11
        from airflow.models.xcom import XCom  # type: ignore[no-redef]
    return XCom.get_value(ti_key=ti_key, key=key)


__all__ = [
    "AIRFLOW_V3",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "PokeReturnValue",
    "aget_connection",
    "get_conf_value",
    "has_ledger_store",
    "ledger_asset",
    "ledger_store",
    "mask_secret",
    "native_async_connection_lookup",
    "worker_masks_rendered_fields",
    "xcom_value",
]
