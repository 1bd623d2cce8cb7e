"""What ``make e2e`` checks on the running deployment: DAG runs through the REST API (the example DAGs,
the deferred sensors, the mapped delivery over both workers), the crash drill, deliveries per
invoice, and the secrets scan of every log."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_api import AirflowApi
from deployment import HEARTBEAT_TIMEOUT, Deployment, worker_hostname
from processes import ancestors, command_line, descendants, freeze_and_kill
from services import Emulator

from airflow_provider_infakt.testing import credentials

#: DAG run states after which nothing changes any more.
FINISHED = ("success", "failed")
#: The DAGs the driver runs (all must be parsed before it starts).
DAG_IDS = (
    "example_infakt_deliver",
    "example_infakt_deliver_and_wait",
    "e2e_infakt_mapped_delivery",
    "e2e_infakt_crash_drill",
)
SENSORS = ("wait_until_sent", "wait_until_paid")
#: What the retry's log says when the ledger's check found the invoice delivered (delivery.py).
RETRY_FOUND_IT_DELIVERED = "so it was delivered. Not sending again."
#: Seconds the emulator holds back the drill's answer after acting on it: the worker is killed meanwhile.
#: Less than the client's read timeout (30 s), so that only the kill can end the first try.
DRILL_ANSWER_DELAY = 15


class CheckFailed(Exception):
    """A check of the deployment failed (the message says which and why)."""


def wait_for_dags(api: AirflowApi, deadline: float, deployment: Deployment) -> None:
    """Wait until the dag-processor has stored every DAG of :data:`DAG_IDS`, then unpause them.

    :param api: the REST client.
    :param deadline: ``time.monotonic()`` value after which to give up.
    :param deployment: the deployment (a component that died is reported at once).
    :raises CheckFailed: naming the DAGs still missing and any import errors.
    """
    missing = list(DAG_IDS)
    while missing:
        missing = [dag_id for dag_id in missing if api.dag(dag_id) is None]
        dead = deployment.dead_components()
        if missing and (time.monotonic() > deadline or dead):
            errors = [f"{e['filename']}: {e['stack_trace'].strip().splitlines()[-1]}" for e in api.import_errors()]
            raise CheckFailed(f"DAGs not loaded: {missing}; import errors: {errors or 'none'}; dead: {dead or 'none'}")
        if missing:
            time.sleep(1)
    for dag_id in DAG_IDS:
        api.unpause(dag_id)


@dataclass
class RunWatch:
    """One DAG run being watched.

    :param dag_id: the DAG.
    :param run_id: the run.
    :param interval: seconds between polls of its task instances.
    """

    dag_id: str
    run_id: str
    interval: float
    state: str = "queued"
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    #: task id -> the states it was seen in, in order, each once.
    seen: dict[str, list[str]] = field(default_factory=dict)
    next_poll: float = 0.0

    def poll(self, api: AirflowApi) -> None:
        """Read the run's task instances (and, when all are done, the run's state).

        :param api: the REST client.
        """
        self.task_instances = api.task_instances(self.dag_id, self.run_id)
        for ti in self.task_instances:
            states = self.seen.setdefault(ti["task_id"], [])
            if ti["state"] and ti["state"] not in states:
                states.append(ti["state"])
        self.state = api.dag_run(self.dag_id, self.run_id)["state"]
        self.next_poll = time.monotonic() + self.interval

    @property
    def finished(self) -> bool:
        """Whether the run has ended."""
        return self.state in FINISHED


def watch(
    api: AirflowApi,
    runs: Iterable[RunWatch],
    deadline: float,
    deployment: Deployment,
    until: Callable[[], bool] | None = None,
) -> None:
    """Poll each run at its own interval until all have finished (or ``until()`` is true).

    :param api: the REST client.
    :param runs: the runs.
    :param deadline: ``time.monotonic()`` value after which to give up.
    :param deployment: the deployment (a component that died ends the wait).
    :param until: stop waiting as soon as this returns true (checked after each round of polls).
    :raises CheckFailed: when a run is still going at the deadline, or a component died.
    """
    pending = list(runs)
    while pending and not (until is not None and until()):
        now = time.monotonic()
        for run in pending:
            if now >= run.next_poll:
                run.poll(api)
        pending = [r for r in pending if not r.finished]
        dead = [d for d in deployment.dead_components() if not d.startswith("worker")]
        if pending and (time.monotonic() > deadline or dead):
            states = {r.dag_id: (r.state, {t["task_id"]: t["state"] for t in r.task_instances}) for r in pending}
            raise CheckFailed(f"DAG runs not finished: {states}; dead components: {dead or 'none'}")
        time.sleep(0.1)


@dataclass
class DrillResult:
    """What the crash drill saw.

    :param run: the drill's run.
    :param invoice_id: the invoice it delivered.
    """

    run: RunWatch
    invoice_id: int
    killed_worker: str = ""
    killed: list[str] = field(default_factory=list)
    tries: list[dict[str, Any]] = field(default_factory=list)
    retry_log_says_delivered: bool = False
    deliveries: int = -1
    deliver_requests: int = -1
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every part of the drill went as the ledger's rules say."""
        return not self.problems


def _running_try(api: AirflowApi, run: RunWatch, deadline: float, deployment: Deployment) -> dict[str, Any]:
    """Wait until the drill's delivery task is running with a host name and a pid."""
    while time.monotonic() < deadline and not deployment.dead_components():
        run.poll(api)
        for ti in run.task_instances:
            if ti["task_id"] == "deliver_invoice" and ti["state"] == "running" and ti["hostname"] and ti["pid"]:
                return ti
        if run.finished:
            break
        time.sleep(0.3)
    dead = deployment.dead_components()
    raise CheckFailed(f"the drill's task never ran: {run.state}, {run.seen}; dead components: {dead or 'none'}")


def _wait_for_delivery(emulator: Emulator, invoice_id: int, deadline: float) -> None:
    """Wait until the emulator has recorded the invoice's delivery (inFakt accepted and acted on it)."""
    while time.monotonic() < deadline:
        done, _pending = emulator.deliveries()
        if any(d["invoice_id"] == invoice_id for d in done):
            return
        time.sleep(0.2)
    raise CheckFailed(f"the emulator never recorded the delivery of invoice {invoice_id}")


def crash_drill(api: AirflowApi, emulator: Emulator, deployment: Deployment, invoice_id: int) -> DrillResult:
    """Kill the worker running a delivery after inFakt accepted it; the retry must not send again.

    1. Arm the emulator: the next v3 delivery is processed after 2 s (``processing_delay``), its answer
       held back :data:`DRILL_ANSWER_DELAY` s (``answer_delay``), then the connection dropped
       (``drop="after"``): the client would see an unknown outcome, but it is killed before that.
    2. Trigger ``e2e_infakt_crash_drill``; through the REST API, wait for its task instance to run and
       read its ``hostname`` (which worker) and ``pid`` (the task process).
    3. Once the emulator has recorded the delivery, check that pid is in that worker's process tree and
       kill the whole worker (SIGSTOP, then SIGKILL): the Celery main process, its pool processes, the
       task supervisor inside the pool process, and the task process. No process is left to report.
    4. The scheduler fails the try once its heartbeat stops (``task_instance_heartbeat_timeout``); the
       retry runs on the other worker. Then the killed worker is started again.
    5. Check: the try hostnames differ, the run succeeded, the retry's log (read through the REST API)
       says the ledger found the invoice delivered, and the emulator shows one delivery request and one
       delivery of the invoice.

    :param api: the REST client.
    :param emulator: the emulator.
    :param deployment: the deployment.
    :param invoice_id: a draft invoice to deliver.
    """
    emulator.arm_fault(route="v3.deliver_*", times=1, processing_delay=2, answer_delay=DRILL_ANSWER_DELAY, drop="after")
    run = RunWatch("e2e_infakt_crash_drill", api.trigger("e2e_infakt_crash_drill", {"invoice_id": invoice_id}), 0.5)
    result = DrillResult(run, invoice_id)
    ti = _running_try(api, run, time.monotonic() + 120, deployment)
    worker = deployment.workers.get(ti["hostname"])
    if worker is None:
        raise CheckFailed(
            f"the drill ran on {ti['hostname']!r}, which is none of the workers {list(deployment.workers)}"
        )
    _wait_for_delivery(emulator, invoice_id, time.monotonic() + 60)
    tree = [worker.pid, *descendants(worker.pid)]
    if ti["pid"] not in tree:
        raise CheckFailed(f"the task's pid {ti['pid']} (REST) is not in {worker.name}'s process tree {tree}")
    result.killed = [f"{pid} {_role(pid, worker.pid, ti['pid'])}: {command_line(pid)[:80]}" for pid in tree]
    result.killed_worker = f"{worker.name} ({ti['hostname']})"
    freeze_and_kill(tree)
    worker.popen.wait(timeout=10)
    # The heartbeat timeout, the retry delay and the retry itself (the ledger's check reads the invoice).
    watch(api, [run], time.monotonic() + HEARTBEAT_TIMEOUT + 150, deployment)
    deployment.start_worker(int(worker.name.removeprefix("worker")))
    emulator.clear_faults()
    result.tries = api.tries(run.dag_id, run.run_id, "deliver_invoice")
    _judge_drill(api, emulator, result, ti["hostname"])
    return result


def _role(pid: int, main: int, task: int) -> str:
    """What a process of a Celery worker's tree is, for the report."""
    if pid == main:
        return "Celery main process"
    if pid == task:
        return "task process (the TI's pid)"
    if pid == ancestors(task)[1]:
        return "Celery pool process running the task's supervisor"
    if "ForkPoolWorker" in command_line(pid):
        return "Celery pool process"
    return "helper process of the Celery worker (Airflow's stale DAG bundle cleanup)"


def _judge_drill(api: AirflowApi, emulator: Emulator, result: DrillResult, killed_host: str) -> None:
    run = result.run
    if run.state != "success":
        result.problems.append(f"the run ended {run.state}")
    tries = sorted(result.tries, key=lambda t: t["try_number"])
    if len(tries) < 2:
        result.problems.append(f"expected a retry, saw tries {[t['try_number'] for t in tries]}")
    else:
        if tries[0]["state"] not in ("failed", "up_for_retry"):
            result.problems.append(f"try 1 ended {tries[0]['state']}, not failed")
        if tries[0]["hostname"] != killed_host:
            result.problems.append(f"try 1 ran on {tries[0]['hostname']}, not the killed {killed_host}")
        if tries[-1]["hostname"] == killed_host:
            result.problems.append(f"the retry ran on the killed worker's host {killed_host}")
        log = api.log(run.dag_id, run.run_id, "deliver_invoice", tries[-1]["try_number"])
        result.retry_log_says_delivered = RETRY_FOUND_IT_DELIVERED in log
        if not result.retry_log_says_delivered:
            result.problems.append(f"the retry's log does not say {RETRY_FOUND_IT_DELIVERED!r}")
    done, pending = emulator.deliveries()
    result.deliveries = sum(1 for d in [*done, *pending] if d["invoice_id"] == result.invoice_id)
    # A dropped request is recorded when the emulator lets it go, after the answer delay.
    path = re.compile(rf"/invoices/{result.invoice_id}/deliver_via_\w+\.json")
    deadline = time.monotonic() + DRILL_ANSWER_DELAY + 15
    while True:
        result.deliver_requests = sum(1 for r in emulator.requests() if path.search(r["path"]))
        if result.deliver_requests or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if result.deliveries != 1 or result.deliver_requests != 1:
        result.problems.append(
            f"invoice {result.invoice_id}: {result.deliveries} deliveries, {result.deliver_requests} delivery requests"
        )


def sensors_seen_deferred(run: RunWatch) -> dict[str, bool]:
    """For ``example_infakt_deliver_and_wait``: whether each sensor was seen ``deferred``.

    :param run: the watched run.
    """
    return {sensor: "deferred" in run.seen.get(sensor, []) for sensor in SENSORS}


def deliveries_per_invoice(emulator: Emulator, deadline: float) -> Counter[int]:
    """How many times the emulator delivered each invoice, once no delivery is pending any more.

    :param emulator: the emulator.
    :param deadline: ``time.monotonic()`` value after which pending ones count as they are.
    """
    while True:
        done, pending = emulator.deliveries()
        if not pending or time.monotonic() > deadline:
            return Counter(d["invoice_id"] for d in [*done, *pending])
        time.sleep(0.5)


def tis_per_host(runs: Iterable[RunWatch], api: AirflowApi) -> Counter[str]:
    """Task instance tries per host name, over every run (earlier tries from the history included).

    :param runs: the watched runs (finished).
    :param api: the REST client.
    """
    hosts: Counter[str] = Counter()
    for run in runs:
        for ti in run.task_instances:
            if ti["try_number"] > 1:
                for earlier in api.tries(run.dag_id, run.run_id, ti["task_id"], ti["map_index"]):
                    hosts[earlier["hostname"] or "(none)"] += 1
            else:
                hosts[ti["hostname"] or "(none)"] += 1
    return hosts


def mapped_hosts(run: RunWatch) -> Counter[str]:
    """The mapped delivery's task instances per host name.

    :param run: the mapped delivery's run.
    """
    return Counter(ti["hostname"] or "(none)" for ti in run.task_instances if ti["map_index"] >= 0)


def both_workers(hosts: Counter[str]) -> bool:
    """Whether both workers' host names are among ``hosts``.

    :param hosts: counts per host name.
    """
    return all(hosts.get(worker_hostname(n), 0) > 0 for n in (1, 2))


def secret_values(emulator: Emulator) -> dict[str, str]:
    """What must never appear in a log: each secret of the demo credentials (the API keys, the OAuth
    consumer and token secrets and the access token, the xAuth password) and every customer e-mail
    address of the emulator's account. Names map to values; only names are ever printed.

    :param emulator: the emulator (read while it runs).
    """
    values = {
        "API_KEY": credentials.API_KEY,
        "READONLY_API_KEY": credentials.READONLY_API_KEY,
        "CONSUMER_SECRET": credentials.CONSUMER_SECRET,
        "ACCESS_TOKEN": credentials.ACCESS_TOKEN,
        "TOKEN_SECRET": credentials.TOKEN_SECRET,
        "XAUTH_PASSWORD": credentials.XAUTH_PASSWORD,
    }
    for invoice in emulator.invoices():
        if invoice.get("client_email"):
            values[f"e-mail of invoice {invoice['id']}'s client"] = invoice["client_email"]
    return values


@dataclass
class ScanResult:
    """The secrets scan.

    :param files: log files read.
    :param task_logs: of those, task logs.
    :param found: ``(file, secret name)`` for each secret found in a file.
    """

    files: int
    task_logs: int
    found: list[tuple[str, str]]


def find_secrets(paths: Iterable[Path], values: dict[str, str]) -> list[tuple[str, str]]:
    """Which of ``values`` each file holds (read as bytes, decoded leniently).

    :param paths: the files.
    :param values: secret name -> value.
    :returns: ``(file, secret name)`` for each secret found in a file.
    """
    found: list[tuple[str, str]] = []
    for path in paths:
        text = path.read_bytes().decode(errors="replace")
        found += [(str(path), name) for name, value in values.items() if value in text]
    return found


def scan_logs(folders: Iterable[Path], task_folder: Path, values: dict[str, str]) -> ScanResult:
    """Read every file under ``folders`` and look for each of ``values``.

    :param folders: the log folders.
    :param task_folder: where task logs are (counted apart).
    :param values: secret name -> value.
    """
    paths = [p for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()]
    task_logs = sum(1 for p in paths if p.is_relative_to(task_folder))
    return ScanResult(len(paths), task_logs, find_secrets(paths, values))
