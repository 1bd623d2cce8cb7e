"""``make demo``: run the example DAGs on a real Airflow against the inFakt emulator, and show the result.

1. starts the emulator (``infakt-emulator --port 0 --pay-after-delivery 3``) in its own process;
2. points the ``infakt_default`` connection at it (``AIRFLOW_CONN_INFAKT_DEFAULT``);
3. prepares a local Airflow (SQLite metadata database in ``.demo/airflow``; DAGs from ``example_dags``);
4. runs ``airflow dags test`` for each demo DAG with its configuration: ``example_infakt_deliver``,
   then ``example_infakt_deliver_and_wait`` (deliver, wait until sent, wait until paid, deferred);
5. prints what the emulator delivered and what each task returned (XCom).

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
]
#: The emulator marks each delivered invoice paid this many seconds after delivery, so the
#: deliver -> wait until sent -> wait until paid chain finishes in seconds.
PAY_AFTER_SECONDS = 3


def _environment(emulator_url: str) -> dict[str, str]:
    from airflow_provider_infakt.testing import connection_json

    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(WORK / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_CONN_INFAKT_DEFAULT=connection_json(emulator_url, api_version=os.environ.get("DEMO_API", "v3")),
    )
    return env


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


def main() -> int:
    """Run the demo; exit 0 when every demo DAG run succeeded."""
    WORK.mkdir(exist_ok=True)
    emulator = subprocess.Popen(
        [str(BIN / "infakt-emulator"), "--port", "0", "--pay-after-delivery", str(PAY_AFTER_SECONDS)],
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
            f"each delivered invoice is paid {PAY_AFTER_SECONDS} s later)"
        )
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
                print(f"  {where}.{key} = {json.dumps(value)}")
        print("\nDelivered, as the emulator recorded it:")
        deliveries = _admin(url, "deliveries")["deliveries"]
        for d in deliveries:
            target = d["address"] or "by post"
            print(f"  invoice {d['invoice_id']}: {d['type']} {d['doc_type']} to {target} (API {d['api_version']})")
        if not deliveries:
            print("  nothing")
            ok = False
        return 0 if ok else 1
    finally:
        emulator.terminate()
        emulator.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
