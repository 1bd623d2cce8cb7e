"""The inFakt connection form, described once as data.

Airflow 2 (and Airflow 3 before 3.2) builds the form from the hook's ``get_connection_form_widgets`` and
``get_ui_field_behaviour``; Airflow 3.2+ reads ``conn-fields`` and ``ui-field-behaviour`` from the
provider info. Both are made from the tables below, and the fields from the one list of extras in
`hooks/extras.py`, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_infakt.hooks.extras import EXTRAS

#: Extra field -> (label, kind, description) of the fields the form shows; made from
#: :data:`~airflow_provider_infakt.hooks.extras.EXTRAS`, the one list of extras.
FORM_FIELDS: dict[str, tuple[str, str, str]] = {
    name: (field.label, field.kind, field.description) for name, field in EXTRAS.items() if field.in_form
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
        # the link's default (links.DEFAULT_WEB_URL; not imported: links imports Airflow)
        "web_url": "https://app.infakt.pl/app/faktury/{invoice_id}",
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
