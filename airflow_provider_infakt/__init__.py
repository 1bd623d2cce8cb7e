"""Apache Airflow provider for the inFakt invoicing API (infakt.pl).

Importing this package is cheap: it pulls in neither Airflow nor any HTTP library.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Provider metadata for Airflow's provider manager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-infakt",
        "name": "inFakt",
        "description": "Deliver inFakt (infakt.pl) invoices and wait for them to be sent or paid.",
        "versions": [__version__],
    }
