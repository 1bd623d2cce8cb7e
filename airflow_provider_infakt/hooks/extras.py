"""The extra fields of an inFakt connection, listed once.

The connection reader (:mod:`airflow_provider_infakt.hooks.connection`) checks extras against this list,
and the connection form (:mod:`airflow_provider_infakt.hooks.form`) is made from it. It imports nothing
of the provider, so building Airflow's provider info stays cheap.
"""

from __future__ import annotations

import dataclasses

__all__ = ["EXTRAS", "EXTRA_FIELDS", "SECRET_EXTRA_FIELDS", "ExtraField"]


@dataclasses.dataclass(frozen=True)
class ExtraField:
    """One extra field of an inFakt connection, as the connection form shows it.

    :param label: the form's label.
    :param kind: ``"string"``, ``"password"`` or ``"boolean"``: the form's widget.
    :param description: the form's help text.
    :param in_form: False for the fields left out of the form (set them in the extra JSON): ones that
        weaken security (``verify``, ``allow_http``) or take structured values (``rate_limit``).
    """

    label: str
    kind: str
    description: str
    in_form: bool = True


#: Every extra field this provider reads: the one list behind the connection form and the connection
#: reader's check for unknown (mistyped) extras.
EXTRAS: dict[str, ExtraField] = {
    "api_version": ExtraField("API version", "string", "v3 (default; API key) or v2 (OAuth 1.0a / xAuth)"),
    "format": ExtraField("Format (v2)", "string", "json (default) or xml; v3 is always JSON"),
    "sandbox": ExtraField(
        "Use the v3 sandbox", "boolean", "With an empty host: api.sandbox-infakt.pl instead of api.infakt.pl"
    ),
    "oauth_token": ExtraField("OAuth token (v2)", "string", "Access token of the three-legged OAuth flow"),
    "oauth_token_secret": ExtraField("OAuth token secret (v2)", "password", "Access token secret"),
    "xauth_username": ExtraField("xAuth username (v2)", "string", "Instead of a token pair: the inFakt login"),
    "xauth_password": ExtraField("xAuth password (v2)", "password", "The inFakt password, exchanged once for a token"),
    "timeout": ExtraField("Timeout (seconds)", "string", "Read timeout of each request (default 30)"),
    "deadline": ExtraField(
        "Deadline (seconds)",
        "string",
        "The longest one request may take in all, however slowly the server answers "
        "(default: connect + 2 x read timeout, 70)",
    ),
    "verify": ExtraField("Verify TLS", "string", "true (default), false, or a CA bundle path", in_form=False),
    "max_retries": ExtraField("Max retries", "string", "Retries of safe-to-repeat failures (default 3)"),
    "allow_http": ExtraField("Allow plain HTTP", "boolean", "Allow an http:// host (local tests only)", in_form=False),
    "rate_limit": ExtraField(
        "Rate limit",
        "string",
        'true (inFakt\'s documented limits), false, or {"get_per_minute": N, "other_per_minute": M}',
        in_form=False,
    ),
    "web_url": ExtraField(
        "Invoice page URL",
        "string",
        "Template of the invoice link, with {invoice_id} "
        "(default https://app.infakt.pl/app/faktury/{invoice_id}; with the sandbox, app.sandbox-infakt.pl)",
    ),
}
#: The names of :data:`EXTRAS`, in order.
EXTRA_FIELDS = tuple(EXTRAS)
#: Extra fields holding secrets: masked in logs as soon as they are read.
SECRET_EXTRA_FIELDS = ("oauth_token_secret", "xauth_password")
