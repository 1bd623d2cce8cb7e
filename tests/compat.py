"""What the tests must know about Airflow versions, in one place (the provider's own differences live in
``airflow_provider_infakt._compat``). Each branch says which versions need it; features are detected,
not version strings compared, except in the human-readable skip reasons."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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


def keep_in_process_execution_api_alive() -> Callable[[], None]:
    """Make ``dag.test()``'s in-process Execution API live as long as its transport; return the undo.

    On Airflow 3.0, 3.1 and 3.2, ``dag.test()`` makes an ``InProcessExecutionAPI`` for each task it runs,
    keeps only its ``transport`` and drops the object, whose ``AsyncExitStack`` holds the API app's open
    lifespan. When the garbage collector takes it, the lifespan is closed under the running task (its
    ``svcs`` registry leaves ``app.state``), and the task's next request that needs the registry fails:
    ``AttributeError: 'State' object has no attribute 'svcs_registry'``. 3.2's ``PATCH .../run`` needs it
    first thing, so there every task fails before it runs a line of the provider. These versions also
    start the lifespan without waiting for it. Airflow 3.3 ties the lifespan to the transport and waits
    for it; this does the same for the older versions (on 3.3 it changes nothing). Only ``dag.test()`` is
    affected: a worker talks to a running API server. Airflow 2 has no Execution API: nothing to do.
    """
    try:  # Airflow 3.0+
        from airflow.sdk.execution_time import supervisor
    except ImportError:  # Airflow 2.10, 2.11
        return lambda: None
    original = getattr(supervisor, "in_process_api_server", None)
    if original is None:
        return lambda: None

    def in_process_api_server() -> Any:
        api = original()
        transport = api.transport  # starts the lifespan (3.0-3.2: without waiting for it)
        transport.infakt_tests_keep_alive = api  # the lifespan ends when the transport does, as in 3.3
        deadline = time.monotonic() + 60
        while getattr(api.app.state, "svcs_registry", None) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "dag.test()'s in-process Execution API did not start within 60 s (is [api_auth] "
                    "jwt_secret set? tests/conftest.py sets it)"
                )
            time.sleep(0.002)
        loop = getattr(getattr(transport, "app", None), "loop", None)
        if loop is not None:  # the lifespan has set the registry; let its start-up run to its end
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(timeout=60)
        return api

    supervisor.in_process_api_server = in_process_api_server

    def undo() -> None:
        supervisor.in_process_api_server = original

    return undo
