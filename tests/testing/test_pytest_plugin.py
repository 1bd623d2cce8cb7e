"""The pytest plugin is registered by the package's entry point and gives users a fresh emulator."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from airflow_provider_infakt.testing import dagrun
from airflow_provider_infakt.testing._airflow_home import MARKER
from airflow_provider_infakt.testing.dagrun import DagRunResult, TaskOutcome, load_dag

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


# -- connections ---------------------------------------------------------------------------------------


def test_connection_factory_sets_the_connection_it_is_asked_for(infakt_emulator, infakt_connection_factory):
    conn = infakt_connection_factory(conn_id="billing_v2", api_version="v2", format="xml", auth="xauth")
    assert json.loads(os.environ["AIRFLOW_CONN_BILLING_V2"]) == conn
    assert conn == infakt_emulator.connection(api_version="v2", format="xml", auth="xauth")
    assert conn["extra"]["format"] == "xml" and "xauth_username" in conn["extra"]
    assert "AIRFLOW_CONN_INFAKT_DEFAULT" not in os.environ or os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"] != json.dumps(
        conn
    )
    default = infakt_connection_factory(scope="read")
    assert json.loads(os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"]) == default
    assert default["password"] == infakt_emulator.connection(scope="read")["password"] != conn["password"]


@pytest.mark.parametrize("conn_id", ["", "two words", "a=b", 7])
def test_connection_factory_refuses_what_is_not_a_connection_id(infakt_connection_factory, conn_id):
    with pytest.raises(ValueError, match=rf"conn_id={conn_id!r} is not a connection id"):
        infakt_connection_factory(conn_id=conn_id)


def test_connection_factory_names_a_bad_option(infakt_connection_factory):
    with pytest.raises(ValueError, match="api_version='v4' is not one of 'v3', 'v2'"):
        infakt_connection_factory(api_version="v4")


@pytest.mark.parametrize(
    "infakt_connection", [{"api_version": "v2", "format": "xml"}, {}], indirect=True, ids=["v2-xml", "default"]
)
def test_infakt_connection_takes_the_factory_arguments_indirectly(infakt_emulator, infakt_connection, request):
    expected = request.node.callspec.params["infakt_connection"]
    assert infakt_connection == infakt_emulator.connection(**expected)
    assert json.loads(os.environ["AIRFLOW_CONN_INFAKT_DEFAULT"]) == infakt_connection


def test_infakt_connection_refuses_a_parameter_that_is_not_a_dict(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("infakt_connection", ["v2"], indirect=True)
        def test_v2(infakt_connection):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*parameter 'v2' is not a dict of infakt_connection_factory's arguments*"])


# -- what a DAG run left behind -----------------------------------------------------------------------


def _result() -> DagRunResult:
    return DagRunResult(
        dag_id="billing",
        run_id="manual__1",
        state="failed",
        tasks={
            ("find", -1): TaskOutcome("success", 1),
            ("deliver", 1): TaskOutcome("failed", 2),
            ("deliver", 0): TaskOutcome("success", 1),
            ("book", -1): TaskOutcome("upstream_failed", 0),
        },
        xcoms={
            ("find", -1, "return_value"): [3, 4],
            ("deliver", 0, "return_value"): 3,
            ("deliver", 0, "invoice_status"): "sent",
            ("deliver", 1, "invoice_status"): "draft",
        },
    )


def test_result_task_states_by_task_and_map_index():
    result = _result()
    assert result.task_states == {"find": "success", "deliver": {0: "success", 1: "failed"}, "book": "upstream_failed"}
    assert result.task_state("deliver", 1) == "failed"
    assert result.tasks[("deliver", 1)] == ("failed", 2)  # a plain tuple compares equal
    assert result.tasks[("deliver", 1)].try_number == 2
    with pytest.raises(
        KeyError, match=r"no task instance 'deliver' \(map index 2\).*book, deliver\[0\], deliver\[1\], find"
    ):
        result.task_state("deliver", 2)


def test_result_xcoms_of_plain_and_mapped_tasks():
    result = _result()
    assert result.xcom("find") == [3, 4]
    assert result.xcom("deliver") == [3]  # the instances that returned something, in map-index order
    assert result.xcom("deliver", key="invoice_status") == ["sent", "draft"]
    assert result.xcom("deliver", key="invoice_status", map_index=1) == "draft"
    with pytest.raises(
        KeyError, match="task 'book' pushed no XCom 'return_value' in run 'manual__1'; it pushed: nothing"
    ):
        result.xcom("book")
    with pytest.raises(KeyError, match=r"task 'deliver' \(map index 1\) pushed no XCom 'return_value'.*invoice_status"):
        result.xcom("deliver", map_index=1)
    assert "xcoms" not in repr(result) and "state='failed'" in repr(result)


# -- DAG runs on a throw-away Airflow -----------------------------------------------------------------

USER_DAG = """
import datetime

try:
    from airflow.sdk import DAG, task
except ImportError:
    from airflow import DAG
    from airflow.decorators import task

with DAG("user_mapped", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as user_mapped:

    @task
    def double(x):
        return x * 2

    @task
    def total(values, **context):
        context["ti"].xcom_push(key="note", value=f"from {context['dag_run'].conf.get('who')}")
        return sum(values)

    total(double.expand(x=[1, 2, 3]))
"""


def test_a_dag_file_outside_the_dags_folder_runs_and_shows_its_mapped_tasks(tmp_path, infakt_dag_runner):
    """Airflow 3's dag.test() only runs a DAG it finds by parsing the DAGs folder; the runner shows it a
    user's file from elsewhere (and takes the link away after the test)."""
    (tmp_path / "user_dag.py").write_text(USER_DAG)
    result = infakt_dag_runner(tmp_path / "user_dag.py", conf={"who": "tests"})
    assert (result.dag_id, result.state) == ("user_mapped", "success")
    assert result.task_states == {"double": {0: "success", 1: "success", 2: "success"}, "total": "success"}
    assert result.xcom("double") == [2, 4, 6]
    assert result.xcom("double", map_index=2) == 6
    assert result.xcom("total") == 12
    assert result.xcom("total", key="note") == "from tests"
    assert result.tasks[("total", -1)] == ("success", 1)


def test_the_link_to_a_users_dag_file_goes_with_the_test(tmp_path, infakt_airflow):
    from airflow_provider_infakt.testing._airflow_home import hide_from_airflow, show_to_airflow

    (tmp_path / "user_dag.py").write_text(USER_DAG)
    folder = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    show_to_airflow(tmp_path / "user_dag.py")
    assert (folder / "user_dag.py").resolve() == (tmp_path / "user_dag.py").resolve()
    hide_from_airflow()
    assert not (folder / "user_dag.py").exists()


def test_a_dag_object_runs_and_a_file_of_several_dags_needs_a_dag_id(infakt_connection, infakt_dag_runner):
    dag_file = pathlib.Path(__file__).resolve().parents[1] / "dags" / "dag_files" / "infakt_test_dags.py"
    with pytest.raises(LookupError, match=r"defines \d+ DAGs \(.*'infakt_test_wait_poke'.*\); say which with dag_id="):
        infakt_dag_runner(dag_file)
    with pytest.raises(LookupError, match=r"defines no DAG 'nope'; it defines: .*'infakt_test_mapped'"):
        infakt_dag_runner(dag_file, dag_id="nope")
    dag = load_dag(dag_file, "infakt_test_wait_poke")
    with pytest.raises(ValueError, match="dag_id='other' is not the id of the DAG given"):
        infakt_dag_runner(dag, dag_id="other")
    with pytest.raises(TypeError, match="conf=\\[1\\] is not a mapping"):
        infakt_dag_runner(dag, conf=[1])
    with pytest.raises(TypeError, match="logical_date='2026-01-01' is not a datetime"):
        infakt_dag_runner(dag, logical_date="2026-01-01")
    with pytest.raises(TypeError, match="dag=42 is neither a DAG nor the path of a DAG file"):
        infakt_dag_runner(42)
    result = infakt_dag_runner(dag, conf={"invoice_id": 3, "target_status": "draft"})
    assert result.state == "success", result.tasks
    assert result.xcom("wait", key="invoice_status") == "draft"


# -- the Airflow home the plugin chooses --------------------------------------------------------------

HOME_PROBE = """
import os, pathlib, sys

def test_home():
    home = os.environ.get("AIRFLOW_HOME")
    with open(os.environ["PROBE_OUT"], "a") as out:  # xdist workers' output is not shown
        out.write(f"{home} {os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")
    assert "airflow" not in sys.modules
"""


def _run_probe(pytester, monkeypatch, *args, env=None):
    pytester.makepyfile(test_probe=HOME_PROBE)
    out = pytester.path / "homes.txt"
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # when this test runs in a worker itself
    for key, value in (env or {}).items():
        monkeypatch.delenv(key, raising=False) if value is None else monkeypatch.setenv(key, value)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    homes = [line.split() for line in out.read_text().splitlines()] if out.exists() else []
    return result, homes


def test_without_airflow_home_each_process_gets_a_throwaway_one_removed_at_the_end(pytester, monkeypatch):
    result, homes = _run_probe(pytester, monkeypatch, env={"AIRFLOW_HOME": None, MARKER: None})
    result.assert_outcomes(passed=1)
    ((home, _),) = homes
    assert pathlib.Path(home).name.startswith("infakt-airflow-home-")
    assert not pathlib.Path(home).exists()  # removed when pytest ended


def test_xdist_workers_do_not_share_the_throwaway_home(pytester, monkeypatch):
    pytester.makepyfile(test_probe2=HOME_PROBE.replace("def test_home", "def test_home_again"))
    result, homes = _run_probe(pytester, monkeypatch, "-n", "2", env={"AIRFLOW_HOME": None, MARKER: None})
    result.assert_outcomes(passed=2)
    by_worker = dict((worker, home) for home, worker in homes)
    assert sorted(by_worker) == ["gw0", "gw1"] and by_worker["gw0"] != by_worker["gw1"], homes


def test_an_airflow_home_set_by_the_user_is_kept_and_never_overwritten(pytester, monkeypatch, tmp_path):
    pytester.makepyfile(
        test_refused="""
        def test_refused(infakt_airflow):
            pass
        """
    )
    result, homes = _run_probe(pytester, monkeypatch, env={"AIRFLOW_HOME": str(tmp_path), MARKER: None})
    assert homes == [[str(tmp_path), "main"]]
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*AIRFLOW_HOME={tmp_path} was not made throw-away*infakt_airflow_home = always*"])
    assert list(tmp_path.iterdir()) == []  # not even a database


def test_ini_always_replaces_a_users_airflow_home_and_a_bad_value_is_named(pytester, monkeypatch, tmp_path):
    pytester.makeini("[pytest]\ninfakt_airflow_home = always\n")
    result, homes = _run_probe(pytester, monkeypatch, env={"AIRFLOW_HOME": str(tmp_path), MARKER: None})
    result.assert_outcomes(passed=1)
    assert homes[0][0] != str(tmp_path) and "infakt-airflow-home-" in homes[0][0]
    pytester.makeini("[pytest]\ninfakt_airflow_home = sometimes\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*infakt_airflow_home = 'sometimes' is not one of auto, always, off*"])


def test_the_readme_documents_the_dag_run_api():
    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Testing your DAGs with the emulator\n", 1)[1].split("\n## ", 1)[0]
    fixtures = ["infakt_emulator", "infakt_connection_factory", "infakt_connection", "infakt_airflow"]
    fixtures.append("infakt_dag_runner")
    members = ["state", "task_states", "task_state", "tasks", "xcom", "xcoms", "dag_id", "run_id"]
    assert [name for name in [*dagrun.__all__, *fixtures, *members] if f"`{name}" not in section] == []
    assert all(hasattr(DagRunResult, m) or m in DagRunResult.__dataclass_fields__ for m in members)
