"""``make dist``'s checks of the built distributions and of an installation from the wheel.

Run with the Python of a fresh virtual environment holding a stock Airflow and the built wheel (never the
checkout's sources: every command runs in a temporary directory outside the checkout, and the package
must be found in that environment's site-packages)::

    python tools/dist_smoke.py artifacts dist/          # what the wheel and the sdist hold
    python tools/dist_smoke.py installed                # with the emulator extra: provider, form, DAGs
    python tools/dist_smoke.py without-emulator-extra   # after aiohttp is uninstalled

``installed`` checks that ``airflow providers list`` lists the provider, that the connection type
``infakt`` and its form's fields are known, and runs the example DAGs (copied from the checkout, as the
README tells users to) with ``airflow dags test`` against the emulator started from the installed
package, with a SQLite metadata database in a temporary ``AIRFLOW_HOME``; the emulator's records must
show the deliveries. Each check prints one line; the first failure ends the run with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Sequence
from typing import Any

PACKAGE = "airflow_provider_infakt"
DISTRIBUTION = "airflow-provider-infakt"
CHECKOUT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent

#: The example DAGs run, with their configuration, and the invoice each must deliver.
EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("example_infakt_deliver", {"invoice_id": 1, "type": "mail", "doc_type": "KOPIA"}),
    ("example_infakt_deliver_and_wait", {"invoice_id": 2, "type": "mail", "doc_type": "org"}),
]
#: The emulator pays each delivered invoice this long after delivery: the wait for ``sent`` sees ``sent``
#: before the wait for ``paid`` begins.
PAY_AFTER_SECONDS = 3
#: Seconds a single ``airflow`` command may take.
COMMAND_TIMEOUT = 600


class SmokeFailure(Exception):
    """A check failed; the message says which and what was seen."""


def check(condition: bool, message: str) -> None:
    """Fail the run with ``message`` unless ``condition`` holds.

    :param condition: what must be true.
    :param message: what went wrong, with what was seen.
    :raises SmokeFailure: when ``condition`` is false.
    """
    if not condition:
        raise SmokeFailure(message)


def passed(message: str) -> None:
    """Report a check that passed.

    :param message: what was checked.
    """
    print(f"ok   {message}", flush=True)


# -- the built files ---------------------------------------------------------------------------------
def check_artifacts(dist: pathlib.Path) -> None:
    """The wheel holds the package only (with ``py.typed`` and the entry points); the sdist holds the
    sources, the tests and the example DAGs, and nothing of a local working copy.

    :param dist: the directory ``python -m build`` wrote to.
    :raises SmokeFailure: for a missing or unexpected file.
    """
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    check(len(wheels) == 1 and len(sdists) == 1, f"one wheel and one sdist in {dist}, found {wheels + sdists}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        entry_points = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        check(entry_points is not None, "the wheel has entry_points.txt")
        assert entry_points is not None
        points = wheel.read(entry_points).decode()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    check(f"{PACKAGE}/py.typed" in names, "the wheel has py.typed (type checkers read the annotations)")
    tops = {n.split("/")[0] for n in names}
    outside = sorted(t for t in tops if t != PACKAGE and not t.endswith(".dist-info"))
    check(outside == [], f"the wheel holds the package only, not {outside}")
    for section, line in [
        ("apache_airflow_provider", f"provider_info = {PACKAGE}:get_provider_info"),
        ("console_scripts", f"infakt-emulator = {PACKAGE}.testing.cli:main"),
        ("pytest11", f"infakt_emulator = {PACKAGE}.testing.pytest_plugin"),
    ]:
        check(f"[{section}]\n{line}" in points, f"the wheel's entry point [{section}] {line}; found:\n{points}")
    check("Provides-Extra: emulator" in metadata, "the wheel's metadata offers the emulator extra")
    passed(f"{wheels[0].name}: the package, py.typed, the provider, console and pytest entry points")

    with tarfile.open(sdists[0]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    for needed in ("pyproject.toml", "README.md", f"{PACKAGE}/py.typed", "tests/conftest.py", "Makefile"):
        check(needed in members, f"the sdist has {needed}")
    examples = sorted(m for m in members if m.startswith("example_dags/") and m.endswith(".py"))
    check(len(examples) >= len(EXAMPLES), f"the sdist has the example DAGs, found {examples}")
    local = sorted({m.split("/")[0] for m in members} & {".venv", ".dist-venv", "dist", ".demo", ".git", ".matrix"})
    check(local == [], f"the sdist holds nothing of a working copy, found {local}")
    passed(f"{sdists[0].name}: sources, tests and example DAGs ({len(members)} files), no working-copy files")


# -- the installation --------------------------------------------------------------------------------
def environment(home: pathlib.Path) -> dict[str, str]:
    """The environment of every command: Airflow's home in ``home`` (SQLite, no example DAGs of Airflow's),
    and nothing that could make the checkout importable.

    :param home: a temporary directory for ``AIRFLOW_HOME``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # Airflow 3.0-3.2 need it for dags test's in-process Execution API; 3.3 makes one up
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(24),
    )
    return env


def run(command: Sequence[str], env: dict[str, str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (a program of this environment's ``bin``) and return what it did.

    :param command: the program's name and its arguments.
    :param env: the environment.
    :param cwd: where to run it (outside the checkout).
    """
    program = [str(BIN / command[0]), *command[1:]]
    return subprocess.run(program, env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)


def run_ok(command: Sequence[str], env: dict[str, str], cwd: pathlib.Path) -> str:
    """Run ``command``; its stdout, or a failure with its output when it exits non-zero.

    :param command: the program's name and its arguments.
    :param env: the environment.
    :param cwd: where to run it.
    :raises SmokeFailure: when it fails.
    """
    result = run(command, env, cwd)
    check(result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def json_output(command: Sequence[str], env: dict[str, str], cwd: pathlib.Path) -> Any:
    """The JSON an ``airflow ... -o json`` command prints on stdout.

    :param command: the program's name and its arguments.
    :param env: the environment.
    :param cwd: where to run it.
    """
    output = run_ok(command, env, cwd)
    try:
        return json.loads(output)
    except ValueError:
        raise SmokeFailure(f"{' '.join(command)} printed no JSON:\n{output}") from None


def check_installed_package(env: dict[str, str], cwd: pathlib.Path) -> None:
    """The package imported is the installed one, not the checkout's sources.

    :param env: the environment.
    :param cwd: a directory outside the checkout.
    """
    code = f"import {PACKAGE} as p; print(p.__file__)"
    where = pathlib.Path(run_ok(["python", "-c", code], env, cwd).strip()).resolve()
    prefix = pathlib.Path(sys.prefix).resolve()
    check(
        prefix in where.parents and "site-packages" in where.parts,
        f"{PACKAGE} was imported from {where}, not from the site-packages of {prefix}",
    )
    check((where.parent / "py.typed").is_file(), f"py.typed installed beside {where}")
    passed(f"{PACKAGE} is imported from the environment: {where}")


def check_provider(env: dict[str, str], cwd: pathlib.Path) -> None:
    """Airflow knows the provider, its connection type and the connection form's fields.

    :param env: the environment.
    :param cwd: a directory outside the checkout.
    """
    providers = json_output(["airflow", "providers", "list", "-o", "json"], env, cwd)
    ours = [p for p in providers if p.get("package_name") == DISTRIBUTION]
    check(len(ours) == 1, f"airflow providers list lists {DISTRIBUTION}: {providers}")
    passed(f"airflow providers list: {DISTRIBUTION} {ours[0].get('version')}")

    hooks = json_output(["airflow", "providers", "hooks", "-o", "json"], env, cwd)
    infakt = [h for h in hooks if h.get("connection_type") == "infakt"]
    check(
        [h.get("class") for h in infakt] == [f"{PACKAGE}.hooks.infakt.InfaktHook"],
        f"airflow providers hooks has the connection type infakt with InfaktHook: {infakt}",
    )
    passed("airflow providers hooks: connection type infakt -> InfaktHook")

    code = f"import json; from {PACKAGE}.hooks.form import conn_fields; print(json.dumps(sorted(conn_fields())))"
    expected = sorted(f"extra__infakt__{name}" for name in json.loads(run_ok(["python", "-c", code], env, cwd)))
    widgets = json_output(["airflow", "providers", "widgets", "-o", "json"], env, cwd)
    found = sorted(w["connection_parameter_name"] for w in widgets if w.get("package_name") == DISTRIBUTION)
    check(expected != [] and found == expected, f"airflow providers widgets: expected {expected}, found {found}")
    passed(f"airflow providers widgets: the form's {len(found)} fields")


def start_emulator(env: dict[str, str], cwd: pathlib.Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``infakt-emulator`` of this environment on a free port; the process and its URL.

    :param env: the environment.
    :param cwd: a directory outside the checkout.
    """
    process = subprocess.Popen(
        [str(BIN / "infakt-emulator"), "--port", "0", "--pay-after-delivery", str(PAY_AFTER_SECONDS)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        _, errors = process.communicate(timeout=30)
        raise SmokeFailure(f"infakt-emulator did not start: {url!r} {errors}")
    return process, url


def admin(url: str, path: str) -> Any:
    """A GET of the emulator's admin API.

    :param url: the emulator's base URL (loopback).
    :param path: the path under ``/_emulator/``.
    """
    with urllib.request.urlopen(f"{url}/_emulator/{path}", timeout=10) as response:  # noqa: S310 - loopback URL
        return json.load(response)


def check_example_dags(env: dict[str, str], work: pathlib.Path) -> None:
    """Run the example DAGs with ``airflow dags test`` against the emulator; it must record the deliveries.

    :param env: the environment (its ``AIRFLOW_HOME`` is in ``work``).
    :param work: the temporary directory.
    """
    dags = pathlib.Path(env["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    for source in sorted((CHECKOUT / "example_dags").glob("*.py")):
        shutil.copy(source, dags / source.name)
    emulator, url = start_emulator(env, work)
    try:
        passed(f"infakt-emulator of the environment serves {url}")
        conn = run_ok(["infakt-emulator", "connection", "--url", url], env, work).strip()
        env = {**env, "AIRFLOW_CONN_INFAKT_DEFAULT": conn}
        run_ok(["airflow", "db", "migrate"], env, work)
        passed("airflow db migrate (SQLite)")
        for dag_id, conf in EXAMPLES:
            started = time.monotonic()
            result = run(["airflow", "dags", "test", dag_id, "--conf", json.dumps(conf)], env, work)
            log = work / f"{dag_id}.log"
            log.write_text(result.stdout + result.stderr)
            check(result.returncode == 0, f"airflow dags test {dag_id} exited {result.returncode}; see {log}")
            state = run_state(env, work, dag_id)
            check(state == "success", f"the run of {dag_id} ended {state!r}; see {log}")
            passed(f"airflow dags test {dag_id}: {state} in {time.monotonic() - started:.0f} s")
        delivered = [(d["invoice_id"], d["type"], d["doc_type"]) for d in admin(url, "deliveries")["deliveries"]]
        expected = [(conf["invoice_id"], conf["type"], conf["doc_type"]) for _, conf in EXAMPLES]
        check(delivered == expected, f"the emulator recorded {delivered}, expected {expected}")
        passed(f"the emulator recorded the deliveries {delivered}")
    finally:
        emulator.terminate()
        emulator.wait(30)


def run_state(env: dict[str, str], cwd: pathlib.Path, dag_id: str) -> str:
    """The state of the latest run of ``dag_id`` in the metadata database.

    :param env: the environment.
    :param cwd: a directory outside the checkout.
    :param dag_id: the DAG.
    """
    code = (
        "import sys\n"
        "from airflow.models.dagrun import DagRun\n"
        "runs = DagRun.find(dag_id=sys.argv[1])\n"
        "last = max(runs, key=lambda r: r.id)\n"
        "print(getattr(last.state, 'value', last.state))\n"
    )
    return run_ok(["python", "-c", code, dag_id], env, cwd).strip().splitlines()[-1]


def check_installed(work: pathlib.Path) -> None:
    """The checks of an installation with the ``emulator`` extra.

    :param work: a temporary directory outside the checkout.
    """
    env = environment(work / "airflow")
    check_installed_package(env, work)
    check_provider(env, work)
    check_example_dags(env, work)


def check_without_emulator_extra(work: pathlib.Path) -> None:
    """Without aiohttp: ``infakt-emulator`` says in one line which extra to install; ``connection`` works.

    :param work: a temporary directory outside the checkout.
    """
    env = environment(work / "airflow")
    check_installed_package(env, work)
    probe = run(["python", "-c", "import aiohttp"], env, work)
    check(probe.returncode != 0, "aiohttp is not installed in this environment (uninstall it first)")
    result = run(["infakt-emulator", "--port", "0"], env, work)
    lines = result.stderr.strip().splitlines()
    check(result.returncode != 0, f"infakt-emulator without aiohttp exits non-zero, exited {result.returncode}")
    check("Traceback" not in result.stderr and len(lines) == 1, f"one line, no traceback:\n{result.stderr}")
    check(f"pip install '{DISTRIBUTION}[emulator]'" in lines[0], f"the line names the extra: {lines[0]}")
    passed(f"infakt-emulator without the extra: {lines[0]}")
    conn = json.loads(run_ok(["infakt-emulator", "connection", "--url", "127.0.0.1:8765"], env, work))
    check(conn["host"] == "http://127.0.0.1:8765/api/v3", f"infakt-emulator connection works: {conn}")
    run_ok(["python", "-c", f"import {PACKAGE}.operators.deliver, {PACKAGE}.sensors.invoice"], env, work)
    passed("without the extra: infakt-emulator connection works, the operator and the sensor import")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one group of checks; exit status 0 when every check passed.

    :param argv: the command line (``sys.argv[1:]`` when ``None``).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("artifacts", help="what the wheel and the sdist hold").add_argument("dist", type=pathlib.Path)
    sub.add_parser("installed", help="the installation with the emulator extra")
    sub.add_parser("without-emulator-extra", help="the installation after aiohttp is uninstalled")
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix="infakt-dist-smoke-"))
    try:
        if args.what == "artifacts":
            check_artifacts(args.dist.resolve())
        elif args.what == "installed":
            check_installed(work)
        else:
            check_without_emulator_extra(work)
    except SmokeFailure as failure:
        print(f"FAIL {failure}", file=sys.stderr, flush=True)
        print(f"     (files kept in {work})", file=sys.stderr, flush=True)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
