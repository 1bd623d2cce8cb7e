"""The infakt-emulator command."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest
import requests

from airflow_provider_infakt.testing import credentials

COMMAND = str(pathlib.Path(sys.executable).with_name("infakt-emulator"))


def test_serve_prints_its_url_first_and_stops_on_sigterm():
    process = subprocess.Popen(
        [COMMAND, "--host", "127.0.0.1", "--port", "0", "--postal-package"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert int(url.rsplit(":", 1)[1]) > 0
        response = requests.post(
            url + "/api/v3/invoices/1/deliver_via_post.json",
            headers={"X-inFakt-ApiKey": credentials.API_KEY},
            json={},
            timeout=10,
        )
        assert response.status_code == 202  # --postal-package took effect
        deliveries = requests.get(url + "/_emulator/deliveries", timeout=10).json()["deliveries"]
        assert [(d["invoice_id"], d["type"]) for d in deliveries] == [(1, "post")]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_connection_subcommand_prints_the_connection_json():
    output = subprocess.run(
        [COMMAND, "connection", "--url", "http://127.0.0.1:9999", "--api-version", "v2", "--format", "xml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = output.splitlines()
    assert len(lines) == 1
    conn = json.loads(lines[0])
    assert conn["conn_type"] == "infakt"
    assert conn["host"] == "http://127.0.0.1:9999/api/v2"
    assert (conn["login"], conn["password"]) == (credentials.CONSUMER_KEY, credentials.CONSUMER_SECRET)
    assert conn["extra"]["format"] == "xml"
    assert conn["extra"]["oauth_token_secret"] == credentials.TOKEN_SECRET


def test_connection_json_works_as_an_airflow_env_connection(tmp_path):
    conn = subprocess.run(
        [COMMAND, "connection", "--url", "http://127.0.0.1:9999"], capture_output=True, text=True, check=True
    ).stdout.strip()
    code = (
        "from airflow.models.connection import Connection\n"
        "import os, json\n"
        "c = Connection.from_json(os.environ['AIRFLOW_CONN_INFAKT_DEFAULT'], conn_id='infakt_default')\n"
        "print(json.dumps([c.conn_type, c.host, c.password, c.extra_dejson['api_version']]))\n"
    )
    env = {**os.environ, "AIRFLOW_CONN_INFAKT_DEFAULT": conn, "AIRFLOW_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "infakt",
        "http://127.0.0.1:9999/api/v3",
        credentials.API_KEY,
        "v3",
    ]


def test_bad_option_exits_with_usage():
    result = subprocess.run([COMMAND, "connection", "--format", "yaml"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "invalid choice: 'yaml'" in result.stderr


def test_serve_arms_faults_and_defers_sending_from_the_command_line():
    fault = json.dumps({"route": "v3.invoice", "status": 503, "times": None})
    process = subprocess.Popen(
        [COMMAND, "--port", "0", "--defer-sending", "0.3", "--fault", fault],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        headers = {"X-inFakt-ApiKey": credentials.API_KEY}
        assert requests.get(url + "/api/v3/invoices/1.json", headers=headers, timeout=10).status_code == 503
        sent = requests.post(url + "/api/v3/invoices/1/deliver_via_email.json", headers=headers, json={}, timeout=10)
        assert sent.status_code == 202
        listed = requests.get(url + "/_emulator/deliveries", timeout=10).json()
        assert (listed["deliveries"], len(listed["pending"])) == ([], 1)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("not json", "not JSON"),
        ('{"status": 500}', 'at least "route"'),
        ('{"route": "*", "status": 99}', "status=99 is not an HTTP status code"),
        ('{"route": "*", "colour": 1}', "colour"),
    ],
)
def test_bad_fault_option_exits_with_the_reason(argument, message):
    result = subprocess.run([COMMAND, "--port", "0", "--fault", argument], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr
