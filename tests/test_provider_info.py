"""Provider registration: the provider info validates, and Airflow lists the package and its hook."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import airflow_provider_infakt
from airflow_provider_infakt.hooks.form import FORM_FIELDS

from .compat import GENERIC_CONNECTION_FORM_REASON, HAS_FAB, NO_FAB_REASON, airflow_version, ui_connection_form

AIRFLOW = str(pathlib.Path(sys.executable).with_name("airflow"))


def test_provider_info_validates_against_airflows_schema():
    import airflow
    import jsonschema

    schema_path = pathlib.Path(airflow.__file__).with_name("provider_info.schema.json")
    schema = json.loads(schema_path.read_text())
    info = airflow_provider_infakt.get_provider_info()
    jsonschema.validate(info, schema)
    (conn_type,) = info["connection-types"]
    assert conn_type["hook-class-name"] == "airflow_provider_infakt.hooks.infakt.InfaktHook"
    assert set(conn_type["conn-fields"]) == set(FORM_FIELDS)
    fields = conn_type["conn-fields"]
    secret_fields = {k for k, v in fields.items() if v["schema"].get("format") == "password"}
    assert secret_fields == {"oauth_token_secret", "xauth_password"}


def _airflow(*args: str, home: pathlib.Path) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    out = subprocess.run([AIRFLOW, *args], capture_output=True, text=True, env=env, check=True).stdout
    # Airflow may print log lines before the JSON document, and some of them start with "[" too
    # (Airflow 3.0: "[2026-...] {plugins.py:37} INFO - setup plugin ...").
    for line in out.splitlines():
        if line.startswith("["):
            try:
                json.loads(line)
            except ValueError:
                continue
            return line
    raise AssertionError(f"no JSON document in the output of airflow {' '.join(args)}:\n{out[-2000:]}")


def test_airflow_lists_the_provider_and_its_hook(tmp_path):
    providers = _airflow("providers", "list", "--output", "json", home=tmp_path)
    listed = {p["package_name"]: p for p in json.loads(providers)}
    assert listed["airflow-provider-infakt"]["version"] == airflow_provider_infakt.__version__
    hooks = json.loads(_airflow("providers", "hooks", "--output", "json", home=tmp_path))
    ours = [h for h in hooks if h["connection_type"] == "infakt"]
    assert len(ours) == 1
    assert ours[0]["class"] == "airflow_provider_infakt.hooks.infakt.InfaktHook"
    assert ours[0]["conn_id_attribute_name"] == "infakt_conn_id"
    assert ours[0]["package_name"] == "airflow-provider-infakt"
    links = _airflow("providers", "links", "--output", "json", home=tmp_path)
    assert "airflow_provider_infakt.links.InfaktInvoiceLink" in links
    triggers = _airflow("providers", "triggers", "--output", "json", home=tmp_path)
    assert "airflow_provider_infakt.triggers.invoice" in triggers


def test_connection_form_as_the_ui_shows_it():
    form = ui_connection_form("infakt")
    if not any(form.values()):  # the generic form: only where the README says so
        assert GENERIC_CONNECTION_FORM_REASON, f"Airflow {airflow_version()} shows no inFakt connection form"
        return
    assert form["titles"]["host"] == "API base URL"
    assert form["hidden"] == {"schema", "port"}
    assert set(form["extra"]) == set(FORM_FIELDS)
    assert {name for name, secret in form["extra"].items() if secret} == {"oauth_token_secret", "xauth_password"}


@pytest.mark.skipif(not HAS_FAB, reason=NO_FAB_REASON)
def test_airflow2_form_widgets_cover_every_field():
    from airflow_provider_infakt.hooks.infakt import InfaktHook

    widgets = InfaktHook.get_connection_form_widgets()
    assert set(widgets) == set(FORM_FIELDS)
    behaviour = InfaktHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["schema", "port"]


def test_provider_info_lists_every_operator_module_and_they_import():
    import importlib

    (operators,) = airflow_provider_infakt.get_provider_info()["operators"]
    assert operators["python-modules"] == [
        "airflow_provider_infakt.operators.bulk",
        "airflow_provider_infakt.operators.deliver",
        "airflow_provider_infakt.operators.list",
    ]
    bulk = importlib.import_module("airflow_provider_infakt.operators.bulk")
    assert bulk.InfaktBulkDeliverInvoicesOperator.__module__ == "airflow_provider_infakt.operators.bulk"
    listing = importlib.import_module("airflow_provider_infakt.operators.list")
    assert listing.InfaktListInvoicesOperator.__module__ == "airflow_provider_infakt.operators.list"


def test_every_extra_field_hint_is_in_its_description():
    """Airflow 3's connection form shows an extra field's label and description but never its placeholder
    (seen in a browser by e2e/ui_check.py): a hint given as a placeholder for Airflow 2's form must be in
    the description too, or Airflow 3 users never see it."""
    from airflow_provider_infakt.hooks.form import UI_FIELD_BEHAVIOUR, conn_fields

    fields = conn_fields()
    extra_hints = {name: hint for name, hint in UI_FIELD_BEHAVIOUR["placeholders"].items() if name in fields}
    assert {"api_version", "timeout", "web_url"} <= set(extra_hints)
    missing = {name: hint for name, hint in extra_hints.items() if hint not in fields[name]["description"]}
    assert missing == {}


def test_invoice_page_hint_is_the_default_the_link_uses():
    from airflow_provider_infakt.hooks.form import UI_FIELD_BEHAVIOUR
    from airflow_provider_infakt.links import DEFAULT_WEB_URL

    assert UI_FIELD_BEHAVIOUR["placeholders"]["web_url"] == DEFAULT_WEB_URL
