"""inFakt's documented request limits, per source IP, with a time scale for benchmarks; and the
emulated day over which the account's daily e-mail quota counts."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

#: Requests a minute per source IP, as inFakt documents them for v3.
GET_PER_MINUTE = 300
OTHER_PER_MINUTE = 150
#: Seconds in a day.
DAY = 86400.0


class SlidingWindowLimits:
    """Sliding one-minute windows per (source IP, GET or other).

    ``time_scale`` makes emulated time run faster: with ``time_scale=60`` a "minute" lasts one real
    second, so a benchmark can exercise a minute's limit in a second.

    It also keeps the emulated day (:meth:`day`): day 0 starts when the limits are made or reset, and a
    day lasts ``86400 / time_scale`` real seconds; :meth:`next_day` starts the next one at once.
    """

    def __init__(
        self,
        *,
        enabled: bool = False,
        time_scale: float = 1.0,
        get_per_minute: int = GET_PER_MINUTE,
        other_per_minute: int = OTHER_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_scale(time_scale)
        self._initial = (enabled, time_scale, get_per_minute, other_per_minute)
        self.enabled = enabled
        self.time_scale = time_scale
        self.get_per_minute = get_per_minute
        self.other_per_minute = other_per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], collections.deque[float]] = collections.defaultdict(collections.deque)
        self._epoch = clock()
        self._day_offset = 0

    @property
    def window(self) -> float:
        """Real seconds in one emulated minute."""
        return 60.0 / self.time_scale

    def email_window(self) -> float | None:
        """Real seconds in one emulated day, the window of the account's daily e-mail limit; ``None``
        (no window: the e-mail limit is not enforced) while the limits are off."""
        return 86400.0 / self.time_scale if self.enabled else None

    def day(self) -> int | None:
        """The emulated day's number (0 the first), over which the account's daily e-mail quota counts;
        ``None`` (the quota is not enforced) while the limits are off."""
        with self._lock:
            return self._day() if self.enabled else None

    def _day(self) -> int:
        return self._day_offset + int((self._clock() - self._epoch) * self.time_scale // DAY)

    def next_day(self) -> int:
        """Start the next emulated day now (the daily e-mail quota starts over); return its number."""
        with self._lock:
            self._day_offset = self._day() + 1
            self._epoch = self._clock()
            return self._day_offset

    def configure(
        self,
        *,
        enabled: bool | None = None,
        time_scale: float | None = None,
        get_per_minute: int | None = None,
        other_per_minute: int | None = None,
    ) -> None:
        """Switch the limits on or off, change the time scale or the limits; forgets past requests.
        The emulated day goes on (a new time scale applies from now).

        :param enabled: enforce the limits.
        :param time_scale: how much faster than real time the minute and the day run.
        :param get_per_minute: GET requests a minute.
        :param other_per_minute: requests of other methods a minute.
        :raises ValueError: for a time scale or a limit out of range.
        """
        for name, limit in (("get_per_minute", get_per_minute), ("other_per_minute", other_per_minute)):
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10**9):
                raise ValueError(f"{name}={limit!r} must be a whole number from 0 to 1000000000")
        if time_scale is not None:
            _check_scale(time_scale)
        with self._lock:
            self._day_offset, self._epoch = self._day(), self._clock()
            if enabled is not None:
                self.enabled = enabled
            if time_scale is not None:
                self.time_scale = time_scale
            if get_per_minute is not None:
                self.get_per_minute = get_per_minute
            if other_per_minute is not None:
                self.other_per_minute = other_per_minute
            self._hits.clear()

    def reset(self) -> None:
        """Back to the settings it was constructed with (on or off, time scale, the limits themselves)
        and to day 0; forgets past requests."""
        enabled, time_scale, get_per_minute, other_per_minute = self._initial
        self.configure(
            enabled=enabled, time_scale=time_scale, get_per_minute=get_per_minute, other_per_minute=other_per_minute
        )
        with self._lock:
            self._day_offset, self._epoch = 0, self._clock()

    def check(self, ip: str, method: str) -> str | None:
        """Count a request; return why it is refused, or ``None`` if it may proceed."""
        if not self.enabled:
            return None
        kind = "GET" if method in ("GET", "HEAD") else "other"
        limit = self.get_per_minute if kind == "GET" else self.other_per_minute
        now = self._clock()
        with self._lock:
            hits = self._hits[(ip, kind)]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return f"Request limit reached: {limit} {kind} requests a minute. Try again later."
            hits.append(now)
            return None


def _check_scale(time_scale: float) -> None:
    if isinstance(time_scale, bool) or not isinstance(time_scale, int | float) or not 0 < time_scale <= 1e6:
        raise ValueError(f"time_scale={time_scale!r} must be a positive number (at most 1000000)")
