"""The delivery ledger: per invoice per DAG run, "about to send" and "sent".

A delivery has a side effect in the real world, so a retry, a cleared task or a re-ordered mapped list
must never send an invoice a second time within one DAG run. The ledger records, before each delivery
request, that it is about to be sent ("sending"), and after inFakt's answer proved it, that it was sent
("sent"). A later attempt of the same delivery in the same DAG run (another try, a cleared task, or
another map index that now holds the same invoice) reads the record first.

Where the record lives: Airflow 3.3's *asset state store*, under the asset :data:`LEDGER_ASSET_NAME`,
which every delivery task declares as an inlet. It is the one store Airflow offers that is shared by
all map indexes of a task and that ``[state_store] clear_on_success`` does not wipe (the task state
store is per map index and is cleared by that setting). The key is a digest of the DAG id, run id,
task id and what is delivered (API, invoice, type, document, recipient, locale, copy), so the same
invoice delivered by another task (by post after mail, say) is a delivery of its own. No e-mail
address is stored; the recipient enters only through the digest.

:func:`resolve` is the delivery-outcome model for a record left as "sending" (see the operator's
docstring and the README, "Reliability"). This module imports nothing from Airflow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from airflow_provider_infakt import LEDGER_ASSET_NAME

__all__ = [
    "DELIVERED_STATUS",
    "KEY_PREFIX",
    "LEDGER_ASSET_NAME",
    "UNDELIVERED_STATUSES",
    "Decision",
    "Entry",
    "Ledger",
    "State",
    "StateStore",
    "ledger_key",
    "resolve",
    "seconds_until_settled",
]

#: Prefix of every ledger key; the version lets a later format live beside this one.
KEY_PREFIX = "infakt-delivery/v1/"

#: The one normalized status that proves a delivery went out.
DELIVERED_STATUS = "sent"
#: Statuses that a delivery would have changed (to ``sent``): unchanged, they prove it did not happen.
UNDELIVERED_STATUSES = frozenset({"draft", "printed"})

State = Literal["sending", "sent"]
Decision = Literal["delivered", "not_delivered", "cannot_tell"]


class StateStore(Protocol):
    """What the ledger needs of an Airflow state store accessor."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...


def ledger_key(*parts: object) -> str:
    """The store key of one delivery in one DAG run: a digest of ``parts`` (None counts as empty)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return KEY_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One record. ``state`` is ``sending`` (about to send) or ``sent``; ``started`` is the Unix time at
    which the attempt that wrote ``sending`` was about to send; ``map_index`` and ``try_number`` say who
    wrote it."""

    state: State
    invoice_id: int | str
    status_before: str | None
    try_number: int | None
    map_index: int | None
    started: float

    @property
    def at(self) -> str:
        """``started`` as an ISO 8601 UTC time, for messages."""
        return dt.datetime.fromtimestamp(self.started, dt.timezone.utc).isoformat(timespec="seconds")

    @property
    def writer(self) -> str:
        """Who wrote the record, for messages: ``try 2`` or ``try 1 of map index 3``."""
        who = f"try {self.try_number}" if self.try_number is not None else "an earlier attempt"
        return who if self.map_index in (None, -1) else f"{who} of map index {self.map_index}"

    @classmethod
    def load(cls, value: Any) -> Entry | None:
        """The entry stored as ``value``, or ``None`` if it is not a well-formed record."""
        if not isinstance(value, dict) or value.get("state") not in ("sending", "sent"):
            return None
        invoice_id, started = value.get("invoice_id"), value.get("started")
        if not isinstance(invoice_id, (int, str)) or not isinstance(started, (int, float)):
            return None
        status_before, try_number = value.get("status_before"), value.get("try_number")
        map_index = value.get("map_index")
        return cls(
            state=value["state"],
            invoice_id=invoice_id,
            status_before=status_before if isinstance(status_before, str) else None,
            try_number=try_number if isinstance(try_number, int) else None,
            map_index=map_index if isinstance(map_index, int) else None,
            started=float(started),
        )


class Ledger:
    """The record of one delivery (one invoice, one way of sending it) in one DAG run."""

    def __init__(
        self,
        store: StateStore,
        key: str,
        invoice_id: int | str,
        *,
        try_number: int | None,
        map_index: int | None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._store = store
        self.key = key
        self.invoice_id = invoice_id
        self.try_number = try_number
        self.map_index = map_index
        self._clock = clock or time.time

    def read(self) -> Entry | None:
        """The record left by an earlier attempt of this delivery in this DAG run, if any."""
        return Entry.load(self._store.get(self.key))

    def _write(self, state: State, status_before: str | None, started: float | None = None) -> Entry:
        entry = Entry(
            state=state,
            invoice_id=self.invoice_id,
            status_before=status_before,
            try_number=self.try_number,
            map_index=self.map_index,
            started=self._clock() if started is None else started,
        )
        self._store.set(self.key, dataclasses.asdict(entry))
        return entry

    def mark_sending(self, status_before: str | None) -> Entry:
        """Record "about to send", with the invoice's status just before and the time."""
        return self._write("sending", status_before)

    def mark_sent(self, earlier: Entry | None = None) -> None:
        """Record "sent" (keeping the status before and start time of ``earlier`` when it is given)."""
        if earlier is None:
            self._write("sent", None)
        else:
            self._write("sent", earlier.status_before, earlier.started)

    def forget(self) -> None:
        """Remove the record: inFakt's own answer proved that nothing was sent."""
        self._store.delete(self.key)


def resolve(status_before: str | None, status_now: str | None) -> Decision:
    """Did an earlier attempt deliver, judging by the invoice's status before it and now?

    Call it only once the earlier request can no longer be in flight or pending at inFakt. A delivery
    moves an invoice to ``sent``; so an invoice that was ``draft`` or ``printed`` and is ``sent`` now
    was delivered, and one whose status has not changed was not. Everything else cannot tell: ``paid``
    (a customer can pay without the e-mail), a status that was already ``sent`` before (a copy or
    duplicate of an invoice sent earlier), a change to another status, an unknown word.
    """
    if status_before in UNDELIVERED_STATUSES:
        if status_now == DELIVERED_STATUS:
            return "delivered"
        if status_now == status_before:
            return "not_delivered"
    return "cannot_tell"


def seconds_until_settled(entry: Entry, window: float, now: float) -> float:
    """How long until ``entry``'s request can no longer be in flight or pending at inFakt (0 if past)."""
    return max(0.0, entry.started + window - now)
