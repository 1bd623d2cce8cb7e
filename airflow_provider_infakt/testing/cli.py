"""``infakt-emulator``: run the inFakt emulator, or print an Airflow connection for one.

``infakt-emulator --host 127.0.0.1 --port 0`` prints the base URL as the first line of stdout and
serves until interrupted (Ctrl-C or SIGTERM); ``--fault JSON`` arms faults from the start and
``--defer-sending SECONDS`` makes v3 send after it answers. ``infakt-emulator connection --url URL
--api-version v2 --format xml`` prints the connection JSON for ``AIRFLOW_CONN_INFAKT_DEFAULT``.
"""

from __future__ import annotations

import argparse
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


def _serve(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="infakt-emulator",
        description="Serve the inFakt emulator (API v2 and v3) until interrupted. "
        "Subcommand: 'infakt-emulator connection --help'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port; 0 picks a free one (default {DEFAULT_PORT})"
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

    # Before anything can be asked of the server: a SIGTERM must never find the default handler.
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    emulator = InfaktEmulator(
        args.host,
        args.port,
        limits=args.limits,
        time_scale=args.time_scale,
        postal_package=args.postal_package,
    )
    try:
        emulator.pay_after_delivery(args.pay_after_delivery)
        emulator.defer_sending(args.defer_sending)
        for spec in args.fault:
            emulator.faults.add(Fault(**spec))
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    emulator.start()
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
    parser.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the emulator's base URL")
    parser.add_argument("--api-version", choices=("v3", "v2"), default="v3")
    parser.add_argument("--format", choices=("json", "xml"), default="json", help="v2 only")
    parser.add_argument("--auth", choices=("oauth", "xauth"), default="oauth", help="v2 only")
    parser.add_argument("--scope", choices=("write", "read"), default="write", help="v3 only")
    args = parser.parse_args(argv)
    print(connection_json(args.url, api_version=args.api_version, format=args.format, auth=args.auth, scope=args.scope))
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
