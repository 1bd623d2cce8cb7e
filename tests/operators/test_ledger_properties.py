"""Property tests of the delivery ledger (operators/ledger.py): the record, its store, the resolution rule."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from airflow_provider_infakt.operators.ledger import (
    KEY_PREFIX,
    Entry,
    Ledger,
    ledger_key,
    resolve,
    seconds_until_settled,
)

PROPERTY = settings(derandomize=True, max_examples=200, deadline=None, database=None)

STATUSES = ["draft", "printed", "sent", "paid", "unpaid"]
status = st.one_of(st.none(), st.sampled_from(STATUSES), st.text(max_size=8))
json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
entries = st.builds(
    Entry,
    state=st.sampled_from(["sending", "sent"]),
    invoice_id=st.one_of(st.integers(min_value=1, max_value=2**63 - 1), st.uuids().map(str)),
    status_before=status,
    try_number=st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
    map_index=st.one_of(st.none(), st.integers(min_value=-1, max_value=1000)),
    started=st.floats(min_value=0, max_value=4e9),
)


class DictStore(dict[str, Any]):
    def set(self, key: str, value: Any) -> None:
        self[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.pop(key, None)


@PROPERTY
@given(before=status, now=status)
def test_property_only_draft_or_printed_to_sent_proves_a_delivery(before, now):
    decision = resolve(before, now)
    if before in ("draft", "printed") and now == "sent":
        assert decision == "delivered"
    elif before in ("draft", "printed") and now == before:
        assert decision == "not_delivered"
    else:  # paid, already sent before, another change, an unknown word, no status
        assert decision == "cannot_tell"


@PROPERTY
@given(entry=entries)
def test_property_an_entry_survives_the_store(entry):
    stored = json.loads(json.dumps(dataclasses.asdict(entry)))
    assert Entry.load(stored) == entry


@PROPERTY
@given(
    value=st.one_of(json_value, entries.map(dataclasses.asdict)),
    changes=st.dictionaries(
        st.sampled_from(["state", "invoice_id", "status_before", "try_number", "map_index", "started"]),
        json_value,
        max_size=3,
    ),
)
def test_property_any_stored_value_loads_as_a_well_formed_entry_or_none(value, changes):
    if isinstance(value, dict):
        value = {**value, **changes}
    entry = Entry.load(value)
    if entry is None:
        return
    assert isinstance(value, dict)
    assert entry.state == value["state"] in ("sending", "sent")
    assert entry.invoice_id == value["invoice_id"] and isinstance(entry.invoice_id, (int, str))
    assert isinstance(entry.started, float) and entry.started == value["started"]
    for name in ("status_before", "try_number", "map_index"):
        kept = getattr(entry, name)
        assert kept is None or kept == value[name]
    assert entry.status_before is None or isinstance(entry.status_before, str)
    assert entry.try_number is None or isinstance(entry.try_number, int)
    assert entry.map_index is None or isinstance(entry.map_index, int)


@PROPERTY
@given(
    value=st.dictionaries(
        st.one_of(st.sampled_from(["invoice_id", "started", "status_before"]), st.text(max_size=3)),
        json_value,
        max_size=3,
    ),
    state=st.one_of(json_value, st.sampled_from(["sending", "sent", "SENT", "draft"])),
)
@example(value={"invoice_id": None}, state="sent")  # a time but no id
@example(value={"started": "yesterday"}, state="sent")  # an id but no time
@example(value={"invoice_id": [7], "started": None}, state="sending")
def test_property_a_record_needs_a_known_state_an_id_and_a_time(value, state):
    record = {"state": state, "invoice_id": 7, "started": 1.0, **value}
    entry = Entry.load(record)
    well_formed = (
        record["state"] in ("sending", "sent")
        and isinstance(record["invoice_id"], (int, str))
        and isinstance(record["started"], (int, float))
    )
    assert (entry is not None) == well_formed


_STARTED_AT_100 = Entry(state="sending", invoice_id=1, status_before="draft", try_number=1, map_index=-1, started=100.0)


@PROPERTY
@given(entry=entries, window=st.floats(min_value=0, max_value=1e7), now=st.floats(min_value=0, max_value=4e9))
@example(entry=_STARTED_AT_100, window=10.0, now=500.0)  # long past the window: exactly 0, no wait at all
@example(entry=_STARTED_AT_100, window=10.0, now=110.0)  # the window's last instant
@example(entry=_STARTED_AT_100, window=10.0, now=104.5)  # still in flight
def test_property_seconds_until_settled(entry, window, now):
    wait = seconds_until_settled(entry, window, now)
    assert wait >= 0
    assert wait == max(0.0, entry.started + window - now)
    assert (wait == 0) == (now >= entry.started + window)


@PROPERTY
@given(entry=entries)
def test_property_writer_and_time_for_messages(entry):
    who = f"try {entry.try_number}" if entry.try_number is not None else "an earlier attempt"
    if entry.map_index in (None, -1):
        assert entry.writer == who
    else:
        assert entry.writer == f"{who} of map index {entry.map_index}"
    assert entry.at.endswith("+00:00") and "T" in entry.at


parts = st.lists(st.one_of(st.none(), st.text(max_size=10), st.integers(), st.booleans()), min_size=1, max_size=11)


@PROPERTY
@given(parts=parts, other=parts)
def test_property_ledger_keys(parts, other):
    key = ledger_key(*parts)
    assert key == ledger_key(*parts)  # the same delivery, the same record, on every try and map index
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 40
    assert ledger_key(*["" if p is None else p for p in parts]) == key  # None counts as empty
    texts = ["" if p is None else str(p) for p in parts]
    if texts != ["" if p is None else str(p) for p in other]:
        assert ledger_key(*other) != key  # another delivery, another record
    for text in texts:
        if len(text) > 3 and not set(text) <= set("0123456789abcdef"):
            assert text not in key.removeprefix(KEY_PREFIX)  # a digest: no address or id in clear


@PROPERTY
@given(
    invoice_id=st.one_of(st.integers(min_value=1, max_value=2**63 - 1), st.uuids().map(str)),
    status_before=status,
    try_number=st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
    map_index=st.one_of(st.none(), st.integers(min_value=-1, max_value=10)),
    times=st.lists(st.floats(min_value=1e9, max_value=2e9), min_size=3, max_size=3),
)
def test_property_the_ledger_writes_what_it_reads(invoice_id, status_before, try_number, map_index, times):
    store = DictStore()
    clock = iter(times)
    ledger = Ledger(store, "k", invoice_id, try_number=try_number, map_index=map_index, clock=lambda: next(clock))
    assert ledger.read() is None
    sending = ledger.mark_sending(status_before)
    assert ledger.read() == sending == Entry("sending", invoice_id, status_before, try_number, map_index, times[0])
    assert list(store) == ["k"]
    ledger.mark_sent(sending)  # keeps the earlier attempt's status and start
    assert ledger.read() == Entry("sent", invoice_id, status_before, try_number, map_index, times[0])
    ledger.mark_sent()  # a delivery proven in this try: its own time
    assert ledger.read() == Entry("sent", invoice_id, None, try_number, map_index, times[1])
    ledger.forget()
    assert ledger.read() is None and store == {}
    store["k"] = {"state": "sending"}  # a record this version cannot read counts as none
    assert ledger.read() is None


def test_the_key_format_never_changes():
    """Records written by an earlier release must be found after an upgrade in the middle of a DAG run:
    the key of a given delivery is fixed (prefix + the first 40 hex digits of SHA-256 of the parts)."""
    key = ledger_key("billing", "manual__2026-11-30", "deliver", 42, "mail", "org", None)
    assert key == "infakt-delivery/v1/383ce0549ab1bdcf41106b3244ebbaf4458130d9"  # v1's format, pinned
