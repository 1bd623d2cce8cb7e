"""Processes of the e2e deployment: start each in a session of its own with its output in a log file,
find a process tree through ``/proc``, stop everything, and find what was left behind.

Linux only (it reads ``/proc``). Every process started here is a session (and process group) leader,
but Airflow's task supervisor puts each task in a process group of its own, so stopping walks the
parent/child links of ``/proc`` as well as the groups.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, deadline: float, what: str, alive: Managed | None = None) -> None:
    """Wait until something accepts TCP connections on ``127.0.0.1:port``.

    :param port: the port.
    :param deadline: ``time.monotonic()`` value after which to give up.
    :param what: the name of the service, for the error message.
    :param alive: the process that should be listening: if it exits, stop waiting.
    :raises RuntimeError: when the deadline passes or the process exits first.
    """
    while time.monotonic() < deadline:
        if alive is not None and alive.popen.poll() is not None:
            raise RuntimeError(f"{what} exited with {alive.popen.returncode}; see {alive.log_path}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in time")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, ...), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def all_pids() -> list[int]:
    """Every process id in ``/proc``."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def parent_of(pid: int) -> int | None:
    """The parent process id of ``pid``, or None when it is gone.

    :param pid: the process.
    """
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and waits to be reaped (or is gone).

    :param pid: the process.
    """
    fields = _stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def descendants(root: int) -> list[int]:
    """``root``'s children, their children, and so on (not ``root``), parents before children.

    :param root: the process whose tree is wanted.
    """
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        ppid = parent_of(pid)
        if ppid is not None:
            children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    queue = list(children.get(root, []))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def command_args(pid: int) -> list[str]:
    """``pid``'s command line (empty when gone or a kernel thread).

    :param pid: the process.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def command_line(pid: int) -> str:
    """``pid``'s command line as one string ('' when gone or a kernel thread).

    :param pid: the process.
    """
    return " ".join(command_args(pid))


def _send(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def freeze_and_kill(pids: Sequence[int]) -> None:
    """Stop every process in ``pids`` (SIGSTOP, so none sees another die and reacts), then SIGKILL them:
    as close to a machine losing power as one machine can make it.

    :param pids: the processes, parents first.
    """
    _send(pids, signal.SIGSTOP)
    _send(pids, signal.SIGKILL)


@dataclass
class Managed:
    """A process the driver started.

    :param name: a short name (``scheduler``, ``worker1``, ...), also its log file's name.
    :param popen: the process.
    :param log_path: where its stdout and stderr go.
    :param stop_signal: what asks it to stop (postgres: SIGINT, its "fast" shutdown).
    """

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def running(self) -> bool:
        """Whether it has not exited yet."""
        return self.popen.poll() is None


@dataclass
class Processes:
    """Everything the driver started, in order; :meth:`stop_all` stops it in reverse order.

    :param log_dir: where each process's log file goes.
    """

    log_dir: Path
    started: list[Managed] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        stop_signal: signal.Signals = signal.SIGTERM,
        log_path: Path | None = None,
    ) -> Managed:
        """Start ``argv`` in a new session, its output appended to ``<log_dir>/<name>.log``.

        :param name: the process's name (unique among those running).
        :param argv: the command.
        :param env: its whole environment.
        :param cwd: its working directory.
        :param stop_signal: the signal that asks it to stop.
        :param log_path: where its output goes, if not to ``<log_dir>/<name>.log``.
        """
        log_path = log_path or self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(  # noqa: S603 - argv is built by the driver
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
            )
        managed = Managed(name, popen, log_path, stop_signal)
        self.started.append(managed)
        return managed

    def get(self, name: str) -> Managed:
        """The running process named ``name`` (the latest started under that name).

        :param name: its name.
        :raises KeyError: when none was started so.
        """
        for managed in reversed(self.started):
            if managed.name == name:
                return managed
        raise KeyError(name)

    def stop(self, group: Sequence[Managed], timeout: float) -> list[str]:
        """Ask each of ``group`` to stop (all at once), wait up to ``timeout`` seconds, then SIGKILL every
        process still alive in their trees (collected before asking, so orphans are found too).

        :param group: the processes to stop.
        :param timeout: seconds to wait for a clean exit.
        :returns: one line per process that had to be killed.
        """
        trees = {m.name: [m.pid, *descendants(m.pid)] for m in group if m.running()}
        for managed in group:
            if managed.running():
                _send([managed.pid], managed.stop_signal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(m.running() for m in group):
            time.sleep(0.2)
        killed: list[str] = []
        for managed in group:
            tree = trees.get(managed.name, [])
            if managed.running():
                tree = [*tree, *descendants(managed.pid)]
            alive = [pid for pid in dict.fromkeys(tree) if not is_zombie(pid)]
            if alive:
                killed.append(f"{managed.name}: SIGKILL to {len(alive)} process(es) still running after {timeout:g} s")
                _send(alive, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.popen.wait(timeout=10)
        return killed

    def stop_all(self, timeout: float = 20.0) -> list[str]:
        """Stop everything started, in stages: Airflow and the emulator first, then Redis, then PostgreSQL
        (the metadata database goes last, so Airflow can record its own shutdown).

        :param timeout: seconds each stage waits for a clean exit before SIGKILL.
        :returns: what had to be killed.
        """
        last = ("redis", "postgres")
        first = [m for m in self.started if m.name not in last]
        killed = self.stop(first, timeout)
        for name in last:
            killed += self.stop([m for m in self.started if m.name == name], timeout)
        return killed


def session_of(pid: int) -> int | None:
    """The session id of ``pid``, or None when it is gone.

    :param pid: the process.
    """
    fields = _stat_fields(pid)
    return int(fields[3]) if fields else None


def leftovers(paths: Sequence[Path], sessions: Iterable[int], exclude: Iterable[int]) -> list[tuple[int, str]]:
    """Processes whose command line or working directory points into one of ``paths``, or that belong
    to one of ``sessions`` (every process the driver started leads a session of its own, which its
    children inherit unless they leave it).

    Relative arguments are read against the process's own working directory; postgres and redis
    rewrite their command lines, but work inside their data directories, which the working directory
    shows.

    :param paths: absolute directories (``.e2e``, ``.venv-e2e``).
    :param sessions: session ids (the pids of the processes the driver started).
    :param exclude: process ids not to report (the driver itself and its ancestors).
    :returns: ``(pid, command line)`` of each such process.
    """
    skip = set(exclude)
    ours = set(sessions)
    roots = [str(p) for p in paths]

    def inside(text: str) -> bool:
        return any(text == root or text.startswith(root + os.sep) for root in roots)

    found: list[tuple[int, str]] = []
    for pid in all_pids():
        if pid in skip or is_zombie(pid):
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = ""
        args = command_args(pid)
        resolved = [os.path.normpath(os.path.join(cwd, a)) if cwd and "/" in a else a for a in args]
        if session_of(pid) in ours or inside(cwd) or any(inside(a) for a in resolved):
            found.append((pid, command_line(pid)))
    return found


def ancestors(pid: int) -> list[int]:
    """``pid`` and its parents up to process 1.

    :param pid: the process to start from.
    """
    chain = [pid]
    while True:
        ppid = parent_of(chain[-1])
        if not ppid or ppid in chain:
            return chain
        chain.append(ppid)
