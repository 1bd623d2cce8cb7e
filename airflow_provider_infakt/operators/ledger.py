"""Old home of the delivery ledger, kept so that ``from airflow_provider_infakt.operators.ledger import ...``
still works: the ledger is not an operator and lives in :mod:`airflow_provider_infakt.ledger`."""

from __future__ import annotations

from airflow_provider_infakt import ledger as _ledger
from airflow_provider_infakt.ledger import *  # noqa: F403 - the same names, under the old path

__all__ = list(_ledger.__all__)
