"""Answers no well-behaved server sends, byte for byte: garbage status lines, Content-Length lies,
broken chunking, compression bombs, odd headers. Each goes to both clients, for a deliver and a read.
A deliver must end "done" only for a clean success, and otherwise in an unknown outcome (or, for a
real inFakt refusal, "not done"); a read must end in an InfaktError; nothing may escape raw."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from airflow_provider_infakt.api import errors as e

from .localserver import Reply, scripted_server
from .test_client_transport import Runner, settings

BOMB = gzip.compress(b"\0" * (100 * 1024 * 1024), 9)  # 100 MiB of zeros in about 100 KiB
INVOICE = b'{"id": 1, "status": "sent"}'


def raw(head: bytes, body: bytes = b"") -> Reply:
    return Reply(action="raw", body=head.replace(b"\n", b"\r\n") + b"\r\n" + body)


CASES = {
    # name: (answer, what a deliver must end in)
    "garbage-status": (raw(b"HTTP/1.1 abc OK\n"), "unknown"),
    "status-2000": (raw(b"HTTP/1.1 2000 OK\nContent-Length: 0\n"), "unknown"),
    "no-status-line": (raw(b"garbage\n"), "unknown"),
    "content-length-too-long": (raw(b"HTTP/1.1 202 Accepted\nContent-Length: 100\n", b"short"), "unknown"),
    "content-length-negative": (raw(b"HTTP/1.1 202 Accepted\nContent-Length: -1\n"), "unknown"),
    "content-length-text": (raw(b"HTTP/1.1 202 Accepted\nContent-Length: zero\n"), "unknown"),
    "content-length-twice": (
        raw(b"HTTP/1.1 202 Accepted\nContent-Length: 0\nContent-Length: 5\n", b"hello"),
        "unknown",
    ),
    "content-length-list": (raw(b"HTTP/1.1 202 Accepted\nContent-Length: 0, 5\n", b"hello"), "unknown"),
    "chunked-and-length": (
        raw(b"HTTP/1.1 202 Accepted\nTransfer-Encoding: chunked\nContent-Length: 3\n", b"0\r\n\r\n"),
        "unknown",
    ),
    "chunked-garbage": (
        raw(b"HTTP/1.1 202 Accepted\nTransfer-Encoding: chunked\n", b"zz\r\nabc\r\n0\r\n\r\n"),
        "unknown",
    ),
    "gzip-corrupt": (
        raw(b"HTTP/1.1 202 Accepted\nContent-Encoding: gzip\nContent-Length: 10\n", b"0123456789"),
        "unknown",
    ),
    "gzip-cut-short": (
        raw(
            b"HTTP/1.1 202 Accepted\nContent-Encoding: gzip\nContent-Length: 12\n",
            gzip.compress(b'{"ok": true}')[:12],
        ),
        "unknown",
    ),
    "gzip-bomb": (
        raw(b"HTTP/1.1 202 Accepted\nContent-Encoding: gzip\nContent-Length: %d\n" % len(BOMB), BOMB),
        "unknown",
    ),
    "deflate-bomb": (
        raw(
            b"HTTP/1.1 202 Accepted\nContent-Encoding: deflate\nContent-Length: %d\n"
            % len(zlib.compress(b"\0" * 50_000_000, 9)),
            zlib.compress(b"\0" * 50_000_000, 9),
        ),
        "unknown",
    ),
    "header-line-too-long": (raw(b"HTTP/1.1 202 Accepted\nX: " + b"a" * 200_000 + b"\nContent-Length: 0\n"), "unknown"),
    "early-hints-then-202": (
        Reply(
            action="raw",
            body=b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ),
        "unknown-or-done",  # httpx reads past the 103 to the 202; requests' http.client stops at it
    ),
    "continue-then-202": (
        Reply(action="raw", body=b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"),
        "done",
    ),
    "gzip-202": (
        raw(
            b"HTTP/1.1 202 Accepted\nContent-Encoding: gzip\nContent-Length: %d\n" % len(gzip.compress(b"{}")),
            gzip.compress(b"{}"),
        ),
        "done",
    ),
    "clean-202": (raw(b"HTTP/1.1 202 Accepted\nContent-Length: 0\n"), "done"),
}


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    return Runner(request.param)


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_answer_to_a_deliver(run, case):
    answer, expected = CASES[case]
    with scripted_server() as server:
        server.default = answer
        tracemalloc.start()
        try:
            outcome = run(settings(server.url, max_retries=1), "deliver_invoice", 1, "mail", "org")
        except e.InfaktUnknownOutcome as exc:
            outcome = exc
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert len(server.seen) == 1  # never sent again
        if expected == "done":
            assert not isinstance(outcome, Exception) and outcome.invoice_id == 1
        elif expected == "unknown":
            assert isinstance(outcome, e.InfaktUnknownOutcome), outcome
            assert "\x00" not in str(outcome)
        assert peak < 40 * 1024 * 1024, f"{peak / 1e6:.0f} MB"  # a bomb is never inflated whole


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_answer_to_a_read(run, case):
    answer, _ = CASES[case]
    with scripted_server() as server:
        server.default = answer
        tracemalloc.start()
        try:
            with pytest.raises(e.InfaktError):  # never a raw exception; 202 is no invoice either
                run(settings(server.url, max_retries=1), "get_invoice", 1)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 40 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "identity"])
def test_compressed_answers_are_read(run, encoding):
    if encoding == "deflate-raw":  # what some servers send as "deflate": no zlib header
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, encoding = compressor.compress(INVOICE) + compressor.flush(), "deflate"
    else:
        body = {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress}.get(encoding, bytes)(INVOICE)
    with scripted_server() as server:
        server.default = Reply(200, {"Content-Type": "application/json", "Content-Encoding": encoding}, body)
        assert run(settings(server.url), "get_invoice", 1).id == 1
        assert server.seen[0].headers.get("Accept-Encoding") == "gzip, deflate"  # nothing we cannot decode


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 302 Found\nLocation: /api/v3/\x01x\x1b[31m\nContent-Length: 0\n",
        b"HTTP/1.1 500 Oops\nContent-Type: text/html\x1b[2J\nContent-Length: 0\n",
    ],
)
def test_control_characters_from_an_answer_never_reach_a_message(head):
    with scripted_server() as server:
        server.default = raw(head)
        with pytest.raises(e.InfaktUnknownOutcome) as caught:
            Runner("sync")(settings(server.url), "deliver_invoice", 1, "mail", "org")
    assert caught.value.status in (302, 500)
    assert "\x1b" not in str(caught.value) and "\x01" not in str(caught.value)
