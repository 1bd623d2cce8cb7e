"""The Airflow side of the e2e deployment: its configuration (environment variables only), the DAGs
folder, ``airflow db migrate``, and the components, each a process of its own: scheduler,
dag-processor, triggerer, api-server and two Celery workers.

Each Celery worker runs in a UTS namespace of its own (``unshare --uts``) with its own host name
(``worker1-e2e``, ``worker2-e2e``), and ``[core] hostname_callable`` is ``socket.gethostname``: the two
workers then report different host names for their task instances, as two machines would, while
sharing this machine's processes, files and loopback network.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from processes import Managed, Processes, free_port
from services import Postgres

from airflow_provider_infakt.testing import connection_json

#: The simple auth manager's user (role admin) and its password.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"  # noqa: S105 - a throwaway local deployment's login, written to deployment.json
#: Celery worker processes per worker: small, so that the 20 mapped deliveries need both workers.
WORKER_CONCURRENCY = 2
#: Seconds without a heartbeat after which the scheduler fails a running task (its try): the crash
#: drill waits this long for the killed worker's task to be noticed. Airflow's default is 300.
HEARTBEAT_TIMEOUT = 20


@dataclass
class Deployment:
    """One Airflow deployment under ``work``.

    :param root: the checkout (DAGs come from its ``example_dags`` and ``e2e/dags``).
    :param work: the ``.e2e`` folder.
    :param procs: where its processes are registered.
    :param postgres: the metadata database.
    :param redis_port: the Celery broker's port.
    :param emulator_url: the inFakt emulator's base URL.
    """

    root: Path
    work: Path
    procs: Processes
    postgres: Postgres
    redis_port: int
    emulator_url: str
    api_port: int = field(default_factory=free_port)
    workers: dict[str, Managed] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """The api-server's base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def airflow(self) -> str:
        """The ``airflow`` command of this venv."""
        return str(Path(sys.executable).parent / "airflow")

    def prepare(self) -> None:
        """Write AIRFLOW_HOME (the passwords file) and the DAGs folder (copies of the DAG files), and
        fix the configuration, secrets included, shared by every process."""
        home = self.work / "airflow"
        home.mkdir()
        (home / "passwords.json").write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
        dags = self.work / "dags"
        dags.mkdir()
        for source in [
            *sorted((self.root / "example_dags").glob("*.py")),
            *sorted((self.root / "e2e/dags").glob("*.py")),
        ]:
            shutil.copy2(source, dags / source.name)
        pg = self.postgres
        logs = self.work / "logs"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
            AIRFLOW__CORE__HOSTNAME_CALLABLE="socket.gethostname",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.api_url}/execution/",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
            # The connection form's "Test" button (Airflow 3 hides it by default); the browser check presses it.
            AIRFLOW__CORE__TEST_CONNECTION="Enabled",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=pg.sqlalchemy_url,
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + pg.sqlalchemy_url,
            AIRFLOW__API__BASE_URL=self.api_url,
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.api_port),
            AIRFLOW__API__SECRET_KEY=secrets.token_hex(32),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(logs / "tasks"),
            AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY=str(logs / "dag_processor"),
            # Nothing serves logs (-s everywhere): the api-server reads the task log files directly.
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="3",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="10",
            AIRFLOW_CONN_INFAKT_DEFAULT=connection_json(self.emulator_url),
            PYTHONUNBUFFERED="1",
        )

    def migrate(self) -> None:
        """``airflow db migrate`` against PostgreSQL (output in ``logs/db-migrate.log``).

        :raises RuntimeError: when it fails.
        """
        log_path = self.work / "logs" / "db-migrate.log"
        with log_path.open("wb") as log:
            done = subprocess.run(  # noqa: S603
                [self.airflow, "db", "migrate"], env=self.env, cwd=self.work, stdout=log, stderr=subprocess.STDOUT
            )
        if done.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed ({done.returncode}); see {log_path}")

    def start_components(self) -> None:
        """Start scheduler, dag-processor, triggerer, api-server and both workers (all at once)."""
        run = self.work / "airflow"
        self.procs.start("scheduler", [self.airflow, "scheduler", "--skip-serve-logs"], self.env, run)
        self.procs.start("dag-processor", [self.airflow, "dag-processor"], self.env, run)
        self.procs.start("triggerer", [self.airflow, "triggerer", "--skip-serve-logs"], self.env, run)
        api = [self.airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        self.procs.start("api-server", api, self.api_server_env(), run)
        for n in (1, 2):
            self.start_worker(n)

    def api_server_env(self) -> dict[str, str]:
        """The api-server's environment: with ``e2e/airflow_patches`` first on ``PYTHONPATH`` when that
        folder exists (an ``airflow_local_settings`` the browser check brings for the api-server only)."""
        patches = self.root / "e2e" / "airflow_patches"
        if not patches.is_dir():
            return self.env
        path = os.pathsep.join(filter(None, [str(patches), self.env.get("PYTHONPATH")]))
        return {**self.env, "PYTHONPATH": path}

    def start_worker(self, n: int) -> Managed:
        """Start Celery worker ``n`` (host name ``worker<n>-e2e``, Celery node ``worker<n>@e2e``).

        :param n: 1 or 2.
        """
        hostname = worker_hostname(n)
        argv = [
            "unshare",
            "--uts",
            "--",
            "/bin/sh",
            "-c",
            'hostname "$0" && exec "$@"',
            hostname,
            self.airflow,
            "celery",
            "worker",
            "--celery-hostname",
            f"worker{n}@e2e",
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--skip-serve-logs",
        ]
        managed = self.procs.start(f"worker{n}", argv, self.env, self.work / "airflow")
        self.workers[hostname] = managed
        return managed

    def dead_components(self) -> list[str]:
        """The Airflow components (latest of each name) that have exited."""
        names = ["scheduler", "dag-processor", "triggerer", "api-server", "worker1", "worker2"]
        return [f"{n} (exit {self.procs.get(n).popen.returncode})" for n in names if not self.procs.get(n).running()]


def worker_hostname(n: int) -> str:
    """The host name worker ``n`` reports for its task instances.

    :param n: 1 or 2.
    """
    return f"worker{n}-e2e"
