"""``InfaktInvoiceTrigger``: wait, without a worker slot, until an invoice reaches a status."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Everything a trigger needs is imported with this module (the triggerer loads it once), so that no
# step of a running trigger stalls the event loop on a first-time import. DAG files never import this
# module: the sensor does, when it defers.
from airflow_provider_infakt.api import aio as _aio
from airflow_provider_infakt.api.client import describe_exception as _describe
from airflow_provider_infakt.api.errors import InfaktError
from airflow_provider_infakt.api.vocabulary import describe_wait, statuses_accepted
from airflow_provider_infakt.api.watch import InvoiceWatch, apoll
from airflow_provider_infakt.hooks import connection as _connection  # noqa: F401
from airflow_provider_infakt.triggers.pool import pooled_client
from airflow_provider_infakt.types import Status, WaitFor


def _utc_now() -> str:
    """Now, as a message shows a time: ``2026-11-26 10:15:03 UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


class _PollingTrigger(BaseTrigger):
    """What both inFakt triggers share: the contract of exactly one event, the deadline, the backoff."""

    def __init__(
        self,
        target_statuses: Sequence[Status],
        infakt_conn_id: str,
        poke_interval: float,
        timeout_at: float | None,
        max_backoff: float,
        exact_status: bool,
    ) -> None:
        super().__init__()
        self.target_statuses = list(target_statuses)
        self.infakt_conn_id = infakt_conn_id
        self.poke_interval = float(poke_interval)
        self.timeout_at = timeout_at
        self.max_backoff = float(max_backoff)
        self.exact_status = bool(exact_status)
        #: The last failed read's message (None once a read succeeds), for the timeout message.
        self._last_error: str | None = None

    def _common_arguments(self) -> dict[str, Any]:
        """The constructor arguments both triggers take, for :meth:`serialize`."""
        return {
            "target_statuses": list(self.target_statuses),
            "infakt_conn_id": self.infakt_conn_id,
            "poke_interval": self.poke_interval,
            "timeout_at": self.timeout_at,
            "max_backoff": self.max_backoff,
            "exact_status": self.exact_status,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until done; yield one event and return. Never raises: any exception (a connection the
        provider cannot use, a bug, a surprise from a library) becomes the one ``"error"`` event, with a
        short message that holds no e-mail address. Only cancellation (the triggerer stopping the
        trigger) goes through."""
        try:
            async with pooled_client(self.infakt_conn_id) as client:  # shared with every trigger on it
                event = await self._wait(client)
        except Exception as exc:  # the trigger's contract: exactly one event, whatever happens
            if isinstance(exc, InfaktError):
                message = str(exc)
            else:
                self.log.error("Waiting for %s failed unexpectedly: %s", self._subject(), _describe(exc))
                message = f"Cannot wait: unexpected {_describe(exc)}"
            event = self._event("error", message=message)
        yield event

    def _subject(self) -> str:
        """What is waited for, as a log line names it."""
        raise NotImplementedError

    def _event(self, status: str, **payload: Any) -> TriggerEvent:
        """The one event, with ``status`` and what this trigger adds to every payload."""
        return TriggerEvent({"status": status, **payload})

    async def _wait(self, client: _aio.AsyncInfaktClient) -> TriggerEvent:
        raise NotImplementedError

    def _remaining(self) -> float | None:
        return None if self.timeout_at is None else self.timeout_at - time.time()

    def _backoff(self, previous: float, exc: InfaktError) -> float:
        """The wait after a failed read that waiting may cure: doubled, at least ``Retry-After``, capped."""
        self._last_error = str(exc)
        return min(self.max_backoff, max(previous * 2, getattr(exc, "retry_after", None) or 0.0))

    def _next_poll(self) -> float:
        """The wait after a successful read: ``poke_interval`` +-10 % (triggers deferred together drift
        apart instead of polling in bursts)."""
        self._last_error = None
        return self.poke_interval * random.uniform(0.9, 1.1)

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or until the deadline if that comes first."""
        remaining = self._remaining()
        await asyncio.sleep(delay if remaining is None else max(0.0, min(delay, remaining)))


class InfaktInvoiceTrigger(_PollingTrigger):
    """Polls an invoice with the async client until it has reached one of ``target_statuses``: the status
    itself or a later one (``sent`` is reached by ``paid`` too; see
    :data:`~airflow_provider_infakt.api.vocabulary.STATUS_REACHED_BY`), or with ``exact_status`` only
    the status itself.

    It ends with exactly one event, whose payload is a dict with ``status``:

    - ``"success"``: ``invoice_id`` and ``invoice_status`` (the status reached);
    - ``"error"``: ``message``, for an answer that waiting will not change (404, 401, 403, ...), an
      unusable connection, or any unexpected exception (the trigger itself never raises);
    - ``"timeout"``: ``message``, when ``timeout_at`` (a Unix time) passed first; it names the last
      status read (or the last error, when no read succeeded).

    Every read is logged (the status seen and when the next read is due), as the sensor's pokes are.

    Reads are ``poke_interval`` apart, with 10 % jitter so that triggers deferred together do not poll
    in bursts. Rate limits (429), 5xx answers and connection errors are waited out with exponential
    backoff (honouring ``Retry-After``), never turned into a failure. Nothing blocks the event loop: the
    connection is looked up asynchronously and all I/O goes through httpx. The HTTP client is the
    process's pooled one for the connection (:func:`~airflow_provider_infakt.triggers.pool.pooled_client`),
    under its shared read budget.

    :param invoice_id: the invoice (numeric id, or on v3 a uuid).
    :param target_statuses: normalized statuses to wait for (``draft``, ``sent``, ``printed``,
        ``paid``, ``unpaid``).
    :param exact_status: end the wait only on ``target_statuses`` themselves, not on later statuses.
    :param infakt_conn_id: the inFakt connection.
    :param poke_interval: seconds between reads.
    :param timeout_at: Unix time after which the trigger gives up with a timeout event; None waits forever.
    :param max_backoff: the longest wait after a rate limit or a failed read, in seconds.
    """

    def __init__(
        self,
        invoice_id: int | str,
        target_statuses: Sequence[Status],
        infakt_conn_id: str = "infakt_default",
        poke_interval: float = 60.0,
        timeout_at: float | None = None,
        max_backoff: float = 600.0,
        exact_status: bool = False,
    ) -> None:
        super().__init__(target_statuses, infakt_conn_id, poke_interval, timeout_at, max_backoff, exact_status)
        self.invoice_id = invoice_id
        #: The last status read (and when), for the timeout message.
        self._last_status: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and every constructor argument."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "invoice_id": self.invoice_id,
            **self._common_arguments(),
        }

    def _subject(self) -> str:
        return f"invoice {self.invoice_id}"

    def _event(self, status: str, **payload: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "invoice_id": self.invoice_id, **payload})

    def _timeout_event(self) -> TriggerEvent:
        seen = f"its last status was {self._last_status}" if self._last_status else "no read succeeded"
        seen += f"; the last read failed: {self._last_error}" if self._last_error else ""
        waiting_for = describe_wait(self.target_statuses, self.exact_status)
        return self._event(
            "timeout",
            message=f"Invoice {self.invoice_id} did not reach {waiting_for} before the sensor's timeout; {seen}.",
        )

    async def _wait(self, client: _aio.AsyncInfaktClient) -> TriggerEvent:
        backoff = self.poke_interval
        accepted = statuses_accepted(self.target_statuses, self.exact_status)
        waiting_for = describe_wait(self.target_statuses, self.exact_status)
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                return self._timeout_event()
            try:
                invoice = await client.get_invoice(self.invoice_id)
            except InfaktError as exc:
                if not exc.retryable:
                    return self._event("error", message=f"Cannot wait: {exc}")
                delay = backoff = self._backoff(backoff, exc)
                self.log.warning("Reading invoice %s failed (%s); trying again in %.0f s.", self.invoice_id, exc, delay)
            else:
                if invoice.status in accepted:
                    self.log.info("Invoice %s is %r.", self.invoice_id, invoice.status)
                    return self._event("success", invoice_status=invoice.status)
                backoff, delay = self.poke_interval, self._next_poll()
                self.log.info(
                    "Invoice %s is %r; waiting for %s, next read in %.0f s.",
                    self.invoice_id,
                    invoice.status,
                    waiting_for,
                    delay,
                )
                self._last_status = f"{invoice.status!r} (read {_utc_now()})"
            await self._pause(delay)


class InfaktInvoiceSetTrigger(_PollingTrigger):
    """Polls a set of invoices through the list endpoint until every one of them (``wait_for="all"``),
    or one (``"any"``), has reached one of ``target_statuses`` (or a later status, unless
    ``exact_status``); the reads each poll makes are planned by
    :class:`~airflow_provider_infakt.api.watch.InvoiceWatch`: about one read per hundred invoices.

    It ends with exactly one event, whose payload is a dict with ``status``:

    - ``"success"``: ``invoice_ids`` (those that reached the target, in input order) and
      ``invoice_statuses`` (``{"<invoice id>": status}``, the last status read of each invoice);
    - ``"error"``: ``message``, for an answer that waiting will not change (an invoice that is gone: 404,
      naming it; 401, 403, ...), an unusable connection, or any unexpected exception;
    - ``"timeout"``: ``message``, when ``timeout_at`` passed first, naming the invoices still pending
      and their last statuses.

    Each poll is logged as one line (how many reached, the first ids pending, the reads it cost). Polls
    are ``poke_interval`` apart, with 10 % jitter; 429, 5xx answers and connection errors are waited out
    with exponential backoff. The HTTP client is the process's pooled one for the connection
    (:func:`~airflow_provider_infakt.triggers.pool.pooled_client`), under its shared read budget.

    :param invoice_ids: the invoices (numeric ids, or on v3 uuids), validated.
    :param target_statuses: normalized statuses to wait for.
    :param infakt_conn_id: the inFakt connection.
    :param poke_interval: seconds between polls.
    :param timeout_at: Unix time after which the trigger gives up with a timeout event; None waits forever.
    :param max_backoff: the longest wait after a rate limit or a failed read, in seconds.
    :param exact_status: end the wait only on ``target_statuses`` themselves, not on later statuses.
    :param wait_for: ``all`` (every invoice) or ``any`` (the first one).
    :param known_statuses: the last statuses already read (``{"<invoice id>": status}``), e.g. by the
        sensor's first poke: the first poll is narrowed by them.
    """

    def __init__(
        self,
        invoice_ids: Sequence[int | str],
        target_statuses: Sequence[Status],
        infakt_conn_id: str = "infakt_default",
        poke_interval: float = 60.0,
        timeout_at: float | None = None,
        max_backoff: float = 600.0,
        exact_status: bool = False,
        wait_for: WaitFor = "all",
        known_statuses: Mapping[str, Status | None] | None = None,
    ) -> None:
        super().__init__(target_statuses, infakt_conn_id, poke_interval, timeout_at, max_backoff, exact_status)
        self.invoice_ids = list(invoice_ids)
        self.wait_for: WaitFor = wait_for
        self.known_statuses = dict(known_statuses or {})

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and every constructor argument."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "invoice_ids": list(self.invoice_ids),
            **self._common_arguments(),
            "wait_for": self.wait_for,
            "known_statuses": dict(self.known_statuses),
        }

    def _subject(self) -> str:
        return f"{len(self.invoice_ids)} invoices"

    async def _wait(self, client: _aio.AsyncInfaktClient) -> TriggerEvent:
        accepted = statuses_accepted(self.target_statuses, self.exact_status)
        watch = InvoiceWatch(
            self.invoice_ids, accepted, client.settings.api_version, wait_for=self.wait_for, known=self.known_statuses
        )
        backoff = self.poke_interval
        waiting_for = describe_wait(self.target_statuses, self.exact_status)
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                return self._timeout_event(watch, waiting_for)
            try:
                await apoll(watch, client)
            except InfaktError as exc:
                if not exc.retryable:
                    return self._event("error", message=watch.failure(exc))
                delay = backoff = self._backoff(backoff, exc)
                self.log.warning("Reading the invoices failed (%s); trying again in %.0f s.", exc, delay)
            else:
                if watch.done:
                    self.log.info("%s", watch.progress(waiting_for))
                    return self._event("success", invoice_ids=watch.reached, invoice_statuses=watch.known())
                backoff, delay = self.poke_interval, self._next_poll()
                self.log.info("%s; next poll in %.0f s.", watch.progress(waiting_for), delay)
            await self._pause(delay)

    def _timeout_event(self, watch: InvoiceWatch, waiting_for: str) -> TriggerEvent:
        seen = watch.progress(waiting_for).replace("; reads this poll", "; reads in the last poll")
        message = f"Not every invoice reached {waiting_for} before the sensor's timeout: {seen}"
        if self._last_error:
            message += f"; the last poll failed: {self._last_error}"
        return self._event("timeout", message=message + ".")
