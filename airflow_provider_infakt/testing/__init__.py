"""The inFakt emulator: a real local HTTP server speaking inFakt API v2 (as the seed shows) and v3.

Use it in tests and demos instead of inFakt::

    from airflow_provider_infakt.testing import InfaktEmulator

    with InfaktEmulator() as emu:
        os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(emu.connection(api_version="v2"))
        ...
        assert [d.invoice_id for d in emu.deliveries] == [1]

:class:`FaultProxy` goes between a client and the emulator and spoils answers after the emulator has
acted (5xx, gateway pages, truncated, oversized or malformed bodies, dropped connections, delays).

Importing this package never imports Airflow, nor the provider's client (``dagrun`` imports Airflow
when its functions run). The servers need the ``emulator`` extra
(aiohttp), imported only when an emulator or a proxy starts.

The public API is what ``__all__`` lists, plus the modules ``credentials`` (the demo credentials),
``dagrun`` (``run_dag`` runs a DAG with ``dag.test()`` and returns a ``DagRunResult``: the run's state,
task states and XComs), ``pytest_plugin`` (the fixtures ``infakt_emulator``, ``infakt_connection``,
``infakt_connection_factory``, ``infakt_airflow`` and ``infakt_dag_runner``, registered when the package is
installed) and ``cli`` (the ``infakt-emulator`` command). Modules whose names start with an
underscore are the emulator's insides: the request pipeline (``_pipeline``), the v2, v3 and admin
routes (``_v2``, ``_v3``, ``_admin``) and their helpers, wired together in ``server``.
"""

from __future__ import annotations

from . import credentials
from .emulator import InfaktEmulator, connection_for, connection_json
from .faults import Fault
from .model import DeliveryRecord, PendingDelivery, RequestRecord
from .proxy import PROXY_FAULT_KINDS, FaultProxy, ProxyFault, ProxyRecord

# The servers and connections to them; what emu.fault() and proxy.fault() arm; what emu.deliveries,
# emu.pending_deliveries, emu.requests and proxy.records hold.
__all__ = [
    "PROXY_FAULT_KINDS",
    "DeliveryRecord",
    "Fault",
    "FaultProxy",
    "InfaktEmulator",
    "PendingDelivery",
    "ProxyFault",
    "ProxyRecord",
    "RequestRecord",
    "connection_for",
    "connection_json",
    "credentials",
]
