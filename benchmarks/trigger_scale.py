"""Many deferred sensors waiting in one triggerer: ours next to providers-http's (A), and waiting on a
month's invoices with one set trigger or one trigger per invoice (B).

Every case runs in a fresh process against the inFakt emulator, which runs in a process of its own
with inFakt's request limits on (300 GET requests a minute per source IP). A heartbeat measures how
late the event loop wakes it (a 10 ms sleep): the longest stall and the 99th percentile.

A. ``--triggers`` (1,000) triggers poll every ``--poke-interval`` (5 s):

- ``InfaktInvoiceTrigger`` waiting for invoice 1 (a draft) to be paid (``GET /api/v3/invoices/1.json``);
- providers-http's ``HttpSensorTrigger`` polling ``GET /api/v3/invoices/999.json`` (a 404 keeps it
  waiting, as a draft keeps ours), installed for the benchmark only (``make bench`` does it).

each started in two ways: all at once (one loop step creates every task), and as Airflow 3.3's
triggerer starts them (``TriggerRunner.create_triggers``: for each trigger ``await asyncio.sleep(0)``,
load the class, ``await asyncio.sleep(0)``, build it from its serialized kwargs, create its task,
whose first step is ``greenback.ensure_portal()``). Figures: longest stall during start-up (the first
1.5 poke intervals after the last task was created) and after it, each with its CPU-bound part (the
CPU time the loop's thread used during that stall: the rest is other processes on the machine's
cores), p99 stall, the longest garbage collection, memory per waiting trigger (resident memory growth
/ N), GET requests the emulator received in the busiest 60 s, 429s answered, TCP connections opened
and held at the end. The slowest heartbeats and garbage collections over 20 ms follow the table.

B. ``--b-invoices`` (3,000) sent invoices with contiguous ids; the emulator pays them all, one by one,
over ``--b-pay-over`` seconds starting ``--b-pay-after`` seconds after the triggers start:

- one ``InfaktInvoiceSetTrigger`` waiting for all of them to be paid (when that class exists);
- one ``InfaktInvoiceTrigger`` per invoice, the singles' wait capped at ``--b-timeout`` seconds after
  the last payment.

Figures: GET requests per minute, reads per poll (the set trigger's: from the emulator's request log
grouped by poll, and from its ``reads this poll: <n>`` log lines), 429s, time from the last payment to
the event (the set's one event; the singles' last).

After the tables, PASS/FAIL lines say how the figures compare with the targets of issue 13. They are
figures, not tests: the script exits 0 either way, unless something crashes.

    .venv/bin/python benchmarks/trigger_scale.py [--a-only | --b-only] [--triggers 1000]
        [--poke-interval 5] [--a-seconds 70] [--a-burst-seconds 12] [--b-invoices 3000]
        [--b-pay-after 10] [--b-pay-over 30] [--b-timeout 40] [--trace-memory]

About 6 minutes with the defaults (A about 3.5, B about 2.5); ``--trace-memory`` adds one run of our
trigger under tracemalloc and prints what each waiting trigger holds, by source line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from typing import Any

A_KINDS = ("infakt", "http")
B_KINDS = ("set", "singles")
STYLES = ("burst", "triggerer")
SET_TRIGGER = "airflow_provider_infakt.triggers.invoice.InfaktInvoiceSetTrigger"
#: inFakt's GET limit (per minute, per source IP) and Airflow's default ``blocked_main_thread_warning_threshold``.
GET_LIMIT = 300
BLOCKED_THRESHOLD_MS = 200.0
STEADY_STALL_TARGET_MS = 50.0
READS_PER_POLL = re.compile(r"reads this poll: (\d+)")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- the child processes: one case each ---------------------------------------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _set_trigger_class() -> Any:
    """``InfaktInvoiceSetTrigger``, or None where this checkout has none yet."""
    try:
        from airflow_provider_infakt.triggers.invoice import InfaktInvoiceSetTrigger
    except ImportError:
        return None
    return InfaktInvoiceSetTrigger


def _spec(kind: str, poke_interval: float, key: str, invoice_id: int = 1, ids: list[int] | None = None) -> Any:
    """A trigger's ``serialize()``: what the triggerer reads from the database."""
    if kind in ("infakt", "singles"):
        from airflow_provider_infakt.triggers.invoice import InfaktInvoiceTrigger

        return InfaktInvoiceTrigger(
            invoice_id, ["paid"], infakt_conn_id="infakt_default", poke_interval=poke_interval
        ).serialize()
    if kind == "set":
        return _set_trigger_class()(
            invoice_ids=ids, target_statuses=["paid"], infakt_conn_id="infakt_default", poke_interval=poke_interval
        ).serialize()
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    return HttpSensorTrigger(
        endpoint="api/v3/invoices/999.json",
        http_conn_id="http_emulator",
        method="GET",
        headers={"X-inFakt-ApiKey": key},
        poke_interval=poke_interval,
    ).serialize()


def _import_class(classpath: str) -> Any:
    """The class at a dotted path, as the triggerer's ``get_trigger_by_classpath`` loads it."""
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _build(spec: Any) -> Any:
    classpath, kwargs = spec
    return _import_class(classpath)(**kwargs)


class _Loop:
    """The measurements every child makes: a heartbeat's lateness, and the triggers' events."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        # (when, how late, CPU time the loop's thread used meanwhile): a stall with little CPU in it was
        # the machine's doing (other processes on the cores), or a blocking call that waits
        self.beats: list[tuple[float, float, float]] = []
        self.events: list[tuple[float, Any]] = []  # (Unix time, payload)
        self.collections: list[tuple[float, float, int]] = []  # garbage collections: (when, how long, generation)
        self._stop = asyncio.Event()
        self._beat: asyncio.Task[None] | None = None
        self._gc_started = 0.0

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = time.perf_counter() - self._gc_started
            self.collections.append((self.loop.time(), took, info.get("generation", -1)))

    def start_heartbeat(self) -> None:
        async def heartbeat() -> None:
            while not self._stop.is_set():
                started, cpu = self.loop.time(), time.thread_time()
                await asyncio.sleep(0.01)
                if self._stop.is_set():  # the measurement is over: what follows is the teardown's
                    break
                self.beats.append((started, self.loop.time() - started - 0.01, time.thread_time() - cpu))

        gc.callbacks.append(self._gc)
        self._beat = asyncio.create_task(heartbeat())

    async def stop(self, tasks: list[asyncio.Task[None]]) -> None:
        """End the measurement, then cancel the triggers (all at once: not measured, a triggerer ends
        its triggers one by one)."""
        self._stop.set()
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._beat is not None:
            await self._beat

    async def drive(self, trigger: Any, portal: bool) -> None:
        """Run a trigger as the triggerer's ``run_trigger`` does (greenback's portal first, when
        ``portal``), recording its first event."""
        if portal:
            import greenback

            await greenback.ensure_portal()
        async for event in trigger.run():
            self.events.append((time.time(), event.payload))
            return

    async def create(self, specs: list[Any], style: str) -> list[asyncio.Task[None]]:
        if style == "burst":
            return [asyncio.create_task(self.drive(_build(spec), portal=False)) for spec in specs]
        # Airflow 3.3's TriggerRunner.create_triggers, per trigger of the batch it was handed
        tasks = []
        for spec in specs:
            await asyncio.sleep(0)
            trigger_class = _import_class(spec[0])
            await asyncio.sleep(0)
            trigger = trigger_class(**spec[1])
            tasks.append(asyncio.create_task(self.drive(trigger, portal=True)))
        return tasks

    def stalls(self, steady_from: float) -> dict[str, float]:
        """Stall figures (ms): over the whole run, during start-up (before ``steady_from``) and after."""
        every = sorted(late for _, late, _ in self.beats)
        startup = sorted(late for at, late, _ in self.beats if at < steady_from) or [0.0]
        steady = sorted(late for at, late, _ in self.beats if at >= steady_from) or [math.nan]
        # the CPU-bound part of a stall: what the loop's thread itself computed meanwhile
        startup_cpu = max((min(late, cpu) for at, late, cpu in self.beats if at < steady_from), default=0.0)
        steady_cpu = max((min(late, cpu) for at, late, cpu in self.beats if at >= steady_from), default=math.nan)
        first = self.beats[0][0] if self.beats else 0.0
        slow = [(round(at - first, 1), round(late * 1000), round(cpu * 1000)) for at, late, cpu in self.beats]
        slow = sorted(slow, key=lambda beat: -beat[1])[:5]

        def p99(values: list[float]) -> float:
            return values[min(len(values) - 1, int(len(values) * 0.99))] * 1000

        return {
            "max_stall_ms": every[-1] * 1000,
            "p99_stall_ms": p99(every),
            "median_stall_ms": statistics.median(every) * 1000,
            "startup_max_stall_ms": startup[-1] * 1000,
            "startup_p99_stall_ms": p99(startup),
            "startup_cpu_stall_ms": startup_cpu * 1000,
            "steady_max_stall_ms": steady[-1] * 1000,
            "steady_p99_stall_ms": p99(steady),
            "steady_cpu_stall_ms": steady_cpu * 1000,
            "longest_gc_ms": max((d for _, d, _ in self.collections), default=0.0) * 1000,
            "slow_collections": [
                (round(at - first, 1), round(took * 1000), generation)
                for at, took, generation in self.collections
                if took > 0.02
            ][:8],
            "slowest_beats": slow,  # (s after the start, stall ms, CPU ms)
        }


def _top_allocations(before: Any, after: Any, count: int) -> list[dict[str, Any]]:
    """What the waiting triggers hold, by source line: bytes per trigger, largest first."""
    stats = after.compare_to(before, "lineno")
    top = [{"where": "(all lines)", "bytes_per_trigger": sum(stat.size_diff for stat in stats) / count}]
    for stat in stats[:15]:
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].removeprefix(ROOT + os.sep)
        top.append({"where": f"{where}:{frame.lineno}", "bytes_per_trigger": stat.size_diff / count})
    return top


async def _child_a(args: argparse.Namespace) -> dict[str, Any]:
    measure = _Loop()
    # Warm up: one trigger, so that one-time imports and the first connection lookup are not counted.
    warm = asyncio.create_task(measure.drive(_build(_spec(args.kind, args.poke_interval, args.key)), portal=False))
    await asyncio.sleep(1.0)
    warm.cancel()
    specs = [_spec(args.kind, args.poke_interval, args.key) for _ in range(args.triggers)]
    if args.trace_memory:
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.take_snapshot()
    baseline = _rss_bytes()
    window_start = time.time()
    started = measure.loop.time()
    measure.start_heartbeat()
    tasks = await measure.create(specs, args.style)
    created = measure.loop.time()
    steady_from = created + args.poke_interval * 1.5
    await asyncio.sleep(max(0.0, args.seconds - (created - started)))
    waiting_rss = _rss_bytes()
    held = (await asyncio.to_thread(_admin, args.url, "connections"))["open"] - 1  # less this request's own
    top = []
    if args.trace_memory:
        top = _top_allocations(before, tracemalloc.take_snapshot(), args.triggers)
        tracemalloc.stop()
    window_end = time.time()
    finished = [payload for _, payload in measure.events]
    await measure.stop(tasks)
    return {
        "case": "a",
        "kind": args.kind,
        "style": args.style,
        "triggers": args.triggers,
        "still_waiting": args.triggers - len(finished),
        "finished_with": sorted({str(p.get("status") if isinstance(p, dict) else p) for p in finished}),
        "creating_s": created - started,
        **measure.stalls(steady_from),
        "memory_per_trigger_kib": (waiting_rss - baseline) / args.triggers / 1024,
        "connections_held": held,
        "memory_top": top,
        "window": [window_start, window_end],
    }


async def _child_b(args: argparse.Namespace) -> dict[str, Any]:
    if args.kind == "set" and _set_trigger_class() is None:
        return {"case": "b", "kind": "set", "unavailable": True}
    ids = list(range(args.first_id, args.first_id + args.b_invoices))
    if args.kind == "set":
        specs = [_spec("set", args.poke_interval, args.key, ids=ids)]
    else:
        specs = [_spec("singles", args.poke_interval, args.key, invoice_id=i) for i in ids]
    measure = _Loop()
    window_start = time.time()
    measure.start_heartbeat()
    tasks = await measure.create(specs, "triggerer")
    start_in = max(0.0, args.b_pay_after - (time.time() - window_start))
    body = json.dumps({"ids": ids, "seconds": args.b_pay_over, "start_in": start_in}).encode()
    plan = await asyncio.to_thread(_admin, args.url, "scenarios/pay-invoices", body)
    deadline = plan["last_at"] + args.b_timeout
    while len(measure.events) < len(tasks) and time.time() < deadline:
        await asyncio.sleep(0.1)
    window_end = time.time()
    events = list(measure.events)
    await measure.stop(tasks)
    payloads = [p for _, p in events]
    return {
        "case": "b",
        "kind": args.kind,
        "triggers": len(specs),
        "fired": len(events),
        "statuses": sorted({str(p.get("status")) for p in payloads if isinstance(p, dict)}),
        "reached": sum(len(p.get("invoice_ids", [])) if args.kind == "set" else 1 for p in payloads),
        "last_event_at": max((t for t, _ in events), default=None),
        "plan": plan,
        "deadline": deadline,
        **measure.stalls(measure.loop.time()),
        "window": [window_start, window_end],
    }


def _child(args: argparse.Namespace) -> int:
    run = _child_a if args.child == "a" else _child_b
    result = asyncio.run(run(args))
    print(json.dumps(result))
    return 0


# -- the parent: the emulator, the runs, the tables ----------------------------------------------
def _admin(url: str, path: str, data: bytes | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the emulator on loopback
        f"{url}/_emulator/{path}",
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback only
        return json.load(response)


def _busiest_minute(times: list[float]) -> int:
    """The most requests in any 60 s window (all of them when the run was shorter)."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 60.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _polls(times: list[float], gap: float) -> list[int]:
    """Requests grouped into polls: a poll's reads follow each other closely; polls are ``gap`` apart."""
    groups: list[int] = []
    previous = None
    for at in sorted(times):
        if previous is None or at - previous > gap:
            groups.append(0)
        groups[-1] += 1
        previous = at
    return groups


def _traffic(url: str, window: list[float]) -> dict[str, Any]:
    start, end = window
    served = [r for r in _admin(url, "requests")["requests"] if start <= r["time"] <= end + 1.0]
    gets = [r["time"] for r in served if r["method"] == "GET"]
    minutes = max(end - start, 1e-9) / 60
    return {
        "gets": len(gets),
        "gets_per_minute": len(gets) / minutes,
        "busiest_minute": _busiest_minute(gets),
        "too_many": sum(1 for r in served if r["status"] == 429),
        "answered": sorted({str(r["status"]) for r in served}),
        "get_times": gets,
        "connections_opened": _admin(url, "connections")["opened_total"],
    }


def _run_child(env: dict[str, str], case: list[str]) -> dict[str, Any]:
    command = [sys.executable, __file__, *case]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise RuntimeError(f"the benchmark's child {' '.join(case[:4])} failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # what the triggers logged (Airflow 3 logs through structlog, Airflow 2 through logging: both to the console)
    result["logged_reads_per_poll"] = [int(n) for n in READS_PER_POLL.findall(done.stdout + done.stderr)]
    return result


def _table(title: str, results: list[dict[str, Any]], rows: list[tuple[str, Callable[[dict[str, Any]], str]]]) -> None:
    print(title)
    width = 2 + max(22, *(len(cell(r)) for _, cell in rows for r in results))
    for label, cell in rows:
        print(f"{label:<46}" + "".join(f"{cell(r):>{width}}" for r in results))
    print()


def _verdict(ok: bool, text: str) -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {text}")


def _part_a(args: argparse.Namespace, url: str, env: dict[str, str], key: str) -> list[dict[str, Any]]:
    results = []
    kinds = [k for k in A_KINDS if k in args.kinds.split(",")]
    for kind in kinds:
        if kind == "http":
            try:
                import airflow.providers.http.triggers.http  # noqa: F401
            except ImportError:
                print("providers-http is not installed: `make bench` installs it for the benchmark\n")
                continue
        for style in [s for s in STYLES if s in args.styles.split(",")]:
            seconds = args.a_burst_seconds if style == "burst" else args.a_seconds
            _admin(url, "reset", b"{}")
            print(f"A: {args.triggers} x {kind}, started {style}-style, {seconds:g} s ...", file=sys.stderr)
            result = _run_child(
                env,
                [
                    "--child",
                    "a",
                    "--kind",
                    kind,
                    "--style",
                    style,
                    "--triggers",
                    str(args.triggers),
                    "--poke-interval",
                    str(args.poke_interval),
                    "--seconds",
                    str(seconds),
                    "--key",
                    key,
                    "--url",
                    url,
                ],
            )
            result.update(_traffic(url, result["window"]))
            results.append(result)
    return results


def _name_a(r: dict[str, Any]) -> str:
    style = ", at once" if r["style"] == "burst" else ", triggerer"
    return ("ours" if r["kind"] == "infakt" else "HttpSensor") + style


def _ms(value: float, r: dict[str, Any]) -> str:
    """A stall figure after start-up, or why there is none (creating the tasks outlasted the run)."""
    return "still starting" if math.isnan(value) else f"{value:.1f}"


def _print_a(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("", _name_a),
        ("measured for (s)", lambda r: f"{r['window'][1] - r['window'][0]:.0f}"),
        ("still waiting at the end", lambda r: f"{r['still_waiting']} / {r['triggers']}"),
        ("creating the tasks took (ms)", lambda r: f"{r['creating_s'] * 1000:.0f}"),
        ("longest event-loop stall, start-up (ms)", lambda r: f"{r['startup_max_stall_ms']:.1f}"),
        ("  of it CPU-bound (ms)", lambda r: f"{r['startup_cpu_stall_ms']:.1f}"),
        ("longest event-loop stall, after start-up (ms)", lambda r: _ms(r["steady_max_stall_ms"], r)),
        ("  of it CPU-bound (ms)", lambda r: _ms(r["steady_cpu_stall_ms"], r)),
        ("p99 stall, start-up (ms)", lambda r: f"{r['startup_p99_stall_ms']:.1f}"),
        ("p99 stall, after start-up (ms)", lambda r: _ms(r["steady_p99_stall_ms"], r)),
        ("median stall (ms)", lambda r: f"{r['median_stall_ms']:.2f}"),
        ("longest garbage collection (ms)", lambda r: f"{r['longest_gc_ms']:.1f}"),
        ("memory per waiting trigger (KiB)", lambda r: f"{r['memory_per_trigger_kib']:.1f}"),
        ("GETs sent, busiest 60 s (limit 300)", lambda r: f"{r['busiest_minute']}"),
        ("GETs sent per minute, average", lambda r: f"{r['gets_per_minute']:.0f}"),
        ("429s received", lambda r: f"{r['too_many']}"),
        ("statuses answered", lambda r: ",".join(r["answered"])),
        ("TCP connections opened", lambda r: f"{r['connections_opened']}"),
        ("TCP connections held at the end", lambda r: f"{r['connections_held']}"),
    ]
    _table(
        f"A. {args.triggers} triggers waiting in one event loop, poke interval {args.poke_interval:g} s, emulator "
        f"in its own process with inFakt's limits on (start-up: the first {1.5 * args.poke_interval:g} s after "
        "the last task was created)",
        results,
        rows,
    )


def _print_slowest(results: list[dict[str, Any]]) -> None:
    print("Slowest heartbeats (s after the first trigger was created: stall ms / CPU ms of the loop's thread in it);")
    print("a stall with little CPU in it is the machine busy with other processes, or a call that blocks waiting:")
    for r in results:
        beats = ", ".join(f"{at:g} s: {late}/{cpu}" for at, late, cpu in r["slowest_beats"])
        print(f"  {_name_a(r):<24}{beats}")
        collections = ", ".join(f"{at:g} s: {took} ms (gen {gen})" for at, took, gen in r["slow_collections"])
        print(f"  {'':<24}garbage collections over 20 ms: {collections or 'none'}")
    print()


def _verdicts_a(results: list[dict[str, Any]]) -> None:
    by = {(r["kind"], r["style"]): r for r in results}
    ours, http = by.get(("infakt", "triggerer")), by.get(("http", "triggerer"))
    if ours is None:
        print("A: no run of ours, nothing to judge")
        return
    _verdict(
        ours["startup_max_stall_ms"] < BLOCKED_THRESHOLD_MS,
        f"A: our longest stall at start-up, triggerer-style: {ours['startup_max_stall_ms']:.0f} ms "
        f"({ours['startup_cpu_stall_ms']:.0f} ms of it CPU-bound) "
        f"(target < {BLOCKED_THRESHOLD_MS:.0f} ms, Airflow's blocked_main_thread_warning_threshold)",
    )
    _verdict(
        ours["steady_max_stall_ms"] < STEADY_STALL_TARGET_MS,
        f"A: our longest stall after start-up, triggerer-style: {ours['steady_max_stall_ms']:.0f} ms "
        f"({ours['steady_cpu_stall_ms']:.0f} ms of it CPU-bound; the rest: other processes on the cores) "
        f"(target < {STEADY_STALL_TARGET_MS:.0f} ms)",
    )
    if http is not None:
        _verdict(
            ours["memory_per_trigger_kib"] <= http["memory_per_trigger_kib"] / 2,
            f"A: memory per trigger {ours['memory_per_trigger_kib']:.1f} KiB vs HttpSensorTrigger's "
            f"{http['memory_per_trigger_kib']:.1f} KiB (target: at most half)",
        )
    else:
        print("SKIP  A: memory per trigger against HttpSensorTrigger's (no HttpSensorTrigger run)")
    ours_429 = sum(r["too_many"] for r in results if r["kind"] == "infakt")
    _verdict(
        ours_429 == 0,
        f"A: 429s drawn by our {ours['triggers']} triggers (both start-up styles): {ours_429} (target 0)",
    )
    if http is not None:
        print(
            "info  A: 429s drawn by HttpSensorTrigger (both styles): "
            + str(sum(r["too_many"] for r in results if r["kind"] == "http"))
        )


def _part_b(args: argparse.Namespace, url: str, env: dict[str, str], key: str) -> list[dict[str, Any]]:
    results = []
    for kind in [k for k in B_KINDS if k in args.b_kinds.split(",")]:
        _admin(url, "reset", b"{}")
        seeded = _admin(url, "invoices", json.dumps({"count": args.b_invoices, "status": "sent"}).encode())["ids"]
        print(f"B: {args.b_invoices} invoices, {kind} ...", file=sys.stderr)
        result = _run_child(
            env,
            [
                "--child",
                "b",
                "--kind",
                kind,
                "--poke-interval",
                str(args.poke_interval),
                "--b-invoices",
                str(args.b_invoices),
                "--first-id",
                str(seeded[0]),
                "--b-pay-after",
                str(args.b_pay_after),
                "--b-pay-over",
                str(args.b_pay_over),
                "--b-timeout",
                str(args.b_timeout),
                "--url",
                url,
                "--key",
                key,
            ],
        )
        if result.get("unavailable"):
            print("B: set trigger not available (no InfaktInvoiceSetTrigger in this checkout)\n")
            continue
        result.update(_traffic(url, result["window"]))
        paid_at = [i["paid_at"] for i in _admin(url, "invoices")["invoices"] if i["paid_at"] is not None]
        result["last_paid_at"] = max(paid_at, default=None)
        result["paid"] = len(paid_at)
        polls = _polls(result["get_times"], gap=min(2.5, args.poke_interval / 2))
        result["polls"] = len(polls)
        result["max_reads_per_poll"] = max(polls, default=0)
        results.append(result)
    return results


def _waited(r: dict[str, Any]) -> str:
    if r["last_paid_at"] is None:
        return "nothing paid"
    if r["fired"] < r["triggers"]:
        return f"not all done after {r['deadline'] - r['last_paid_at']:.0f} s: {r['fired']} of {r['triggers']}"
    return f"{r['last_event_at'] - r['last_paid_at']:.1f} s"


def _print_b(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("", lambda r: "one set trigger" if r["kind"] == "set" else f"{r['triggers']} single triggers"),
        ("measured for (s)", lambda r: f"{r['window'][1] - r['window'][0]:.0f}"),
        ("triggers fired / all", lambda r: f"{r['fired']} / {r['triggers']}"),
        ("invoices reported paid / paid", lambda r: f"{r['reached']} / {r['paid']}"),
        ("event statuses", lambda r: ",".join(r["statuses"]) or "-"),
        ("GETs sent, busiest 60 s (limit 300)", lambda r: f"{r['busiest_minute']}"),
        ("GETs sent per minute, average", lambda r: f"{r['gets_per_minute']:.0f}"),
        (
            "max reads per poll (emulator's log)",
            lambda r: f"{r['max_reads_per_poll']} in {r['polls']} polls" if r["kind"] == "set" else "1 per trigger",
        ),
        (
            "max reads per poll (trigger's log)",
            lambda r: str(max(r["logged_reads_per_poll"], default="-")) if r["kind"] == "set" else "-",
        ),
        ("429s received", lambda r: f"{r['too_many']}"),
        ("last payment -> event", _waited),
        ("longest event-loop stall (ms)", lambda r: f"{r['max_stall_ms']:.1f}"),
        ("TCP connections opened", lambda r: f"{r['connections_opened']}"),
    ]
    _table(
        f"B. Waiting on {args.b_invoices} invoices (ids contiguous, sent), poke interval {args.poke_interval:g} s; "
        f"paid one by one over {args.b_pay_over:g} s from {args.b_pay_after:g} s after the triggers start; "
        f"singles capped {args.b_timeout:g} s after the last payment",
        results,
        rows,
    )


def _verdicts_b(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    by = {r["kind"]: r for r in results}
    found = by.get("set")
    if found is None:
        print("SKIP  B: set trigger not available")
    else:
        most = math.ceil(args.b_invoices / 100) + 1
        _verdict(
            found["busiest_minute"] < GET_LIMIT,
            f"B: the set trigger's GETs in the busiest 60 s: {found['busiest_minute']} (target < {GET_LIMIT})",
        )
        _verdict(found["too_many"] == 0, f"B: 429s drawn by the set trigger: {found['too_many']} (target 0)")
        _verdict(
            found["max_reads_per_poll"] <= most,
            f"B: the set trigger's max reads per poll: {found['max_reads_per_poll']} (target <= ceil({args.b_invoices}"
            f"/100)+1 = {most})",
        )
        _verdict(
            found["fired"] == 1, f"B: the set trigger ended with one event: {_waited(found)} after the last payment"
        )
    singles = by.get("singles")
    if singles is not None:
        print(
            f"info  B: {singles['triggers']} single triggers: {singles['busiest_minute']} GETs in the busiest 60 s, "
            f"{singles['too_many']} x 429, last payment -> last event: {_waited(singles)}"
        )


def _print_memory_top(results: list[dict[str, Any]]) -> None:
    for r in results:
        if r.get("memory_top"):
            print(f"What each waiting trigger holds ({_name_a(r)}, tracemalloc, by source line):")
            for entry in r["memory_top"]:
                print(f"  {entry['bytes_per_trigger'] / 1024:8.2f} KiB  {entry['where']}")
            print()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--a-only", action="store_true", help="run A only")
    parts.add_argument("--b-only", action="store_true", help="run B only")
    parser.add_argument("--triggers", type=int, default=1000, help="A: triggers per run")
    parser.add_argument("--poke-interval", type=float, default=5.0)
    parser.add_argument("--a-seconds", type=float, default=70.0, help="A: triggerer-style runs (past a minute)")
    parser.add_argument("--a-burst-seconds", type=float, default=12.0, help="A: all-at-once runs")
    parser.add_argument("--kinds", default=",".join(A_KINDS), help="A: infakt,http")
    parser.add_argument("--styles", default=",".join(STYLES), help="A: burst (all at once),triggerer")
    parser.add_argument("--b-kinds", default=",".join(B_KINDS), help="B: set,singles")
    parser.add_argument("--b-invoices", type=int, default=3000)
    parser.add_argument("--b-pay-after", type=float, default=10.0, help="B: first payment, s after the start")
    parser.add_argument("--b-pay-over", type=float, default=30.0, help="B: payments spread over these seconds")
    parser.add_argument("--b-timeout", type=float, default=40.0, help="B: wait this long after the last payment")
    parser.add_argument("--trace-memory", action="store_true", help="A: also one run of ours under tracemalloc")
    parser.add_argument("--child", choices=("a", "b"), help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=A_KINDS + B_KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--style", choices=STYLES, default="triggerer", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    parser.add_argument("--first-id", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    from airflow_provider_infakt.testing import connection_json, credentials

    bin_dir = os.path.dirname(sys.executable)
    emulator = subprocess.Popen(
        [os.path.join(bin_dir, "infakt-emulator"), "--port", "0", "--limits"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    started = time.monotonic()
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
        a_results = [] if args.b_only else _part_a(args, url, env, credentials.API_KEY)
        traced = []
        if args.trace_memory and not args.b_only:
            _admin(url, "reset", b"{}")
            print(f"A: {args.triggers} x infakt under tracemalloc ...", file=sys.stderr)
            traced.append(
                _run_child(
                    env,
                    [
                        "--child",
                        "a",
                        "--kind",
                        "infakt",
                        "--style",
                        "triggerer",
                        "--triggers",
                        str(args.triggers),
                        "--poke-interval",
                        str(args.poke_interval),
                        "--seconds",
                        "30",
                        "--key",
                        credentials.API_KEY,
                        "--url",
                        url,
                        "--trace-memory",
                    ],
                )
            )
        b_results = [] if args.a_only else _part_b(args, url, env, credentials.API_KEY)
    finally:
        emulator.terminate()
        emulator.wait(10)

    if a_results:
        _print_a(args, a_results)
        _print_slowest(a_results)
    _print_memory_top(traced)
    if b_results:
        _print_b(args, b_results)
    if a_results:
        _verdicts_a(a_results)
    if not args.a_only:
        _verdicts_b(args, b_results)
    print(f"\n(figures, not tests; the whole run took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
