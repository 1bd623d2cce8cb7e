"""Apache Airflow provider for the inFakt invoicing API (infakt.pl).

Importing this package is cheap: it pulls in neither Airflow nor any HTTP library.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["LEDGER_ASSET_NAME", "__version__", "get_provider_info"]

#: Name of the asset whose state store holds the delivery ledger (:mod:`.ledger`). Here, not in the
#: ledger module, because every DAG file that uses the deliver operator needs it at parse time.
LEDGER_ASSET_NAME = "infakt_delivery_ledger"

_INTEGRATION = "inFakt"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata for Airflow's provider manager (entry point ``apache_airflow_provider``).

    It validates against Airflow's ``provider_info.schema.json``; ``conn-fields`` and
    ``ui-field-behaviour`` describe the connection form for Airflow 3.2+ (older versions ask the hook).
    """
    # deferred: every import of any module of the package runs this file; hooks.form adds ~0.5 ms to
    # each where Airflow has not loaded the provider info already (before 3.2, and in plain Python)
    from airflow_provider_infakt.hooks.form import UI_FIELD_BEHAVIOUR, conn_fields

    return {
        "package-name": "airflow-provider-infakt",
        "name": "inFakt",
        "description": "Find and deliver inFakt (infakt.pl) invoices and wait for them to be sent or paid.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://www.infakt.pl/developers",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_infakt.operators.bulk",
                    "airflow_provider_infakt.operators.deliver",
                    "airflow_provider_infakt.operators.list",
                ],
            }
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_infakt.sensors.invoice"]}],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_infakt.hooks.infakt"]}],
        "triggers": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_infakt.triggers.invoice"]}
        ],
        "extra-links": ["airflow_provider_infakt.links.InfaktInvoiceLink"],
        "connection-types": [
            {
                "connection-type": "infakt",
                "hook-class-name": "airflow_provider_infakt.hooks.infakt.InfaktHook",
                "hook-name": "inFakt",
                "conn-fields": conn_fields(),
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
