"""What importing each public module of the provider adds on top of ``import airflow.sdk``.

DAG files are parsed again and again, so every millisecond a module costs at import is paid on every
parse. For each module this starts fresh interpreters, imports ``airflow.sdk`` first (untimed), then
times ``import <module>`` alone, and prints the median over the runs. The budget is 15 ms.

    .venv/bin/python benchmarks/import_cost.py [--runs 21] [--compare airflow.providers.http.operators.http]

Modules not present yet (operators and sensors arrive in later issues) are listed as skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile

MODULES = [
    "airflow_provider_infakt.hooks.infakt",
    "airflow_provider_infakt.operators.deliver",
    "airflow_provider_infakt.sensors.invoice",
    "airflow_provider_infakt.links",
    "airflow_provider_infakt.triggers.invoice",
]
#: Loaded by the triggerer only, never by a DAG file (the sensor imports it when it defers). It imports
#: everything a running trigger needs up front, so that no trigger step stalls the event loop on a
#: first-time import; the parse-time budget does not apply to it.
NOT_DAG_FACING = {"airflow_provider_infakt.triggers.invoice"}
BUDGET_MS = 15.0

_PROBE = """
import time, airflow.sdk
started = time.perf_counter()
import {module}
print((time.perf_counter() - started) * 1000.0)
"""


def measure(module: str, runs: int, env: dict[str, str]) -> list[float]:
    """Milliseconds that ``import module`` took after ``import airflow.sdk``, one figure per fresh run."""
    figures = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", _PROBE.format(module=module)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        figures.append(float(result.stdout.strip().splitlines()[-1]))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh interpreters per module (default 21)")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        help="another module to measure the same way, e.g. airflow.providers.http.operators.http",
    )
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="infakt-import-cost-")
    env = {**os.environ, "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", home)}
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

    print(f"import cost on top of 'import airflow.sdk', median of {args.runs} fresh interpreters")
    print(f"{'module':<48} {'median ms':>10} {'min ms':>8} {'max ms':>8}  verdict")
    worst = 0.0
    for module in [*MODULES, *args.compare]:
        parent = module.rsplit(".", 1)[0]
        if importlib.util.find_spec(parent) is None or importlib.util.find_spec(module) is None:
            print(f"{module:<48} {'-':>10} {'-':>8} {'-':>8}  skipped (not present)")
            continue
        figures = measure(module, args.runs, env)
        median = statistics.median(figures)
        ours = module.startswith("airflow_provider_infakt") and module not in NOT_DAG_FACING
        if module in NOT_DAG_FACING:
            verdict = "triggerer only (no parse-time budget)"
        else:
            verdict = ("ok" if median <= BUDGET_MS else "OVER BUDGET") if ours else "comparison"
        if ours:
            worst = max(worst, median)
        print(f"{module:<48} {median:>10.1f} {min(figures):>8.1f} {max(figures):>8.1f}  {verdict}")
    print(f"budget {BUDGET_MS:.0f} ms for modules a DAG file imports; worst of those {worst:.1f} ms")
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
