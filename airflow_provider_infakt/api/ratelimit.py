"""A client-side request budget that keeps a client under inFakt's limits however inFakt counts them.

inFakt documents, per source IP, 300 GET requests a minute and 150 a minute for other methods, but not
how it counts them. The strictest reading is a sliding window: at no moment may the last 60 seconds
hold more than the limit. :class:`RateLimiter` is safe against that reading and still uses more than
95 % of it:

- Requests go out at a steady spacing ``T = (60 + margin) / (N - burst + 1)`` seconds (N the
  per-minute limit), after a small burst of ``burst`` requests when the limiter has been idle (a
  "generic cell rate algorithm": a virtual schedule, not a bucket that starts with a full minute).
  Any span shorter than ``60 + margin`` seconds then holds at most N requests.
- A log of the last N send times checks it: a request never goes out less than ``60 + margin``
  seconds after the N-th request before it.
- ``margin`` (1 s by default) absorbs the difference between when the client sends and when inFakt
  counts the arrival (network jitter, a sleep that overslept). A reservation counts from the moment
  the request is due to be sent, not from when it arrives.

With inFakt's numbers (burst 3 and 6) that is one deliver every 0.42 s and one read every 0.21 s:
145.6 deliveries and 290.2 reads a minute, 97 % of the limits.

GET (and HEAD) and other methods have separate budgets. :meth:`RateLimiter.reserve` never sleeps: it
books the next free slot and returns how long the caller must wait before sending, so the same limiter
serves the sync client (``time.sleep``) and the async one (``asyncio.sleep``). It is thread-safe.

inFakt's limits are per source IP, so every client of one process talking to one inFakt should draw
on one budget: :func:`shared_limiter` keeps one limiter per origin (scheme, host, port: no path, no
credentials) and limit; clients whose :class:`~.settings.RateLimit` has ``shared=True`` (the default)
use it.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

from ._urls import url_origin
from .settings import RateLimit

__all__ = ["DEFAULT_MARGIN", "WINDOW", "RateLimiter", "reset_shared_limiters", "shared_limiter"]

#: The window inFakt's limits are stated for, in seconds.
WINDOW = 60.0
#: Seconds added to the window to absorb the jitter between sending and arriving.
DEFAULT_MARGIN = 1.0


def default_burst(per_minute: int) -> int:
    """Requests an idle limiter lets go at once: 2 % of the per-minute limit, at least one.

    :param per_minute: the limit.
    """
    return max(1, per_minute // 50)


class _Schedule:
    """One budget (GET or other): a virtual schedule with a small burst, checked by a log of slots."""

    __slots__ = ("burst", "held_until", "interval", "log", "per_minute", "span", "tat")

    def __init__(self, per_minute: int, span: float, burst: int) -> None:
        self.per_minute = per_minute
        self.span = span
        self.burst = min(burst, per_minute)
        self.interval = span / (per_minute - self.burst + 1)
        #: The theoretical arrival time of the next request (GCRA): a request is due at
        #: ``tat - (burst - 1) * interval`` at the earliest.
        self.tat = float("-inf")
        self.held_until = float("-inf")
        self.log: collections.deque[float] = collections.deque(maxlen=per_minute)

    def reserve(self, now: float) -> float:
        slot = max(now, self.tat - (self.burst - 1) * self.interval, self.held_until)
        if len(self.log) == self.per_minute:
            slot = max(slot, self.log[0] + self.span)  # the N-th slot before this one
        self.tat = max(self.tat, slot) + self.interval
        self.log.append(slot)
        return slot


class RateLimiter:
    """Budgets for GET and for other methods, safe for a sliding one-minute window.

    :param limit: the per-minute limits.
    :param monotonic: the clock (seconds); injectable for tests.
    :param margin: seconds added to the one-minute window (see the module's description).
    :param burst: requests an idle limiter lets go at once, per budget; ``None`` for 2 % of the limit
        (at least one). A larger burst lowers the steady rate: ``N - burst + 1`` per ``60 + margin`` s.
    :raises ValueError: for a negative margin or a burst below one.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        margin: float = DEFAULT_MARGIN,
        burst: int | None = None,
    ) -> None:
        if not margin >= 0:
            raise ValueError(f"margin={margin!r}: must be zero or more seconds")
        if burst is not None and burst < 1:
            raise ValueError(f"burst={burst!r}: must be at least 1")
        self.limit = limit
        self.margin = float(margin)
        self._monotonic = monotonic
        span = WINDOW + self.margin
        self._schedules = {
            "GET": _Schedule(limit.get_per_minute, span, burst or default_burst(limit.get_per_minute)),
            "other": _Schedule(limit.other_per_minute, span, burst or default_burst(limit.other_per_minute)),
        }
        self._lock = threading.Lock()

    @staticmethod
    def _key(method: str) -> str:
        return "GET" if method.upper() in ("GET", "HEAD") else "other"

    def reserve(self, method: str) -> float:
        """Book the next slot for a request of ``method`` and return the seconds to wait before sending
        it (0 when it may go now). Never sleeps.

        :param method: the HTTP method: GET and HEAD draw on the read budget, others on the other.
        """
        with self._lock:
            now = self._monotonic()
            return max(0.0, self._schedules[self._key(method)].reserve(now) - now)

    def interval(self, method: str) -> float:
        """Seconds between two requests of ``method`` at the steady rate.

        :param method: the HTTP method.
        """
        return self._schedules[self._key(method)].interval

    def steady_per_minute(self, method: str) -> float:
        """Requests of ``method`` a minute at the steady rate (a little under the limit).

        :param method: the HTTP method.
        """
        return WINDOW / self.interval(method)

    def hold(self, seconds: float, method: str | None = None) -> None:
        """Book no slot before ``seconds`` from now: after a 429, so that every user of a shared limiter
        pauses, not only the one that was refused.

        :param seconds: how long to pause.
        :param method: pause only this method's budget; None for both.
        """
        with self._lock:
            until = self._monotonic() + max(0.0, seconds)
            keys = (self._key(method),) if method is not None else tuple(self._schedules)
            for key in keys:
                schedule = self._schedules[key]
                schedule.held_until = max(schedule.held_until, until)


_SHARED: dict[tuple[tuple[str, str, int], int, int], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(base_url: str, limit: RateLimit) -> RateLimiter:
    """The process-wide limiter for ``base_url``'s origin and ``limit``: every client (sync or async,
    any thread, any connection) of this process that asks for the same origin and limits gets the same
    limiter, so together they stay under inFakt's per-IP limits. Its clock is ``time.monotonic``.

    :param base_url: the API root; only its scheme, host and port are used.
    :param limit: the per-minute limits (two different limits for one origin get two limiters).
    """
    key = (url_origin(base_url), limit.get_per_minute, limit.other_per_minute)
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = RateLimiter(limit)
        return limiter


def reset_shared_limiters() -> None:
    """Forget every shared limiter (tests: the next client starts with an idle budget)."""
    with _SHARED_LOCK:
        _SHARED.clear()
