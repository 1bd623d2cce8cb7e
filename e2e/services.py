"""The services under Airflow: PostgreSQL (the metadata database), Redis (the Celery broker) and the inFakt
emulator, each started by the driver on loopback, on a free port, with its files under ``.e2e/``."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processes import Managed, Processes, free_port, wait_for_port

#: The system user PostgreSQL runs as (it refuses to run as root).
POSTGRES_USER = "postgres"
#: The database and its owner (a superuser of this throwaway cluster) that Airflow uses.
DB_NAME = "airflow"
DB_USER = "airflow"


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL cluster.

    :param port: its TCP port on 127.0.0.1.
    :param password: the password of :data:`DB_USER`.
    """

    port: int
    password: str

    @property
    def sqlalchemy_url(self) -> str:
        """The URL Airflow's ``sql_alchemy_conn`` takes (psycopg2)."""
        return f"postgresql+psycopg2://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{DB_NAME}"


def postgres_bin() -> Path:
    """The newest Debian PostgreSQL's ``bin`` folder (``/usr/lib/postgresql/<version>/bin``).

    :raises RuntimeError: when Debian's postgresql is not installed.
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("Debian's postgresql is not installed (apt-get install postgresql); `make e2e` installs it")
    return found[-1].parent


def _as_postgres(argv: list[str], reach: Path) -> list[str]:
    """``argv`` run as the ``postgres`` user (with ``setpriv``, no PAM session).

    A checkout in a private directory (``mktemp -d`` makes it 0700) cannot be reached by that user;
    then the command keeps one capability, ``CAP_DAC_READ_SEARCH`` (read and search any directory),
    so it can reach its data directory under ``.e2e`` without any permission outside it being changed.

    :param argv: the command.
    :param reach: a directory the command must be able to write into.
    """
    base = ["setpriv", f"--reuid={POSTGRES_USER}", f"--regid={POSTGRES_USER}", "--init-groups"]
    plain = subprocess.run([*base, "--", "test", "-w", str(reach)], check=False)  # noqa: S603
    if plain.returncode == 0:
        return [*base, "--", *argv]
    caps = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return [*base, *caps, "--", *argv]


def start_postgres(procs: Processes, work: Path, deadline: float) -> Postgres:
    """``initdb`` a new cluster in ``work/pg`` (as the ``postgres`` user), start it on 127.0.0.1 only (no
    Unix socket), create Airflow's database, and wait until it answers.

    Durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the cluster
    lives for one run on a loaded machine.

    :param procs: where to register the server process.
    :param work: the ``.e2e`` folder.
    :param deadline: ``time.monotonic()`` value by which it must answer.
    """
    pg_bin = postgres_bin()
    data = work / "pg"
    data.mkdir(mode=0o700)
    password = secrets.token_hex(16)
    pwfile = work / "pg-password"
    pwfile.write_text(password + "\n")
    user = pwd.getpwnam(POSTGRES_USER)
    for path in (data, pwfile):
        os.chown(path, user.pw_uid, user.pw_gid)
    pwfile.chmod(0o600)
    initdb = [
        str(pg_bin / "initdb"),
        f"--pgdata={data}",
        f"--username={DB_USER}",
        f"--pwfile={pwfile}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
    ]
    with (work / "logs" / "initdb.log").open("wb") as log:
        subprocess.run(_as_postgres(initdb, data), check=True, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    pwfile.unlink()
    port = free_port()
    server = [
        str(pg_bin / "postgres"),
        "-D",
        str(data),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"port={port}",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=300",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]
    managed = procs.start("postgres", _as_postgres(server, data), os.environ, cwd=work, stop_signal=signal.SIGINT)
    wait_for_port(port, deadline, "PostgreSQL", managed)
    env = {**os.environ, "PGPASSWORD": password}
    createdb = [str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, DB_NAME]
    while True:  # the port opens a moment before the server accepts logins
        done = subprocess.run(createdb, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode == 0:
            break
        if time.monotonic() > deadline or "starting up" not in done.stderr:
            raise RuntimeError(f"createdb failed: {done.stderr.strip()}")
        time.sleep(0.3)
    return Postgres(port=port, password=password)


def start_redis(procs: Processes, work: Path, deadline: float) -> int:
    """Start ``redis-server`` on 127.0.0.1 and a free port, working in ``work/redis``, persisting nothing.

    :param procs: where to register the process.
    :param work: the ``.e2e`` folder.
    :param deadline: ``time.monotonic()`` value by which it must listen.
    :returns: its port.
    :raises RuntimeError: when Debian's redis-server is not installed or it does not start.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("Debian's redis-server is not installed (apt-get install redis-server); `make e2e` does it")
    folder = work / "redis"
    folder.mkdir()
    port = free_port()
    argv = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(folder),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    managed = procs.start("redis", argv, os.environ, cwd=folder)
    wait_for_port(port, deadline, "Redis", managed)
    return port


class Emulator:
    """The inFakt emulator, started as ``infakt-emulator`` in its own process, and its admin API.

    :param url: its base URL.
    :param process: its process.
    """

    def __init__(self, url: str, process: Managed) -> None:
        self.url = url
        self.process = process

    @classmethod
    def start(cls, procs: Processes, work: Path, deadline: float) -> Emulator:
        """Start ``infakt-emulator --port <free>`` from this venv, working in ``work/emulator``.

        :param procs: where to register the process.
        :param work: the ``.e2e`` folder.
        :param deadline: ``time.monotonic()`` value by which it must listen.
        """
        folder = work / "emulator"
        folder.mkdir()
        port = free_port()
        binary = str(Path(sys.executable).parent / "infakt-emulator")
        managed = procs.start("emulator", [binary, "--host", "127.0.0.1", "--port", str(port)], os.environ, folder)
        wait_for_port(port, deadline, "the inFakt emulator", managed)
        return cls(f"http://127.0.0.1:{port}", managed)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL the driver made
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())

    def create_invoices(self, count: int, label: str) -> list[int]:
        """Add ``count`` draft invoices, each for a new client with an e-mail address of its own.

        :param count: how many.
        :param label: a word in the clients' names and addresses (what they are for).
        :returns: their ids.
        """
        ids = []
        for n in range(1, count + 1):
            invoice = self._call(
                "POST",
                "/_emulator/invoices",
                {"client_email": f"{label}-{n}@klient.example", "client_name": f"E2E {label} {n} Sp. z o.o."},
            )
            ids.append(int(invoice["id"]))
        return ids

    def invoices(self) -> list[dict[str, Any]]:
        """Every invoice of the account, with its client's e-mail address (``client_email``)."""
        found: list[dict[str, Any]] = self._call("GET", "/_emulator/invoices")["invoices"]
        return found

    def invoice_status(self, invoice_id: int) -> str:
        """An invoice's status (``draft``, ``sent``, ``paid``, ...).

        :param invoice_id: the invoice.
        """
        status: str = self._call("GET", f"/_emulator/invoices/{invoice_id}")["status"]
        return status

    def deliveries(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The deliveries recorded, and those accepted but not carried out yet."""
        answer = self._call("GET", "/_emulator/deliveries")
        return answer["deliveries"], answer["pending"]

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received (method, path, route, status: None when the connection was dropped)."""
        found: list[dict[str, Any]] = self._call("GET", "/_emulator/requests")["requests"]
        return found

    def arm_fault(self, **fault: Any) -> None:
        """Arm a fault (the fields of ``POST /_emulator/faults``).

        :param fault: route, drop, processing_delay, answer_delay, times, ...
        """
        self._call("POST", "/_emulator/faults", fault)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._call("DELETE", "/_emulator/faults")

    def scenario(self, name: str, seconds: float | None) -> None:
        """Switch a scenario on (``seconds``) or off (None): ``pay-after-delivery`` or ``deferred-sending``.

        :param name: the scenario.
        :param seconds: its delay.
        """
        self._call("POST", f"/_emulator/scenarios/{name}", {"seconds": seconds})
