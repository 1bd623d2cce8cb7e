"""Apache Airflow provider for the inFakt invoicing API (infakt.pl).

Importing this package is cheap: it pulls in neither Airflow nor any HTTP library.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
