"""inFakt itself, without Airflow: vocabulary, errors, protocol, credentials and clients.

Importing this package is cheap and never imports Airflow, requests, httpx, xmltodict or oauthlib.
The clients are loaded on first use::

    from airflow_provider_infakt.api import ApiKeyAuth, ClientSettings, InfaktClient

    settings = ClientSettings("https://api.infakt.pl/api/v3", "v3", ApiKeyAuth(key))
    with InfaktClient(settings) as client:
        client.deliver_invoice(7, "mail", "KOPIA")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .auth import ApiKeyAuth, OAuth1Auth, XAuth

# Importable from here for code written against earlier releases; not part of the public API.
from .errors import (  # noqa: F401
    InfaktAPIError,
    InfaktAuthError,
    InfaktBadRequestError,
    InfaktConfigError,
    InfaktConnectionError,
    InfaktError,
    InfaktForbiddenError,
    InfaktLockedError,
    InfaktLookupError,
    InfaktNotAcceptableError,
    InfaktNotFoundError,
    InfaktPaymentRequiredError,
    InfaktProtocolError,
    InfaktRateLimitedError,
    InfaktRedirectError,
    InfaktResponseTooLargeError,
    InfaktServerError,
    InfaktTransportError,
    InfaktUnknownOutcome,
    InfaktUnprocessableError,
    InfaktValidationError,
)
from .protocol import (
    Delivery,
    Invoice,
    InvoicePage,
    Payment,
    Request,  # noqa: F401
)
from .settings import ClientSettings, RateLimit
from .vocabulary import (  # noqa: F401
    DELIVERY_TYPES,
    DOC_TYPE_TO_PRINT_TYPE,
    DOC_TYPES,
    LOCALES,
    PRINT_TYPES,
    STATUSES,
    normalize_status,
    validate_delivery_type,
    validate_doc_type,
    validate_invoice_id,
    validate_locale,
    validate_recipient,
    validate_send_copy,
    validate_status,
)

if TYPE_CHECKING:
    from .aio import AsyncInfaktClient
    from .client import InfaktClient

#: The public API, deliberately short (README, "Public API"): the two clients, their settings, the
#: credentials, the results, the exceptions users catch and the validators users call.
__all__ = [
    "ApiKeyAuth",
    "AsyncInfaktClient",
    "ClientSettings",
    "Delivery",
    "InfaktAPIError",
    "InfaktAuthError",
    "InfaktClient",
    "InfaktConfigError",
    "InfaktError",
    "InfaktLookupError",
    "InfaktNotFoundError",
    "InfaktRateLimitedError",
    "InfaktTransportError",
    "InfaktUnknownOutcome",
    "InfaktValidationError",
    "Invoice",
    "InvoicePage",
    "OAuth1Auth",
    "Payment",
    "RateLimit",
    "XAuth",
    "normalize_status",
    "validate_delivery_type",
    "validate_doc_type",
    "validate_invoice_id",
    "validate_locale",
    "validate_recipient",
    "validate_send_copy",
    "validate_status",
]

_LAZY = {"InfaktClient": ".client", "AsyncInfaktClient": ".aio"}


def __getattr__(name: str) -> Any:
    """Load the clients (and with them requests or httpx) only when they are asked for."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
