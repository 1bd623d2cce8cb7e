"""Faults on demand: what the next requests to a route should suffer."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import fnmatch
import itertools
import threading
from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from ._inputs import header_value, is_number, is_whole, seconds

DROP_MODES = ("before", "after")
_ids = itertools.count(1)


#: The emulator's route names, which a fault's pattern is matched against.
ROUTE_NAMES = (
    "v2.deliver",
    "v2.invoice",
    "v2.list",
    "oauth.access_token",
    "v3.invoice",
    "v3.list",
    "v3.deliver_via_email",
    "v3.deliver_via_post",
    "v3.paid",
    "web.invoice",
)


@dataclasses.dataclass
class Fault:
    """One armed fault.

    It applies to the next ``times`` requests whose route name matches ``route`` (an fnmatch pattern
    such as ``"v2.deliver"``, ``"v3.deliver_*"`` or ``"*"``); ``times=None`` means every request until
    cleared. What it does, in the order it happens to a request:

    - ``latency``: seconds slept first, before anything else (also before a ``status`` or
      ``redirect_to`` answer); a client that gives up meanwhile takes its request with it: nothing
      is processed;
    - one of ``status`` (answer with this status and the route's error body, or ``body``, plus
      ``Retry-After`` if ``retry_after`` is set; nothing is processed), ``redirect_to`` (answer 307 to
      that URL) or ``drop="before"`` (close the connection; nothing is processed);
    - ``processing_delay``: the request has been received (body included); the server waits this many
      seconds, then processes it (e.g. records the delivery) and answers. A client that gives up
      meanwhile does not stop it: the delivery happens after the client's timeout;
    - ``answer_delay``: the request is processed at once, then the answer waits this many seconds;
    - ``drop="after"``: process the request, then close the connection without answering.

    :param route: an fnmatch pattern of the route names it applies to.
    :param status: answer with this status instead of processing.
    :param times: how many matching requests it applies to; None for every one until cleared.
    :param latency: seconds slept first.
    :param retry_after: the ``Retry-After`` value sent with ``status``.
    :param drop: ``"before"`` or ``"after"`` processing: close the connection.
    :param redirect_to: answer 307 to this URL instead of processing.
    :param body: the body sent with ``status`` instead of the route's error body.
    :param processing_delay: seconds waited between receiving the request and processing it.
    :param answer_delay: seconds waited between processing the request and answering.
    :param id: the fault's number, given automatically.
    :param hits: how many requests it has applied to so far.
    """

    route: str
    status: int | None = None
    times: int | None = 1
    latency: float = 0.0
    retry_after: str | None = None
    drop: str | None = None
    redirect_to: str | None = None
    body: str | None = None
    processing_delay: float = 0.0
    answer_delay: float = 0.0
    id: int = dataclasses.field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.route, str) or not self.route:
            raise ValueError(
                f"route must be a non-empty string (an fnmatch pattern of route names), not {self.route!r}"
            )
        if not self.route.startswith("/") and not fnmatch.filter(ROUTE_NAMES, self.route):
            close = difflib.get_close_matches(self.route, ROUTE_NAMES, n=1)
            raise ValueError(
                f"route={self.route!r} matches no route of the emulator, so the fault would never apply"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f" Routes: {', '.join(ROUTE_NAMES)} (fnmatch patterns such as 'v3.deliver_*' work; a "
                "pattern starting with '/' matches the path instead)"
            )
        if self.drop is not None and self.drop not in DROP_MODES:
            raise ValueError(f"drop={self.drop!r} is not one of {DROP_MODES}")
        if self.status is not None:
            if not is_whole(self.status):
                raise ValueError(f"status must be a whole number (an HTTP status code), not {self.status!r}")
            if not 100 <= self.status <= 599:
                raise ValueError(f"status={self.status!r} is not an HTTP status code (100-599)")
        if self.times is not None:
            if not is_whole(self.times):
                raise ValueError(
                    f"times must be a whole number, or None (null) for 'until cleared', not {self.times!r}"
                )
            if self.times < 1:
                raise ValueError(f"times={self.times!r} must be at least 1, or None for 'until cleared'")
        for field in ("latency", "processing_delay", "answer_delay"):
            value = getattr(self, field)
            if is_number(value) and value < 0:
                raise ValueError(f"{field}={value!r} must not be negative")
            setattr(self, field, seconds(field, value))
        if self.retry_after is not None:
            self.retry_after = header_value("retry_after", self.retry_after)
        if self.redirect_to is not None:
            location = header_value("redirect_to", self.redirect_to)
            if not location.startswith(("http://", "https://")):
                raise ValueError(f"redirect_to must be an absolute http(s) URL, not {location!r}")
        if self.body is not None and not isinstance(self.body, str):
            raise ValueError(f"body must be a string (sent with status), not {type(self.body).__name__}")
        answers = [k for k in ("status", "drop", "redirect_to") if getattr(self, k) is not None]
        if len(answers) > 1:
            raise ValueError(f"a fault is one of status, drop or redirect_to, not {' and '.join(answers)}")
        if self.body is not None and self.status is None:
            raise ValueError("body is the body of a status answer: give status too")
        unprocessed = self.status is not None or self.redirect_to is not None or self.drop == "before"
        for field in ("processing_delay", "answer_delay"):
            if getattr(self, field) and unprocessed:
                raise ValueError(
                    f"{field} applies to requests that are processed; status, redirect_to and "
                    "drop='before' answer without processing (use latency to delay them)"
                )
        if not answers and not (self.latency or self.processing_delay or self.answer_delay):
            raise ValueError("a fault needs status, drop, redirect_to, latency, processing_delay or answer_delay")

    @property
    def exhausted(self) -> bool:
        """Whether the fault has been applied ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def as_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready data."""
        return dataclasses.asdict(self)


class Armable(Protocol):
    """What a :class:`FaultBook` needs of a fault: a route pattern and a count of uses."""

    route: str
    hits: int

    @property
    def exhausted(self) -> bool:
        """Whether the fault has been used up."""
        ...


F = TypeVar("F", bound=Armable)


class FaultBook(Generic[F]):
    """The armed faults, in the order they were armed. Thread-safe.

    :param at_start: faults armed from the start (e.g. from the command line); :meth:`reset` re-arms them.
    """

    def __init__(self, at_start: Iterable[F] = ()) -> None:
        self._lock = threading.Lock()
        self._at_start: tuple[F, ...] = tuple(copy.copy(f) for f in at_start)
        self._faults: list[F] = []
        self.reset()

    def add(self, fault: F) -> F:
        """Arm a fault."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, route: str, path: str | None = None) -> F | None:
        """The first armed fault for ``route``, counted as applied; ``None`` if there is none.

        A fault's pattern matches the route name; a pattern starting with ``/`` matches ``path``
        (the request's path, without the query) instead.
        """
        with self._lock:
            for fault in self._faults:
                subject = path if fault.route.startswith("/") else route
                if not fault.exhausted and subject is not None and fnmatch.fnmatchcase(subject, fault.route):
                    fault.hits += 1
                    return fault
            return None

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Back to the faults armed from the start, unused again; every other fault disarmed."""
        with self._lock:
            self._faults = [copy.copy(f) for f in self._at_start]

    def armed(self) -> list[F]:
        """Armed faults that still have requests to apply to (copies)."""
        with self._lock:
            return [copy.copy(f) for f in self._faults if not f.exhausted]
