"""``make test-matrix``: the whole test suite on every supported Airflow, each in its own virtual environment.

Each version's venv is built (or found up to date) by the Makefile's ``venv`` target, one after the
other (uv is fast once its cache is warm, and parallel installs would only fight over it); then the
suites run ``--jobs`` at a time, each in its own process with its own AIRFLOW_HOME (tests/conftest.py).
The output of each run goes to ``.matrix/<version>.log`` and its JUnit report to ``.matrix/<version>.xml``.

At the end it prints one row per version (passed, failed, errors, skipped, wall time) and every skip
reason per version, and exits non-zero if any version failed, erred, or ran no test. Plain Python
(standard library only), so it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import os
import pathlib
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / ".matrix"


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
    skips: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The suite ran, at least one test passed, and nothing failed or erred."""
        return self.exit_code == 0 and not self.failed and not self.errors and self.passed > 0


def venv_of(version: str, default: str) -> str:
    """The venv directory of ``version``: the Makefile's ``.venv`` for the default version."""
    return ".venv" if version == default else f".venv-{version}"


def build(version: str, default: str) -> None:
    """Create or update ``version``'s venv with ``make venv``; raise with the log's tail if it fails."""
    log = OUT / f"{version}.install.log"
    make = os.environ.get("MAKE", "make")
    with log.open("w") as out:
        code = subprocess.call(
            [make, "--no-print-directory", "venv", f"VENV={venv_of(version, default)}", f"AIRFLOW_VERSION={version}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if code:
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise SystemExit(f"installing Airflow {version} failed (exit {code}):\n{tail}")


def run(version: str, default: str, pytest_args: list[str]) -> Result:
    """Run the suite in ``version``'s venv; parse its JUnit report."""
    python = ROOT / venv_of(version, default) / "bin" / "python"
    report = OUT / f"{version}.xml"
    report.unlink(missing_ok=True)
    # No cache provider: parallel runs would share .pytest_cache.
    cmd = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "-rfEs", f"--junitxml={report}", *pytest_args]
    start = time.monotonic()
    with (OUT / f"{version}.log").open("w") as out:
        code = subprocess.call(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    result = Result(version, code, time.monotonic() - start)
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
        elif "error" in outcome:
            result.errors += 1
            result.failures.append(f"{name} (error)")
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


def table(results: list[Result]) -> str:
    """The matrix as a Markdown table, then each version's skips with their reasons."""
    lines = [
        "| Airflow | result | passed | failed | errors | skipped | wall time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        verdict = "ok" if r.ok else f"FAILED (exit {r.exit_code})"
        lines.append(
            f"| {r.version} | {verdict} | {r.passed} | {r.failed} | {r.errors} | {r.skipped} | {r.seconds:.0f} s |"
        )
    for r in results:
        if r.skips:
            lines.append(f"\nSkipped on Airflow {r.version}:")
            lines.extend(f"  {count} x {reason}" for reason, count in sorted(r.skips.items()))
        if r.failures:
            lines.append(f"\nFailed on Airflow {r.version} (log: .matrix/{r.version}.log):")
            lines.extend(f"  {name}" for name in r.failures)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build every venv, run every suite, print the table; 0 only if every version passed.

    :param argv: the command line (``sys.argv[1:]`` by default).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("versions", nargs="+", help="Airflow versions, e.g. 2.10.5 3.3.2")
    parser.add_argument("--jobs", type=int, default=2, help="suites run at the same time")
    parser.add_argument("--default", default="", help="the version whose venv is the Makefile's .venv")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, space-separated")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    start = time.monotonic()
    for version in args.versions:
        began = time.monotonic()
        build(version, args.default)
        print(f"Airflow {version}: venv ready in {time.monotonic() - began:.0f} s", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run, v, args.default, args.pytest_args.split()) for v in args.versions]
        for future in concurrent.futures.as_completed(futures):
            r = future.result()
            print(
                f"Airflow {r.version}: {r.passed} passed, {r.failed} failed, {r.errors} errors, "
                f"{r.skipped} skipped in {r.seconds:.0f} s",
                flush=True,
            )
        results = [f.result() for f in futures]
    print()
    print(table(results))
    print(f"\nMatrix wall time: {time.monotonic() - start:.0f} s ({args.jobs} at a time)")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
