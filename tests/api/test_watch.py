"""InvoiceWatch's plan, against an in-memory account that answers as the emulator's list does: the
statuses it reports are always ones read, and what a poll costs stays within the documented bounds.

The plan is pure (a generator of reads), so thousands of random months are checked here in seconds;
the same plan over real HTTP is in tests/dags/test_set_sensor.py and tests/triggers/test_set_trigger.py.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_infakt.api._models import Invoice, InvoicePage
from airflow_provider_infakt.api.vocabulary import statuses_accepted
from airflow_provider_infakt.api.watch import PAGE_SIZE, InvoiceWatch, ListRead, OneRead


class Gone(Exception):
    pass


def _invoice(invoice_id: int, status: str) -> Invoice:
    return Invoice(id=invoice_id, uuid=None, number=None, status=status, raw_status=status, paid_date=None, raw={})


class Account:
    """Invoices by id; answers reads as the emulator does (v3: id range and status filters; v2: status only)."""

    def __init__(self, statuses: dict[int, str], api_version: str = "v3") -> None:
        self.statuses = statuses
        self.api_version = api_version
        self.reads: list[object] = []

    def answer(self, read: object) -> Invoice | InvoicePage:
        self.reads.append(read)
        if isinstance(read, OneRead):
            if read.invoice_id not in self.statuses:
                raise Gone(read.invoice_id)
            return _invoice(read.invoice_id, self.statuses[read.invoice_id])
        assert isinstance(read, ListRead)
        ranged = self.api_version == "v3"
        rows = [
            (i, s)
            for i, s in sorted(self.statuses.items())
            if (read.status is None or s == read.status)
            and (not ranged or read.id_from is None or i >= read.id_from)
            and (not ranged or read.id_to is None or i <= read.id_to)
        ]
        if not ranged and (read.id_from is not None or read.id_to is not None):
            raise AssertionError("v2 has no id filter: the plan must not ask for one")
        start = read.cursor or 0
        end = start + PAGE_SIZE
        return InvoicePage(
            tuple(_invoice(i, s) for i, s in rows[start:end]), len(rows), end if end < len(rows) else None
        )

    def poll(self, watch: InvoiceWatch) -> int:
        steps = watch.poll()
        answer = None
        while True:
            try:
                read = steps.send(answer)
            except StopIteration:
                return watch.reads
            answer = self.answer(read)


def test_contiguous_month_end_costs_at_most_ceil_n_over_100_plus_one_per_poll():
    rng = random.Random(7)
    n = 3000
    account = Account({i: "sent" for i in range(1, n + 1)} | {n + i: "sent" for i in range(1, 500)})
    watch = InvoiceWatch(list(range(1, n + 1)), statuses_accepted(["paid"]), "v3")
    order = list(range(1, n + 1))
    rng.shuffle(order)
    costs = [account.poll(watch)]
    paid = 0
    while not watch.done:
        arrivals = rng.choice([0, 0, 3, 30, 300])
        for _ in range(arrivals):
            if paid < n:
                account.statuses[order[paid]] = "paid"
                paid += 1
        pending = len(watch.pending)
        costs.append(account.poll(watch))
        assert {ref: account.statuses[ref] for ref in watch.pending} == {
            ref: watch.statuses[ref] for ref in watch.pending
        }
        if arrivals == 0:  # nothing changed: only the invoices still pending are listed, 100 a page
            assert costs[-1] <= math.ceil(pending / PAGE_SIZE), (pending, costs[-1])
    assert costs[0] == math.ceil(n / PAGE_SIZE)
    assert max(costs) <= math.ceil(n / PAGE_SIZE) + 1, costs
    assert watch.reached == list(range(1, n + 1))


def test_cost_falls_as_invoices_arrive_in_order():
    account = Account({i: "sent" for i in range(1, 1001)})
    watch = InvoiceWatch(list(range(1, 1001)), ["paid"], "v3")
    assert account.poll(watch) == 10
    for i in range(1, 901):
        account.statuses[i] = "paid"
    assert account.poll(watch) == 10  # not known yet that 900 are paid: the same cost as the first poll
    assert account.poll(watch) == 1  # the 100 still pending: one window


def test_scattered_ids_cost_at_most_one_read_each():
    account = Account({i: "sent" for i in range(1, 20001)})
    ids = random.Random(3).sample(range(1, 20001), 40)
    watch = InvoiceWatch(ids, ["paid"], "v3")
    for _ in range(3):
        assert account.poll(watch) <= len(ids)


def test_a_list_dearer_than_what_it_replaces_is_dropped_after_one_page():
    # ours: every 150th id of 5,000 'sent' invoices; the list of those 'sent' over their range: 50 pages
    account = Account({i: "sent" for i in range(1, 5001)})
    ids = list(range(1, 5001, 150))
    watch = InvoiceWatch(ids, ["paid"], "v3")
    assert account.poll(watch) == len(ids)  # a window of one invoice each
    assert account.poll(watch) == len(ids)  # the list's first page (it had invoice 1), then the others
    assert isinstance(account.reads[len(ids)], ListRead) and account.reads[len(ids)].status == "sent"
    account.reads.clear()
    assert account.poll(watch) == len(ids)  # the list is not tried again
    assert all(isinstance(read, OneRead) for read in account.reads)


@pytest.mark.parametrize("api_version", ["v3", "v2"])
def test_a_gone_invoice_is_read_by_itself(api_version):
    account = Account({1: "sent", 2: "sent", 3: "sent"}, api_version)
    watch = InvoiceWatch([1, 2, 3], ["paid"], api_version)
    account.poll(watch)
    del account.statuses[2]
    with pytest.raises(Gone):
        account.poll(watch)
    assert watch.current == OneRead(2)
    assert watch.failure(RuntimeError("404 Not Found")) == "Cannot wait for invoice 2: 404 Not Found"


def test_v2_reads_the_list_where_its_pages_are_fewer_than_the_invoices():
    account = Account({i: "sent" for i in range(1, 301)}, "v2")
    watch = InvoiceWatch(list(range(1, 301)), ["paid"], "v2")
    assert account.poll(watch) == 3
    account.statuses[5] = "paid"
    assert account.poll(watch) == 3 + 1  # 299 still 'sent', and invoice 5 read by itself
    # a set that is small next to the account: the list is tried once (its first page), then one read each
    small = InvoiceWatch([250, 290], ["paid"], "v2")
    assert account.poll(small) == 1 + 2
    assert account.poll(small) == 1 + 2  # the same for the list of those 'sent', once
    assert account.poll(small) == 2


def test_any_stops_reading_at_the_first_arrival():
    account = Account({i: "sent" for i in range(1, 1001)})
    account.statuses[1] = "paid"
    watch = InvoiceWatch(list(range(1, 1001)), ["paid"], "v3", wait_for="any")
    assert account.poll(watch) == 1
    assert watch.done and watch.reached == [1]


def test_uuids_are_read_one_by_one():
    account = Account({1: "sent"})
    watch = InvoiceWatch(["uuid-a"], ["paid"], "v3")
    with pytest.raises(Gone):
        account.poll(watch)
    assert watch.current == OneRead("uuid-a")


def test_known_statuses_narrow_the_first_poll():
    account = Account({i: "sent" for i in range(1, 1001)})
    known = {str(i): "sent" for i in range(1, 1001)} | {str(i): "paid" for i in range(1, 501)}
    for i in range(1, 501):
        account.statuses[i] = "paid"
    watch = InvoiceWatch(list(range(1, 1001)), ["paid"], "v3", known=known)
    assert watch.pending == list(range(501, 1001))
    assert account.poll(watch) == 5  # the pending 500: five windows
    assert all(isinstance(read, ListRead) and read.id_from >= 501 for read in account.reads)


STATUSES = ["draft", "sent", "printed", "paid"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    ids=st.lists(st.integers(1, 400), min_size=1, max_size=60),
    foreign=st.integers(0, 400),
    target=st.sampled_from(["sent", "paid", "printed"]),
    exact=st.booleans(),
    api_version=st.sampled_from(["v3", "v2"]),
    seed=st.integers(0, 10**6),
    polls=st.integers(1, 6),
)
def test_property_every_status_reported_is_one_read_and_every_pending_invoice_is_read(
    ids, foreign, target, exact, api_version, seed, polls
):
    rng = random.Random(seed)
    universe = sorted(set(ids) | set(rng.sample(range(1, 801), foreign)))
    account = Account({i: rng.choice(STATUSES) for i in universe}, api_version)
    accepted = statuses_accepted([target], exact)
    watch = InvoiceWatch(ids, accepted, api_version)
    for _ in range(polls):
        pending = watch.pending
        cost = account.poll(watch)
        for ref in pending:  # each invoice pending at the start was read in this poll
            assert watch.statuses[ref] == account.statuses[ref]
        assert cost <= max(1, len(pending)) + 1
        assert watch.reached == [ref for ref in dict.fromkeys(ids) if account.statuses[ref] in accepted] or any(
            watch.statuses[ref] in accepted and account.statuses[ref] not in accepted for ref in watch.statuses
        )
        for ref in rng.sample(universe, min(len(universe), 5)):  # the month goes on between polls
            account.statuses[ref] = rng.choice(STATUSES)


def test_a_server_ignoring_the_id_filter_costs_one_page_a_window_not_the_whole_list():
    class IgnoresIds(Account):
        def answer(self, read):
            if isinstance(read, ListRead):
                read = ListRead(read.status, None, None, read.cursor)
            return super().answer(read)

    account = IgnoresIds({i: "sent" for i in range(1, 2001)})
    watch = InvoiceWatch([1500, 1501, 1502], ["paid"], "v3")
    assert account.poll(watch) == 1 + 3  # the window's first page (ids 1-100), then each by itself
    assert watch.statuses == {1500: "sent", 1501: "sent", 1502: "sent"}
