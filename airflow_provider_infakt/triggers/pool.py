"""One async inFakt client per connection per event loop, shared by every trigger that uses it.

A triggerer runs all its triggers in one event loop. Before this pool, each waiting sensor opened a
client of its own (an ``httpx.AsyncClient``, a connection pool, a connection lookup): a thousand
deferred sensors held a thousand of each. With :func:`pooled_client`, the first trigger on a connection
looks the connection up and opens the client; later ones borrow it; the last one to leave closes it.

- **Keyed by event loop and connection id.** An ``httpx.AsyncClient`` belongs to the loop it was
  first used in, so each loop (one in a triggerer; one per ``asyncio.run`` in tests and in
  ``airflow dags test``) has its own pool.
- **Reference-counted.** The client is closed when its last user leaves, whichever way it leaves: a
  returned event, an exception, or cancellation (the triggerer cancels a trigger whose task was
  cleared or timed out). A user that is cancelled while the client is still being opened does not
  cancel the opening for the others.
- **The connection is looked up once per pool.** A change to the connection (a new API key) reaches
  triggers when the pool is opened again, that is once every trigger using the old one has ended.
  A lookup or opening that fails is not kept: each trigger waiting for it gets the error, and the
  next trigger tries again.
- **One read budget.** Every client of one API origin in a process already shares one rate limiter
  (:func:`~airflow_provider_infakt.api.ratelimit.shared_limiter`), so a thousand triggers together
  stay under inFakt's GET limit: they wait their turn instead of drawing 429s.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

from airflow_provider_infakt.api.aio import AsyncInfaktClient
from airflow_provider_infakt.api.client import describe_exception
from airflow_provider_infakt.hooks.infakt import InfaktHook

__all__ = ["open_pools", "pooled_client"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class _Entry:
    """One pooled client: the task opening it, and how many triggers hold it."""

    opening: asyncio.Task[AsyncInfaktClient]
    users: int = 0


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Entry]] = weakref.WeakKeyDictionary()


async def _open(infakt_conn_id: str) -> AsyncInfaktClient:
    return await InfaktHook(infakt_conn_id=infakt_conn_id).get_async_client()


#: How a pool opens its client (a test may count the calls); the hook's async lookup by default.
opener: Callable[[str], Awaitable[AsyncInfaktClient]] = _open


def open_pools() -> dict[str, int]:
    """The connection ids with a pooled client in the running event loop, each with its number of users.

    For logs and tests; call it from inside the loop.
    """
    entries = _POOLS.get(asyncio.get_running_loop(), {})
    return {conn_id: entry.users for conn_id, entry in entries.items()}


@contextlib.asynccontextmanager
async def pooled_client(infakt_conn_id: str) -> AsyncIterator[AsyncInfaktClient]:
    """Borrow the running loop's client for ``infakt_conn_id`` for the ``async with`` block.

    Do not close the client yourself: the pool closes it when its last user leaves.

    :param infakt_conn_id: the inFakt connection.
    :raises Exception: what looking the connection up or opening the client raised (an unusable
        connection, an unreadable CA bundle...), to every user waiting for it.
    """
    entries = _POOLS.setdefault(asyncio.get_running_loop(), {})
    entry = entries.get(infakt_conn_id)
    if entry is None:
        entry = _Entry(asyncio.ensure_future(opener(infakt_conn_id)))
        entries[infakt_conn_id] = entry
    entry.users += 1
    try:
        try:
            # shield: a user cancelled while the client opens must not cancel the opening for the others
            client = await asyncio.shield(entry.opening)
        except Exception:
            if entries.get(infakt_conn_id) is entry and entry.opening.done():
                del entries[infakt_conn_id]  # the next trigger tries again
            raise
        yield client
    finally:
        entry.users -= 1
        if entry.users == 0:
            if entries.get(infakt_conn_id) is entry:
                del entries[infakt_conn_id]
            await asyncio.shield(_close(entry))


async def _close(entry: _Entry) -> None:
    """Close an entry's client once nobody holds it (or stop opening it, if it is not open yet)."""
    if not entry.opening.done():
        entry.opening.cancel()
        with contextlib.suppress(BaseException):
            await entry.opening
        return
    if entry.opening.cancelled() or entry.opening.exception() is not None:
        return
    try:
        await entry.opening.result().aclose()
    except Exception as exc:  # the triggers' outcomes stand; a failed close only leaks a socket
        _log.warning("Closing the pooled inFakt client failed: %s", describe_exception(exc))
