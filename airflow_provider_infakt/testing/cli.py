"""``infakt-emulator``: run the inFakt emulator, or print an Airflow connection for one.

``infakt-emulator --host 127.0.0.1 --port 0`` prints the base URL as the first line of stdout and
serves until interrupted (Ctrl-C or SIGTERM); ``--fault JSON`` arms faults from the start and
``--defer-sending SECONDS`` makes v3 send after it answers; ``POST /_emulator/reset`` returns to what
these options set up. ``infakt-emulator connection --url URL --api-version v2 --format xml`` prints the
connection JSON for ``AIRFLOW_CONN_INFAKT_DEFAULT``.

Mistakes the user can fix (a port in use, the ``emulator`` extra not installed, a bad option) are
reported in one line on stderr with a non-zero exit status, not with a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from .emulator import InfaktEmulator, connection_json
from .faults import Fault

#: Port used by ``infakt-emulator`` when ``--port`` is not given, and by ``connection``'s default URL.
DEFAULT_PORT = 8765


def _port(text: str) -> int:
    """``--port``: a whole number from 0 to 65535 (anything else is argparse's usage error)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 65535 (0 picks a free one), not {text!r}")
    return port


def _serve(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="infakt-emulator",
        description="Serve the inFakt emulator (API v2 and v3) until interrupted. "
        "Subcommand: 'infakt-emulator connection --help'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port; 0 picks a free one (default {DEFAULT_PORT})"
    )
    parser.add_argument("--limits", action="store_true", help="enforce inFakt's request limits (429)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="run the limits' minute and day this much faster")
    parser.add_argument("--postal-package", action="store_true", help="the demo account can send by post")
    parser.add_argument(
        "--pay-after-delivery",
        type=float,
        default=None,
        metavar="SECONDS",
        help="mark each delivered invoice paid this many seconds after delivery",
    )
    parser.add_argument(
        "--defer-sending",
        type=float,
        default=None,
        metavar="SECONDS",
        help="v3: answer deliveries 202 at once, send them (record them, status sent) this many seconds later",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault_spec,
        metavar="JSON",
        help="arm a fault, given as the JSON body of POST /_emulator/faults, e.g. "
        '\'{"route": "v3.deliver_*", "processing_delay": 4, "times": null}\'; repeatable',
    )
    args = parser.parse_args(argv)
    try:
        emulator = InfaktEmulator(
            args.host,
            args.port,
            limits=args.limits,
            time_scale=args.time_scale,
            postal_package=args.postal_package,
            pay_after_delivery=args.pay_after_delivery,
            defer_sending=args.defer_sending,
            faults=[Fault(**spec) for spec in args.fault],
        )
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    problem = _missing_server_dependency()
    if problem is not None:
        return _fail(problem)

    # Before anything can be asked of the server: a SIGTERM must never find the default handler.
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    try:
        emulator.start()
    except RuntimeError as exc:
        if isinstance(exc.__cause__, OSError):
            return _fail(_cannot_listen(args.host, args.port, exc.__cause__))
        raise
    print(emulator.url, flush=True)
    print(
        f"inFakt emulator serving v2 at {emulator.url}/api/v2 and v3 at {emulator.url}/api/v3; "
        f"admin at {emulator.url}/_emulator. Stop with Ctrl-C.",
        file=sys.stderr,
        flush=True,
    )
    while not done.wait(0.5):
        pass
    emulator.stop()
    return 0


def _fail(message: str) -> int:
    """Print a one-line error for the user and give the exit status for it."""
    print(f"infakt-emulator: {message}", file=sys.stderr, flush=True)
    return 1


def _missing_server_dependency() -> str | None:
    """Why the server cannot run in this environment (its ``emulator`` extra is not installed), or ``None``."""
    try:
        import aiohttp  # noqa: F401 - only whether it imports
    except ImportError as exc:
        return (
            f"serving needs aiohttp, which is not installed ({exc}); install the emulator extra: "
            "pip install 'airflow-provider-infakt[emulator]' (from a checkout: pip install '.[emulator]')"
        )
    return None


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """What went wrong binding ``host:port``, and what to do about it, in one line."""
    reason = error.strerror or str(error)
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use ({reason}): stop what is using it, or choose another "
            "port with --port (--port 0 picks a free one)"
        )
    if error.errno == errno.EACCES:
        return f"not allowed to listen on port {port} on {host} ({reason}): choose a port above 1023 with --port"
    return f"cannot listen on {host} port {port} ({reason}): check --host (e.g. 127.0.0.1) and --port"


def _fault_spec(text: str) -> dict[str, Any]:
    """``--fault``'s value: a JSON object with the fields of a fault."""
    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not JSON: {text!r}") from None
    if not isinstance(value, dict) or "route" not in value:
        raise argparse.ArgumentTypeError(f'a fault is a JSON object with at least "route": {text!r}')
    return value


def _connection(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="infakt-emulator connection",
        description="Print an Airflow connection (JSON) for a running emulator, with the demo credentials.",
    )
    parser.add_argument(
        "--url",
        default=f"http://127.0.0.1:{DEFAULT_PORT}",
        help="the emulator's base URL; without a scheme, http:// is assumed for a loopback address only "
        f"(default http://127.0.0.1:{DEFAULT_PORT})",
    )
    parser.add_argument("--api-version", choices=("v3", "v2"), default="v3")
    parser.add_argument("--format", choices=("json", "xml"), default=None, help="v2 only (default json)")
    parser.add_argument("--auth", choices=("oauth", "xauth"), default=None, help="v2 only (default oauth)")
    parser.add_argument("--scope", choices=("write", "read"), default=None, help="v3 only (default write)")
    args = parser.parse_args(argv)
    # an option of the other API version would be ignored: refuse it rather than print what was not asked for
    if args.api_version == "v3":
        given = [f"--{name}" for name in ("format", "auth") if getattr(args, name) is not None]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            parser.error(f"{' and '.join(given)} {verb} to --api-version v2 only (v3 speaks JSON with an API key)")
    elif args.scope is not None:
        parser.error("--scope applies to --api-version v3 only (v2 has no read-only key)")
    try:
        line = connection_json(
            args.url,
            api_version=args.api_version,
            format=args.format or "json",
            auth=args.auth or "oauth",
            scope=args.scope or "write",
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``infakt-emulator``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["connection"]:
        return _connection(args[1:])
    if args[:1] == ["serve"]:
        args = args[1:]
    return _serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
