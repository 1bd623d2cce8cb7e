"""Reading an answer's body, for both clients: framing checks, bounded decompression, the size cap.

Both clients read the body as it came over the wire (de-chunked, not decompressed) and feed it to a
:class:`BodyReader`, so that:

- an answer whose framing is malformed (a ``Content-Length`` that is not one non-negative number, or
  both ``Content-Length`` and ``Transfer-Encoding``) is a failure after sending, not an answer: its
  end cannot be told apart from a cut or a second answer riding behind it;
- ``gzip`` and ``deflate`` are inflated here, a piece at a time with a bound on the output, so that a
  compression bomb (100 MiB of zeros in 100 KiB) never takes more than the size cap in memory, and
  corrupt or cut-short compressed data is a failure, not a raw library error. Other encodings are
  never asked for (the requests say ``Accept-Encoding: gzip, deflate``) and are passed through as
  they are: the parser finds them unreadable;
- the body (after decompression) is capped at ``max_response_bytes``.

This module imports nothing but the standard library.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from .policy import Failure, Response
from .protocol import header_value

__all__ = ["BodyReader", "declared_length", "too_large"]


def too_large(status: int, limit: int) -> Failure:
    """The failure for an answer whose body goes over ``limit`` bytes."""
    return Failure(
        "too_large", f"the answer is larger than the {limit}-byte cap; reading stopped", status=status, limit=limit
    )


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The Content-Length header as an int when it is one plain non-negative number, else None."""
    value = header_value(headers, "Content-Length")
    if value is None or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value.strip())


class _TooLarge(Exception):
    pass


class BodyReader:
    """Collects one answer's body; :meth:`feed` the raw pieces, then :meth:`finish`.

    :param status: the answer's HTTP status.
    :param headers: the answer's headers.
    :param limit: the largest body accepted, after decompression.
    """

    def __init__(self, status: int, headers: Mapping[str, str], limit: int) -> None:
        self.status = status
        self.headers = headers
        self.limit = limit
        self.failure: Failure | None = self._check_framing()
        self._chunks: list[bytes] = []
        self._size = 0
        encoding = (header_value(headers, "Content-Encoding") or "").strip().lower()
        self._encoding = encoding if encoding in ("gzip", "x-gzip", "deflate") else None
        self._decoder: zlib._Decompress | None = None
        self._started = False

    def _check_framing(self) -> Failure | None:
        length = header_value(self.headers, "Content-Length")
        if length is None:
            return None
        if header_value(self.headers, "Transfer-Encoding") is not None:
            return Failure(
                "maybe_sent", "malformed answer: both Content-Length and Transfer-Encoding", status=self.status
            )
        number = declared_length(self.headers)
        if number is None:
            return Failure("maybe_sent", f"malformed answer: Content-Length {length[:40]!r}", status=self.status)
        if number > self.limit and self._encoding_is_identity():
            return too_large(self.status, self.limit)
        return None

    def _encoding_is_identity(self) -> bool:
        return (header_value(self.headers, "Content-Encoding") or "identity").strip().lower() == "identity"

    def feed(self, data: bytes) -> Failure | None:
        """Take the next raw piece; a :class:`Failure` when reading must stop (too large, corrupt)."""
        if self.failure is not None:
            return self.failure
        try:
            if self._encoding is None:
                self._add(data)
            else:
                self._inflate(data)
        except _TooLarge:
            self.failure = too_large(self.status, self.limit)
        except zlib.error:
            self.failure = Failure("maybe_sent", f"the answer's {self._encoding} data is corrupt", status=self.status)
        return self.failure

    def finish(self) -> Response | Failure:
        """The :class:`Response`, or the :class:`Failure` that stopped reading."""
        if self.failure is not None:
            return self.failure
        if self._encoding is not None and self._started and (self._decoder is None or not self._decoder.eof):
            return Failure("maybe_sent", f"the answer's {self._encoding} data is cut short", status=self.status)
        return Response(self.status, self.headers, b"".join(self._chunks))

    def _add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self.limit:
            raise _TooLarge
        self._chunks.append(piece)

    def _inflate(self, data: bytes) -> None:
        pending = data
        while pending:
            if self._decoder is None:
                self._decoder = self._new_decoder(pending)
                self._started = True
            decoder = self._decoder
            # At most one byte over the cap at a time: a bomb is never inflated further than that.
            self._add(decoder.decompress(pending, self.limit - self._size + 1))
            if decoder.unconsumed_tail:
                pending = decoder.unconsumed_tail
            elif decoder.eof and decoder.unused_data.strip(b"\0") and self._encoding != "deflate":
                pending = decoder.unused_data  # gzip allows several members, one after another
                self._decoder = None
            else:
                pending = b""

    def _new_decoder(self, first: bytes) -> zlib._Decompress:
        if self._encoding == "deflate":
            # "deflate" is meant to be zlib-wrapped; some servers send raw deflate: tell them apart
            # by the zlib header (RFC 1950: CMF/FLG, a multiple of 31, method 8).
            if len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0:
                return zlib.decompressobj(zlib.MAX_WBITS)
            return zlib.decompressobj(-zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
