"""``infakt-emulator``: run the inFakt emulator, or print an Airflow connection for one.

``infakt-emulator --host 127.0.0.1 --port 0`` prints the base URL as the first line of stdout and
serves until interrupted (Ctrl-C or SIGTERM). ``infakt-emulator connection --url URL --api-version v2
--format xml`` prints the connection JSON for ``AIRFLOW_CONN_INFAKT_DEFAULT``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

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
    args = parser.parse_args(argv)

    from .emulator import InfaktEmulator

    emulator = InfaktEmulator(
        args.host,
        args.port,
        limits=args.limits,
        time_scale=args.time_scale,
        postal_package=args.postal_package,
    )
    emulator.start()
    if args.pay_after_delivery is not None:
        emulator.pay_after_delivery(args.pay_after_delivery)
    print(emulator.url, flush=True)
    print(
        f"inFakt emulator serving v2 at {emulator.url}/api/v2 and v3 at {emulator.url}/api/v3; "
        f"admin at {emulator.url}/_emulator. Stop with Ctrl-C.",
        file=sys.stderr,
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    emulator.stop()
    return 0


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

    from .emulator import connection_json

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
