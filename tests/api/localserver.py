"""A tiny scripted HTTP server on 127.0.0.1 for transport tests (the emulator covers the API itself)."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Reply:
    """What to do with one request: answer, stall (never answer), or drop the connection."""

    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b"{}"
    #: "answer" | "drop" | "stall" | "stream" (no Content-Length, close) | "trickle" (the body one byte
    #: every ``interval`` seconds) | "trickle_headers" (the header block one byte every ``interval``) |
    #: "raw" (``body`` is the whole answer: status line, headers and all, sent as it is)
    action: str = "answer"
    interval: float = 0.1


class ScriptedServer:
    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.default = Reply()
        self.seen: list[Seen] = []
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                reply = server.script.pop(0) if server.script else server.default
                if reply.action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if reply.action == "stall":
                    server.release.wait(10)
                    self.close_connection = True
                    return
                if reply.action == "raw":  # the body is the whole answer, bytes as they are
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if reply.action == "trickle_headers":
                    head = f"HTTP/1.1 {reply.status} OK\r\nX-Padding: {'x' * 200}\r\n"
                    for byte in head.encode():
                        if server.release.wait(reply.interval):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.action == "stream":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for start in range(0, len(reply.body), 1000):
                        self.wfile.write(reply.body[start : start + 1000])
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.action == "trickle":
                    self.wfile.flush()
                    for byte in reply.body:
                        if server.release.wait(reply.interval):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    return
                self.wfile.write(reply.body)

            do_GET = do_POST = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
