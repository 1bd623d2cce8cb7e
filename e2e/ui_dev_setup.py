"""A throw-away Airflow 3 on this machine for developing and running ``e2e/ui_check.py`` alone.

Run it with the project's venv (``.venv/bin/python e2e/ui_dev_setup.py``, after ``make venv``). It:

1. starts the inFakt emulator (``infakt-emulator --port 0``) in its own process;
2. prepares an Airflow home under ``.e2e-dev/airflow`` (SQLite; DAGs from ``example_dags``; the
   SimpleAuthManager with the user ``admin``/``admin`` from a passwords file; connection testing
   enabled; ``infakt_default`` pointing at the emulator through ``AIRFLOW_CONN_INFAKT_DEFAULT``) and runs
   ``airflow db migrate``;
3. runs ``example_infakt_deliver`` once with ``airflow dags test``, so a finished delivery exists;
4. starts ``airflow api-server`` on a free loopback port and waits until it answers;
5. writes ``.e2e-dev/deployment.json`` (what ``ui_check.py`` reads), finding the delivered task
   instance and its invoice through the REST API (``/api/v2``, with the auth manager's token);
6. runs ``ui_check.py`` with ``--check-python`` (a Python with ``selenium``), unless ``--keep`` is
   given: then it serves until interrupted (Ctrl-C / SIGTERM).

Every process it starts is stopped on the way out (SIGTERM to its process group, SIGKILL after 10 s),
and it checks that none is left.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEV = ROOT / ".e2e-dev"
BIN = pathlib.Path(sys.executable).parent
USERNAME = "admin"
PASSWORD = "admin"  # noqa: S105 - a throw-away local Airflow's login
DAG_ID = "example_infakt_deliver"
TASK_ID = "deliver_invoice"
INVOICE_ID = 1


class Processes:
    """The processes this script started; :meth:`stop_all` ends them (and their children) by process group."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str], env: dict[str, str], log: pathlib.Path) -> subprocess.Popen[bytes]:
        """Start ``command`` in a new session (its own process group), output to ``log``.

        :param name: a name for messages.
        :param command: the command line.
        :param env: its environment.
        :param log: the file its stdout and stderr go to.
        """
        out: IO[bytes] = log.open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own command lines
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.started.append((name, process))
        return process

    def stop_all(self) -> list[str]:
        """Stop every started process group, newest first; the names of groups still alive afterwards."""
        for _name, process in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _name, process in reversed(self.started):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        left = []
        for name, process in reversed(self.started):
            if _group_alive(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                time.sleep(0.5)
                if _group_alive(process.pid):
                    left.append(f"{name} (process group {process.pid})")
        return left


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # a group of zombies only: the leader was reaped above; its children belong to init now and are
    # reaped there, so ask /proc which members are still running
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_emulator(processes: Processes) -> str:
    """Start the emulator; its base URL (the first line it prints)."""
    log = DEV / "emulator.log"
    out = DEV / "emulator.url"
    out.unlink(missing_ok=True)
    command = [str(BIN / "infakt-emulator"), "--host", "127.0.0.1", "--port", "0"]
    with out.open("wb") as url_file, log.open("ab") as err:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, stdout=url_file, stderr=err, start_new_session=True, env=dict(os.environ)
        )
    processes.started.append(("emulator", process))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = out.read_text().splitlines()
        if lines:
            return lines[0].strip()
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}; see {log}")
        time.sleep(0.2)
    raise RuntimeError(f"the emulator printed no URL in 30 s; see {log}")


#: Put on the api-server's PYTHONPATH: a backport of apache/airflow#73298 for Airflow 3.3.1/3.3.2 (the
#: list's "Test Connection" button refuses any connection without a port there); see its docstring.
PATCHES = ROOT / "e2e" / "airflow_patches"


def _environment(emulator_url: str) -> dict[str, str]:
    from airflow_provider_infakt.testing import connection_json

    passwords = DEV / "passwords.json"
    passwords.write_text(json.dumps({USERNAME: PASSWORD}))
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(DEV / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USERNAME}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        # the UI's "Test" button (Disabled by default)
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
        AIRFLOW__API_AUTH__JWT_SECRET="ui-dev-setup-not-a-secret",  # noqa: S106 - throw-away local Airflow
        AIRFLOW_CONN_INFAKT_DEFAULT=connection_json(emulator_url),
    )
    return env


def _run(command: list[str], env: dict[str, str], log: pathlib.Path, timeout: float) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(  # noqa: S603 - our own command lines
            command, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with {result.returncode}; see {log}")


def _request(url: str, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.load(response)


def _wait_for_api(api_url: str, process: subprocess.Popen[bytes], log: pathlib.Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the api-server exited with {process.returncode}; see {log}")
        with contextlib.suppress(OSError, ValueError):
            _request(f"{api_url}/api/v2/monitor/health")
            return
        time.sleep(1)
    raise RuntimeError(f"the api-server did not answer in 120 s; see {log}")


def _delivered(api_url: str) -> list[dict[str, Any]]:
    """The successful delivery task instances of the DAG's runs, with the invoice each delivered."""
    token = _request(f"{api_url}/auth/token", body={"username": USERNAME, "password": PASSWORD})["access_token"]
    runs = _request(f"{api_url}/api/v2/dags/{DAG_ID}/dagRuns?order_by=-start_date", token)["dag_runs"]
    found = []
    for run in runs:
        run_id = urllib.parse.quote(run["dag_run_id"], safe="")
        ti = _request(f"{api_url}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}", token)
        if ti["state"] != "success":
            continue
        xcom = _request(
            f"{api_url}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK_ID}/xcomEntries/return_value",
            token,
        )
        found.append(
            {
                "dag_id": DAG_ID,
                "run_id": run["dag_run_id"],
                "task_id": TASK_ID,
                "map_index": ti["map_index"],
                "invoice_id": int(xcom["value"]),
            }
        )
    return found


@contextlib.contextmanager
def _deployment(processes: Processes, *, patch: bool) -> Iterator[dict[str, Any]]:
    from airflow_provider_infakt.testing import credentials

    DEV.mkdir(exist_ok=True)
    shutil.rmtree(DEV / "airflow", ignore_errors=True)  # throw-away: each run starts from an empty database
    (DEV / "airflow").mkdir()
    emulator_url = _start_emulator(processes)
    env = _environment(emulator_url)
    airflow = str(BIN / "airflow")
    log = DEV / "airflow.log"
    print(f"emulator at {emulator_url}; Airflow home {DEV / 'airflow'}; Airflow's output in {log}", flush=True)
    _run([airflow, "db", "migrate"], env, log, timeout=300)
    conf = json.dumps({"invoice_id": INVOICE_ID, "type": "mail", "doc_type": "org"})
    _run([airflow, "dags", "test", DAG_ID, "--conf", conf], env, log, timeout=300)
    port = _free_port()
    api_log = DEV / "api-server.log"
    api_env = dict(env)
    if patch:
        api_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PATCHES), env.get("PYTHONPATH")]))
    api = processes.start(
        "api-server",
        [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        api_env,
        api_log,
    )
    api_url = f"http://127.0.0.1:{port}"
    _wait_for_api(api_url, api, api_log)
    delivered = _delivered(api_url)
    if not delivered:
        raise RuntimeError(f"no successful {DAG_ID}.{TASK_ID} task instance found through the REST API")
    deployment = {
        "api_url": api_url,
        "username": USERNAME,
        "password": PASSWORD,
        "emulator_url": emulator_url,
        "infakt_conn_id": "infakt_default",
        "api_key": credentials.API_KEY,
        "delivered": delivered,
    }
    (DEV / "deployment.json").write_text(json.dumps(deployment, indent=2))
    print(f"api-server at {api_url}; wrote {DEV / 'deployment.json'}", flush=True)
    yield deployment


def main(argv: list[str] | None = None) -> int:
    """Set up, run the UI check (or serve with ``--keep``), stop everything; the check's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--check-python",
        default=str(ROOT / ".venv-ui" / "bin" / "python"),
        help="the Python that runs ui_check.py (needs selenium; default .venv-ui/bin/python)",
    )
    parser.add_argument("--screenshots", default=str(ROOT / ".e2e" / "screenshots"))
    parser.add_argument(
        "--no-airflow-patch",
        action="store_true",
        help="run the api-server without e2e/airflow_patches (on 3.3.1/3.3.2 the Test button then fails)",
    )
    parser.add_argument("--keep", action="store_true", help="serve until interrupted instead of running the check")
    args = parser.parse_args(argv)
    processes = Processes()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    status = 1
    try:
        with _deployment(processes, patch=not args.no_airflow_patch):
            if args.keep:
                print("serving; Ctrl-C stops everything", flush=True)
                while True:
                    time.sleep(3600)
            check = [
                args.check_python,
                str(ROOT / "e2e" / "ui_check.py"),
                "--deployment",
                str(DEV / "deployment.json"),
                "--screenshots",
                args.screenshots,
            ]
            status = subprocess.run(check, check=False).returncode  # noqa: S603 - our own command line
    except KeyboardInterrupt:
        status = 130
    except RuntimeError as exc:
        print(f"ui_dev_setup: {exc}", file=sys.stderr)
    finally:
        left = processes.stop_all()
        if left:
            print(f"ui_dev_setup: still running after SIGKILL: {', '.join(left)}", file=sys.stderr)
            status = status or 1
        else:
            print(f"ui_dev_setup: stopped all {len(processes.started)} processes it started", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
