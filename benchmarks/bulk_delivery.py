"""Month-end bulk delivery: InfaktBulkDeliverInvoicesOperator against the mapped single operator, on a
real Airflow (``dag.test()``), against the inFakt emulator in its own process with inFakt's limits on.

What it sets up:

- the emulator (``infakt-emulator --port 0 --limits --time-scale S``) in its own process, its limits at
  inFakt's numbers (150 non-GET and 300 GET requests a minute) on its clock, where a minute lasts
  ``60 / S`` real seconds; every API request is delayed by ``--latency`` (a fault on route ``*``);
- N draft invoices, each to a client with an e-mail address (``POST /_emulator/invoices``);
- the ``infakt_default`` connection with ``extra.rate_limit`` on the emulator's clock: the client cannot
  know the time scale, so it is told limits S times inFakt's, and its burst is kept at inFakt's numbers
  (3 and 6), so that it runs inFakt's own schedule S times faster (``--plain-scaling``: 150*S and 300*S
  with the burst 2 % of that, as ``make demo`` does; see :func:`client_limits` for why that lets 429s in);
- per variant, a worker process with its own throw-away AIRFLOW_HOME (SQLite, ``airflow db migrate``)
  that runs one DAG with ``dag.test()``:

  * ``bulk``: one ``InfaktBulkDeliverInvoicesOperator`` task for all N invoices;
  * ``mapped``: ``InfaktDeliverInvoiceOperator.partial(pool="infakt").expand(invoice_id=...)`` with a
    4-slot pool, as a careful user would. ``dag.test()`` runs task instances one after the other in one
    process (the pool is declared but never has more than one task running), so this is the mapped
    variant's best case for 429s: in a deployment, parallel workers each keep their own limiter.

Figures per variant: wall time, deliveries per emulated minute against the allowed 150 (over the span
from the first delivery request to the last, as the emulator recorded them), 429s the emulator
answered, invoices delivered twice, invoices delivered out of N, and the delivery ledger in the asset
state store at the end (bytes of keys and values, keys). Then where each invoice's time went.

Why the default time scale is 2 (an emulated minute of 30 s), not 30: the time scale compresses only
the emulator's clock. The added latency, the ledger's writes to Airflow's database and Python's own
work take real time per invoice, about 150 ms with 50 ms latency (status read 57 ms, delivery 57 ms,
three ledger calls 38 ms), and the bulk operator sends one invoice after the other. inFakt's limit
allows one delivery every 0.4 s of its clock; at time scale S that is ``400 / S`` real ms: 200 ms at
S=2, 13 ms at S=30. So at S=30 each invoice costs ten times the allowed spacing and the run measures
the latency, not the pacing (ratio about 0.09); at S=2 the pacing is what limits, as at inFakt's real
clock. N=3,000 then takes about 10 real minutes. The "where the time went" lines show the figures.

Usage::

    python benchmarks/bulk_delivery.py                      # N=3000 bulk, 200 mapped, S=2, 50 ms
    python benchmarks/bulk_delivery.py --n 1000 --skip-mapped --time-scale 30
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

HERE = pathlib.Path(__file__).resolve()
BIN = pathlib.Path(sys.executable).parent
#: inFakt's documented limits, a minute per source IP.
OTHER_PER_MINUTE = 150
GET_PER_MINUTE = 300
#: Slots of the pool the mapped variant runs in.
POOL_SLOTS = 4
#: The DAG file the workers write into their DAGs folder (safe-mode discovery wants "airflow" and "dag").
DAG_FILE = '''"""The airflow DAGs of benchmarks/bulk_delivery.py: the ids come from $INFAKT_BENCH_IDS."""
import datetime
import json
import os

try:
    from airflow.sdk import DAG
except ImportError:
    from airflow import DAG

from airflow_provider_infakt.operators.bulk import InfaktBulkDeliverInvoicesOperator
from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator

with open(os.environ["INFAKT_BENCH_IDS"]) as f:
    IDS = json.load(f)
START = datetime.datetime(2026, 1, 1)

with DAG(dag_id="bench_bulk", schedule=None, start_date=START, catchup=False) as bulk:
    InfaktBulkDeliverInvoicesOperator(task_id="deliver_all", invoice_ids=IDS, type="mail", doc_type="org")

with DAG(dag_id="bench_mapped", schedule=None, start_date=START, catchup=False) as mapped:
    InfaktDeliverInvoiceOperator.partial(task_id="deliver", pool="infakt", type="mail", doc_type="org").expand(
        invoice_id=IDS
    )
'''


# -- the emulator, over its admin API -------------------------------------------------------------
def _call(url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/_emulator/{path}",
        data=data,
        method=method or ("GET" if data is None else "POST"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return json.load(response)


@contextlib.contextmanager
def emulator(time_scale: float) -> Iterator[str]:
    """The emulator in its own process, limits on at inFakt's numbers; its URL."""
    process = subprocess.Popen(
        [str(BIN / "infakt-emulator"), "--port", "0", "--limits", "--time-scale", str(time_scale)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the inFakt emulator did not start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def prepare(url: str, n: int, time_scale: float, latency: float) -> list[int]:
    """Reset the emulator, add ``n`` drafts with addresses, set the limits and arm the latency; the ids."""
    _call(url, "reset", {})
    _call(
        url,
        "limits",
        {
            "enabled": True,
            "time_scale": time_scale,
            "get_per_minute": GET_PER_MINUTE,
            "other_per_minute": OTHER_PER_MINUTE,
        },
    )
    _call(url, "account", {"paid": True, "reset_daily_quota": True})  # 3,000 e-mails a day
    ids = [
        _call(url, "invoices", {"client_name": f"Klient {k} Sp. z o.o.", "client_email": f"faktury{k}@klient.example"})[
            "id"
        ]
        for k in range(1, n + 1)
    ]
    if latency > 0:
        _call(url, "faults", {"route": "*", "latency": latency, "times": None})
    return ids


# -- one variant, in a worker process -------------------------------------------------------------
def run_variant(
    url: str, variant: str, ids: list[int], time_scale: float, log_dir: pathlib.Path, plain: bool
) -> dict[str, Any]:
    """Run ``variant`` in a worker process on ``ids``; what it measured and what the emulator saw."""
    ids_file = log_dir / f"{variant}-ids.json"
    ids_file.write_text(json.dumps(ids))
    result_file = log_dir / f"{variant}-result.json"
    log = log_dir / f"{variant}.log"
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(
            [
                sys.executable,
                str(HERE),
                "--worker",
                variant,
                "--url",
                url,
                "--ids-file",
                str(ids_file),
                "--result-file",
                str(result_file),
                "--time-scale",
                str(time_scale),
                *(["--plain-scaling"] if plain else []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    process_seconds = time.monotonic() - started
    _call(url, "faults", method="DELETE")
    worker = json.loads(result_file.read_text()) if result_file.exists() else {}
    requests = _call(url, "requests")["requests"]
    deliveries = _call(url, "deliveries")["deliveries"]
    (log_dir / f"{variant}-requests.json").write_text(json.dumps(requests))
    counts = collections.Counter(d["invoice_id"] for d in deliveries)
    wanted = set(ids)
    delivers = [r for r in requests if "deliver" in r["route"] and r["status"] is not None]
    times = sorted(r["time"] for r in delivers)
    emulated_minutes = (times[-1] - times[0]) * time_scale / 60 if len(times) > 1 else 0.0
    rate = (len(times) - 1) / emulated_minutes if emulated_minutes > 0 else 0.0
    return {
        "variant": variant,
        "n": len(ids),
        "exit": code,
        "log": str(log),
        "process_seconds": process_seconds,
        "wall": worker.get("wall"),
        "state": worker.get("state"),
        "rate": rate,
        "span": times[-1] - times[0] if len(times) > 1 else 0.0,
        "requests_429": sum(1 for r in requests if r["status"] == 429),
        "get_requests": sum(1 for r in requests if r["method"] == "GET"),
        "deliver_requests": len(delivers),
        "duplicates": sum(1 for c in counts.values() if c > 1),
        "delivered": len(wanted & set(counts)),
        "ledger_bytes": worker.get("ledger_bytes"),
        "ledger_keys": worker.get("ledger_keys"),
        "ledger_largest": worker.get("ledger_largest"),
        "timings": worker.get("timings", {}),
        "cycle": _cycle(requests),
    }


def _cycle(requests: list[dict[str, Any]]) -> dict[str, float]:
    """Mean real seconds between consecutive delivery requests, and between a delivery request and the
    next status read (ledger writes and Airflow between invoices), as the emulator received them."""
    delivers = [r["time"] for r in requests if "deliver" in r["route"]]
    gaps = [b - a for a, b in itertools.pairwise(delivers)]
    after = []
    for before, nxt in itertools.pairwise(requests):
        if "deliver" in before["route"] and nxt["method"] == "GET":
            after.append(nxt["time"] - before["time"])
    return {
        "deliver_gap_mean": statistics.fmean(gaps) if gaps else 0.0,
        "deliver_gap_median": statistics.median(gaps) if gaps else 0.0,
        "deliver_to_next_read_mean": statistics.fmean(after) if after else 0.0,
    }


def client_limits(time_scale: float, plain: bool) -> dict[str, tuple[int, int]]:
    """The client's per-minute limits (a real minute) and bursts, GET and other, for the emulator's clock.

    The client's limiter spaces requests ``(60 + 1) / (N - burst + 1)`` s apart, after a burst of 2 % of
    N (see ``api/ratelimit.py``). Multiplying N by the time scale S (``plain``) also multiplies the burst
    by S, so the worst emulated minute holds ``S * burst + 145`` requests: 151 at S=2, 175 at S=10, more
    than the 150 the emulator allows. Otherwise the client runs inFakt's own schedule S times faster:
    the burst of inFakt's numbers (3 and 6) and N such that ``N - burst + 1`` is S times inFakt's.
    """
    out = {}
    for name, per_minute in (("GET", GET_PER_MINUTE), ("other", OTHER_PER_MINUTE)):
        burst = max(1, per_minute // 50)
        if plain:
            out[name] = (round(per_minute * time_scale), max(1, round(per_minute * time_scale) // 50))
        else:
            out[name] = (round((per_minute - burst + 1) * time_scale) + burst - 1, burst)
    return out


def worker(args: argparse.Namespace) -> int:
    """In a fresh process: a throw-away Airflow, the DAG, ``dag.test()``; the figures to ``--result-file``."""
    home = pathlib.Path(tempfile.mkdtemp(prefix=f"infakt-bench-{args.worker}-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "infakt_bench_dags.py").write_text(DAG_FILE)
    from airflow_provider_infakt.testing import connection_json
    from airflow_provider_infakt.testing.dagrun import isolate_airflow_home

    isolate_airflow_home(home)
    connection = json.loads(connection_json(args.url))
    limits = client_limits(args.time_scale, args.plain_scaling)
    connection["extra"]["rate_limit"] = {"get_per_minute": limits["GET"][0], "other_per_minute": limits["other"][0]}
    if not args.plain_scaling:
        from airflow_provider_infakt.api import ratelimit

        bursts = {per_minute: burst for per_minute, burst in limits.values()}
        scaled = ratelimit.default_burst
        ratelimit.default_burst = lambda per_minute: bursts.get(per_minute) or scaled(per_minute)
    os.environ.update(
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW_CONN_INFAKT_DEFAULT=json.dumps(connection),
        INFAKT_BENCH_IDS=args.ids_file,
    )
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], check=True, capture_output=True)
    subprocess.run([*airflow, "pools", "set", "infakt", str(POOL_SLOTS), "inFakt"], check=True, capture_output=True)
    timings = _instrument()
    from airflow_provider_infakt.testing.dagrun import load_dag, run_dag

    dag = load_dag(dags / "infakt_bench_dags.py", f"bench_{args.worker}")
    started = time.monotonic()
    result = run_dag(dag)
    wall = time.monotonic() - started
    ledger = _ledger_size()
    pathlib.Path(args.result_file).write_text(
        json.dumps(
            {
                "wall": wall,
                "state": result.state,
                **ledger,
                "timings": {name: [count, total] for name, (count, total) in timings.items()},
            }
        )
    )
    print(f"run {result.run_id}: {result.state} in {wall:.1f} s; ledger {ledger}", flush=True)
    return 0


def _instrument() -> dict[str, list[float]]:
    """Time the calls a delivery makes (in this process: ``dag.test()`` runs tasks in it): the ledger's
    read and writes, the status read and the delivery request, and the limiter's waits."""
    from airflow_provider_infakt.api.client import InfaktClient
    from airflow_provider_infakt.api.ratelimit import RateLimiter
    from airflow_provider_infakt.ledger import Ledger

    timings: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def timed(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                entry = timings[label]
                entry[0] += 1
                entry[1] += time.perf_counter() - start

        setattr(owner, name, wrapper)

    timed(Ledger, "read", "ledger read")
    timed(Ledger, "mark_sending", "ledger write 'sending'")
    timed(Ledger, "mark_sent", "ledger write 'sent'")
    timed(InfaktClient, "get_invoice", "status read (GET, incl. limiter wait)")
    timed(InfaktClient, "deliver_invoice", "delivery (POST, incl. limiter wait)")
    original_reserve = RateLimiter.reserve

    def reserve(self: RateLimiter, method: str) -> float:
        wait = original_reserve(self, method)
        entry = timings[f"limiter wait, {'GET' if method.upper() in ('GET', 'HEAD') else 'POST'}"]
        entry[0] += 1
        entry[1] += wait
        return wait

    RateLimiter.reserve = reserve  # type: ignore[method-assign]
    return timings


def _ledger_size() -> dict[str, Any]:
    """The delivery ledger in the asset state store: keys, bytes of keys and values, the largest value."""
    try:
        from airflow.models.asset_state_store import AssetStateStoreModel
    except ImportError:  # before Airflow 3.3: no store, no ledger
        return {"ledger_bytes": None, "ledger_keys": None, "ledger_largest": None}
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from airflow_provider_infakt.ledger import KEY_PREFIX

    with create_session() as session:
        rows = session.execute(
            select(AssetStateStoreModel.key, AssetStateStoreModel.value).where(
                AssetStateStoreModel.key.startswith(KEY_PREFIX)
            )
        ).all()
    sizes = [len(key.encode()) + len(value.encode()) for key, value in rows]
    return {"ledger_bytes": sum(sizes), "ledger_keys": len(rows), "ledger_largest": max(sizes, default=0)}


# -- the report -----------------------------------------------------------------------------------
def _fmt(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]], allowed: int) -> str:
    """One row per variant."""
    head = [
        "variant",
        "N",
        "wall s",
        "deliv/emu-min",
        "allowed",
        "ratio",
        "429s",
        "dupl.",
        "delivered/N",
        "ledger bytes",
        "ledger keys",
    ]
    lines = [head]
    for r in rows:
        lines.append(
            [
                r["label"],
                str(r["n"]),
                _fmt(r["wall"], ".1f"),
                f"{r['rate']:.1f}",
                str(allowed),
                f"{r['rate'] / allowed:.3f}",
                str(r["requests_429"]),
                str(r["duplicates"]),
                f"{r['delivered']}/{r['n']}",
                _fmt(r["ledger_bytes"], ","),
                _fmt(r["ledger_keys"]),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [
        "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
        for line in lines
    ]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def breakdown(r: dict[str, Any], time_scale: float) -> list[str]:
    """Where one invoice's time went, per invoice, in real milliseconds."""
    n = max(1, r["delivered"])
    spacing = 60.0 / (OTHER_PER_MINUTE * time_scale)
    lines = [
        f"  {r['label']}: per invoice, real ms (the limit allows one delivery every {spacing * 1000:.1f} ms "
        f"real = {60 / OTHER_PER_MINUTE:.2f} s emulated):",
        f"    wall / delivered                       {r['wall'] / n * 1000 if r['wall'] else 0:8.1f}",
        f"    between delivery requests (emulator)   {r['cycle']['deliver_gap_mean'] * 1000:8.1f} mean, "
        f"{r['cycle']['deliver_gap_median'] * 1000:.1f} median",
        f"    a delivery's arrival -> next status read {r['cycle']['deliver_to_next_read_mean'] * 1000:6.1f}",
    ]
    for name, (count, total) in sorted(r["timings"].items()):
        lines.append(f"    {name:<38} {total / n * 1000:8.1f}  ({int(count)} calls, {total:.1f} s)")
    return lines


def _in_task_ms(r: dict[str, Any]) -> float:
    """Real ms per invoice spent in the ledger and HTTP calls (limiter waits included in the calls)."""
    n = max(1, int(r["delivered"]))
    spent = sum(float(total) for name, (_, total) in r["timings"].items() if not name.startswith("limiter"))
    return spent / n * 1000


def extrapolation(r: dict[str, Any], n: int, time_scale: float) -> list[str]:
    """The mapped variant's figures for ``n`` invoices, from its run on fewer: clearly an extrapolation."""
    gap = r["span"] / (r["delivered"] - 1) if r["delivered"] > 1 else r["span"]
    fixed = r["wall"] - r["span"]
    airflow_ms = gap * 1000 - _in_task_ms(r)
    spacing = 60.0 / (OTHER_PER_MINUTE * time_scale)
    return [
        f"EXTRAPOLATION (mapped, measured on N={r['n']}, not run on N={n}):",
        f"  {gap * 1000:.0f} ms real between two invoices' deliveries under dag.test(), of which ~{airflow_ms:.0f} ms "
        f"is Airflow's per task instance (the rest: status read, delivery, ledger), plus {fixed:.0f} s fixed;",
        f"  N={n} would take about {(fixed + gap * n) / 60:.1f} real minutes here, at "
        f"{min(60 / gap, 60 / spacing) / time_scale:.0f} deliveries an emulated minute "
        f"(ratio {min(1.0, spacing / gap):.2f});",
        f"  at inFakt's real clock (time scale 1, one delivery every {60 / OTHER_PER_MINUTE:.1f} s allowed) "
        f"dag.test()'s {gap:.2f} s per invoice {'fits in' if gap <= 60 / OTHER_PER_MINUTE else 'exceeds'} "
        "the limit's spacing.",
        "  dag.test() runs one task instance at a time, in one process (one limiter): the pool's "
        f"{POOL_SLOTS} slots were never all used. A deployment's scheduler and workers cost seconds per task "
        "instance, not this; and there the pool's parallel tasks run in separate processes, each with its own "
        f"limiter, which together may send up to {POOL_SLOTS}x the limit.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="invoices for the bulk operator (default 3000)")
    parser.add_argument(
        "--mapped-n", type=int, default=200, help="invoices for the mapped operator (default 200; extrapolated to N)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=2.0,
        help="emulated minutes per real minute (default 2: see the module's docstring for why not 30)",
    )
    parser.add_argument("--latency", type=float, default=0.05, help="real seconds added to every API request")
    parser.add_argument(
        "--plain-scaling",
        action="store_true",
        help="the client's limits times the time scale, burst and all (see client_limits)",
    )
    parser.add_argument("--skip-mapped", action="store_true", help="run the bulk operator only")
    parser.add_argument("--skip-bulk", action="store_true", help="run the mapped operator only")
    parser.add_argument("--worker", choices=("bulk", "mapped"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.n < 2 or args.mapped_n < 2 or args.time_scale <= 0 or args.latency < 0:
        parser.error("--n and --mapped-n must be at least 2, --time-scale positive, --latency zero or more")
    scale = args.time_scale
    limits = client_limits(scale, args.plain_scaling)
    log_dir = pathlib.Path(tempfile.mkdtemp(prefix="infakt-bench-bulk-"))
    print(
        f"inFakt emulator in its own process: limits on ({OTHER_PER_MINUTE} non-GET, {GET_PER_MINUTE} GET a "
        f"minute), time scale {scale:g} (an emulated minute lasts {60 / scale:.2f} s), +{args.latency * 1000:.0f} ms "
        "on every API request.\n"
        "The client cannot know the time scale, so it is told the limits on the emulator's clock: the connection's "
        f"extra.rate_limit is other_per_minute={limits['other'][0]}, get_per_minute={limits['GET'][0]} a real "
        f"minute, bursts {limits['other'][1]} and {limits['GET'][1]} ("
        + (
            f"inFakt's limits times {scale:g}, burst 2 % of that)"
            if args.plain_scaling
            else f"inFakt's own schedule run {scale:g}x faster: steady spacing divided by {scale:g}, burst as at "
            "inFakt's numbers; the benchmark sets the burst in its worker)"
        )
        + ".\n"
        f"Airflow runs: dag.test() in a worker process each, SQLite; logs in {log_dir}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    with emulator(scale) as url:
        plan = ([] if args.skip_bulk else [("bulk", args.n)]) + (
            [] if args.skip_mapped else [("mapped", args.mapped_n)]
        )
        for variant, n in plan:
            print(f"\n{variant}: seeding {n} draft invoices ...", flush=True)
            ids = prepare(url, n, scale, args.latency)
            print(f"{variant}: running dag.test() ...", flush=True)
            row = run_variant(url, variant, ids, scale, log_dir, args.plain_scaling)
            row["label"] = "bulk operator" if variant == "bulk" else f"mapped, pool {POOL_SLOTS}"
            print(
                f"{variant}: DAG run {row['state']} (worker exit {row['exit']}), {row['delivered']}/{n} delivered, "
                f"{row['process_seconds']:.0f} s with Airflow's set-up",
                flush=True,
            )
            rows.append(row)
    print("\n" + table(rows, OTHER_PER_MINUTE))
    print(
        "\ndeliv/emu-min: delivery requests per emulated minute, from the first delivery request to the last "
        "as the emulator received them; wall s: dag.test() of the DAG (without Airflow's set-up).\n"
        "ledger: keys under infakt-delivery/v1/ in the asset state store at the end, bytes of keys and values."
    )
    for r in rows:
        if r["variant"] == "mapped" and r["wall"] and r["span"] > 0:
            print("\n" + "\n".join(extrapolation(r, args.n, scale)))
    print("\nWhere each invoice's time went (real ms; figures from inside the worker and from the emulator's log):")
    for r in rows:
        for line in breakdown(r, scale):
            print(line)
    bulk = next((r for r in rows if r["variant"] == "bulk"), None)
    if bulk is not None:
        ok = (
            bulk["rate"] / OTHER_PER_MINUTE >= 0.95
            and bulk["requests_429"] == 0
            and bulk["duplicates"] == 0
            and bulk["delivered"] == bulk["n"]
        )
        print(f"\nbulk done-when (ratio >= 0.95, no 429, no duplicate, all delivered): {'MET' if ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
