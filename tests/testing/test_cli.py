"""The infakt-emulator command."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

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
        ('{"route": "v3.delivr_via_email", "status": 503}', "did you mean 'v3.deliver_via_email'?"),
    ],
)
def test_bad_fault_option_exits_with_the_reason(argument, message):
    result = subprocess.run([COMMAND, "--port", "0", "--fault", argument], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def _poll(check, seconds=10.0):
    """Wait until ``check()`` is truthy (returns it), or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"still not true after {seconds} s: {check}")


def test_reset_returns_to_what_the_command_line_started_with():
    fault = json.dumps({"route": "v3.invoice", "status": 503, "times": 1})
    process = subprocess.Popen(
        [
            *(COMMAND, "--port", "0", "--postal-package", "--pay-after-delivery", "0.2", "--defer-sending", "0.2"),
            *("--limits", "--time-scale", "60", "--fault", fault),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        admin = url + "/_emulator"
        headers = {"X-inFakt-ApiKey": credentials.API_KEY}

        def started_state(invoice_id):
            # the fault from --fault is armed, once
            assert requests.get(url + "/api/v3/invoices/1.json", headers=headers, timeout=10).status_code == 503
            assert requests.get(url + "/api/v3/invoices/1.json", headers=headers, timeout=10).status_code == 200
            limits = requests.get(admin + "/limits", timeout=10).json()
            assert (limits["enabled"], limits["time_scale"]) == (True, 60)
            # --postal-package: post is accepted; --defer-sending: pending first; --pay-after-delivery: paid later
            deliver = url + f"/api/v3/invoices/{invoice_id}/deliver_via_post.json"
            assert requests.post(deliver, headers=headers, json={}, timeout=10).status_code == 202
            _poll(lambda: requests.get(f"{admin}/invoices/{invoice_id}", timeout=10).json()["status"] == "paid")

        started_state(1)
        assert requests.post(admin + "/reset", timeout=10).json() == {"reset": True}
        started_state(1)
        # changed over the admin API, then reset: back to the command line's settings, not to the defaults
        for path, body in [
            ("/account", {"postal_package": False}),
            ("/scenarios/pay-after-delivery", {"seconds": None}),
            ("/scenarios/deferred-sending", {"seconds": None}),
            ("/limits", {"enabled": False, "time_scale": 1}),
        ]:
            assert requests.post(admin + path, json=body, timeout=10).status_code == 200
        assert requests.delete(admin + "/faults", timeout=10).status_code == 200
        assert requests.post(admin + "/reset", timeout=10).status_code == 200
        started_state(2)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_a_port_in_use_is_one_line_naming_the_port_and_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([COMMAND, "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert "--port 0 picks a free one" in lines[0]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("127.0.0.1:8765", "http://127.0.0.1:8765/api/v3"),
        ("localhost:9000/", "http://localhost:9000/api/v3"),
        ("[::1]:8765", "http://[::1]:8765/api/v3"),
        ("https://emulator.example:8443", "https://emulator.example:8443/api/v3"),
        # the URLs the emulator's banner prints, API path included, name the same server
        ("http://127.0.0.1:8765/api/v3", "http://127.0.0.1:8765/api/v3"),
        ("http://127.0.0.1:8765/api/v2/", "http://127.0.0.1:8765/api/v3"),
    ],
)
def test_connection_takes_a_loopback_url_without_a_scheme_as_http(url, host):
    result = subprocess.run([COMMAND, "connection", "--url", url], capture_output=True, text=True, check=True)
    conn = json.loads(result.stdout)
    assert conn["host"] == host
    assert conn["extra"]["web_url"] == host.removesuffix("/api/v3") + "/app/invoices/{invoice_id}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("emulator.example:8765", "url='emulator.example:8765' has no scheme: give it, e.g. 'http://emulator"),
        ("ftp://127.0.0.1:8765", "is not an http:// or https:// URL"),
        ("127.0.0.1:port", "has a port that is not a number"),
        ("http://127.0.0.1:8765/other", "has the path '/other': give the emulator's base URL"),
    ],
)
def test_connection_refuses_a_url_it_cannot_make_a_connection_of(url, message):
    result = subprocess.run([COMMAND, "connection", "--url", url], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--format", "xml"], "--format applies to --api-version v2 only"),
        (["--api-version", "v3", "--format", "json", "--auth", "xauth"], "--format and --auth apply to"),
        (["--auth", "oauth"], "--auth applies to --api-version v2 only"),
        (["--api-version", "v2", "--scope", "read"], "--scope applies to --api-version v3 only"),
    ],
)
def test_connection_refuses_options_the_api_version_would_ignore(options, message):
    result = subprocess.run([COMMAND, "connection", *options], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr


@pytest.mark.parametrize("port", ["70000", "-1", "x"])
def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(port):
    result = subprocess.run([COMMAND, "--port", port], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    expected = f"argument --port: must be a whole number from 0 to 65535 (0 picks a free one), not '{port}'"
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
