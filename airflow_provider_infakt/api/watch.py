"""Waiting on many invoices at about one read per hundred: which reads each poll makes.

:class:`InvoiceWatch` keeps what is known of a set of invoices (the last status read of each) and, on
each poll, plans the reads that learn the status of every invoice still pending, through the list
endpoint where that is cheaper than reading invoices one by one. It only plans: :meth:`InvoiceWatch.poll`
is a generator of reads (:class:`ListRead`, :class:`OneRead`) that a driver answers, so the sync client
(a sensor's poke) and the async one (its trigger) run the same plan (:func:`poll`, :func:`apoll`).
Standard library only.

**The plan of one poll** (only pending invoices are asked about; one already at its target is not):

- v3, numeric ids. *Windows*: the pending ids are cut into windows of at most 100 consecutive id
  values, each read as one list page (``q[id_gteq]``, ``q[id_lteq]``, ``limit=100``); a window that
  holds one pending invoice is read by itself (``GET /invoices/{id}.json``). N invoices with
  contiguous ids cost ceil(N/100) reads; scattered ids never more than one read each.
  *Narrowed by status*, once the statuses are known and when it is cheaper than the windows: per
  status ``s`` the pending invoices were last seen in, the list of invoices still at ``s`` in their id
  range (``q[status_eq]``), 100 a page; those that left ``s`` are found in the list of the accepted
  statuses over their own id range, or in windows when that is cheaper. For N contiguous ids waiting
  for one status this costs at most ceil(N/100) + 1 reads, falling to about one as invoices arrive.
- v2 has no id filter: a list by status (or the whole list, on the first poll) where its pages are
  fewer than the pending invoices, else one read per invoice.
- Invoices given by uuid (v3) are read one by one.

A list costs what its first page's ``total_count`` says; a list that would cost more than the windows
(or one read per invoice) it replaces is dropped after that first page, and not asked for again by
this watch. An invoice a list should have shown but did not is read by itself: so a status is always
one inFakt reported for that invoice, and an invoice that is gone fails with inFakt's own 404.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from ._core import next_cursor
from ._models import Invoice, InvoicePage
from .vocabulary import ApiVersion, Status

if TYPE_CHECKING:
    from .aio import AsyncInfaktClient
    from .client import InfaktClient

__all__ = ["PAGE_SIZE", "InvoiceWatch", "ListRead", "OneRead", "apoll", "poll"]

#: Invoices per list page: inFakt's largest page (v3 ``limit``, v2 ``per_page``).
PAGE_SIZE: Final = 100
#: At most this many pending invoices are named in a progress line; the rest are counted.
_SHOWN: Final = 10
#: Statuses v3's list cannot filter on (v3 has no ``unpaid``).
_NOT_FILTERABLE_ON_V3: Final = frozenset({"unpaid"})


@dataclasses.dataclass(frozen=True)
class ListRead:
    """Read one page of the invoice list.

    :param status: only invoices with this normalized status; None for all.
    :param id_from: only ids at least this (v3); None for no bound.
    :param id_to: only ids at most this (v3); None for no bound.
    :param cursor: the previous page's ``next_cursor``; None for the first page.
    """

    status: Status | None
    id_from: int | None
    id_to: int | None
    cursor: int | None = None


@dataclasses.dataclass(frozen=True)
class OneRead:
    """Read one invoice.

    :param invoice_id: the invoice (numeric id, or on v3 a uuid).
    """

    invoice_id: int | str


Read = ListRead | OneRead
_Steps = Generator[Read, Any, None]


def _windows(ids: Sequence[int]) -> list[list[int]]:
    """``ids`` (sorted) cut into runs that each fit in :data:`PAGE_SIZE` consecutive id values."""
    runs: list[list[int]] = []
    for invoice_id in ids:
        if runs and invoice_id - runs[-1][0] < PAGE_SIZE:
            runs[-1].append(invoice_id)
        else:
            runs.append([invoice_id])
    return runs


def _pages(count: int) -> int:
    return max(1, math.ceil(count / PAGE_SIZE))


class InvoiceWatch:
    """What is known of a set of invoices being waited on, and the reads that learn the rest.

    :param invoice_ids: the invoices, validated, in the order results are reported (duplicates are
        kept once).
    :param accepted: the statuses that end the wait for an invoice
        (:func:`~airflow_provider_infakt.api.vocabulary.statuses_accepted`).
    :param api_version: ``v2`` or ``v3``: what the list can filter on.
    :param wait_for: ``all``: done when every invoice has an accepted status; ``any``: when one has.
    :param known: last statuses already read, by ``str(invoice id)`` (as an event or XCom carries them);
        they let the first poll be narrowed by status.
    """

    def __init__(
        self,
        invoice_ids: Sequence[int | str],
        accepted: Collection[Status],
        api_version: ApiVersion,
        *,
        wait_for: Literal["all", "any"] = "all",
        known: Mapping[str, Status | None] | None = None,
    ) -> None:
        self.invoice_ids: list[int | str] = list(dict.fromkeys(invoice_ids))
        self.accepted = frozenset(accepted)
        self.api_version = api_version
        self.wait_for = wait_for
        by_text = {str(ref): ref for ref in self.invoice_ids}
        #: The last status read of each invoice (None: a word this provider does not know).
        self.statuses: dict[int | str, Status | None] = {
            by_text[text]: status for text, status in (known or {}).items() if text in by_text
        }
        #: Reads the last poll made.
        self.reads = 0
        #: The read being made (for a message naming the invoice when it fails).
        self.current: Read | None = None
        self._dropped: set[Status | None] = set()  # lists found dearer than what they replace

    # -- state -----------------------------------------------------------------------------------
    @property
    def reached(self) -> list[int | str]:
        """The invoices whose last status read is accepted, in input order."""
        return [ref for ref in self.invoice_ids if self.statuses.get(ref, None) in self.accepted]

    @property
    def pending(self) -> list[int | str]:
        """The invoices not at an accepted status yet (or not read yet), in input order."""
        return [ref for ref in self.invoice_ids if self.statuses.get(ref, None) not in self.accepted]

    @property
    def done(self) -> bool:
        """Whether the wait is over: every invoice reached (``all``), or one did (``any``)."""
        if self.wait_for == "any":
            return any(self.statuses.get(ref, None) in self.accepted for ref in self.invoice_ids)
        return all(self.statuses.get(ref, None) in self.accepted for ref in self.invoice_ids)

    def known(self) -> dict[str, Status | None]:
        """The last status read of each invoice read so far, by ``str(invoice id)`` (JSON-ready)."""
        return {str(ref): self.statuses[ref] for ref in self.invoice_ids if ref in self.statuses}

    def progress(self, waiting_for: str) -> str:
        """One line on the progress, for logs: how many reached, the first ids still pending (with their
        last status), and the reads the last poll made.

        :param waiting_for: what the wait is for (:func:`~.vocabulary.describe_wait`).
        """
        pending = self.pending
        line = f"{len(self.invoice_ids) - len(pending)} of {len(self.invoice_ids)} invoice(s) reached {waiting_for}"
        if pending and not self.done:
            shown = ", ".join(f"{ref} ({self.statuses.get(ref) or 'not read'})" for ref in pending[:_SHOWN])
            more = f" and {len(pending) - _SHOWN} more" if len(pending) > _SHOWN else ""
            line += f"; waiting for {shown}{more}"
        return line + f"; reads this poll: {self.reads}"

    def failure(self, error: Exception) -> str:
        """The message of a read that waiting will not change (404: an invoice is gone), naming the invoice.

        :param error: the client's error for :attr:`current`.
        """
        if isinstance(self.current, OneRead):
            return f"Cannot wait for invoice {self.current.invoice_id}: {error}"
        return f"Cannot wait for the invoices: listing them failed: {error}"

    # -- the plan --------------------------------------------------------------------------------
    def poll(self) -> _Steps:
        """One poll: yields the reads to make, each answered with ``send()`` (an :class:`InvoicePage`
        for a :class:`ListRead`, an :class:`Invoice` for a :class:`OneRead`). An error of a read is
        the driver's: the statuses learnt before it are kept, and the next poll starts afresh.
        """
        self.reads = 0
        pending = self.pending
        numeric = sorted(ref for ref in pending if isinstance(ref, int))
        if self.api_version == "v3":
            yield from self._poll_v3(numeric)
        else:
            yield from self._poll_v2(numeric)
        for ref in pending:
            if not isinstance(ref, int):
                yield from self._one(ref)

    def _enough(self) -> bool:
        return self.wait_for == "any" and self.done

    def _record(self, ref: int | str, status: Status | None) -> None:
        self.statuses[ref] = status

    def _one(self, ref: int | str) -> _Steps:
        if self._enough():
            return
        self.current = OneRead(ref)
        invoice: Invoice = yield self.current
        self.reads += 1
        self._record(ref, invoice.status)

    def _list(
        self, read: ListRead, most_pages: int | None
    ) -> Generator[Read, Any, tuple[dict[int, Status | None], bool]]:
        """Read a list, page by page; returns the numeric ids seen with their statuses, and whether the
        list was read to its end (False: its first page said it would cost more than ``most_pages``)."""
        seen: dict[int, Status | None] = {}
        cursor: int | None = None
        first = True
        while True:
            self.current = dataclasses.replace(read, cursor=cursor)
            page: InvoicePage = yield self.current
            self.reads += 1
            for invoice in page.invoices:
                if invoice.id is not None:
                    seen[invoice.id] = invoice.status
            if (
                first
                and most_pages is not None
                and page.total_count is not None
                and _pages(page.total_count) > most_pages
            ):
                return seen, False
            first = False
            cursor = next_cursor(page, cursor)
            if cursor is None:
                return seen, True

    def _read_windows(self, ids: Sequence[int]) -> _Steps:
        """Every invoice of ``ids`` (sorted), a window of up to 100 id values at a time (v3)."""
        for run in _windows(ids):
            if self._enough():
                return
            if len(run) == 1:
                yield from self._one(run[0])
                continue
            # at most 100 ids: one page, unless the server ignored the id filter (then those not on the
            # first page are read by themselves, not the whole account's list)
            seen, _ = yield from self._list(ListRead(None, run[0], run[-1]), most_pages=1)
            for ref in run:
                if ref in seen:
                    self._record(ref, seen[ref])
                else:  # not in the list: its own read says why (gone: inFakt's 404)
                    yield from self._one(ref)

    def _narrowable(self, ids: Sequence[int]) -> tuple[dict[Status, list[int]], list[int]]:
        """``ids`` grouped by the status they were last seen in, where a list may filter on it; the rest."""
        groups: dict[Status, list[int]] = {}
        rest: list[int] = []
        for ref in ids:
            status = self.statuses.get(ref, None)
            filterable = status is not None and status not in self._dropped
            if filterable and not (self.api_version == "v3" and status in _NOT_FILTERABLE_ON_V3):
                assert status is not None
                groups.setdefault(status, []).append(ref)
            else:
                rest.append(ref)
        return groups, rest

    def _poll_v3(self, ids: list[int]) -> _Steps:
        if not ids:
            return
        groups, rest = self._narrowable(ids)
        narrowed = sum(_pages(len(group)) for group in groups.values()) + len(_windows(rest))
        if not groups or narrowed >= len(_windows(ids)):
            yield from self._read_windows(ids)
            return
        for status, group in groups.items():
            if self._enough():
                return
            most = len(_windows(group))
            seen, complete = yield from self._list(ListRead(status, group[0], group[-1]), most_pages=most)
            still = [ref for ref in group if ref in seen]
            for ref in still:
                self._record(ref, seen[ref])
            left = [ref for ref in group if ref not in seen]
            if not complete:
                self._dropped.add(status)
                yield from self._read_windows(left)
            else:
                yield from self._find_changed(left)
        yield from self._read_windows(rest)

    def _find_changed(self, changed: list[int]) -> _Steps:
        """Invoices that left the status they were last seen in (v3): from the lists of the accepted
        statuses over their id range, when that costs fewer reads than their windows."""
        if not changed or self._enough():
            return
        low, high = changed[0], changed[-1]
        windows = len(_windows(changed))
        statuses = sorted(s for s in self.accepted if s not in _NOT_FILTERABLE_ON_V3 and s not in self._dropped)
        # what each list will hold: these invoices, and ours already known to be there
        ours = [ref for ref in self.invoice_ids if isinstance(ref, int) and low <= ref <= high]
        estimate = sum(
            _pages(len(changed) + sum(1 for ref in ours if self.statuses.get(ref, None) == status))
            for status in statuses
        )
        if not statuses or estimate >= windows:
            yield from self._read_windows(changed)
            return
        left = list(changed)
        for status in statuses:
            if not left or self._enough():
                break
            seen, complete = yield from self._list(ListRead(status, low, high), most_pages=windows)
            if not complete:
                self._dropped.add(status)
            for ref in left:
                if ref in seen:
                    self._record(ref, seen[ref])
            left = [ref for ref in left if ref not in seen]
        yield from self._read_windows(left)

    def _poll_v2(self, ids: list[int]) -> _Steps:
        if not ids:
            return
        groups, rest = self._narrowable(ids)
        if not groups and len(rest) > 1 and None not in self._dropped:
            groups, rest = {}, []
            seen, complete = yield from self._list(ListRead(None, None, None), most_pages=len(ids))
            if not complete:
                self._dropped.add(None)
            for ref in ids:
                if ref in seen:
                    self._record(ref, seen[ref])
            rest = [ref for ref in ids if ref not in seen]
        for status, group in groups.items():
            if self._enough():
                return
            if len(group) == 1:
                rest.extend(group)
                continue
            seen, complete = yield from self._list(ListRead(status, None, None), most_pages=len(group))
            if not complete:
                self._dropped.add(status)
            for ref in group:
                if ref in seen:
                    self._record(ref, seen[ref])
                else:
                    rest.append(ref)
        for ref in sorted(rest):
            yield from self._one(ref)


def _call(read: Read) -> tuple[str, dict[str, Any]]:
    """The client method that makes ``read``, with its arguments (the same for both clients)."""
    if isinstance(read, OneRead):
        return "get_invoice", {"invoice_id": read.invoice_id}
    filters = {"status": read.status, "cursor": read.cursor, "id_from": read.id_from, "id_to": read.id_to}
    return "list_invoices", {"page_size": PAGE_SIZE, **filters}


def poll(watch: InvoiceWatch, client: InfaktClient) -> None:
    """Run one poll of ``watch`` with the sync client; the client's errors go through.

    :param watch: the watch; its statuses are updated read by read.
    :param client: the sync client of the watch's connection.
    """
    steps = watch.poll()
    answer: Invoice | InvoicePage | None = None
    while True:
        try:
            method, arguments = _call(steps.send(answer))
        except StopIteration:
            return
        answer = getattr(client, method)(**arguments)


async def apoll(watch: InvoiceWatch, client: AsyncInfaktClient) -> None:
    """Run one poll of ``watch`` with the async client; the client's errors go through.

    :param watch: the watch; its statuses are updated read by read.
    :param client: the async client of the watch's connection.
    """
    steps = watch.poll()
    answer: Invoice | InvoicePage | None = None
    while True:
        try:
            method, arguments = _call(steps.send(answer))
        except StopIteration:
            return
        answer = await getattr(client, method)(**arguments)
