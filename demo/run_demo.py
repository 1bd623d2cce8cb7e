"""``make demo``: run the example DAGs on a real Airflow against the inFakt emulator, and show the result.

1. starts the emulator (``infakt-emulator --port 0 --pay-after-delivery 3 --limits --time-scale 10``) in
   its own process: inFakt's request limits on, its minute lasting 6 seconds;
2. adds draft invoices to its account for the month end (``POST /_emulator/invoices``);
3. points the ``infakt_default`` connection at it (``AIRFLOW_CONN_INFAKT_DEFAULT``), with inFakt's rate
   limits scaled as the emulator's clock (``extra.rate_limit``), so the client paces itself to them;
4. prepares a local Airflow (SQLite metadata database in ``.demo/airflow``; DAGs from ``example_dags``);
5. runs ``airflow dags test`` for each demo DAG with its configuration: ``example_infakt_deliver``,
   then ``example_infakt_deliver_and_wait`` (deliver, wait until sent, wait until paid, deferred), then
   ``example_infakt_month_end`` (list the added drafts, deliver them in one paced task, summarise, wait
   with one deferred sensor until all are paid: the emulator pays each a few seconds after its delivery);
6. prints what the emulator delivered and what each task returned (XCom).

Airflow's own output goes to ``.demo/<dag_id>.log``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys
import urllib.request
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORK = ROOT / ".demo"
BIN = pathlib.Path(sys.executable).parent

#: (dag_id, configuration) pairs the demo runs, in order.
RUNS: list[tuple[str, dict[str, Any]]] = [
    ("example_infakt_deliver", {"invoice_id": 1, "type": "mail", "doc_type": "KOPIA"}),
    ("example_infakt_deliver_and_wait", {"invoice_id": 2, "type": "mail", "doc_type": "org"}),
    # the drafts the demo adds (ids from 7: the emulator's own six come first)
    ("example_infakt_month_end", {"id_from": 7}),
]
#: Draft invoices added for the month end.
MONTH_END_INVOICES = 200
#: How much faster than real time the emulator's limits run (its minute lasts 60 / TIME_SCALE seconds).
TIME_SCALE = 10
#: XComs with more values than this are shown shortened.
SHOWN_VALUES = 12
#: The emulator marks each delivered invoice paid this many seconds after delivery, so the
#: deliver -> wait until sent -> wait until paid chain finishes in seconds.
PAY_AFTER_SECONDS = 3


def _environment(emulator_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(WORK / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_CONN_INFAKT_DEFAULT=_connection(emulator_url),
    )
    return env


#: The share of inFakt's limits, scaled as the emulator's clock, that the demo's client is told. The client
#: cannot know the time scale: told 10 x 150 a minute, it would let 2 % of that (30) go at once and keep its
#: 1 s safety margin in real time, which is 10 s of the emulator's minute: up to ~175 in an emulated minute
#: (a demo run drew two 429s). At 80 % the worst emulated minute holds 24 + 116 = 140 of the 150 allowed.
CLIENT_SHARE = 0.8


def _connection(emulator_url: str) -> str:
    """The emulator's connection, with inFakt's limits (300 GET, 150 other a minute) scaled as its clock
    (and cut to :data:`CLIENT_SHARE` of that: see there)."""
    from airflow_provider_infakt.testing import connection_json

    conn = json.loads(connection_json(emulator_url, api_version=os.environ.get("DEMO_API", "v3")))
    conn["extra"]["rate_limit"] = {
        "get_per_minute": int(300 * TIME_SCALE * CLIENT_SHARE),
        "other_per_minute": int(150 * TIME_SCALE * CLIENT_SHARE),
    }
    return json.dumps(conn)


def _add_drafts(url: str, count: int) -> list[int]:
    """Add ``count`` draft invoices (each to a new client with an address); their ids."""
    ids = []
    for n in range(count):
        body = json.dumps(
            {"client_name": f"Klient {n + 1} Sp. z o.o.", "client_email": f"faktury{n + 1}@klient.example"}
        )
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{url}/_emulator/invoices", data=body.encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            ids.append(json.load(response)["id"])
    return ids


def _shown(value: Any) -> str:
    """A value as JSON, a long list cut short."""
    if isinstance(value, list) and len(value) > SHOWN_VALUES:
        head = json.dumps(value[:SHOWN_VALUES])[:-1]
        return f"{head}, ... ({len(value)} in all)]"
    if isinstance(value, dict) and len(value) > SHOWN_VALUES:
        head = json.dumps(dict(list(value.items())[:SHOWN_VALUES]))[:-1]
        return f"{head}, ... ({len(value)} in all)}}"
    return json.dumps(value)


def _admin(url: str, path: str) -> Any:
    with urllib.request.urlopen(f"{url}/_emulator/{path}", timeout=10) as response:  # noqa: S310 - loopback
        return json.load(response)


def _run(command: list[str], env: dict[str, str], log: pathlib.Path) -> int:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def _xcoms(env: dict[str, str], dag_id: str) -> list[tuple[str, int, str, Any]]:
    """XComs of the latest run of ``dag_id``, read from the demo's metadata database."""
    code = """
import json, sys
from sqlalchemy import select
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
try:
    from airflow.models.xcom import XComModel as X
    value = X.deserialize_value
except ImportError:
    from airflow.models.xcom import XCom as X
    value = lambda row: row.value
with create_session() as session:
    run = session.scalars(select(DagRun).where(DagRun.dag_id == sys.argv[1]).order_by(DagRun.id.desc())).first()
    rows = session.scalars(X.get_many(run_id=run.run_id, dag_ids=run.dag_id))
    out = [[r.task_id, r.map_index, r.key, value(r)] for r in rows if not r.key.startswith("_link_")]
    print(json.dumps({"state": str(getattr(run.state, "value", run.state)), "run_id": run.run_id, "xcom": out}))
"""
    result = subprocess.run([sys.executable, "-c", code, dag_id], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _summary_lines(log: pathlib.Path) -> list[str]:
    """The month-end summary the ``summarise`` task printed, from the run's log."""
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    found = [line[line.index("Month end: ") :] for line in lines if "Month end: " in line]
    progress = [line[line.index("Progress: ") :] for line in lines if "Progress: " in line]
    waited = [line[line.index("] ") + 2 :] for line in lines if " of " in line and "invoice(s) reached" in line]
    return [line.split(" [airflow", 1)[0] for line in found[-1:] + progress[-1:] + waited[-1:]]


def main() -> int:
    """Run the demo; exit 0 when every demo DAG run succeeded."""
    WORK.mkdir(exist_ok=True)
    emulator = subprocess.Popen(
        [
            str(BIN / "infakt-emulator"),
            *("--port", "0", "--pay-after-delivery", str(PAY_AFTER_SECONDS)),
            *("--limits", "--time-scale", str(TIME_SCALE)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        if not url.startswith("http"):
            print("the inFakt emulator did not start", file=sys.stderr)
            return 1
        env = _environment(url)
        version = importlib.metadata.version("apache-airflow")
        print(
            f"inFakt emulator: {url} (API {os.environ.get('DEMO_API', 'v3')}, demo credentials; "
            f"each delivered invoice is paid {PAY_AFTER_SECONDS} s later; inFakt's limits on, a minute lasting "
            f"{60 / TIME_SCALE:g} s)"
        )
        added = _add_drafts(url, MONTH_END_INVOICES)
        print(f"Added {len(added)} draft invoices for the month end (ids {added[0]}-{added[-1]})")
        print(f"Airflow {version}, metadata database: SQLite in {WORK / 'airflow'}")
        setup_log = WORK / "airflow-setup.log"
        if _run([str(BIN / "airflow"), "db", "migrate"], env, setup_log) != 0:
            print(f"airflow db migrate failed; see {setup_log}", file=sys.stderr)
            return 1
        ok = True
        for dag_id, conf in RUNS:
            log = WORK / f"{dag_id}.log"
            log.write_text("")
            print(f"\n== {dag_id} with conf {json.dumps(conf)}")
            code = _run([str(BIN / "airflow"), "dags", "test", dag_id, "--conf", json.dumps(conf)], env, log)
            result = _xcoms(env, dag_id)
            print(f"DAG run {result['run_id']}: {result['state']} (airflow dags test exit {code}; log: {log})")
            ok = ok and code == 0 and result["state"] == "success"
            print("XCom:")
            for task_id, map_index, key, value in sorted(result["xcom"], key=lambda x: (x[0], x[1], x[2])):
                where = task_id if map_index < 0 else f"{task_id}[{map_index}]"
                print(f"  {where}.{key} = {_shown(value)}")
        print("\nDelivered, as the emulator recorded it:")
        deliveries = _admin(url, "deliveries")["deliveries"]
        for d in deliveries[:SHOWN_VALUES]:
            target = d["address"] or "by post"
            print(f"  invoice {d['invoice_id']}: {d['type']} {d['doc_type']} to {target} (API {d['api_version']})")
        if len(deliveries) > SHOWN_VALUES:
            ids = [d["invoice_id"] for d in deliveries]
            twice = len(ids) - len(set(ids))
            refused = sum(1 for r in _admin(url, "requests")["requests"] if r.get("status") == 429)
            print(f"  ... {len(deliveries)} deliveries in all, {twice} invoice(s) delivered twice, {refused} x 429")
        summary = _summary_lines(WORK / "example_infakt_month_end.log")
        if summary:
            print("\nMonth-end summary (from the summarise task's log):")
            for line in summary:
                print(f"  {line}")
        if not deliveries:
            print("  nothing")
            ok = False
        return 0 if ok else 1
    finally:
        emulator.terminate()
        emulator.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
