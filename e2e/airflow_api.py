"""Airflow 3's public REST API (``/api/v2``), as the e2e driver uses it: a JWT from the simple auth
manager's ``POST /auth/token``, then DAGs, DAG runs, task instances, their tries and their logs."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx


class AirflowApi:
    """A client of one api-server.

    :param base_url: the api-server's URL (``http://127.0.0.1:PORT``).
    :param username: a user of the simple auth manager.
    :param password: its password.
    """

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.username = username
        self.password = password
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def wait_until_up(self, deadline: float) -> None:
        """Wait until the api-server answers its health check, then log in.

        :param deadline: ``time.monotonic()`` value after which to give up.
        :raises RuntimeError: when it does not answer in time.
        """
        while True:
            try:
                if self.http.get("/api/v2/monitor/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the api-server at {self.base_url} did not answer in time")
            time.sleep(0.5)
        self.login()

    def login(self) -> None:
        """Get a JWT (``POST /auth/token``) and send it with every later request."""
        answer = self.http.post("/auth/token", json={"username": self.username, "password": self.password})
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def _get(self, path: str, **params: Any) -> Any:
        answer = self.http.get("/api/v2" + path, params=params)
        answer.raise_for_status()
        return answer.json()

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        """The DAG, or None while the dag-processor has not stored it yet.

        :param dag_id: the DAG.
        """
        answer = self.http.get(f"/api/v2/dags/{quote(dag_id)}")
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def import_errors(self) -> list[dict[str, Any]]:
        """The DAG files that failed to import, with their tracebacks."""
        found: list[dict[str, Any]] = self._get("/importErrors", limit=100)["import_errors"]
        return found

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG.

        :param dag_id: the DAG.
        """
        answer = self.http.patch(f"/api/v2/dags/{quote(dag_id)}", json={"is_paused": False})
        answer.raise_for_status()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Start a manual DAG run with ``conf``.

        :param dag_id: the DAG.
        :param conf: the run's configuration.
        :returns: the run id.
        """
        answer = self.http.post(f"/api/v2/dags/{quote(dag_id)}/dagRuns", json={"logical_date": None, "conf": conf})
        answer.raise_for_status()
        run_id: str = answer.json()["dag_run_id"]
        return run_id

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """A DAG run (``state``: queued, running, success, failed).

        :param dag_id: the DAG.
        :param run_id: the run.
        """
        found: dict[str, Any] = self._get(f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}")
        return found

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run, mapped ones one by one (state, hostname, pid, try_number, ...).

        :param dag_id: the DAG.
        :param run_id: the run.
        """
        found: list[dict[str, Any]] = []
        while True:
            page = self._get(
                f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances", limit=100, offset=len(found)
            )
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        """Every try of a task instance, earlier ones from the history table (hostname, pid, state).

        :param dag_id: the DAG.
        :param run_id: the run.
        :param task_id: the task.
        :param map_index: its map index (-1: not mapped).
        """
        base = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}"
        path = f"{base}/{map_index}/tries" if map_index >= 0 else f"{base}/tries"
        found: list[dict[str, Any]] = self._get(path)["task_instances"]
        return found

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The log of one try, as text (one line per record: its ``event``, or the record as given).

        :param dag_id: the DAG.
        :param run_id: the run.
        :param task_id: the task.
        :param try_number: the try.
        :param map_index: its map index (-1: not mapped).
        """
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{quote(task_id)}/logs/{try_number}"
        content = self._get(path, full_content="true", map_index=map_index)["content"]
        lines = []
        for record in content:
            lines.append(str(record.get("event", record)) if isinstance(record, dict) else str(record))
        return "\n".join(lines)
