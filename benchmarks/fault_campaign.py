"""Fault campaign: seeded random deliveries under every fault kind, with retries, against the emulator
behind a fault proxy. Prints, per fault kind: runs, delivered once, duplicates, silent losses, clear
failures, and failures that are not clear.

Each run creates a fresh draft invoice, arms one fault (on the emulator, or on the proxy in front of it
so that the emulator has acted before the client sees the fault), and delivers it with the operator
and ``retries=3``:

- *fast* runs call ``execute`` as Airflow's retry loop would (a new try after an ``AirflowException``,
  none after an ``AirflowFailException``), with a dictionary as the delivery ledger's store; several run
  at once, each worker with its own emulator and proxy;
- *airflow* runs go through real Airflow retries in ``dag.test()`` (SQLite, the asset state store as
  the ledger), one after another.

A run ends as exactly one delivery, or a failed task whose message says nothing was sent or that the
outcome is unknown; anything else is counted against the provider. Usage::

    python benchmarks/fault_campaign.py --runs 1000 --airflow-runs 200 --seed 8
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import os
import pathlib
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
#: Client read timeout for every run; processing delays are drawn beyond it and within the window.
CLIENT_TIMEOUT = 0.5
PROCESSING_DELAY = 0.9  # > CLIENT_TIMEOUT, < _campaign_dags.IN_FLIGHT_WINDOW
APIS = ("v3", "v2-json", "v2-xml")
#: Phrases of a clear failure: nothing was sent, or what is unknown and what to do.
CLEAR = ("Nothing was sent", "outcome unknown", "outcome is unknown", "not known yet", "cannot tell")


@dataclasses.dataclass
class Plan:
    """What one run does beyond arming its fault."""

    between: Callable[[], None] | None = None  # before each retry
    settle: float = 0.0  # seconds to let deferred sends happen before counting
    airflow_only: bool = False
    timeout_dag: bool = False
    client_timeout: float = CLIENT_TIMEOUT


Setup = Callable[[Any, Any, str, int, random.Random], Plan]


def _deliver_route(api: str) -> str:
    return "v3.deliver_via_email" if api == "v3" else "v2.deliver"


def _emu(**fault: Any) -> Setup:
    def setup(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
        emu.fault(_deliver_route(api), times=rng.randint(1, 2), **fault)
        return Plan()

    return setup


def _proxy(kind: str, **fault: Any) -> Setup:
    def setup(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
        proxy.fault(_deliver_route(api), kind=kind, times=rng.randint(1, 2), **fault)
        return Plan()

    return setup


def _slow_processing(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
    emu.fault(_deliver_route(api), processing_delay=PROCESSING_DELAY)
    return Plan(settle=PROCESSING_DELAY)


def _beyond_execution_timeout(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
    emu.fault(_deliver_route(api), processing_delay=1.3)  # the task is killed at 1 s, inFakt acts at 1.3 s
    return Plan(settle=1.3, airflow_only=True, timeout_dag=True, client_timeout=5.0)


def _pay_between(drop: str) -> Setup:
    def setup(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
        emu.fault(_deliver_route(api), drop=drop)
        return Plan(between=lambda: emu.mark_paid(invoice))

    return setup


def _manual_send_between(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
    """Cut before inFakt saw it; then a person sends the invoice from inFakt's app."""
    emu.fault(_deliver_route(api), drop="before")

    def send_by_hand() -> None:
        from airflow_provider_infakt.testing.model import PreconditionFailed

        with contextlib.suppress(PreconditionFailed):
            account = emu.account
            account.deliver(account.invoices[invoice], type="mail", doc_type="org", recipient=None, api_version="v3")

    return Plan(between=send_by_hand)


def _deferred_then_dropped(emu: Any, proxy: Any, api: str, invoice: int, rng: random.Random) -> Plan:
    """v3's 202 Accepted: inFakt sends 0.6 s after it answers, and the answer never arrives."""
    emu.defer_sending(0.6)
    proxy.fault(_deliver_route(api), kind="drop_after")
    return Plan(settle=0.8)


KINDS: dict[str, tuple[Setup, tuple[str, ...]]] = {
    "none": (lambda emu, proxy, api, invoice, rng: Plan(), APIS),
    "drop before processing": (_emu(drop="before"), APIS),
    "drop after processing": (_emu(drop="after"), APIS),
    "processing beyond client timeout": (_slow_processing, APIS),
    "processing beyond execution_timeout": (_beyond_execution_timeout, APIS),
    "5xx from inFakt, not processed": (
        lambda e, p, a, i, r: _emu(status=r.choice([500, 502, 503, 504]))(e, p, a, i, r),
        APIS,
    ),
    "5xx with inFakt's body after forwarding": (_proxy("status", status=500), APIS),
    "gateway HTML 502/503/504 after forwarding": (
        lambda e, p, a, i, r: _proxy("gateway", status=r.choice([502, 503, 504]))(e, p, a, i, r),
        APIS,
    ),
    "429 with Retry-After": (_emu(status=429, retry_after="0"), APIS),
    "429 without Retry-After": (_emu(status=429), APIS),
    "truncated body": (_proxy("truncate"), APIS),
    "oversized body": (_proxy("oversize"), APIS),
    "malformed body": (_proxy("malformed"), APIS),
    "deeply nested body": (_proxy("deep_json"), APIS),
    "dropped by a proxy after forwarding": (_proxy("drop_after"), APIS),
    "answer delayed beyond client timeout": (_proxy("delay", delay=PROCESSING_DELAY), APIS),
    "v2 GET resent by a proxy (replay)": (_proxy("replay"), ("v2-json", "v2-xml")),
    "payment between tries (cut before)": (_pay_between("before"), APIS),
    "payment between tries (cut after)": (_pay_between("after"), APIS),
    "manual sending between tries": (_manual_send_between, APIS),
    "v3 202 then sent later, answer dropped": (_deferred_then_dropped, ("v3",)),
}


@dataclasses.dataclass
class Outcome:
    """How one run ended."""

    kind: str
    api: str
    path: str
    state: str
    deliveries: int
    message: str

    @property
    def verdict(self) -> str:
        """``once``, ``duplicate``, ``silent loss``, ``clear failure`` or ``unclear failure``."""
        if self.deliveries > 1:
            return "duplicate"
        if self.state == "success":
            return "once" if self.deliveries == 1 else "silent loss"
        if self.deliveries == 1 and self.message.startswith("Nothing was sent"):
            return "silent loss"  # it went out, and the task says it did not
        return "clear failure" if any(p in self.message for p in CLEAR) else "unclear failure"


# -- the two ways of running one delivery ---------------------------------------------------------
class _DictStore(dict):  # type: ignore[type-arg]
    def set(self, key: str, value: Any) -> None:
        self[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.pop(key, None)


class _TI:
    def __init__(self, run_id: str, try_number: int) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index = "fault_campaign", run_id, "deliver", -1
        self.try_number = try_number

    def xcom_push(self, key: str, value: Any) -> None:
        pass


_local = threading.local()


def _store() -> Any:
    return getattr(_local, "store", None)


def _conn(url: str, api: str, timeout: float) -> dict[str, Any]:
    from airflow_provider_infakt.testing import connection_for

    version, _, fmt = api.partition("-")
    conn = connection_for(url, api_version=version, format=fmt or "json")
    conn.setdefault("extra", {})["timeout"] = timeout
    return conn


def run_fast(emu: Any, proxy: Any, conn_id: str, kind: str, api: str, rng: random.Random) -> Outcome:
    """One run with the operator's ``execute`` in Airflow's retry loop (``retries=3``)."""
    from airflow_provider_infakt._compat import AirflowException, AirflowFailException
    from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

    invoice = emu.create_invoice(status="draft", client_email="ksiegowosc@klient.example")["id"]
    plan = KINDS[kind][0](emu, proxy, api, invoice, rng)
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(_conn(proxy.url, api, plan.client_timeout))
    from _campaign_dags import IN_FLIGHT_WINDOW

    task = InfaktDeliverInvoiceOperator(
        task_id="deliver", invoice_id=invoice, infakt_conn_id=conn_id, in_flight_window=IN_FLIGHT_WINDOW
    )
    _local.store = _DictStore()
    state, message = "failed", ""
    for try_number in range(1, 5):
        try:
            task.execute({"ti": _TI(f"run-{invoice}", try_number)})
            state = "success"
            break
        except AirflowFailException as exc:
            message = str(exc)
            break
        except AirflowException as exc:
            message = str(exc)
            if try_number < 4 and plan.between is not None:
                plan.between()
        except Exception as exc:  # an internal error reaching the user: never clear
            message = f"internal {type(exc).__name__}: {exc}"
            break
    return _finish(emu, proxy, kind, api, "fast", state, message, invoice, plan)


def _finish(
    emu: Any, proxy: Any, kind: str, api: str, path: str, state: str, message: str, invoice: int, plan: Plan
) -> Outcome:
    time.sleep(plan.settle)
    emu.defer_sending(None)
    emu.clear_faults()
    proxy.clear_faults()
    deliveries = sum(1 for d in emu.deliveries if d.invoice_id == invoice)
    return Outcome(kind, api, path, state, deliveries, message)


def run_airflow(emu: Any, proxy: Any, kind: str, api: str, rng: random.Random) -> Outcome:
    """One run through real Airflow retries: ``dag.test()`` of the campaign's DAG."""
    import _campaign_dags

    invoice = emu.create_invoice(status="draft", client_email="ksiegowosc@klient.example")["id"]
    plan = KINDS[kind][0](emu, proxy, api, invoice, rng)
    os.environ["AIRFLOW_CONN_INFAKT_CAMPAIGN"] = json.dumps(_conn(proxy.url, api, plan.client_timeout))
    _campaign_dags.STATE.update(between=plan.between, failure=None)
    dag_id = "infakt_fault_campaign_timeout" if plan.timeout_dag else "infakt_fault_campaign"
    dag = _airflow_dags()[dag_id]
    try:
        dagrun = dag.test(run_conf={"invoice_id": invoice, "conn_id": "infakt_campaign"})
        state = str(getattr(dagrun.state, "value", dagrun.state))
    finally:
        _campaign_dags.STATE.update(between=None)
    return _finish(emu, proxy, kind, api, "airflow", state, _campaign_dags.STATE["failure"] or "", invoice, plan)


_dags: dict[str, Any] = {}


def _airflow_dags() -> dict[str, Any]:
    """The campaign's DAGs, with their file in the DAGs folder (Airflow must find them serialized)."""
    if not _dags:
        import _campaign_dags

        folder = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        (folder / "infakt_fault_campaign.py").write_text(
            "# The airflow DAGs of benchmarks/fault_campaign.py (safe-mode discovery wants both words).\n"
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
            "from _campaign_dags import build\n\nglobals().update(build())\n"
        )
        _dags.update(_campaign_dags.build())
    return _dags


# -- the campaign ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _servers() -> Iterator[tuple[Any, Any]]:
    from airflow_provider_infakt.testing import FaultProxy, InfaktEmulator

    with InfaktEmulator() as emu, FaultProxy(emu.url) as proxy:
        yield emu, proxy


def _draw(rng: random.Random, airflow: bool) -> tuple[str, str]:
    kinds = [k for k in KINDS if airflow or KINDS[k][0] is not _beyond_execution_timeout]
    return _with_api(rng, kinds[rng.randrange(len(kinds))])


def _with_api(rng: random.Random, kind: str) -> tuple[str, str]:
    apis = KINDS[kind][1]
    return kind, apis[rng.randrange(len(apis))]


def campaign(runs: int, airflow_runs: int, seed: int, workers: int = 6, every_kind: bool = False) -> list[Outcome]:
    """``runs`` seeded runs in all, ``airflow_runs`` of them through real Airflow retries; with
    ``every_kind``, the fast runs take the fault kinds in turn (each at least once when ``runs`` allows)
    instead of drawing them."""
    from airflow_provider_infakt import _compat

    rng = random.Random(seed)
    fast_kinds = [k for k in KINDS if KINDS[k][0] is not _beyond_execution_timeout]
    fast = [
        (_draw(rng, False) if not every_kind else _with_api(rng, fast_kinds[n % len(fast_kinds)]), rng.randrange(2**32))
        for n in range(max(0, runs - airflow_runs))
    ]
    slow = [(_draw(rng, True), rng.randrange(2**32)) for _ in range(airflow_runs)]
    outcomes: list[Outcome] = []

    real_store = _compat.ledger_store
    _compat.ledger_store = _store  # the fast runs' ledger: a dictionary per run
    safeguard = _executor_safeguard()
    was = safeguard.test_mode if safeguard else None
    if safeguard:
        safeguard.test_mode = True  # fast runs call execute() as the task runner would; no warning each time
    try:
        chunks = [fast[i::workers] for i in range(workers)]

        def work(index: int) -> list[Outcome]:
            done = []
            with _servers() as (emu, proxy):
                for (kind, api), run_seed in chunks[index]:
                    done.append(run_fast(emu, proxy, f"infakt_campaign_{index}", kind, api, random.Random(run_seed)))
            return done

        with ThreadPoolExecutor(workers) as pool:
            for done in pool.map(work, range(workers)):
                outcomes.extend(done)
    finally:
        _compat.ledger_store = real_store
        if safeguard:
            safeguard.test_mode = was
    if slow:
        with _servers() as (emu, proxy):
            for (kind, api), run_seed in slow:
                outcomes.append(run_airflow(emu, proxy, kind, api, random.Random(run_seed)))
    return outcomes


def _executor_safeguard() -> Any:
    try:  # Airflow 3
        from airflow.sdk.bases.operator import ExecutorSafeguard
    except ImportError:  # Airflow 2 warns only in its own tests
        return None
    return ExecutorSafeguard


COLUMNS = ("once", "duplicate", "silent loss", "clear failure", "unclear failure")


def table(outcomes: list[Outcome]) -> str:
    """The per-kind table, with totals."""
    rows: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        rows[o.kind][o.verdict] += 1
        rows[o.kind]["runs"] += 1
        rows[o.kind]["airflow"] += o.path == "airflow"
    total: collections.Counter[str] = collections.Counter()
    for counts in rows.values():
        total.update(counts)
    head = ["fault kind", "runs", "via Airflow", "delivered once", "duplicates", "silent losses", "clear failures"]
    head.append("unclear failures")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, counts in [*sorted(rows.items()), ("**all**", total)]:
        cells = [name, str(counts["runs"]), str(counts["airflow"]), *(str(counts[c]) for c in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _airflow_home() -> None:
    """A throw-away AIRFLOW_HOME with a SQLite database, unless the caller (pytest) set one up."""
    if "AIRFLOW__CORE__DAGS_FOLDER" in os.environ:
        return
    import subprocess

    home = pathlib.Path(tempfile.mkdtemp(prefix="infakt-campaign-"))
    (home / "dags").mkdir()
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )
    airflow = pathlib.Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs in all (default 1000)")
    parser.add_argument("--airflow-runs", type=int, default=200, help="of them through dag.test() (default 200)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--workers", type=int, default=6, help="fast runs at once (default 6)")
    parser.add_argument("--show", type=int, default=5, help="print this many runs that went wrong")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    _airflow_home()
    import logging

    logging.disable(logging.WARNING)  # a fault campaign is noisy by design
    started = time.monotonic()
    outcomes = campaign(args.runs, args.airflow_runs, args.seed, args.workers)
    logging.disable(logging.NOTSET)
    print(f"Fault campaign: {len(outcomes)} runs (seed {args.seed}) in {time.monotonic() - started:.0f} s\n")
    print(table(outcomes))
    bad = [o for o in outcomes if o.verdict not in ("once", "clear failure")]
    for o in bad[: args.show]:
        print(f"\n{o.verdict}: {o.kind} / {o.api} / {o.path}: state {o.state}, {o.deliveries} deliveries: {o.message}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
