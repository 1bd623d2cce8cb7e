"""Importing the API package is cheap: no Airflow, no HTTP library, no XML or OAuth library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("airflow", "requests", "httpx", "xmltodict", "oauthlib", "urllib3", "aiohttp")


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys, json\n{code}\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_import_api_loads_nothing_heavy():
    assert _loaded_after("import airflow_provider_infakt.api") == []


def test_every_module_of_the_api_package_stays_away_from_airflow():
    modules = ["vocabulary", "errors", "protocol", "auth", "settings", "policy", "ratelimit", "client", "aio"]
    code = "\n".join(f"import airflow_provider_infakt.api.{m}" for m in modules)
    code += (
        "\nfrom airflow_provider_infakt.api import ApiKeyAuth, AsyncInfaktClient, ClientSettings"
        "\nfrom airflow_provider_infakt.api import InfaktClient"
        "\ns = ClientSettings('https://api.infakt.pl/api/v3', 'v3', ApiKeyAuth('k'))"
        "\nInfaktClient(s).close(); AsyncInfaktClient(s)"
    )
    loaded = _loaded_after(code)
    assert not [m for m in loaded if m == "airflow" or m.startswith("airflow.")]
    assert "requests" in loaded and "httpx" in loaded  # a client loads its HTTP library when created


def test_lazy_names():
    import airflow_provider_infakt.api as api

    assert api.InfaktClient.__name__ == "InfaktClient"
    assert api.AsyncInfaktClient.__name__ == "AsyncInfaktClient"
    assert set(api.__all__) <= set(dir(api))
    try:
        api.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
