"""N deferred sensors waiting in one event loop, as in a triggerer: ours next to providers-http's.

For each kind of trigger this runs, in a fresh process, N triggers (default 1,000) that all wait on
the inFakt emulator (which runs in a process of its own), plus a heartbeat that measures how late the
event loop wakes it. It prints, side by side:

- the longest event-loop stall and the 99th percentile (how late a 10 ms heartbeat woke up);
- the memory each waiting trigger costs (growth of the process's resident memory / N);
- the requests per second the emulator served while the triggers waited.

``infakt``: :class:`InfaktInvoiceTrigger` waiting for invoice 1 (a draft) to be paid, reading
``GET /api/v3/invoices/1.json``. ``http``: providers-http's ``HttpSensorTrigger`` polling the same
route (``GET /api/v3/invoices/999.json``: a 404 keeps it waiting, as a draft keeps ours), installed
for the benchmark only (``make bench`` does it).

    .venv/bin/python benchmarks/trigger_scale.py [--triggers 1000] [--poke-interval 5] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

KINDS = ("infakt", "http")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _make_trigger(kind: str, poke_interval: float, key: str) -> Any:
    if kind == "infakt":
        from airflow_provider_infakt.triggers.invoice import InfaktInvoiceTrigger

        return InfaktInvoiceTrigger(1, ["paid"], infakt_conn_id="infakt_default", poke_interval=poke_interval)
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    return HttpSensorTrigger(
        endpoint="api/v3/invoices/999.json",
        http_conn_id="http_emulator",
        method="GET",
        headers={"X-inFakt-ApiKey": key},
        poke_interval=poke_interval,
    )


async def _measure(kind: str, count: int, poke_interval: float, seconds: float, key: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    lateness: list[float] = []
    steady: list[float] = []  # after the first poke interval: the start-up burst is over
    stop = asyncio.Event()

    steady_from = 0.0

    async def heartbeat() -> None:
        while not stop.is_set():
            started = loop.time()
            await asyncio.sleep(0.01)
            lateness.append(loop.time() - started - 0.01)
            if started >= steady_from:
                steady.append(lateness[-1])

    async def drive(trigger: Any) -> None:
        async for _event in trigger.run():
            return  # a waiting trigger yields no event; one that does is done

    # Warm up: one trigger, so that one-time imports and the first connection lookup are not counted.
    warm = asyncio.create_task(drive(_make_trigger(kind, poke_interval, key)))
    await asyncio.sleep(1.0)
    warm.cancel()
    baseline = _rss_bytes()
    steady_from = loop.time() + poke_interval * 1.5
    beat = asyncio.create_task(heartbeat())
    tasks = [asyncio.create_task(drive(_make_trigger(kind, poke_interval, key))) for _ in range(count)]
    window_start = time.time()
    await asyncio.sleep(seconds)
    waiting_rss = _rss_bytes()
    window_end = time.time()
    finished = sum(1 for t in tasks if t.done())
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await beat
    lateness.sort()
    steady.sort()
    return {
        "kind": kind,
        "triggers": count,
        "still_waiting": count - finished,
        "max_stall_ms": lateness[-1] * 1000,
        "p99_stall_ms": lateness[int(len(lateness) * 0.99)] * 1000,
        "median_stall_ms": statistics.median(lateness) * 1000,
        "steady_max_stall_ms": steady[-1] * 1000,
        "steady_p99_stall_ms": steady[int(len(steady) * 0.99)] * 1000,
        "memory_per_trigger_kib": (waiting_rss - baseline) / count / 1024,
        "window": [window_start, window_end],
    }


def _child(args: argparse.Namespace) -> int:
    result = asyncio.run(_measure(args.child, args.triggers, args.poke_interval, args.seconds, args.key))
    print(json.dumps(result))
    return 0


def _admin(url: str, path: str, data: bytes | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the emulator on loopback
        f"{url}/_emulator/{path}", data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
        return json.load(response)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--poke-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to measure each kind")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    from airflow_provider_infakt.testing import connection_json, credentials

    bin_dir = os.path.dirname(sys.executable)
    emulator = subprocess.Popen(
        [os.path.join(bin_dir, "infakt-emulator"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        url = emulator.stdout.readline().strip()
        home = tempfile.mkdtemp(prefix="infakt-trigger-bench-")
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_INFAKT_DEFAULT": connection_json(url, api_version="v3"),
            "AIRFLOW_CONN_HTTP_EMULATOR": json.dumps({"conn_type": "http", "host": url}),
        }
        results = []
        for kind in args.kinds.split(","):
            if kind == "http":
                try:
                    import airflow.providers.http.triggers.http  # noqa: F401
                except ImportError:
                    print("providers-http is not installed: `make bench` installs it for the benchmark")
                    continue
            _admin(url, "reset", b"{}")
            command = [
                sys.executable,
                __file__,
                "--child",
                kind,
                "--triggers",
                str(args.triggers),
                "--poke-interval",
                str(args.poke_interval),
                "--seconds",
                str(args.seconds),
                "--key",
                credentials.API_KEY,
            ]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            start, end = result["window"]
            served = [r for r in _admin(url, "requests")["requests"] if start <= r["time"] <= end]
            result["requests_per_second"] = len(served) / (end - start)
            result["answered"] = sorted({str(r["status"]) for r in served})
            results.append(result)
    finally:
        emulator.terminate()
        emulator.wait(10)

    print(
        f"{args.triggers} triggers waiting in one event loop, poke interval {args.poke_interval:g} s, "
        f"measured for {args.seconds:g} s each, emulator in its own process"
    )
    rows = [
        ("trigger", lambda r: "InfaktInvoiceTrigger" if r["kind"] == "infakt" else "HttpSensorTrigger"),
        ("still waiting at the end", lambda r: f"{r['still_waiting']} / {r['triggers']}"),
        ("longest event-loop stall (ms)", lambda r: f"{r['max_stall_ms']:.1f}"),
        ("  after the start-up burst (ms)", lambda r: f"{r['steady_max_stall_ms']:.1f}"),
        ("99th percentile stall (ms)", lambda r: f"{r['p99_stall_ms']:.1f}"),
        ("  after the start-up burst (ms)", lambda r: f"{r['steady_p99_stall_ms']:.1f}"),
        ("median stall (ms)", lambda r: f"{r['median_stall_ms']:.2f}"),
        ("memory per waiting trigger (KiB)", lambda r: f"{r['memory_per_trigger_kib']:.1f}"),
        ("requests/s the emulator served", lambda r: f"{r['requests_per_second']:.1f}"),
        ("statuses answered", lambda r: ",".join(r["answered"])),
    ]
    for label, cell in rows:
        print(f"{label:<34}" + "".join(f"{cell(r):>24}" for r in results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
