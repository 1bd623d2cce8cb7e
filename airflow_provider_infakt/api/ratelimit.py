"""A client-side request budget (token buckets), so that a busy client stays under inFakt's limits.

inFakt documents, per source IP, 300 GET requests a minute and 150 a minute for other methods.
:class:`RateLimiter` keeps one bucket per class, holding up to a minute's budget, refilled
continuously. :meth:`RateLimiter.reserve` never sleeps: it takes a token (possibly one not yet
refilled) and returns how long the caller must wait before sending, so the same limiter serves the
sync client (``time.sleep``) and the async one (``asyncio.sleep``). It is thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .settings import RateLimit

__all__ = ["RateLimiter"]


class _Bucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.tokens = float(per_minute)
        self.stamp = now

    def reserve(self, now: float) -> float:
        elapsed = max(0.0, now - self.stamp)
        self.stamp = max(self.stamp, now)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """Token buckets for GET and for other methods; ``monotonic`` is injectable for tests."""

    def __init__(self, limit: RateLimit, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        now = monotonic()
        self._buckets = {
            "GET": _Bucket(limit.get_per_minute, now),
            "other": _Bucket(limit.other_per_minute, now),
        }
        self._lock = threading.Lock()

    def reserve(self, method: str) -> float:
        """Take one request's token for ``method`` and return the seconds to wait before sending it."""
        key = "GET" if method.upper() in ("GET", "HEAD") else "other"
        with self._lock:
            return self._buckets[key].reserve(self._monotonic())
