"""Two corrections to Airflow 3.0-3.2's ``dag.test()``, made once per process by
:func:`airflow_provider_infakt.testing.dagrun.run_dag`: without them a DAG that runs fine on a worker fails
under ``dag.test()``. Each is detected, not assumed from a version string, and does nothing where the
installed Airflow does not need it (2.10, 2.11, 3.3). Airflow is imported only when they are applied."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any

_lock = threading.Lock()
_applied = False


def apply_once() -> None:
    """Apply both corrections, the first time only; they stay for the rest of the process."""
    global _applied
    with _lock:
        if not _applied:
            keep_in_process_execution_api_alive()
            validate_in_process_reschedule_start_date()
            _applied = True


def keep_in_process_execution_api_alive() -> None:
    """Make ``dag.test()``'s in-process Execution API live as long as its transport.

    On Airflow 3.0, 3.1 and 3.2, ``dag.test()`` makes an ``InProcessExecutionAPI`` for each task it runs,
    keeps only its ``transport`` and drops the object, whose ``AsyncExitStack`` holds the API app's open
    lifespan. When the garbage collector takes it, the lifespan is closed under the running task (its
    ``svcs`` registry leaves ``app.state``), and the task's next request that needs the registry fails:
    ``AttributeError: 'State' object has no attribute 'svcs_registry'``. 3.2's ``PATCH .../run`` needs it
    first thing, so there every task fails before it runs a line of the provider. These versions also
    start the lifespan without waiting for it. Airflow 3.3 ties the lifespan to the transport and waits
    for it; this does the same for the older versions (on 3.3 it changes nothing). Only ``dag.test()`` is
    affected: a worker talks to a running API server. Airflow 2 has no Execution API: nothing to do.

    Airflow 3.3 also makes one in-process API per process (``functools.lru_cache``), where 3.0-3.2 build
    a new FastAPI app for each task: about 5 s of CPU per task on 3.2. This keeps the first one, as 3.3
    does (each task still sets its own DAG bag on it).
    """
    try:  # Airflow 3.0+
        from airflow.sdk.execution_time import supervisor
    except ImportError:  # Airflow 2.10, 2.11
        return
    original = getattr(supervisor, "in_process_api_server", None)
    if original is None:
        return

    started: list[Any] = []

    def in_process_api_server() -> Any:
        if started:  # one per process, as in Airflow 3.3
            return started[0]
        api = original()
        transport = api.transport  # starts the lifespan (3.0-3.2: without waiting for it)
        transport.infakt_tests_keep_alive = api  # the lifespan ends when the transport does, as in 3.3
        deadline = time.monotonic() + 60
        while getattr(api.app.state, "svcs_registry", None) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "dag.test()'s in-process Execution API did not start within 60 s (is [api_auth] "
                    "jwt_secret set? the infakt_airflow fixture sets AIRFLOW__API_AUTH__JWT_SECRET)"
                )
            time.sleep(0.002)
        loop = getattr(getattr(transport, "app", None), "loop", None)
        if loop is not None:  # the lifespan has set the registry; let its start-up run to its end
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(timeout=60)
        started.append(api)
        return api

    supervisor.in_process_api_server = in_process_api_server  # type: ignore[assignment]


def validate_in_process_reschedule_start_date() -> None:
    """Make ``dag.test()`` hand a rescheduled sensor its first reschedule date as a datetime.

    Airflow 3.0's API client builds ``TaskRescheduleStartDate`` with ``model_construct`` (no validation),
    so its ``start_date`` stays the JSON string. A worker never sees that: the answer crosses the socket
    to the task process and is validated there. ``dag.test()``'s in-process supervisor hands the object
    over as it is, and the second try of any ``mode="reschedule"`` sensor fails in Airflow's own
    ``BaseSensorOperator.execute`` (``datetime - str``). This validates the answer as the socket would.
    Airflow 3.1+ validates it in the client and Airflow 2 has no such client: nothing to do there.
    """
    try:  # Airflow 3.0+
        from airflow.sdk.api.client import TaskInstanceOperations
        from airflow.sdk.execution_time.comms import TaskRescheduleStartDate
    except ImportError:  # Airflow 2.10, 2.11
        return
    original = TaskInstanceOperations.get_reschedule_start_date
    if "model_construct" not in inspect.getsource(original):  # Airflow 3.1+: the client validates
        return

    def get_reschedule_start_date(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        return TaskRescheduleStartDate.model_validate({"start_date": answer.start_date})

    TaskInstanceOperations.get_reschedule_start_date = get_reschedule_start_date  # type: ignore[method-assign]
