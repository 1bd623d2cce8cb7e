"""The inFakt emulator: a real local HTTP server speaking inFakt API v2 (as the seed shows) and v3.

Use it in tests and demos instead of inFakt::

    from airflow_provider_infakt.testing import InfaktEmulator

    with InfaktEmulator() as emu:
        os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] = json.dumps(emu.connection(api_version="v2"))
        ...
        assert [d.invoice_id for d in emu.deliveries] == [1]

:class:`FaultProxy` goes between a client and the emulator and spoils answers after the emulator has
acted (5xx, gateway pages, truncated, oversized or malformed bodies, dropped connections, delays).

This package never imports Airflow. The servers need the ``emulator`` extra (aiohttp), imported only
when an emulator or a proxy starts.
"""

from __future__ import annotations

from . import credentials
from .emulator import InfaktEmulator, connection_for, connection_json
from .faults import Fault
from .model import DeliveryRecord, PendingDelivery, RequestRecord
from .proxy import PROXY_FAULT_KINDS, FaultProxy, ProxyFault, ProxyRecord

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
