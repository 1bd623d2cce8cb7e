"""The plain-Python layers must not import Airflow: the emulator and the API client work without it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    ["airflow_provider_infakt", "airflow_provider_infakt.api", "airflow_provider_infakt.testing"],
)
def test_module_does_not_import_airflow(module):
    code = (
        f"import sys, json, {module}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_emulator_runs_with_airflow_unimportable(tmp_path):
    # A stand-in 'airflow' that explodes on import proves that nothing on this path needs Airflow.
    (tmp_path / "airflow").mkdir()
    (tmp_path / "airflow" / "__init__.py").write_text("raise ImportError('Airflow must not be imported')\n")
    code = (
        "import requests\n"
        "from airflow_provider_infakt.testing import InfaktEmulator\n"
        "import airflow_provider_infakt.api\n"
        "with InfaktEmulator() as emu:\n"
        "    c = emu.connection()\n"
        "    r = requests.get(c['host'] + '/invoices/1.json', headers={'X-inFakt-ApiKey': c['password']})\n"
        "    print(r.status_code)\n"
    )
    env_path = f"{tmp_path}"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert result.stdout.strip() == "200"
