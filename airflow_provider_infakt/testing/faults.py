"""Faults on demand: what the next requests to a route should suffer."""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import threading
from typing import Any

DROP_MODES = ("before", "after")
_ids = itertools.count(1)


@dataclasses.dataclass
class Fault:
    """One armed fault.

    It applies to the next ``times`` requests whose route name matches ``route`` (an fnmatch pattern
    such as ``"v2.deliver"``, ``"v3.deliver_*"`` or ``"*"``); ``times=None`` means every request until
    cleared. Kinds combine: ``latency`` (seconds slept first), then one of ``status`` (answer with this
    status and the route's error body, plus ``Retry-After`` if ``retry_after`` is set), ``redirect_to``
    (answer 307 to that URL), ``drop="before"`` (close the connection without processing) or
    ``drop="after"`` (process the request, e.g. record the delivery, then close without answering).
    """

    route: str
    status: int | None = None
    times: int | None = 1
    latency: float = 0.0
    retry_after: str | None = None
    drop: str | None = None
    redirect_to: str | None = None
    body: str | None = None
    id: int = dataclasses.field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        if self.drop is not None and self.drop not in DROP_MODES:
            raise ValueError(f"drop={self.drop!r} is not one of {DROP_MODES}")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status={self.status!r} is not an HTTP status code (100-599)")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times={self.times!r} must be at least 1, or None for 'until cleared'")
        if self.latency < 0:
            raise ValueError(f"latency={self.latency!r} must not be negative")
        kinds = [k for k in ("status", "drop", "redirect_to") if getattr(self, k) is not None]
        if len(kinds) > 1:
            raise ValueError(f"a fault is one of status, drop or redirect_to, not {' and '.join(kinds)}")
        if not kinds and not self.latency:
            raise ValueError("a fault needs status, drop, redirect_to or latency")

    @property
    def exhausted(self) -> bool:
        """Whether the fault has been applied ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def as_dict(self) -> dict[str, Any]:
        """The fault as JSON-ready data."""
        return dataclasses.asdict(self)


class FaultBook:
    """The armed faults, in the order they were armed. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Arm a fault."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, route: str) -> Fault | None:
        """The first armed fault for ``route``, counted as applied; ``None`` if there is none."""
        with self._lock:
            for fault in self._faults:
                if not fault.exhausted and fnmatch.fnmatchcase(route, fault.route):
                    fault.hits += 1
                    return fault
            return None

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """Armed faults that still have requests to apply to."""
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults if not f.exhausted]
