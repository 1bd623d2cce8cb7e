"""``make test-matrix``: the whole test suite on every supported Airflow, each in its own virtual environment.

Each version's venv is built (or found up to date) by the Makefile's ``venv`` target, one after the
other (uv is fast once its cache is warm, and parallel installs would only fight over it); each suite
starts as soon as its venv is ready, ``--jobs`` suites at a time, so installs overlap with tests. A
suite is the README's ``make test`` with that venv (``make test VENV=.venv-<version>
AIRFLOW_VERSION=<version>``): pytest with ``TEST_WORKERS`` xdist workers, each with its own
AIRFLOW_HOME, SQLite database and emulator port (tests/conftest.py). The slowest suites start first.
The output of each run goes to ``.matrix/<version>.log`` and its JUnit report to ``.matrix/<version>.xml``.

At the end it prints one row per version (passed, failed, errors, skipped, wall time), every skip
reason per version, and a closing ``matrix: N passed, N failed, N skipped`` line; it exits non-zero if
any version failed, erred, ran no test or ran out of time. Plain Python (standard library only), so it
runs before any venv exists.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import os
import pathlib
import shlex
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / ".matrix"
#: The order suites start in when no earlier run has timed them (.matrix/<version>.seconds): slowest
#: first, so that the last suite to start is a short one (3.3 runs the ledger's tests on top).
SLOWEST_FIRST = ("3.3.", "3.2.", "3.0.", "2.11.", "2.10.", "3.1.")


@dataclasses.dataclass
class Result:
    """What one version's suite did."""

    version: str
    exit_code: int
    seconds: float
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    timed_out: bool = False
    skips: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    failures: list[str] = dataclasses.field(default_factory=list)
    #: Per failed test, the lines of its report that say why (pytest's ``E`` lines), for the table.
    reasons: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The suite ran, at least one test passed, and nothing failed or erred."""
        return self.exit_code == 0 and not self.timed_out and not self.failed and not self.errors and self.passed > 0


def venv_of(version: str, default: str) -> str:
    """The venv directory of ``version``: the Makefile's ``.venv`` for the default version."""
    return ".venv" if version == default else f".venv-{version}"


def make() -> str:
    """The make to run (``$MAKE`` when started by make)."""
    return os.environ.get("MAKE", "make")


def build(version: str, default: str) -> None:
    """Create or update ``version``'s venv with ``make venv``; raise with the log's tail if it fails."""
    log = OUT / f"{version}.install.log"
    with log.open("w") as out:
        code = subprocess.call(
            [make(), "--no-print-directory", "venv", f"VENV={venv_of(version, default)}", f"AIRFLOW_VERSION={version}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if code:
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise RuntimeError(f"installing Airflow {version} failed (exit {code}):\n{tail}")


def run(version: str, default: str, pytest_args: list[str], workers: int | None, timeout: float) -> Result:
    """Run ``make test`` in ``version``'s venv; parse its JUnit report.

    The run is killed (its whole process group, with SIGKILL: Airflow's task code may ignore SIGTERM)
    when it takes longer than ``timeout`` seconds.
    """
    report = OUT / f"{version}.xml"
    report.unlink(missing_ok=True)
    # No cache provider: parallel runs would share .pytest_cache. The slowest tests go to the log.
    args = ["-p", "no:cacheprovider", "-rfEs", "--durations=25", f"--junitxml={report}", *pytest_args]
    cmd = [
        make(),
        "--no-print-directory",
        "test",
        f"VENV={venv_of(version, default)}",
        f"AIRFLOW_VERSION={version}",
        f"PYTEST_ARGS={shlex.join(args)}",
    ]
    if workers is not None:
        cmd.append(f"TEST_WORKERS={workers}")
    start = time.monotonic()
    timed_out = False
    with (OUT / f"{version}.log").open("w") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        out.flush()
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
            out.write(f"\nmatrix: killed after {timeout:.0f} s\n")
    result = Result(version, code, time.monotonic() - start, timed_out=timed_out)
    (OUT / f"{version}.seconds").write_text(f"{result.seconds:.0f}\n")
    if report.exists():
        parse(report, result)
    return result


def parse(report: pathlib.Path, result: Result) -> None:
    """Fill ``result``'s counts, skip reasons and failed test names from a JUnit report."""
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = {child.tag for child in case}
        if "failure" in outcome:
            result.failed += 1
            result.failures.append(name)
            result.reasons[name] = why(case.find("failure"))
        elif "error" in outcome:
            result.errors += 1
            result.failures.append(f"{name} (error)")
            result.reasons[f"{name} (error)"] = why(case.find("error"))
        elif "skipped" in outcome:
            skipped = case.find("skipped")
            assert skipped is not None
            reason = skipped.get("message", "").removeprefix("Skipped: ")
            if skipped.get("type") == "pytest.xfail":
                result.failed += 1  # an xfail is a failure nobody fixed: the matrix does not hide it
                result.failures.append(f"{name} (xfail: {reason})")
                continue
            result.skipped += 1
            result.skips[reason] += 1
        else:
            result.passed += 1


#: The most lines of a failure's reason the table shows (the whole report is in the version's log).
REASON_LINES = 12


def why(element: ET.Element | None) -> list[str]:
    """The lines of a JUnit failure or error that say why: pytest's ``E`` lines (the exception and the
    assertion's comparison), else the report's last lines; at most :data:`REASON_LINES`, each cut to 300
    characters. CI shows the end of the matrix's output, so a failure seen only there is explained there.

    :param element: the ``<failure>`` or ``<error>`` element.
    """
    if element is None:
        return []
    text = (element.text or element.get("message") or "").splitlines()
    lines = [line for line in text if line.startswith("E ")] or text[-REASON_LINES:]
    return [line[:300] for line in lines[:REASON_LINES]]


def table(results: list[Result]) -> str:
    """The matrix as a Markdown table, then each version's skips with their reasons."""
    lines = [
        "| Airflow | result | passed | failed | errors | skipped | wall time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        verdict = "ok" if r.ok else "TIMED OUT" if r.timed_out else f"FAILED (exit {r.exit_code})"
        lines.append(
            f"| {r.version} | {verdict} | {r.passed} | {r.failed} | {r.errors} | {r.skipped} | {r.seconds:.0f} s |"
        )
    for r in results:
        if r.skips:
            lines.append(f"\nSkipped on Airflow {r.version}:")
            lines.extend(f"  {count} x {reason}" for reason, count in sorted(r.skips.items()))
    for r in results:  # last, so that the end of the output (all a CI page may show) says what failed and why
        if r.failures or not r.ok:
            lines.append(f"\nFailed on Airflow {r.version} (log: .matrix/{r.version}.log):")
            for name in r.failures:
                lines.append(f"  {name}")
                lines.extend(f"    {line}" for line in r.reasons.get(name, []))
    return "\n".join(lines)


def slowest_first(versions: list[str]) -> list[str]:
    """``versions`` in the order their suites should start: the slowest first, by the last run's times
    where every version has one, else by :data:`SLOWEST_FIRST`."""
    timed: dict[str, float] = {}
    for version in versions:
        try:
            timed[version] = float((OUT / f"{version}.seconds").read_text())
        except (OSError, ValueError):
            break
    else:
        return sorted(versions, key=lambda version: -timed[version])

    def rank(version: str) -> int:
        return next((i for i, prefix in enumerate(SLOWEST_FIRST) if version.startswith(prefix)), len(SLOWEST_FIRST))

    return sorted(versions, key=rank)


def main(argv: list[str] | None = None) -> int:
    """Build every venv, run every suite, print the table; 0 only if every version passed.

    :param argv: the command line (``sys.argv[1:]`` by default).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("versions", nargs="+", help="Airflow versions, e.g. 2.10.5 3.3.2")
    parser.add_argument("--jobs", type=int, default=2, help="suites run at the same time")
    parser.add_argument("--workers", type=int, default=None, help="xdist workers per suite (the Makefile's default)")
    parser.add_argument("--default", default="", help="the version whose venv is the Makefile's .venv")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, space-separated")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds one version's suite may take")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    start = time.monotonic()
    order = slowest_first(args.versions)
    extra = shlex.split(args.pytest_args)
    lock = threading.Lock()

    def say(text: str) -> None:
        with lock:
            print(text, flush=True)

    futures: dict[str, concurrent.futures.Future[Result]] = {}
    build_failures: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for version in order:  # each suite is queued as soon as its venv is ready
            began = time.monotonic()
            try:
                build(version, args.default)
            except RuntimeError as exc:
                say(str(exc))
                build_failures.append(version)
                continue
            say(f"Airflow {version}: venv ready in {time.monotonic() - began:.0f} s")
            futures[version] = pool.submit(run, version, args.default, extra, args.workers, args.timeout)
        for future in concurrent.futures.as_completed(futures.values()):
            r = future.result()
            say(
                f"Airflow {r.version}: {r.passed} passed, {r.failed} failed, {r.errors} errors, "
                f"{r.skipped} skipped in {r.seconds:.0f} s" + (" (timed out)" if r.timed_out else "")
            )
    results = [futures[v].result() for v in args.versions if v in futures]
    results += [Result(v, -1, 0.0) for v in args.versions if v in build_failures]
    print()
    print(table(results))
    print(f"\nMatrix wall time: {time.monotonic() - start:.0f} s ({args.jobs} suites at a time)")
    passed = sum(r.passed for r in results)
    failed = sum(r.failed + r.errors for r in results) + sum(1 for r in results if not r.ok and not r.failures)
    skipped = sum(r.skipped for r in results)
    print(f"matrix: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
