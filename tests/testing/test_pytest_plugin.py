"""The pytest plugin is registered by the package's entry point and gives users a fresh emulator."""

from __future__ import annotations

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
