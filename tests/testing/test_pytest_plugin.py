"""The pytest plugin is registered by the package's entry point and gives users a fresh emulator."""

from __future__ import annotations

import subprocess
import sys

pytest_plugins = ["pytester"]


def test_fixture_is_available_to_users_tests(pytester):
    pytester.makepyfile(
        """
        import json, os, requests

        def test_first(infakt_emulator, infakt_connection):
            conn = json.loads(os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"])
            assert conn == infakt_connection
            r = requests.post(conn["host"] + "/invoices/1/deliver_via_email.json",
                              headers={"X-inFakt-ApiKey": conn["password"]}, json={"print_type": "copy"})
            assert r.status_code == 202
            assert len(infakt_emulator.deliveries) == 1
            infakt_emulator.fault("*", status=500, times=None)

        def test_second_starts_clean(infakt_emulator):
            assert infakt_emulator.deliveries == []
            assert infakt_emulator.invoice(1)["status"] == "draft"
            conn = infakt_emulator.connection()
            r = requests.get(conn["host"] + "/invoices/1.json", headers={"X-inFakt-ApiKey": conn["password"]})
            assert r.status_code == 200
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_starting_and_stopping_the_servers_warns_nothing(tmp_path):
    """aiohttp 3.9+ wants ``shutdown_timeout`` on the runner, not the site; on the site it warned
    ``DeprecationWarning: shutdown_timeout should be set on BaseRunner`` in every test run. The servers
    run on their own thread, so the warning is turned into an error in a fresh interpreter, where the
    server's thread fails to start (and ``start()`` says so) if it is still emitted."""
    code = (
        "import requests\n"
        "from airflow_provider_infakt.testing import FaultProxy, InfaktEmulator\n"
        "with InfaktEmulator() as emu, FaultProxy(emu.url) as proxy:\n"
        "    key = emu.connection()['password']\n"
        "    answer = requests.get(proxy.url + '/api/v3/invoices/1.json', headers={'X-inFakt-ApiKey': key})\n"
        "    assert answer.status_code == 200, answer.status_code\n"
        "print('stopped cleanly')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "stopped cleanly"
    assert "DeprecationWarning" not in done.stderr
