"""``make e2e``: a distributed Airflow 3 deployment on this machine, against the inFakt emulator.

Steps (each a function below; docs/e2e.md explains them and how to read the output):

1. a fresh ``.e2e/``; the emulator, Redis and PostgreSQL, each in its own process on loopback;
2. ``airflow db migrate``, then scheduler, dag-processor, triggerer, api-server and two Celery workers;
3. through the REST API: wait for the DAGs, unpause them; add draft invoices to the emulator;
4. the crash drill (``checks.crash_drill``);
5. the example DAGs and the mapped delivery of 20 invoices, at once, their sensors watched for ``deferred``;
6. deliveries per invoice; ``.e2e/deployment.json``; the browser check (``e2e/ui_check.py``) if present;
7. everything stopped; no process left; every log scanned for secrets; the summary; exit 1 if any
   check failed.

Run from the checkout's root with the e2e venv's Python: ``.venv-e2e/bin/python e2e/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from airflow_api import AirflowApi
from checks import (
    CheckFailed,
    DrillResult,
    RunWatch,
    ScanResult,
    both_workers,
    crash_drill,
    deliveries_per_invoice,
    find_secrets,
    mapped_hosts,
    scan_logs,
    secret_values,
    sensors_seen_deferred,
    tis_per_host,
    wait_for_dags,
    watch,
)
from deployment import ADMIN_PASSWORD, ADMIN_USER, Deployment
from processes import Processes, ancestors, leftovers
from services import Emulator, start_postgres, start_redis

from airflow_provider_infakt.testing import credentials

ROOT = Path(__file__).resolve().parents[1]
#: How many invoices the mapped delivery delivers.
MAPPED_INVOICES = 20
#: Emulator scenarios while the example DAGs run: v3 sends this many seconds after answering 202, so
#: ``wait_until_sent`` finds the invoice still a draft and defers ...
DEFER_SENDING = 6
#: ... and each sent invoice is paid this many seconds later, so ``wait_until_paid`` defers too.
PAY_AFTER = 25
#: Seconds the browser check may take.
UI_TIMEOUT = 420


@dataclass
class Summary:
    """Everything the summary table shows; a check that fails adds to :attr:`failures`."""

    started: float = field(default_factory=time.monotonic)
    failures: list[str] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)
    runs: list[RunWatch] = field(default_factory=list)
    deferred: dict[str, bool] = field(default_factory=dict)
    hosts: Counter[str] = field(default_factory=Counter)
    mapped: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[int] = field(default_factory=Counter)
    expected_invoices: list[int] = field(default_factory=list)
    drill: DrillResult | None = None
    ui: str = "not run"
    scan: ScanResult | None = None
    scan_control: bool = False
    #: How many credentials and how many customer e-mail addresses the scan looked for.
    needles: tuple[int, int] = (0, 0)
    killed_at_stop: list[str] = field(default_factory=list)
    left: list[tuple[int, str]] | None = None

    def step(self, name: str) -> None:
        """Note that a step ended now (for the timings).

        :param name: the step.
        """
        self.steps.append((name, time.monotonic() - self.started))
        print(f"[{self.steps[-1][1]:6.1f} s] {name}", flush=True)

    def check(self, ok: bool, what: str) -> bool:
        """Record a failed check.

        :param ok: whether it passed.
        :param what: what was checked, said as a failure.
        """
        if not ok:
            self.failures.append(what)
        return ok


def _terminate_as_interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (and SIGHUP) end the driver as Ctrl-C does, so the ``finally`` stops everything."""
    raise KeyboardInterrupt(f"signal {signum}")


def start_deployment(procs: Processes, work: Path, summary: Summary) -> tuple[Deployment, Emulator, AirflowApi]:
    """Start the emulator, Redis, PostgreSQL and Airflow; log in to the api-server.

    :param procs: where processes are registered.
    :param work: the ``.e2e`` folder.
    :param summary: the summary (step timings).
    """
    deadline = time.monotonic() + 120
    emulator = Emulator.start(procs, work, deadline)
    redis_port = start_redis(procs, work, deadline)
    postgres = start_postgres(procs, work, deadline)
    summary.step(f"emulator {emulator.url}, Redis :{redis_port}, PostgreSQL :{postgres.port} up")
    deployment = Deployment(ROOT, work, procs, postgres, redis_port, emulator.url)
    deployment.prepare()
    deployment.migrate()
    summary.step("airflow db migrate done")
    deployment.start_components()
    api = AirflowApi(deployment.api_url, ADMIN_USER, ADMIN_PASSWORD)
    api.wait_until_up(time.monotonic() + 180)
    summary.step(f"api-server {deployment.api_url} up, logged in")
    wait_for_dags(api, time.monotonic() + 180, deployment)
    summary.step("DAGs parsed and unpaused")
    return deployment, emulator, api


def run_drill(api: AirflowApi, emulator: Emulator, deployment: Deployment, summary: Summary, invoice: int) -> None:
    """The crash drill, its checks recorded in ``summary``.

    :param api: the REST client.
    :param emulator: the emulator.
    :param deployment: the deployment.
    :param summary: the summary.
    :param invoice: the draft invoice it delivers.
    """
    drill = crash_drill(api, emulator, deployment, invoice)
    summary.drill = drill
    summary.runs.append(drill.run)
    for problem in drill.problems:
        summary.check(False, f"crash drill: {problem}")
    summary.step(f"crash drill {'passed' if drill.passed else 'FAILED'}")


def run_examples(api: AirflowApi, emulator: Emulator, deployment: Deployment, summary: Summary, ids: list[int]) -> None:
    """Trigger the two example DAGs and the mapped delivery at once and wait for them.

    :param api: the REST client.
    :param emulator: the emulator.
    :param deployment: the deployment.
    :param summary: the summary.
    :param ids: draft invoices: one per example DAG, then those of the mapped delivery.
    """
    emulator.scenario("deferred-sending", DEFER_SENDING)
    emulator.scenario("pay-after-delivery", PAY_AFTER)
    deliver, wait, mapped = ids[0], ids[1], ids[2:]
    runs = [
        RunWatch("example_infakt_deliver", api.trigger("example_infakt_deliver", {"invoice_id": deliver}), 2),
        # Polled often: a deferral must be seen while it lasts (a few seconds each).
        RunWatch(
            "example_infakt_deliver_and_wait", api.trigger("example_infakt_deliver_and_wait", {"invoice_id": wait}), 0.4
        ),
    ]
    # The mapped delivery's 20 tasks would fill the workers' slots and hold back the sensors' starts past
    # the emulator's delays: it starts once the last sensor has deferred (or its run has ended).
    watch(
        api,
        runs,
        time.monotonic() + 240,
        deployment,
        until=lambda: runs[1].finished or all(sensors_seen_deferred(runs[1]).values()),
    )
    runs.append(
        RunWatch("e2e_infakt_mapped_delivery", api.trigger("e2e_infakt_mapped_delivery", {"invoice_ids": mapped}), 2)
    )
    summary.runs += runs
    watch(api, runs, time.monotonic() + 420, deployment)
    summary.step("example DAGs and the mapped delivery finished")
    for run in runs:
        summary.check(run.state == "success", f"{run.dag_id} ended {run.state}: {run.seen}")
    summary.deferred = sensors_seen_deferred(runs[1])
    for sensor, seen in summary.deferred.items():
        summary.check(seen, f"{sensor} was never seen deferred (states seen: {runs[1].seen.get(sensor)})")
    summary.mapped = mapped_hosts(runs[2])
    summary.check(sum(summary.mapped.values()) == len(mapped), f"{len(mapped)} mapped TIs expected: {summary.mapped}")
    summary.check(both_workers(summary.mapped), f"the mapped TIs did not land on both workers: {dict(summary.mapped)}")


def delivered_tis(summary: Summary, ids: list[int]) -> list[dict[str, Any]]:
    """The successful delivery task instances, with the invoice each delivered (for the UI check).

    :param summary: the summary (its watched runs).
    :param ids: the invoices given to the example DAGs and the mapped delivery, in :func:`run_examples`' order.
    """
    invoice_of: dict[tuple[str, int], int] = {
        ("example_infakt_deliver", -1): ids[0],
        ("example_infakt_deliver_and_wait", -1): ids[1],
    }
    invoice_of.update({("e2e_infakt_mapped_delivery", i): invoice for i, invoice in enumerate(ids[2:])})
    if summary.drill is not None:
        invoice_of[("e2e_infakt_crash_drill", -1)] = summary.drill.invoice_id
    found = []
    # The crash drill's run last: a plain delivery comes first for a check that opens the first one.
    for run in sorted(summary.runs, key=lambda r: r.dag_id == "e2e_infakt_crash_drill"):
        for ti in run.task_instances:
            key = (run.dag_id, ti["map_index"])
            if ti["task_id"] == "deliver_invoice" and ti["state"] == "success" and key in invoice_of:
                found.append(
                    {
                        "dag_id": run.dag_id,
                        "run_id": run.run_id,
                        "task_id": ti["task_id"],
                        "map_index": ti["map_index"],
                        "invoice_id": invoice_of[key],
                    }
                )
    return found


def write_deployment_file(
    work: Path, deployment: Deployment, emulator: Emulator, delivered: list[dict[str, Any]]
) -> Path:
    """``.e2e/deployment.json``: how to reach the deployment, for the browser check.

    :param work: the ``.e2e`` folder.
    :param deployment: the deployment.
    :param emulator: the emulator.
    :param delivered: see :func:`delivered_tis`.
    """
    path = work / "deployment.json"
    info = {
        "api_url": deployment.api_url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "emulator_url": emulator.url,
        "infakt_conn_id": "infakt_default",
        "api_key": credentials.API_KEY,
        "delivered": delivered,
    }
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def run_ui_check(deployment_file: Path, work: Path, procs: Processes, summary: Summary) -> None:
    """Run ``e2e/ui_check.py --deployment <file>`` (the browser check) unless ``E2E_UI=0`` or it is absent,
    with this venv's Python or the one ``E2E_UI_PYTHON`` names.

    :param deployment_file: ``.e2e/deployment.json``.
    :param procs: where the process is registered (it and whatever it leaves are stopped at the end).
    :param work: the ``.e2e`` folder (its output goes to ``ui-check.log`` there).
    :param summary: the summary.
    """
    script = ROOT / "e2e" / "ui_check.py"
    if os.environ.get("E2E_UI") == "0" or not script.exists():
        summary.ui = "skipped (E2E_UI=0)" if script.exists() else "skipped (no e2e/ui_check.py)"
        return
    # Its output stays out of logs/: it types the demo API key into the connection form, and may say so.
    log_path = work / "ui-check.log"
    argv = [os.environ.get("E2E_UI_PYTHON") or sys.executable, str(script), "--deployment", str(deployment_file)]
    check = procs.start("ui-check", argv, os.environ, ROOT, log_path=log_path)
    try:
        code: int | str = check.popen.wait(timeout=UI_TIMEOUT)
    except subprocess.TimeoutExpired:
        code = f"timeout ({UI_TIMEOUT} s)"
        procs.stop([check], 5)
    summary.ui = "passed" if code == 0 else f"FAILED ({code}; see {log_path})"
    summary.check(code == 0, f"the browser check failed ({code}); see {log_path}")
    tail = log_path.read_text(errors="replace").splitlines()[-12:]
    print("\n".join(f"  ui_check | {line}" for line in tail), flush=True)
    summary.step(f"browser check {summary.ui}")


def _task_states(run: RunWatch, task_id: str, states: list[str]) -> str:
    """A task's states as seen while polling (``queued>running>success``); for a mapped task, how many
    of its task instances ended in each state."""
    mapped = Counter(ti["state"] for ti in run.task_instances if ti["task_id"] == task_id and ti["map_index"] >= 0)
    if mapped:
        return f"{task_id}: {sum(mapped.values())} mapped, " + ", ".join(f"{n} {s}" for s, n in sorted(mapped.items()))
    return f"{task_id}: {'>'.join(states)}"


def print_summary(summary: Summary) -> None:
    """Print the summary table.

    :param summary: the summary.
    """
    rows: list[tuple[str, str]] = []
    for run in summary.runs:
        tasks = ", ".join(_task_states(run, task_id, states) for task_id, states in run.seen.items())
        rows.append((f"DAG run {run.dag_id}", f"{run.state} ({run.run_id}) [{tasks}]"))
    for sensor, seen in summary.deferred.items():
        rows.append((f"sensor {sensor} seen deferred", "yes" if seen else "NO"))
    rows.append(
        ("task instance tries per worker host", ", ".join(f"{h}: {n}" for h, n in sorted(summary.hosts.items())))
    )
    rows.append(
        ("mapped delivery TIs per worker host", ", ".join(f"{h}: {n}" for h, n in sorted(summary.mapped.items())))
    )
    counts = Counter(summary.deliveries[i] for i in summary.expected_invoices)
    others = sorted(set(summary.deliveries) - set(summary.expected_invoices))
    rows.append(
        (
            "deliveries per invoice",
            f"{len(summary.expected_invoices)} invoices: "
            + ", ".join(f"{n} deliver{'y' if n == 1 else 'ies'}: {k} invoice(s)" for n, k in sorted(counts.items()))
            + (f"; unexpected deliveries of {others}" if others else ""),
        )
    )
    drill = summary.drill
    if drill is None:
        rows.append(("crash drill", "NOT RUN"))
    else:
        tries = "; ".join(f"try {t['try_number']} {t['state']} on {t['hostname']}" for t in drill.tries)
        rows.append(("crash drill", f"{'passed' if drill.passed else 'FAILED'}: invoice {drill.invoice_id}: {tries}"))
        rows.append(("  killed (SIGKILL)", drill.killed_worker))
        rows += [("", line) for line in drill.killed]
        rows.append(("  retry found it delivered (log)", "yes" if drill.retry_log_says_delivered else "NO"))
        rows.append(("  emulator: requests / deliveries", f"{drill.deliver_requests} / {drill.deliveries}"))
    rows.append(("browser check", summary.ui))
    if summary.scan is not None:
        scan = summary.scan
        rows.append(
            (
                "secrets found in logs",
                f"{len(scan.found)} ({scan.files} files read, {scan.task_logs} of them task logs)",
            )
        )
        rows += [("", f"{name} in {file}") for file, name in scan.found]
        rows.append(("  looked for", f"{summary.needles[0]} demo credentials, {summary.needles[1]} customer e-mails"))
        rows.append(("  control: API key found in deployment.json", "yes" if summary.scan_control else "NO"))
    rows.append(("processes killed at teardown", ", ".join(summary.killed_at_stop) or "none"))
    left = summary.left
    rows.append(("processes left after teardown", "not checked" if left is None else str(len(left))))
    rows += [("", f"{pid}: {cmd[:100]}") for pid, cmd in left or []]
    rows.append(("wall time", f"{time.monotonic() - summary.started:.0f} s"))
    rows.append(("result", "PASSED" if not summary.failures else f"FAILED ({len(summary.failures)} check(s))"))
    width = max(len(label) for label, _ in rows)
    print("\n" + "=" * 30 + " make e2e summary " + "=" * 30)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for failure in summary.failures:
        print(f"FAILED: {failure}")


def main(argv: list[str] | None = None) -> int:
    """Run the whole e2e, print the summary, return the exit status (1 when any check failed).

    :param argv: command-line arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", type=Path, default=ROOT / ".e2e", help="the work folder (default .e2e)")
    args = parser.parse_args(argv)
    work: Path = args.work.resolve()
    summary = Summary()
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    signal.signal(signal.SIGHUP, _terminate_as_interrupt)
    if work.exists():
        shutil.rmtree(work)
    (work / "logs").mkdir(parents=True)
    procs = Processes(work / "logs")
    print(f"make e2e: everything under {work}; each process's output in {work / 'logs'}", flush=True)
    needles: dict[str, str] = {}
    try:
        deployment, emulator, api = start_deployment(procs, work, summary)
        ids = emulator.create_invoices(2 + MAPPED_INVOICES, "e2e")
        drill_invoice = emulator.create_invoices(1, "drill")[0]
        summary.expected_invoices = [drill_invoice, *ids]
        try:
            run_drill(api, emulator, deployment, summary, drill_invoice)
        except CheckFailed as exc:
            summary.check(False, f"crash drill: {exc}")
        run_examples(api, emulator, deployment, summary, ids)
        summary.deliveries = deliveries_per_invoice(emulator, time.monotonic() + DEFER_SENDING + 30)
        for invoice in summary.expected_invoices:
            n = summary.deliveries[invoice]
            summary.check(n == 1, f"invoice {invoice} was delivered {n} times")
        extra = sorted(set(summary.deliveries) - set(summary.expected_invoices))
        summary.check(not extra, f"invoices delivered that no run was given: {extra}")
        summary.hosts = tis_per_host(summary.runs, api)
        deployment_file = write_deployment_file(work, deployment, emulator, delivered_tis(summary, ids))
        run_ui_check(deployment_file, work, procs, summary)
        needles = secret_values(emulator)
    except CheckFailed as exc:
        summary.check(False, str(exc))
    except BaseException as exc:  # also Ctrl-C: the finally below stops everything
        summary.check(False, f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C must not cut the teardown
            signal.signal(sig, signal.SIG_IGN)
        summary.killed_at_stop = procs.stop_all()
        summary.step("every process stopped")
        sessions = [m.pid for m in procs.started]
        summary.left = leftovers([work, Path(sys.prefix)], sessions, exclude=ancestors(os.getpid()))
        summary.check(not summary.left, f"processes left running: {summary.left}")
        for pid, _cmd in summary.left:  # do not leave them to the machine
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    if needles:
        summary.scan = scan_logs([work / "logs", work / "airflow" / "logs"], work / "logs" / "tasks", needles)
        summary.check(not summary.scan.found, f"secrets found in logs: {len(summary.scan.found)}")
        summary.check(summary.scan.task_logs > 0, "no task log was found to scan")
        # The control: the same search finds the API key where it is meant to be.
        summary.scan_control = find_secrets([work / "deployment.json"], needles) == [
            (str(work / "deployment.json"), "API_KEY")
        ]
        summary.check(summary.scan_control, "the secrets scan did not find the API key in deployment.json")
        summary.needles = (
            sum(1 for n in needles if "@" not in needles[n]),
            sum(1 for v in needles.values() if "@" in v),
        )
    else:
        summary.check(False, "the secrets scan did not run (the deployment did not get that far)")
    print_summary(summary)
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
