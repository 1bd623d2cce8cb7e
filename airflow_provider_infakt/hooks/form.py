"""The inFakt connection form, described once as data.

Airflow 2 (and Airflow 3 before 3.2) builds the form from the hook's ``get_connection_form_widgets`` and
``get_ui_field_behaviour``; Airflow 3.2+ reads ``conn-fields`` and ``ui-field-behaviour`` from the
provider info. Both are made from the tables below, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

#: Extra field -> (label, kind, description); kind is "string", "password" or "boolean".
FORM_FIELDS: dict[str, tuple[str, str, str]] = {
    "api_version": ("API version", "string", "v3 (default; API key) or v2 (OAuth 1.0a / xAuth)"),
    "format": ("Format (v2)", "string", "json (default) or xml; v3 is always JSON"),
    "sandbox": (
        "Use the v3 sandbox",
        "boolean",
        "With an empty host: api.sandbox-infakt.pl instead of api.infakt.pl",
    ),
    "oauth_token": ("OAuth token (v2)", "string", "Access token of the three-legged OAuth flow"),
    "oauth_token_secret": ("OAuth token secret (v2)", "password", "Access token secret"),
    "xauth_username": ("xAuth username (v2)", "string", "Instead of a token pair: the inFakt login"),
    "xauth_password": ("xAuth password (v2)", "password", "The inFakt password, exchanged once for a token"),
    "timeout": ("Timeout (seconds)", "string", "Read timeout of each request (default 30)"),
    "deadline": (
        "Deadline (seconds)",
        "string",
        "The longest one request may take in all, however slowly the server answers "
        "(default: connect + 2 x read timeout, 70)",
    ),
    "max_retries": ("Max retries", "string", "Retries of safe-to-repeat failures (default 3)"),
    "web_url": ("Invoice page URL", "string", "Template of the invoice link, with {invoice_id}"),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "host": "API base URL",
        "login": "Consumer key (v2)",
        "password": "API key (v3) / Consumer secret (v2)",
    },
    "placeholders": {
        "host": "empty for https://api.infakt.pl/api/v3, or e.g. https://www.infakt.pl/api/v2",
        "login": "v2 only: OAuth consumer key",
        "password": "v3: API key; v2: OAuth consumer secret",
        "api_version": "v3",
        "format": "json",
        "timeout": "30",
        "deadline": "70",
        "max_retries": "3",
        "web_url": "https://app.example/invoices/{invoice_id}",
    },
}


def conn_fields() -> dict[str, Any]:
    """``conn-fields`` for the provider info (Airflow 3.2+)."""
    fields: dict[str, Any] = {}
    for name, (label, kind, description) in FORM_FIELDS.items():
        schema: dict[str, Any] = {"type": ["boolean" if kind == "boolean" else "string", "null"]}
        if kind == "password":
            schema["format"] = "password"
        fields[name] = {"label": label, "schema": schema, "description": description}
    return fields
