"""Old home of the delivery ledger, kept so that ``from airflow_provider_infakt.operators.ledger import ...``
still works: the ledger is not an operator and lives in :mod:`airflow_provider_infakt.ledger`."""

from __future__ import annotations

from airflow_provider_infakt.ledger import (
    DELIVERED_STATUS,
    KEY_PREFIX,
    LEDGER_ASSET_NAME,
    UNDELIVERED_STATUSES,
    Decision,
    Entry,
    Ledger,
    State,
    StateStore,
    ledger_key,
    resolve,
    seconds_until_settled,
)

__all__ = [
    "DELIVERED_STATUS",
    "KEY_PREFIX",
    "LEDGER_ASSET_NAME",
    "UNDELIVERED_STATUSES",
    "Decision",
    "Entry",
    "Ledger",
    "State",
    "StateStore",
    "ledger_key",
    "resolve",
    "seconds_until_settled",
]
